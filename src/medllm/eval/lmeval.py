"""lm-evaluation-harness scoring through a medllm model, and item-level parity with medllm's runner.

`lmeval_lm(model)` wraps any medllm `Model` as an lm-eval `LM`: lm-eval builds the requests
(prompt layout, target delimiter, few-shot) and scores them (acc, acc_norm); the model only
answers `loglikelihood`. With the same model instance on both sides, a disagreement between
`run_lmeval_task` and `medllm eval --mode loglik` is the harnesses' doing: prompt layout,
whitespace, continuation, normalisation. `compare_with_medllm` measures it item by item.

The tasks are lm-eval's own (`medmcqa`, `pubmedqa`, `medqa_4options`): their installed YAML with
the few keys in `lmeval_tasks/<task>.yaml` merged over it (a local `custom_dataset` loader and
one split), so the prompts are lm-eval's code, and nothing is fetched from a hub
(HF_DATASETS_OFFLINE / HF_HUB_OFFLINE are set before lm-eval is imported).

lm-eval is an optional dependency (`pip install medllm[bench]`); it is imported only here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medllm.config import Settings, load_settings
from medllm.models.base import Model

TASKS_DIR = Path(__file__).parent / "lmeval_tasks"

# lm-eval task -> the medllm dataset kind that reads the same local file
MEDLLM_KIND = {"medmcqa": "medmcqa", "pubmedqa": "pubmedqa", "medqa_4options": "medqa"}

Progress = Callable[[int, int], None]  # (requests done, requests total)


class LmEvalMissing(ImportError):
    """lm-evaluation-harness is not installed."""


def _import_lm_eval() -> Any:
    # lm-eval's tasks name HF hub datasets; ours load local files, and nothing may download.
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import lm_eval
        import lm_eval.api.model
    except ImportError as e:
        raise LmEvalMissing(
            f"lm-evaluation-harness is not installed ({e}); it is an optional dependency: "
            "pip install 'medllm[bench]' (or lm-eval==0.4.13)"
        ) from None
    return lm_eval


@functools.cache
def _lm_class() -> type:
    lm_eval = _import_lm_eval()

    class MedllmLM(lm_eval.api.model.LM):  # type: ignore[name-defined, misc]
        """An lm-eval LM that answers log-likelihood requests with a medllm model."""

        def __init__(self, model: Model, progress: Progress | None = None):
            super().__init__()
            self.model = model
            self.progress = progress
            self.model_seconds = 0.0  # time spent inside the model's loglikelihood

        def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
            out: list[tuple[float, bool]] = []
            # lm-eval lists an item's choices next to each other; each run of requests on one
            # context is one call, so the model decodes that context once (as medllm's solver).
            start = 0
            while start < len(requests):
                end = start + 1
                while end < len(requests) and requests[end].args[0] == requests[start].args[0]:
                    end += 1
                chunk = requests[start:end]
                t0 = time.perf_counter()
                results = self.model.loglikelihood([tuple(r.args) for r in chunk])
                self.model_seconds += time.perf_counter() - t0
                for req, res in zip(chunk, results, strict=True):
                    answer = (res.logprob, res.is_greedy)
                    self.cache_hook.add_partial("loglikelihood", req.args, answer)
                    out.append(answer)
                start = end
                if self.progress:
                    self.progress(len(out), len(requests))
            return out

        def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
            raise NotImplementedError(
                "medllm's lm-eval adapter scores multiple-choice tasks only (loglikelihood); "
                "perplexity tasks (loglikelihood_rolling) are not supported"
            )

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            raise NotImplementedError(
                "medllm's lm-eval adapter scores multiple-choice tasks only (loglikelihood); "
                "for generation use `medllm eval run --mode generate`"
            )

    return MedllmLM


def lmeval_lm(model: Model, progress: Progress | None = None) -> Any:
    """An `lm_eval.api.model.LM` answering loglikelihood requests with `model`."""
    return _lm_class()(model, progress)


def task_config(task: str, data_file: Path | str, task_manager: Any = None) -> dict[str, Any]:
    """lm-eval's own YAML for `task`, with our local-data keys merged over it (as its `include`
    merges: the including file's keys win), pointed at `data_file`."""
    if task not in MEDLLM_KIND:
        raise ValueError(f"unknown lm-eval task {task!r}; supported: {', '.join(MEDLLM_KIND)}")
    _import_lm_eval()
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = (task_manager or TaskManager()).task_index.get(task)
    if entry is None or entry.yaml_path is None:
        raise LmEvalMissing(f"the installed lm-eval has no task {task!r}; install lm-eval==0.4.13")
    cfg = {**load_yaml(entry.yaml_path), **load_yaml(TASKS_DIR / f"{task}.yaml")}
    cfg["dataset_kwargs"] = {"data_file": str(Path(data_file).expanduser().resolve())}
    cfg["dataset_path"] = cfg["dataset_kwargs"]["data_file"]  # what the results record as the source
    return cfg


