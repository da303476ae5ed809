"""Patient cases for the differential: GA4GH phenopackets (v2 JSON) in, and batches of cases as
JSON lines ranked to JSON lines, resumable and written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

    Resumable: results go to a hidden `.NAME.partial` beside `out`, flushed per case; a rerun
    skips the ids already there (or in a finished `out`). Atomic: `out` appears, by rename, only
    when every line is done. A bad line is reported with its number and skipped."""
    src, dst = Path(cases).expanduser(), Path(out).expanduser()
    if not src.is_file():
        raise ValueError(f"{src}: no such cases file (JSON lines of {{\"id\", \"observed\", \"excluded\"}})")
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one diagnosis")
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.parent / f".{dst.name}.partial"
    done: set[str] = set()
    kept: list[str] = []
    for f in (dst, partial):
        if f.exists():
            for line in f.read_text(encoding="utf-8").splitlines():
                try:
                    rid = json.loads(line)["id"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by a crash is redone
                if rid not in done:
                    done.add(rid)
                    kept.append(line)
    with partial.open("w", encoding="utf-8") as w:  # rewritten whole: drops any torn last line
        w.writelines(x + "\n" for x in kept)
    lines = src.read_text(encoding="utf-8").splitlines()
    report = BatchReport(resumed=0)
    seen: set[str] = set()
    with partial.open("a", encoding="utf-8") as w:
        for ln, line in enumerate(lines, 1):
            if on_progress:
                on_progress(ln - 1, len(lines))
            if not line.strip():
                continue
            try:
                c = parse_case_line(line)
                if c.id in seen:
                    raise ValueError(f"id {c.id!r} repeats an earlier line")
                seen.add(c.id)
                if c.id in done:
                    report.resumed += 1
                    continue
                case = dx.case(c.observed, c.excluded, strict=False)
                diags = dx.rank(case, k=k, sources=sources, explain=False)
            except ValueError as e:
                report.bad.append((ln, str(e)))
                continue
            rec: dict[str, Any] = {"id": c.id, "diagnoses": [d.to_dict() for d in diags]}
            if case.ignored:
                rec["ignored"] = case.ignored
            w.write(json.dumps(rec, ensure_ascii=False) + "\n")
            w.flush()
            report.ranked += 1
        w.flush()
        os.fsync(w.fileno())
    if on_progress:
        on_progress(len(lines), len(lines))
    os.replace(partial, dst)
    return report
