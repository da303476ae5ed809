"""Task kinds the harness scores without a reasoning strategy: each brings its predictor (named
by the run's --model spec), how a batch of items becomes prediction records, and its metrics.

The runner looks a dataset's task kind up in `ITEM_TASKS`; kinds not there (mcq, yesno, nli,
fake) go through a solver and the model as before. A new kind (generation, say) is one class
here and one entry in the registry.

- ner (`conll:` datasets): predictor `ner:NAME`, an EntityTagger from
  `medllm.tasks.ie.pipeline.load_tagger(NAME)` (default = the trained model, dictionary = the
  knowledge-graph linker). Records carry the gold and predicted IOB tag sequences; scored with
  entity-level strict precision, recall and F1 (seqeval, IOB2 strict mode), overall and per type,
  with bootstrap CIs over sentences.
- assertion (`negex:` datasets): predictor `context` (the shipped ConText rules) or
  `context:RULES.json`. Records carry the negation status (Negated / Affirmed) as gold and pred,
  temporality and experiencer in their own fields; scored with negation F1 and accuracy,
  temporality and experiencer accuracy and F1.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from medllm.eval import metrics as M
from medllm.types import Question


class ItemTask(Protocol):
    kind: str

    def load(self, spec: str) -> Any: ...

    def predict(self, predictor: Any, items: Sequence[Question]) -> list[dict[str, Any]]: ...

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]: ...


def _rate(k: int, n: int, seed: int, values: list[float] | None = None) -> dict[str, Any]:
    values = values if values is not None else [1.0] * k + [0.0] * (n - k)
    return {"value": k / n if n else float("nan"), "k": k, "n": n, "wilson": list(M.wilson_ci(k, n)),
            "bootstrap": list(M.bootstrap_ci(values, seed=seed))}


def _f1(tp: list[int], fp: list[int], fn: list[int], seed: int) -> dict[str, Any]:
    p, r, f = M.f1_counts(sum(tp), sum(fp), sum(fn))
    return {"value": f, "precision": p, "recall": r, "tp": sum(tp), "fp": sum(fp), "fn": sum(fn),
            "bootstrap": list(M.bootstrap_f1_ci(tp, fp, fn, seed=seed))}


# ---------------------------------------------------------------------------------- NER


def iob_entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """(type, first token, one past last) of each entity, IOB2 strict: an entity starts at B-X
    and continues over I-X; an I- tag that does not continue an entity of its type starts none."""
    out: set[tuple[str, int, int]] = set()
    cur: tuple[str, int] | None = None
    for i, t in enumerate([*tags, "O"]):
        if cur is not None and t != f"I-{cur[0]}":
            out.add((cur[0], cur[1], i))
            cur = None
        if t.startswith("B-"):
            cur = (t[2:], i)
    return out


class NerTask:
    kind = "ner"

    def load(self, spec: str) -> Any:
        if not spec.startswith("ner:"):
            raise ValueError(f"--model {spec!r}: a conll: (NER) dataset is scored with an entity tagger; "
                             "write --model ner:default (the trained model) or ner:dictionary")
        from medllm.tasks.ie.pipeline import load_tagger

        return load_tagger(spec.split(":", 1)[1] or "default")

    def predict(self, predictor: Any, items: Sequence[Question]) -> list[dict[str, Any]]:
        t = time.perf_counter()
        sents = [list(q.metadata["tokens"]) for q in items]
        tags = predictor.tag_tokens(sents)
        each = (time.perf_counter() - t) / max(1, len(items))
        out = []
        for q, pred in zip(items, tags, strict=True):
            gold = list(q.metadata["tags"])
            if len(pred) != len(gold):
                raise ValueError(f"tagger {getattr(predictor, 'name', '?')} returned {len(pred)} tags for the "
                                 f"{len(gold)} tokens of sentence {q.id}")
            g, p = iob_entities(gold), iob_entities(pred)
            out.append({"id": q.id, "task": "ner", "gold": gold, "pred": list(pred), "correct": gold == list(pred),
                        "tp": len(g & p), "fp": len(p - g), "fn": len(g - p),
                        "chars": sum(len(x) for x in q.metadata["tokens"]) + len(gold) - 1,
                        "latency": round(each, 5)})
        return out

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2

        gold = [r["gold"] for r in records]
        pred = [r["pred"] for r in records]
        rep = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        out: dict[str, Any] = {
            "f1": _f1([r["tp"] for r in records], [r["fp"] for r in records], [r["fn"] for r in records], seed),
            "seqeval": {"precision": rep["micro avg"]["precision"], "recall": rep["micro avg"]["recall"],
                        "f1": rep["micro avg"]["f1-score"], "support": int(rep["micro avg"]["support"])},
            "sentence_exact": _rate(sum(bool(r["correct"]) for r in records), len(records), seed),
        }
        per: dict[str, Any] = {}
        for typ in sorted({e[0] for r in records for e in iob_entities(r["gold"]) | iob_entities(r["pred"])}):
            tp, fp, fn = [], [], []
            for r in records:
                g = {e for e in iob_entities(r["gold"]) if e[0] == typ}
                p = {e for e in iob_entities(r["pred"]) if e[0] == typ}
                tp.append(len(g & p))
                fp.append(len(p - g))
                fn.append(len(g - p))
            per[typ] = _f1(tp, fp, fn, seed)
        out["per_type"] = per
        secs = sum(float(r.get("latency") or 0) for r in records)
        if secs > 0:
            out["chars_per_s"] = {"value": sum(int(r.get("chars") or 0) for r in records) / secs}
        return out


# ---------------------------------------------------------------------------- assertion

NEGEX_TEMPORALITY = {"recent": "Recent", "historical": "Historical", "hypothetical": "Not particular"}


class AssertionTask:
    kind = "assertion"

    def load(self, spec: str) -> Any:
        from medllm.tasks.ie.context import ConText

        if spec == "context":
            return ConText.from_file()
        if spec.startswith("context:"):
            return ConText.from_file(spec.split(":", 1)[1])
        raise ValueError(f"--model {spec!r}: a negex: (assertion) dataset is scored with ConText; "
                         "write --model context (the shipped rules) or context:RULES.json")

    def predict(self, predictor: Any, items: Sequence[Question]) -> list[dict[str, Any]]:
        from medllm.tasks.ie.pipeline import assert_mentions

        out = []
        for q in items:
            t = time.perf_counter()
            [(a, sec)] = assert_mentions(q.question, [(q.metadata["start"], q.metadata["end"])], predictor)
            pred = "Negated" if a.negated else "Affirmed"
            out.append({
                "id": q.id, "task": "assertion", "gold": q.gold, "pred": pred, "correct": pred == q.gold,
                "gold_temporality": q.metadata["temporality"], "pred_temporality": NEGEX_TEMPORALITY[a.temporality],
                "gold_experiencer": q.metadata["experiencer"],
                "pred_experiencer": "Other" if a.other_experiencer else "Patient",
                "possible": a.possible, "section": sec.name if sec else None,
                "cues": [[c.category, c.text] for c in a.cues], "chars": len(q.question),
                "latency": round(time.perf_counter() - t, 6),
            })
        return out

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
        n = len(records)

        def f1_of(pos: Any, key_g: str, key_p: str) -> dict[str, Any]:
            tp = [int(pos(r[key_g]) and pos(r[key_p])) for r in records]
            fp = [int(pos(r[key_p]) and not pos(r[key_g])) for r in records]
            fn = [int(pos(r[key_g]) and not pos(r[key_p])) for r in records]
            return _f1(tp, fp, fn, seed)

        def acc(key_g: str, key_p: str, same: Any = None) -> dict[str, Any]:
            ok = [float((same or (lambda a, b: a == b))(r[key_g], r[key_p])) for r in records]
            return _rate(int(sum(ok)), n, seed, ok)

        def other(x: str) -> bool:
            return x != "Patient"

        out: dict[str, Any] = {
            "accuracy": acc("gold", "pred"),
            "negation_f1": f1_of(lambda x: x == "Negated", "gold", "pred"),
            "temporality_accuracy": acc("gold_temporality", "pred_temporality"),
            "historical_f1": f1_of(lambda x: x == "Historical", "gold_temporality", "pred_temporality"),
            "hypothetical_f1": f1_of(lambda x: x == "Not particular", "gold_temporality", "pred_temporality"),
            "experiencer_accuracy": acc("gold_experiencer", "pred_experiencer", lambda a, b: other(a) == other(b)),
            "experiencer_f1": f1_of(other, "gold_experiencer", "pred_experiencer"),
        }
        labels = ["Recent", "Historical", "Not particular"]
        out["temporality_macro_f1"] = {"value": M.macro_f1(
            [r["gold_temporality"] for r in records], [r["pred_temporality"] for r in records], labels)}
        secs = sum(float(r.get("latency") or 0) for r in records)
        if secs > 0:
            out["chars_per_s"] = {"value": sum(int(r.get("chars") or 0) for r in records) / secs}
        return out


ITEM_TASKS: dict[str, ItemTask] = {"ner": NerTask(), "assertion": AssertionTask()}

# generation kinds (aci:, mtsdialog:, meqsum:, kqa: datasets) live in their own module
from medllm.eval.gen_tasks import GEN_TASKS  # noqa: E402

ITEM_TASKS.update(GEN_TASKS)