@dataclass
class ItemPrediction:
    id: str
    gold: str
    pred: str  # argmax of summed log-probability (acc)
    pred_norm: str  # argmax after dividing by the choice's length in characters (acc_norm)
    logprobs: list[float]
    context: str  # the prompt the model scored


@dataclass
class LmEvalRun:
    task: str
    labels: list[str]
    items: list[ItemPrediction]
    acc: float
    acc_norm: float
    seconds: float  # the whole lm-eval call: task index, data, requests, scoring, metrics
    model_seconds: float  # of which inside the model's loglikelihood
    lm_eval_version: str


def run_lmeval_task(
    task: str, data_file: Path | str, model: Model, *, limit: int | None = None,
    progress: Progress | None = None, task_manager: Any = None,
) -> LmEvalRun:
    """Run lm-eval's `task` (zero-shot) on the first `limit` items of a local file with `model`;
    return its per-item predictions and its own acc / acc_norm. Without `task_manager` (an
    `lm_eval.tasks.TaskManager` to reuse), lm-eval indexes its task files first, as its CLI does."""
    lm_eval = _import_lm_eval()
    from lm_eval.tasks import TaskManager

    t0 = time.perf_counter()
    tm = task_manager or TaskManager()  # indexes lm-eval's task files (seconds): part of its cost
    cfg = task_config(task, data_file, tm)
    lm = lmeval_lm(model, progress)
    res = lm_eval.simple_evaluate(
        model=lm, tasks=[cfg], task_manager=tm, limit=limit,  # zero-shot: the tasks' default
        log_samples=True, bootstrap_iters=0,
    )
    seconds = time.perf_counter() - t0
    name = cfg["task"]
    metrics = res["results"][name]
    samples = sorted(res["samples"][name], key=lambda s: s["doc_id"])
    items = []
    for s in samples:
        labels = [a[1].strip() for a in s["arguments"]]  # (context, target delimiter + choice)
        lls = [float(r[0]) for r in s["filtered_resps"]]
        norm = [ll / len(c) for ll, c in zip(lls, labels, strict=True)]  # lm-eval: len(choice)
        target = s["target"]
        gold = labels[target] if isinstance(target, int) else str(target).strip()
        items.append(ItemPrediction(
            id=str(s["doc"]["id"]), gold=gold,
            pred=labels[max(range(len(lls)), key=lls.__getitem__)],  # first wins ties, as np.argmax
            pred_norm=labels[max(range(len(norm)), key=norm.__getitem__)],
            logprobs=lls, context=s["arguments"][0][0],
        ))
    return LmEvalRun(
        task=task, labels=[a[1].strip() for a in samples[0]["arguments"]] if samples else [],
        items=items, acc=float(metrics["acc,none"]), acc_norm=float(metrics["acc_norm,none"]),
        seconds=seconds, model_seconds=lm.model_seconds, lm_eval_version=getattr(lm_eval, "__version__", "?"),
    )


