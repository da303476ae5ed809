"""One training run, start to finish, in one folder that a killed run resumes from:

    recipe.json        the recipe (a folder resumes only into the same recipe)
    data.json          training ids, held-back ids, and the overlap check between them
    before.json        the held-back check on the base model (llama.cpp)
    checkpoints/       trainer checkpoints (resume points); removed when training completes
    adapter/           the trained LoRA adapter (peft format)
    adapter.gguf       the same adapter for llama.cpp: `llamacpp:BASE+RUN/adapter.gguf`
    parity.json        llama.cpp + adapter vs transformers + adapter on fixed prompts
    after.json         the held-back check with the adapter
    replies_before.json, replies_after.json
                       with `reply_check=N`, safety pairs only: greedy replies to N held-back
                       messages, and whether each refuses, alarms or answers as wanted
    metrics.json       training stats, the paired before/after comparison, the parity verdict
    loss.png           the loss curve
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from medllm.atomic import atomic_write_json
from medllm.config import Settings
from medllm.train.base import TrainBase, open_base
from medllm.train.checks import (
    WANTED,
    CheckResult,
    HeldBack,
    Paired,
    base_spec,
    hold_back,
    paired,
    reply_check,
    run_check,
    with_adapter,
)
from medllm.train.data import Split, hold_out, preference_pairs, sft_examples
from medllm.train.export import ExportError, ParityReport, check_parity, export_peft_adapter
from medllm.train.recipe import Recipe
from medllm.train.trainer import StepHook, TrainStats, train_dpo, train_sft

Say = Callable[[str], None]
EvalProgress = Callable[[str], Callable[[int, int], None] | None]  # label -> progress callback


class RunFolderError(ValueError):
    pass


@dataclass
class TrainRun:
    out_dir: Path
    recipe: Recipe
    stats: dict[str, Any]
    comparison: Paired | None
    parity: ParityReport | None
    adapter_gguf: Path | None
    replies: Paired | None = None  # the reply check, when asked for


def default_out_dir(recipe: Recipe, settings: Settings) -> Path:
    base = Path(recipe.base).name.removesuffix(".gguf")
    return settings.home / "train" / f"{recipe.kind}-{base}-{recipe.identity()}"


def _claim(out_dir: Path, recipe: Recipe) -> None:
    """A run folder holds one recipe; a second call with the same recipe resumes it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rec = out_dir / "recipe.json"
    mine = {"identity": recipe.identity(), "recipe": recipe.model_dump(mode="json")}
    if rec.exists():
        theirs = json.loads(rec.read_text())
        if theirs.get("identity") != mine["identity"]:
            raise RunFolderError(
                f"{out_dir} holds a run of another recipe (identity {theirs.get('identity')}, this one "
                f"{mine['identity']}); pick another --out or delete that folder"
            )
    else:
        atomic_write_json(rec, mine)


def _check_json(path: Path) -> CheckResult | None:
    return CheckResult(**json.loads(path.read_text())) if path.exists() else None


