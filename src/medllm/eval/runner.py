"""Run one evaluation: dataset x model x strategy x mode, resumable, recorded in the store.

The run's identity is its arguments (dataset, model, mode, strategy, shots, limit, seed, ...);
the default run directory is `$MEDLLM_HOME/runs/<run-id>` with a run id derived from them, so the
same command started again after a crash (SIGKILL included) finds its directory, keeps the
complete prediction lines, drops a torn last line and answers only the remaining items.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import medllm
from medllm.config import Settings, load_settings
from medllm.eval import metrics as M
from medllm.eval.datasets import LoadedDataset, load_dataset
from medllm.eval.tasks import ITEM_TASKS
from medllm.eval.store import (
    PREDICTIONS,
    RUN_CONFIG,
    SUMMARY,
    PredictionLog,
    RunStore,
    atomic_write_json,
)
from medllm.models.base import GenParams, Model
from medllm.reasoning.base import get_solver
from medllm.types import Answer, Question

Progress = Callable[[int, int], None]  # (items done, items total)


@dataclass
class EvalConfig:
    dataset: str
    model: str
    mode: str = "loglik"
    strategy: str = "direct"
    shots: int = 0
    shots_from: str | None = None
    limit: int | None = None
    seed: int = 0
    max_tokens: int = 64
    skip_invalid: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # strategy options, part of the identity

    def validate(self) -> None:
        if self.mode not in ("loglik", "generate"):
            raise ValueError(f"--mode {self.mode!r}: use loglik or generate")
        if self.shots < 0:
            raise ValueError("--shots must be 0 or more")
        if self.shots and not self.shots_from:
            raise ValueError(
                f"--shots {self.shots} needs --shots-from SPEC, a dataset of solved exemplars "
                "(e.g. mmlu:../shared/data/mmlu_dev/anatomy_dev.csv)"
            )
        if self.limit is not None and self.limit < 1:
            raise ValueError("--limit must be 1 or more")
        if self.max_tokens < 1:
            raise ValueError("--max-tokens must be 1 or more")

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run (and resumable into each other)."""
        d = asdict(self)
        d.pop("skip_invalid")
        if self.mode == "loglik":
            d.pop("max_tokens")  # no generation happens
        rules = self._context_rules()
        if rules is not None and rules.is_file():
            # edited ConText rules are another run, not one to resume into
            d["context_rules_sha256"] = hashlib.sha256(rules.read_bytes()).hexdigest()[:16]
        return d

    def _context_rules(self) -> Path | None:
        """The ConText rules file a `negex:` run scores with (`--model context[:RULES.json]`)."""
        if not self.dataset.startswith("negex:") or self.model.split(":", 1)[0] != "context":
            return None
        from medllm.tasks.ie.context import RULES_FILE

        return Path(self.model.split(":", 1)[1]).expanduser() if ":" in self.model else RULES_FILE

    @property
    def run_id(self) -> str:
        digest = hashlib.sha256(
            json.dumps(self.identity(), sort_keys=True).encode()
        ).hexdigest()[:8]
        ds = self.dataset.split(":", 1)[0] + (
            "-" + self.dataset.split("#", 1)[1].split("?")[0] if "#" in self.dataset else ""
        )
        return _slug(f"{ds}-{model_short_name(self.model)}-{self.mode}-{self.strategy}-{digest}")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-")


def model_short_name(spec: str) -> str:
    """`llamacpp:gemma3-270m` -> gemma3-270m; `openai:http://host/v1#name` -> name."""
    if "#" in spec:
        return spec.rsplit("#", 1)[1]
    return Path(spec.split(":", 1)[-1]).name.removesuffix(".gguf")


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    summary: dict[str, Any]
    resumed: int  # items found already done
    answered: int  # items answered by this call


