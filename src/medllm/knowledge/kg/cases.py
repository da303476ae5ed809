"""Patient cases for the differential: GA4GH phenopackets (v2 JSON) in, and batches of cases as
JSON lines ranked to JSON lines, resumable and written atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medllm.batch import map_jsonl

if TYPE_CHECKING:
    from medllm.knowledge.kg.ddx import Differential


@dataclass
class CaseInput:
    id: str
    observed: list[str]
    excluded: list[str] = field(default_factory=list)


def _field(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
    return None


def read_phenopacket(path: str | Path) -> CaseInput:
    """Observed and excluded HPO terms of a GA4GH phenopacket (v2 JSON; a Family is read through
    its proband). Errors name the file and the field that is wrong."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{p}: no such phenopacket file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not JSON ({e.msg} at line {e.lineno}); a phenopacket is a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: the top level is a {type(data).__name__}; a phenopacket is a JSON object")
    where = ""
    if "proband" in data and "phenotypicFeatures" not in data:  # a Family
        data, where = data["proband"], "proband."
        if not isinstance(data, dict):
            raise ValueError(f"{p}: field proband must be a phenopacket object")
    feats = _field(data, "phenotypicFeatures", "phenotypic_features")
    if feats is None:
        raise ValueError(f"{p}: field {where}phenotypicFeatures is missing; a phenopacket lists the patient's HPO "
                         "terms there as [{\"type\": {\"id\": \"HP:0001250\", \"label\": \"Seizure\"}}, ...]")
    if not isinstance(feats, list):
        raise ValueError(f"{p}: field {where}phenotypicFeatures must be a list, not {type(feats).__name__}")
    obs: list[str] = []
    exc: list[str] = []
    for i, f in enumerate(feats):
        at = f"{where}phenotypicFeatures[{i}]"
        if not isinstance(f, dict):
            raise ValueError(f"{p}: field {at} must be an object with a type")
        t = f.get("type")
        if not isinstance(t, dict):
            raise ValueError(f"{p}: field {at}.type is missing or not an object; expected {{\"id\": \"HP:...\"}}")
        tid = t.get("id")
        if not isinstance(tid, str) or not tid.upper().startswith("HP:"):
            raise ValueError(f"{p}: field {at}.type.id is {tid!r}; expected an HPO id such as HP:0001250")
        excluded = f.get("excluded", False)
        if not isinstance(excluded, bool):
            raise ValueError(f"{p}: field {at}.excluded is {excluded!r}; expected true or false")
        (exc if excluded else obs).append(tid)
    pid = data.get("id") if isinstance(data.get("id"), str) else p.stem
    if not obs:
        raise ValueError(f"{p}: field {where}phenotypicFeatures has no observed (non-excluded) HPO term to rank on")
    return CaseInput(pid, obs, exc)


def parse_case_line(line: str) -> CaseInput:
    """One batch line: {"id": ..., "observed": [HP ids], "excluded": [HP ids]}."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object {\"id\", \"observed\", \"excluded\"}")
    cid = obj.get("id")
    if not isinstance(cid, (str, int)) or cid == "":
        raise ValueError("field id is missing or empty")
    out: dict[str, list[str]] = {}
    for name in ("observed", "excluded"):
        v = obj.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError(f"field {name} must be a list of HPO ids")
        out[name] = v
    if not out["observed"]:
        raise ValueError("field observed is empty; give at least one HPO id")
    return CaseInput(str(cid), out["observed"], out["excluded"])


@dataclass
class BatchReport:
    ranked: int = 0  # cases ranked in this run
    resumed: int = 0  # cases already in the output from an earlier run
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)


def rank_batch(dx: Differential, cases: str | Path, out: str | Path, k: int = 10,
               sources: tuple[str, ...] = ("OMIM",),
               on_progress: Callable[[int, int], None] | None = None) -> BatchReport:
    """Rank each case of a JSON-lines file into `out` (one line per case, best first).

    Resumable and atomic (`medllm.batch`): results grow in a hidden `.NAME.partial` beside `out`,
    a rerun skips the ids already there (or in a finished `out`), and `out` appears, by rename,
    only when every line is done. A bad line is reported with its number and skipped."""
    src, dst = Path(cases).expanduser(), Path(out).expanduser()
    if not src.is_file():
        raise ValueError(f"{src}: no such cases file (JSON lines of {{\"id\", \"observed\", \"excluded\"}})")
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one diagnosis")
    report = BatchReport()
    items: list[tuple[str, tuple[int, CaseInput]]] = []
    seen: set[str] = set()
    for ln, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            c = parse_case_line(line)
            if c.id in seen:
                raise ValueError(f"id {c.id!r} repeats an earlier line")
        except ValueError as e:
            report.bad.append((ln, str(e)))
            continue
        seen.add(c.id)
        items.append((c.id, (ln, c)))

    def rank(batch: list[tuple[str, tuple[int, CaseInput]]]) -> list[dict[str, Any]]:
        out = []
        for _, (_, c) in batch:
            case = dx.case(c.observed, c.excluded, strict=False)
            rec: dict[str, Any] = {"diagnoses": [d.to_dict() for d in dx.rank(case, k=k, sources=sources, explain=False)]}
            if case.ignored:
                rec["ignored"] = case.ignored
            out.append(rec)
        return out

    done = map_jsonl(items, dst, rank, catch=(ValueError,), progress=on_progress)
    report.ranked, report.resumed = done.written, len(done.resumed)
    report.bad = sorted(report.bad + [(f.item[0], str(f.error)) for f in done.failed])
    return report
