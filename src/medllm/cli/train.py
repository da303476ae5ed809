"""Fine-tune a model with LoRA (SFT or DPO), export it to GGUF and check it before and after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from medllm.cli.common import console, err_console, user_errors

app = typer.Typer(no_args_is_help=True)

_RECIPE_HELP = "TOML recipe (fields: kind, base, data, data_limit, eval, eval_limit, seed, \\[lora], \\[train]); options override it"


def _overrides(**kw: Any) -> dict[str, Any]:
    keys = {"epochs": "train.epochs", "max_steps": "train.max_steps", "lr": "train.lr",
            "threads": "train.threads", "rank": "lora.r", "top_layers": "lora.top_layers"}
    return {keys.get(k, k): v for k, v in kw.items()}


def _run(kind: str, recipe_file: Path | None, out: Path | None, overrides: dict[str, Any], reply_check: int = 0) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from medllm.session import Session
    from medllm.train.recipe import load_recipe
    from medllm.train.run import train_run

    recipe = load_recipe(recipe_file, {"kind": kind, **overrides})
    settings = Session.configure().settings
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def step(done: int, total: int, loss: float | None) -> None:
            if "train" not in tasks:
                tasks["train"] = bar.add_task(f"{kind} training", total=total, loss="")
            bar.update(tasks["train"], completed=done, total=total, loss=f"loss {loss:.3f}" if loss is not None else "")

        def eval_progress(label: str) -> Any:
            def update(done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(f"check {label}", total=total, loss="")
                bar.update(tasks[label], completed=done, total=total)
            return update

        result = train_run(recipe, settings, out_dir=out, say=lambda m: bar.console.print(m, highlight=False),
                           step_hook=step, eval_progress=eval_progress, reply_check_n=reply_check)
    _print_result(result.out_dir)


def _print_result(out_dir: Path) -> None:
    m = json.loads((out_dir / "metrics.json").read_text())
    t = m["train"]
    console.print(f"trained {t['examples']} examples, {t['steps']} steps in {t['wall_s'] / 60:.1f} min "
                  f"({t['tokens_per_s']:.0f} tokens/s, peak memory {t['peak_rss_mb'] / 1024:.1f} GiB)", highlight=False)
    if m.get("parity"):
        p = m["parity"]
        console.print(f"export check {'[green]passed[/]' if p['passed'] else '[red]FAILED[/]'}: max |Δ log p| "
                      f"{p['tuned_max_abs_logprob_diff']:.3f} (base model alone {p['base_max_abs_logprob_diff']:.3f}, "
                      f"tolerance {p['tolerance']:.3f}); preferred option agrees {p['tuned_argmax_agree']:.0%}")
    c = m.get("comparison")
    if c:
        console.print(f"held-back check on {c['n']} items: before {c['before']:.1%} → after {c['after']:.1%}, "
                      f"difference {c['diff'] * 100:+.1f} pts [{c['diff_ci'][0] * 100:+.1f}, {c['diff_ci'][1] * 100:+.1f}], "
                      f"McNemar p = {c['mcnemar_p']:.3g} ({c['only_after']} fixed, {c['only_before']} broken)", highlight=False)
        if len(c["by_group"]) > 1:
            for g, v in c["by_group"].items():
                console.print(f"  {g:<12} n={v['n']:<4} {v['before']:.1%} → {v['after']:.1%}", highlight=False)
    r = m.get("replies")
    if r:
        console.print(f"replies to {r['n']} held-back messages as wanted (refuse harmful, answer benign, alarm on red flags): "
                      f"before {r['before']:.1%} → after {r['after']:.1%}, difference {r['diff'] * 100:+.1f} pts "
                      f"[{r['diff_ci'][0] * 100:+.1f}, {r['diff_ci'][1] * 100:+.1f}], McNemar p = {r['mcnemar_p']:.3g}", highlight=False)
        for g, v in r["by_group"].items():
            console.print(f"  {g:<12} n={v['n']:<4} {v['before']:.1%} → {v['after']:.1%}", highlight=False)
    if m.get("runtime_spec"):
        console.print(f"use it: medllm ask --model '{m['runtime_spec']}' \"...\"", highlight=False, markup=False)
    console.print(f"[dim]run folder: {out_dir} (metrics.json, loss.png, parity.json)[/]", highlight=False)


def _command(kind: str) -> Any:
    @user_errors
    def command(
        recipe: Path = typer.Argument(None, help=_RECIPE_HELP),
        base: str = typer.Option(None, "--base", help="packaged model name, .gguf file, or transformers folder"),
        data: str = typer.Option(None, "--data", help="training data spec, e.g. medmcqa:FILE.jsonl, chat:FILE.jsonl, safety:FILE.jsonl"),
        data_limit: int = typer.Option(None, "--limit", help="train on at most N examples"),
        eval_spec: str = typer.Option(None, "--eval", help="held-back check spec (eval dataset or safety:/prefs:), scored before and after"),
        eval_limit: int = typer.Option(None, "--eval-limit", help="held-back items to check (default 200)"),
        epochs: float = typer.Option(None, "--epochs"),
        max_steps: int = typer.Option(None, "--max-steps", help="stop after N optimiser steps"),
        lr: float = typer.Option(None, "--lr"),
        rank: int = typer.Option(None, "--rank", help="LoRA rank"),
        top_layers: int = typer.Option(None, "--top-layers", help="adapt the top N blocks only (0 = all)"),
        threads: int = typer.Option(None, "--threads", help="CPU threads (0 = all cores)"),
        seed: int = typer.Option(None, "--seed"),
        out: Path = typer.Option(None, "--out", "-o", help="run folder (default: $MEDLLM_HOME/train/KIND-BASE-ID); rerun to resume"),
        reply_check: int = typer.Option(0, "--reply-check", help="safety: eval only: also compare greedy replies to N held-back messages (a third each: harmful, benign, red flag)"),
    ) -> None:
        _run(kind, recipe, out, _overrides(base=base, data=data, data_limit=data_limit, eval=eval_spec,
                                           eval_limit=eval_limit, epochs=epochs, max_steps=max_steps, lr=lr,
                                           rank=rank, top_layers=top_layers, threads=threads, seed=seed), reply_check)
    return command


_sft = _command("sft")
_sft.__doc__ = """Supervised fine-tuning (LoRA; loss on the answers only), then export and check.

    Example: medllm train sft --base qwen2.5-coder-0.5b-instruct --data medmcqa:dev.jsonl --limit 500
             --eval medmcqa:dev.jsonl --eval-limit 300     (eval items are never trained on)
    A killed run resumes from its last checkpoint: run the same command again."""
_dpo = _command("dpo")
_dpo.__doc__ = """Preference optimisation (DPO with LoRA) on chosen/rejected pairs, then export and check.

    Example: medllm train dpo --base qwen2.5-coder-0.5b-instruct --data safety:safety_dev.jsonl
             --eval safety:safety_dev.jsonl --eval-limit 200 --reply-check 90"""
app.command("sft")(_sft)
app.command("dpo")(_dpo)


@app.command("show")
@user_errors
def show(run_dir: Path = typer.Argument(..., help="a training run folder")) -> None:
    """Print a finished run's figures (training, export check, before/after)."""
    if not (run_dir / "metrics.json").is_file():
        raise FileNotFoundError(f"{run_dir} has no metrics.json: the run has not finished; rerun its command to resume")
    _print_result(run_dir)