@dataclass
class Parity:
    """lm-eval and medllm on the same items with the same model instance."""

    task: str
    n: int
    agreement: float  # share of items with the same acc prediction
    agreement_norm: float  # ... the same acc_norm prediction
    lmeval_acc: float
    lmeval_acc_norm: float
    medllm_acc: float
    medllm_acc_norm: float
    lmeval_seconds: float  # whole calls, the model already loaded
    medllm_seconds: float
    lmeval_model_seconds: float  # of which scoring (lm-eval: inside loglikelihood;
    medllm_model_seconds: float  # medllm: the solver's calls, prompt building included)
    same_prompt: int  # items whose scored context is the same string on both sides
    same_gold: int  # items whose gold answer the two read alike from the file
    max_logprob_diff: float  # over every option of every item
    disagreements: list[str] = field(default_factory=list)  # item ids (acc or acc_norm)
    first_prompt_diff: tuple[str, str] | None = None  # (lm-eval's, medllm's) context, if any
    lm_eval_version: str = ""


def compare_with_medllm(
    task: str, data_file: Path | str, model: Model, *, limit: int | None = None,
    settings: Settings | None = None, progress: Progress | None = None, task_manager: Any = None,
) -> Parity:
    """Score the same items with lm-eval (through `model`) and with medllm's own runner
    (`medllm eval run --mode loglik`, zero-shot, direct) and compare them item by item. The
    medllm run is written to a temporary run directory and store, so it never resumes."""
    from medllm.eval.datasets import load_dataset
    from medllm.eval.runner import EvalConfig, run_eval
    from medllm.tasks.prompts import loglik_requests

    lm = run_lmeval_task(task, data_file, model, limit=limit, progress=progress,
                         task_manager=task_manager)
    spec = f"{MEDLLM_KIND[task]}:{Path(data_file).expanduser().resolve()}"
    with tempfile.TemporaryDirectory(prefix="medllm-parity-") as tmp:
        s = dataclasses.replace(settings or load_settings(), home=Path(tmp), cache=False)
        t0 = time.perf_counter()
        run = run_eval(EvalConfig(dataset=spec, model=model.info.spec, mode="loglik", limit=limit),
                       model=model, out_dir=Path(tmp) / "run", settings=s)
        medllm_seconds = time.perf_counter() - t0
        recs = [json.loads(x) for x in (run.out_dir / "predictions.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in recs}
    missing = [it.id for it in lm.items if it.id not in by_id]
    if missing or len(recs) != len(lm.items):
        raise ValueError(
            f"lm-eval and medllm read different items from {data_file} ({len(lm.items)} vs "
            f"{len(recs)}; e.g. {missing[:1]}); check the file's layout"
        )
    questions = {q.id: q for q in load_dataset(spec).questions[: len(recs)]}
    same_prompt, same_gold, max_diff, disagree, first_diff = 0, 0, 0.0, [], None
    for it in lm.items:
        r = by_id[it.id]
        ctx, _ = loglik_requests(questions[it.id])
        if ctx == it.context:
            same_prompt += 1
        elif first_diff is None:
            first_diff = (it.context, ctx)
        same_gold += r["gold"] == it.gold
        if r["labels"] == lm.labels:
            theirs = [r["option_logprobs"][lbl] for lbl in r["labels"]]
            max_diff = max(max_diff, *(abs(a - b) for a, b in zip(it.logprobs, theirs, strict=True)))
        if r["pred"] != it.pred or r["pred_norm"] != it.pred_norm:
            disagree.append(it.id)
    n = len(lm.items)
    return Parity(
        task=task, n=n,
        agreement=sum(by_id[it.id]["pred"] == it.pred for it in lm.items) / n,
        agreement_norm=sum(by_id[it.id]["pred_norm"] == it.pred_norm for it in lm.items) / n,
        lmeval_acc=lm.acc, lmeval_acc_norm=lm.acc_norm,
        medllm_acc=sum(bool(r["correct"]) for r in recs) / n,
        medllm_acc_norm=sum(bool(r["correct_norm"]) for r in recs) / n,
        lmeval_seconds=lm.seconds, medllm_seconds=medllm_seconds,
        lmeval_model_seconds=lm.model_seconds,
        medllm_model_seconds=float(run.summary["item_seconds"]),
        same_prompt=same_prompt, same_gold=same_gold, max_logprob_diff=max_diff, disagreements=disagree,
        first_prompt_diff=first_diff, lm_eval_version=lm.lm_eval_version,
    )