def pick_shots(config: EvalConfig, exclude: set[str]) -> list[Question]:
    """k exemplars from --shots-from, the same for every item, chosen by the seed."""
    if not config.shots:
        return []
    assert config.shots_from
    pool = [q for q in load_dataset(config.shots_from).questions if q.id not in exclude]
    if len(pool) < config.shots:
        raise ValueError(
            f"--shots {config.shots}: {config.shots_from} has only {len(pool)} usable exemplars"
        )
    rng = random.Random(config.seed)
    return rng.sample(pool, config.shots)


def _record(q: Question, ans: Answer, latency: float) -> dict[str, Any]:
    pred_norm = ans.metadata.get("choice_norm")
    return {
        "id": q.id,
        "gold": q.gold,
        "pred": ans.choice,
        "correct": ans.choice is not None and ans.choice == q.gold,
        "pred_norm": pred_norm,
        "correct_norm": (pred_norm == q.gold) if pred_norm is not None else None,
        "option_logprobs": ans.metadata.get("option_logprobs"),
        "option_probs": ans.option_probs,
        "confidence": ans.confidence,
        "raw": ans.raw,
        "latency": round(latency, 4),
        "prompt_tokens": ans.cost.prompt_tokens,
        "completion_tokens": ans.cost.completion_tokens,
        "subject": q.subject,
        "task": q.task,
        "labels": q.labels,
        "flags": [f.kind for f in ans.flags],
        "parse_failed": any(f.kind == "parse_failure" for f in ans.flags),
        # what rag / kg-rag put in the prompt, so a wrong answer can be traced to its evidence
        "evidence": [{"index": e.index, "passage_id": e.passage_id, "citation": e.citation}
                     for e in ans.evidence],
    }


def _ci(k: int, n: int, values: list[float], seed: int) -> dict[str, Any]:
    return {
        "value": k / n if n else float("nan"),
        "k": k,
        "n": n,
        "wilson": list(M.wilson_ci(k, n)),
        "bootstrap": list(M.bootstrap_ci(values, seed=seed)),
    }