def plot_loss(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    if not pts:
        return
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot([s for s, _ in pts], [v for _, v in pts], marker=".")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _data(recipe: Recipe, base: TrainBase, held: HeldBack | None) -> Split:
    records: list[Any] = (sft_examples(recipe.data, base.render_chat) if recipe.kind == "sft"
                          else preference_pairs(recipe.data, base.render_chat, seed=recipe.seed))
    return hold_out(records, held.id_prompts if held else [], limit=recipe.data_limit, seed=recipe.seed)


def train_run(recipe: Recipe, settings: Settings, *, out_dir: Path | None = None, say: Say = print,
              step_hook: StepHook | None = None, eval_progress: EvalProgress | None = None,
              reply_check_n: int = 0) -> TrainRun:
    """Train, export and check as the recipe says. `reply_check_n` > 0 (safety pairs only) also
    compares the greedy replies of base and tuned model to that many held-back messages."""
    out = out_dir or default_out_dir(recipe, settings)
    _claim(out, recipe)
    say(f"run folder: {out}")
    base = open_base(recipe.base, recipe.base_gguf, settings)
    if recipe.eval and base.gguf is None:
        raise RunFolderError("the before/after check runs in llama.cpp: set base_gguf to the base model's GGUF")

    held = hold_back(recipe.eval, recipe.eval_limit, recipe.seed, base.render_chat) if recipe.eval else None
    split = _data(recipe, base, held)
    if not split.train:
        raise RunFolderError(f"no training records left from {recipe.data} after holding back the eval items")
    overlap = sorted({r.id for r in split.train} & set(split.held_out_ids))
    assert not overlap, overlap  # hold_out removed them; this guards the guard
    atomic_write_json(out / "data.json", {
        "data": recipe.data, "eval": recipe.eval, "train_ids": [r.id for r in split.train],
        "held_out_ids": split.held_out_ids, "dropped_for_overlap": split.dropped_overlap, "overlap": overlap,
    })
    say(f"training on {len(split.train)} {'examples' if recipe.kind == 'sft' else 'pairs'}"
        + (f"; {len(held)} held back for the check ({split.dropped_overlap} training records dropped as overlapping)"
           if held else ""))

    before = _check_json(out / "before.json")
    if held and before is None:
        assert base.gguf is not None
        say("checking the base model on the held-back items ...")
        before = run_check(held, base_spec(base.gguf), out / "eval_before", settings,
                           eval_progress("before") if eval_progress else None)
        atomic_write_json(out / "before.json", asdict(before))

    adapter_dir = out / "adapter"
    stats_path = out / "train_stats.json"
    if (adapter_dir / "adapter_config.json").exists() and stats_path.exists():
        from peft import PeftModel

        say("training already finished in this folder; loading the adapter")
        model = PeftModel.from_pretrained(base.model, adapter_dir)
        stats = json.loads(stats_path.read_text())
    else:
        trainer = train_sft if recipe.kind == "sft" else train_dpo
        model, st = trainer(base.model, base.tokenizer, recipe, split.train, out / "checkpoints", step_hook)
        model.save_pretrained(adapter_dir)
        stats = asdict(st) | {"tokens_per_s": st.tokens_per_s}
        atomic_write_json(stats_path, stats)
        plot_loss(st.log_history, out / "loss.png")
        shutil.rmtree(out / "checkpoints", ignore_errors=True)

    adapter_gguf: Path | None = None
    parity: ParityReport | None = None
    if base.gguf is not None and (out / "parity.json").exists() and (out / "adapter.gguf").exists():
        adapter_gguf = out / "adapter.gguf"  # exported and checked by an earlier call
        details = json.loads((out / "parity.json").read_text())
        parity = ParityReport(**details)
    elif base.gguf is not None:
        try:
            adapter_gguf = export_peft_adapter(model, out / "adapter.gguf")
        except ExportError as e:
            say(f"not exported to GGUF: {e}")
    if adapter_gguf is not None and parity is None:
        assert base.gguf is not None
        say("checking llama.cpp + adapter against transformers + adapter ...")
        parity = check_parity(model, base.tokenizer, base.gguf, adapter_gguf, n_threads=settings.n_threads)
        parity.save(out / "parity.json")

    comparison: Paired | None = None
    if held and before is not None and adapter_gguf is not None:
        assert base.gguf is not None
        after = _check_json(out / "after.json")
        if after is None:
            say("checking the trained model on the held-back items ...")
            after = run_check(held, with_adapter(base.gguf, adapter_gguf), out / "eval_after", settings,
                              eval_progress("after") if eval_progress else None)
            atomic_write_json(out / "after.json", asdict(after))
        comparison = paired(before, after, seed=recipe.seed)

    replies: Paired | None = None
    if reply_check_n and held and held.pairs and adapter_gguf is not None:
        assert base.gguf is not None
        per_group = max(1, reply_check_n // len(WANTED))  # as many of each kind: harmful requests dominate the data
        pairs = [p for g in WANTED for p in [x for x in held.pairs if x.group == g][:per_group]]
        if not pairs:
            say("no safety pairs among the held-back items: reply check skipped")
        else:
            sides = {}
            for side, spec in (("before", base_spec(base.gguf)), ("after", with_adapter(base.gguf, adapter_gguf))):
                sides[side] = _reply_side(out / f"replies_{side}.json", pairs, spec, settings, say,
                                          eval_progress(f"replies {side}") if eval_progress else None)
            replies = paired(sides["before"], sides["after"], seed=recipe.seed)

    atomic_write_json(out / "metrics.json", {
        "recipe": recipe.identity(), "train": {k: v for k, v in stats.items() if k != "log_history"},
        "comparison": asdict(comparison) if comparison else None,
        "replies": asdict(replies) if replies else None,
        "parity": {k: v for k, v in asdict(parity).items() if k != "details"} if parity else None,
        "adapter_gguf": str(adapter_gguf) if adapter_gguf else None,
        "runtime_spec": with_adapter(base.gguf, adapter_gguf) if base.gguf and adapter_gguf else None,
    })
    return TrainRun(out, recipe, stats, comparison, parity, adapter_gguf, replies)


def _reply_side(path: Path, pairs: list[Any], spec: str, settings: Settings, say: Say,
                progress: Callable[[int, int], None] | None) -> CheckResult:
    """One side of the reply check, kept in `path` (a rerun reuses it if it covers the same items)."""
    ids = [p.id for p in pairs]
    if path.exists():
        saved = json.loads(path.read_text())
        if [r["id"] for r in saved["replies"]] == ids:
            return CheckResult(**saved["check"])
    say(f"replies of {spec.rsplit('/', 1)[-1]} to {len(pairs)} held-back messages ...")
    check, replies = reply_check(pairs, spec, settings, progress=progress)
    atomic_write_json(path, {"check": asdict(check), "replies": [asdict(r) for r in replies]})
    return check


__all__ = ["RunFolderError", "TrainRun", "TrainStats", "default_out_dir", "plot_loss", "train_run"]