def summarize(
    records: list[dict[str, Any]], *, seed: int = 0, mode: str = "loglik"
) -> dict[str, Any]:
    """Every metric, with 95% CIs, from prediction records (in dataset order)."""
    n = len(records)
    correct = [bool(r["correct"]) for r in records]
    out: dict[str, Any] = {"accuracy": _ci(sum(correct), n, [float(c) for c in correct], seed)}
    if n and all(r.get("correct_norm") is not None for r in records):
        cn = [bool(r["correct_norm"]) for r in records]
        out["acc_norm"] = _ci(sum(cn), n, [float(c) for c in cn], seed)
    tasks = {r["task"] for r in records}
    if n and tasks <= {"yesno", "nli"}:
        labels = list(records[0]["labels"])
        out["macro_f1"] = {"value": M.macro_f1(
            [r["gold"] for r in records], [r["pred"] for r in records], labels)}
    if "fake" in tasks:
        out["medhalt_score"] = {"value": M.medhalt_score(correct)}
    if n and mode == "generate":
        fails = sum(1 for r in records if r.get("parse_failed"))
        out["parse_failure_rate"] = {
            "value": fails / n, "k": fails, "n": n, "wilson": list(M.wilson_ci(fails, n))}
    scored = [r for r in records if r.get("option_probs")]
    if scored:
        conf = [float(r["confidence"]) for r in scored]
        ok = [bool(r["correct"]) for r in scored]
        probs = [[r["option_probs"][lbl] for lbl in r["labels"]] for r in scored]
        gold_idx = [r["labels"].index(r["gold"]) for r in scored]
        cov, acc = M.coverage_curve(conf, ok)
        out["ece"] = {"value": M.ece(conf, ok), "n_bins": 10}
        out["brier"] = {"value": M.brier(probs, gold_idx)}
        out["acc_at_80_coverage"] = {"value": M.accuracy_at_coverage(conf, ok, 0.8)}
        out["reliability"] = [asdict(b) for b in M.reliability_bins(conf, ok, 10)]
        step = max(1, len(cov) // 50)  # ~50 points are enough to draw the curve
        pts = list(range(step - 1, len(cov), step))
        if pts[-1] != len(cov) - 1:
            pts.append(len(cov) - 1)
        out["coverage_curve"] = {"coverage": [float(cov[i]) for i in pts],
                                 "accuracy": [float(acc[i]) for i in pts]}
    lettered = [r for r in records if r["task"] in ("mcq", "fake") and r.get("labels")]
    if lettered and len({tuple(r["labels"]) for r in lettered}) == 1:
        # position bias: how predictions spread over the option positions next to the gold answers
        labels = list(lettered[0]["labels"])
        pred = {lbl: sum(r["pred"] == lbl for r in lettered) / len(lettered) for lbl in labels}
        gold = {lbl: sum(r["gold"] == lbl for r in lettered) / len(lettered) for lbl in labels}
        out["positions"] = {"pred": pred, "gold": gold,
                            "tvd": 0.5 * sum(abs(pred[lbl] - gold[lbl]) for lbl in labels)}
    subjects: dict[str, list[bool]] = {}
    for r in records:
        if r.get("subject"):
            subjects.setdefault(str(r["subject"]), []).append(bool(r["correct"]))
    if subjects:
        out["per_subject"] = {
            s: {"n": len(v), "accuracy": sum(v) / len(v), "wilson": list(M.wilson_ci(sum(v), len(v)))}
            for s, v in sorted(subjects.items())
        }
    return out


def _check_same_run(out_dir: Path, config: EvalConfig, run_id: str) -> None:
    path = out_dir / RUN_CONFIG
    if not path.exists():
        return
    old = json.loads(path.read_text())
    mine = {**config.identity(), "run_id": run_id}
    diff = [k for k in sorted(set(old) | set(mine))
            if k not in ("created", "medllm_version") and old.get(k) != mine.get(k)]
    if diff:
        k = diff[0]
        raise ValueError(
            f"{out_dir} holds a different run ({k}: {old.get(k)!r} there, {mine.get(k)!r} now);"
            " use another --out, or the same arguments to resume it"
        )


EVAL_CHUNK = 8  # items a runner's worker answers at a time: one unit of `medllm eval --runner`


@dataclass
class EvalWorkerSpec:
    """How a runner's worker answers items as `run_eval` would: it opens one session (one model,
    the run's strategy, shots and settings) or one item-task predictor, once, and maps a list of
    items to their prediction records (picklable: no model inside, only what names it)."""

    config: EvalConfig
    settings: Settings
    shots: list[Question]
    reidentify: bool = False

    def build(self) -> Callable[[list[Question]], list[dict[str, Any]]]:
        items = self

        def build_for(first: Question) -> Callable[[list[Question]], list[dict[str, Any]]]:
            task = ITEM_TASKS.get(first.task)
            if task is not None:
                load_run = getattr(task, "load_run", None)
                predictor = (load_run(items.config, items.shots, items.settings, None) if load_run
                             else task.load(items.config.model))
                return lambda qs: list(task.predict(predictor, qs))
            from medllm.session import Session
            from medllm.trust.privacy import GatedModel

            cfg = items.config
            solver = get_solver(cfg.strategy)
            session = Session.open(cfg.model, strategy=cfg.strategy, settings=items.settings,
                                   index=cfg.extra.get("index"), cache=items.settings.cache, audit=False)
            ctx = session.context(cfg.mode,  # type: ignore[arg-type]
                                  params=GenParams(max_tokens=cfg.max_tokens, temperature=0.0, seed=cfg.seed),
                                  shots=items.shots, seed=cfg.seed)
            if isinstance(ctx.model, GatedModel):
                ctx.model.restore_output = items.reidentify

            def answer(qs: list[Question]) -> list[dict[str, Any]]:
                out = []
                for q in qs:
                    t = time.perf_counter()
                    ans = solver(q, ctx)
                    out.append(_record(q, ans, time.perf_counter() - t))
                return out

            return answer

        fn: Callable[[list[Question]], list[dict[str, Any]]] | None = None

        def run(qs: list[Question]) -> list[dict[str, Any]]:
            nonlocal fn
            if not qs:
                return []
            if fn is None:  # the item kind is known from the first item (one kind per dataset)
                fn = build_for(qs[0])
            return fn(qs)

        return run


@dataclass
class EvalPlan:
    """What a run would do now: its items, those still to answer (in order), its shots and folder."""

    questions: list[Question]
    pending: list[Question]
    shots: list[Question]
    out_dir: Path
    settings: Settings

    def chunks(self, size: int = EVAL_CHUNK) -> list[list[Question]]:
        return [self.pending[i:i + size] for i in range(0, len(self.pending), size)]


def plan_eval(config: EvalConfig, *, out_dir: Path | None = None, settings: Settings | None = None,
              dataset: LoadedDataset | None = None) -> EvalPlan:
    """The items `run_eval` would answer now (a finished item's prediction line is kept), without
    writing anything: a runner splits them among its workers."""
    config.validate()
    settings = settings or load_settings()
    ds = dataset or load_dataset(config.dataset, skip_invalid=config.skip_invalid)
    questions = ds.questions[: config.limit] if config.limit else list(ds.questions)
    shots = pick_shots(config, {q.id for q in questions})
    out_dir = Path(out_dir) if out_dir else settings.runs_dir / config.run_id
    done = {r["id"] for r in PredictionLog(out_dir / PREDICTIONS).read()}
    return EvalPlan(questions, [q for q in questions if q.id not in done], shots, out_dir, settings)


def run_eval(
    config: EvalConfig,
    *,
    model: Model | None = None,
    out_dir: Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    dataset: LoadedDataset | None = None,
    reidentify: bool = False,
    results: Callable[[list[Question]], list[dict[str, Any]] | None] | None = None,
) -> RunResult:
    """Evaluate, resuming whatever part of the same run is already on disk. Behind the privacy
    gate, answers are recorded as the model wrote them (over surrogates) unless `reidentify`.
    `results(items)`: the records of one chunk of `EVAL_CHUNK` pending items computed elsewhere (a
    runner's workers, `medllm.runners.eval`), or None to answer that chunk here; the records are
    written in item order either way."""
    config.validate()
    settings = settings or load_settings()
    solver = get_solver(config.strategy)
    if config.mode not in solver.modes:
        raise ValueError(
            f"strategy {config.strategy!r} does not support --mode {config.mode}; it supports "
            f"{', '.join(solver.modes)}"
        )
    ds = dataset or load_dataset(config.dataset, skip_invalid=config.skip_invalid)
    questions = ds.questions[: config.limit] if config.limit else list(ds.questions)
    # kinds scored without a strategy (ner, assertion) bring their own predictor and metrics
    item_task = ITEM_TASKS.get(questions[0].task) if questions else None
    if item_task is not None and not hasattr(item_task, "load_run") and (config.strategy != "direct" or config.shots):
        raise ValueError(f"{item_task.kind} items are scored by their predictor alone (--model); "
                         "--strategy and --shots do not apply to them")
    ids = {q.id for q in questions}
    shots = pick_shots(config, ids)

    run_id = config.run_id
    out_dir = Path(out_dir) if out_dir else settings.runs_dir / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_same_run(out_dir, config, run_id)
    if not (out_dir / RUN_CONFIG).exists():
        atomic_write_json(out_dir / RUN_CONFIG, {
            **config.identity(), "run_id": run_id, "medllm_version": medllm.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })

    log = PredictionLog(out_dir / PREDICTIONS)
    log.repair()
    done = {r["id"]: r for r in log.read()}
    stray = set(done) - ids
    if stray:
        raise ValueError(
            f"{out_dir / PREDICTIONS} has {len(stray)} items not in this dataset selection "
            f"(e.g. {next(iter(stray))!r}); use another --out"
        )
    pending = [q for q in questions if q.id not in done]
    resumed = len(done)

    store = RunStore(settings.home / "runs.sqlite")
    store.start(run_id, {**config.identity(), "max_tokens": config.max_tokens}, out_dir)

    t0 = time.perf_counter()
    session = None
    try:
        if progress:
            progress(len(done), len(questions))
        if pending and results is not None:
            local: Callable[[list[Question]], list[dict[str, Any]]] | None = None
            for start in range(0, len(pending), EVAL_CHUNK):
                chunk = pending[start:start + EVAL_CHUNK]
                recs = results(chunk)
                if recs is None:  # not computed by a worker: answer it here, as a worker would
                    if local is None:
                        local = EvalWorkerSpec(config, settings, shots, reidentify).build()
                    recs = local(chunk)
                if [r["id"] for r in recs] != [q.id for q in chunk]:
                    raise RuntimeError(f"items {chunk[0].id}..{chunk[-1].id}: the records came back for other items")
                for rec in recs:
                    log.append(rec)
                    done[rec["id"]] = rec
                if progress:
                    progress(len(done), len(questions))
        elif pending and item_task is not None:
            # generation kinds (gen_tasks) also need the run's shots, strategy and settings
            load_run = getattr(item_task, "load_run", None)
            predictor = load_run(config, shots, settings, model) if load_run else item_task.load(config.model)
            batch = getattr(item_task, "batch", 64)
            try:
                for start in range(0, len(pending), batch):
                    for rec in item_task.predict(predictor, pending[start:start + batch]):
                        log.append(rec)
                        done[rec["id"]] = rec
                    if progress:
                        progress(len(done), len(questions))
            finally:
                getattr(predictor, "close", lambda: None)()
        elif pending:
            # One composition root: the model (a given one, or the config's), the privacy gate
            # (remote backends only ever see de-identified text, and so does their cache, inside),
            # and what the strategy needs besides the model: an index (rag), the graph (kg-rag).
            from medllm.session import Session

            session = Session.open(model if model is not None else config.model, strategy=config.strategy,
                                   settings=settings, index=config.extra.get("index"),
                                   cache=settings.cache, audit=False)
            ctx = session.context(
                config.mode,  # type: ignore[arg-type]
                params=GenParams(max_tokens=config.max_tokens, temperature=0.0, seed=config.seed),
                shots=shots, seed=config.seed,
            )
            from medllm.trust.privacy import GatedModel

            if isinstance(ctx.model, GatedModel):
                # predictions.jsonl holds no re-identified remote output unless asked
                ctx.model.restore_output = reidentify
            for q in pending:
                t = time.perf_counter()
                ans = solver(q, ctx)
                rec = _record(q, ans, time.perf_counter() - t)
                log.append(rec)
                done[q.id] = rec
                if progress:
                    progress(len(done), len(questions))
    finally:
        if session is not None:
            session.close()  # closes the model only when the session loaded it
    wall = time.perf_counter() - t0

    records = [done[q.id] for q in questions]
    summary = {
        "run_id": run_id,
        "dataset": config.dataset,
        "dataset_name": ds.spec.name,
        "task": sorted({q.task for q in questions}),
        "n": len(records),
        "n_dataset": len(ds.questions),
        "skipped_invalid": ds.skipped,
        "model": config.model,
        "mode": config.mode,
        "strategy": config.strategy,
        "shots": config.shots,
        "shots_from": config.shots_from,
        "shot_ids": [s.id for s in shots],
        "seed": config.seed,
        "limit": config.limit,
        "extra": config.extra,
        "max_tokens": config.max_tokens if config.mode == "generate" else None,
        "medllm_version": medllm.__version__,
        "wall_seconds": round(wall, 3),
        "item_seconds": round(sum(float(r.get("latency") or 0) for r in records), 3),
        "resumed_items": resumed,
        "prompt_tokens": sum(int(r.get("prompt_tokens") or 0) for r in records),
        "completion_tokens": sum(int(r.get("completion_tokens") or 0) for r in records),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "metrics": item_task.summarize(records, seed=config.seed) if item_task is not None
        else summarize(records, seed=config.seed, mode=config.mode),
    }
    atomic_write_json(out_dir / SUMMARY, summary)
    store.finish(run_id, summary)
    return RunResult(run_id=run_id, out_dir=out_dir, summary=summary, resumed=resumed,
                     answered=len(pending))


# per-item scores of generation runs (medllm.eval.gen_tasks): name -> (label, value of a record
# or None where it has none, unit); shares are in [0, 1], hallucination counts statements
ITEM_SCORES: dict[str, tuple[str, Callable[[dict[str, Any]], float | None], str]] = {
    **{k: (f"ROUGE-{k[5:]}", lambda r, k=k: r["rouge"][k] / 100 if r.get("rouge") else None, "share")
       for k in ("rouge1", "rouge2", "rougeL", "rougeLsum")},
    "factuality": ("factuality (statements supported)",
                   lambda r: r["supported"] / r["statements"] if r.get("statements") else None, "share"),
    "comprehensiveness": ("K-QA comprehensiveness", lambda r: r["must_entailed"] / r["must"] if r.get("must") else None,
                          "share"),
    "hallucination": ("K-QA contradicted / answer", lambda r: float(r["contradicted"]) if "must" in r else None, "count"),
    "rubric_score": ("rubric score", lambda r: r.get("rubric_score"), "share"),
}


def compare_runs(a: list[dict[str, Any]], b: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """Paired statistics of two runs on the items they share (matched by id): for runs whose
    items are right or wrong, exact McNemar and a paired bootstrap CI of the accuracy difference
    (`kind` "accuracy"); for generation runs, a paired bootstrap CI of the mean difference of each
    per-item score both runs carry (`kind` "scores")."""
    bi = {r["id"]: r for r in b}
    shared = [r["id"] for r in a if r["id"] in bi]
    if not shared:
        raise ValueError("the two runs share no items; compare runs on the same dataset")
    ai = {r["id"]: r for r in a}
    out: dict[str, Any] = {
        "n_shared": len(shared), "n_a": len(a), "n_b": len(b),
        "agreement": sum(1 for i in shared if ai[i]["pred"] == bi[i]["pred"]) / len(shared),
    }
    if all(isinstance(x[i].get("correct"), bool) for i in shared for x in (ai, bi)):
        ac = [bool(ai[i]["correct"]) for i in shared]
        bc = [bool(bi[i]["correct"]) for i in shared]
        mc = M.mcnemar_exact(ac, bc)
        diff, lo, hi = M.paired_bootstrap_diff(ac, bc, seed=seed)
        return {**out, "kind": "accuracy", "accuracy_a": sum(ac) / len(ac), "accuracy_b": sum(bc) / len(bc),
                "diff_b_minus_a": diff, "diff_ci": [lo, hi], "a_only_correct": mc.a_only,
                "b_only_correct": mc.b_only, "mcnemar_p": mc.p_value}
    scores = {}
    for name, (label, value, unit) in ITEM_SCORES.items():
        pairs = [(va, vb) for i in shared
                 if (va := value(ai[i])) is not None and (vb := value(bi[i])) is not None]
        if pairs:
            d = [vb - va for va, vb in pairs]  # resampling the differences keeps each item's pair
            lo, hi = M.bootstrap_ci(d, seed=seed)
            scores[name] = {"label": label, "unit": unit, "n": len(pairs),
                            "mean_a": sum(va for va, _ in pairs) / len(pairs),
                            "mean_b": sum(vb for _, vb in pairs) / len(pairs),
                            "diff_b_minus_a": sum(d) / len(d), "diff_ci": [lo, hi]}
    if not scores:
        raise ValueError("the two runs carry neither right/wrong items nor a per-item score in common "
                         "(ROUGE, factuality, K-QA, rubric); compare runs of the same kind of dataset")
    return {**out, "kind": "scores", "scores": scores}
