"""lm-eval `custom_dataset` loaders: local files -> the columns of each task's upstream dataset.

lm-eval calls these with the task's `dataset_kwargs` (here `data_file`) and its metadata, and
reads one split, `validation`. Each row keeps the file's own text untouched (lm-eval's
`doc_to_text` does the layout), plus `id`, the id medllm's loader gives the same item, so the
two harnesses' predictions can be matched item by item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medllm.jsonl import BadLine, read_jsonl

LETTERS = "ABCD"


class LocalTaskDataError(ValueError):
    """A local file does not have the layout the lm-eval task needs; names file, place, field."""

    def __init__(self, path: Path, where: str, problem: str):
        super().__init__(f"{path} ({where}): {problem}")


def _path(data_file: object) -> Path:
    if not data_file:
        raise LocalTaskDataError(Path("?"), "dataset_kwargs", "no data_file given; pass the local file")
    p = Path(str(data_file)).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist; point the task at a local file")
    return p


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, rec in read_jsonl(path):
        if isinstance(rec, BadLine):
            raise LocalTaskDataError(path, f"line {i}", rec.problem)
        yield i, rec


def _field(path: Path, where: str, rec: dict[str, Any], key: str) -> Any:
    val = rec.get(key)
    if val is None or (isinstance(val, str) and not val.strip()):
        raise LocalTaskDataError(path, where, f"field {key!r} is missing or empty")
    return val


def _as_dataset(rows: list[dict[str, Any]], path: Path) -> Any:
    import datasets

    if not rows:
        raise LocalTaskDataError(path, "whole file", "no items")
    return datasets.DatasetDict({"validation": datasets.Dataset.from_list(rows)})


def medmcqa(data_file: str | None = None, **_: object) -> Any:
    """MedMCQA JSON lines (question, opa..opd, cop 1-4 as in the released files). lm-eval's
    `medmcqa` reads `cop` as 0-3 (the HF copy's ClassLabel), so it is shifted here."""
    path = _path(data_file)
    rows = []
    for i, rec in _jsonl(path):
        where = f"line {i}"
        row = {k: str(_field(path, where, rec, k)) for k in ("question", "opa", "opb", "opc", "opd")}
        cop = _field(path, where, rec, "cop")
        try:
            idx = int(cop)
        except (TypeError, ValueError):
            raise LocalTaskDataError(path, where, f"cop {cop!r} is not a number 1-4") from None
        if not 1 <= idx <= 4:
            raise LocalTaskDataError(path, where, f"cop {cop!r} is not in 1-4")
        row["cop"] = idx - 1
        row["id"] = str(rec.get("id") or f"medmcqa-{i}")
        rows.append(row)
    return _as_dataset(rows, path)


def pubmedqa(data_file: str | None = None, **_: object) -> Any:
    """PubMedQA PQA-L JSON (ori_pqal.json layout: PMID -> {QUESTION, CONTEXTS, final_decision});
    the columns are those of bigbio/pubmed_qa's `source` schema that lm-eval's task reads."""
    path = _path(data_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise LocalTaskDataError(path, f"line {e.lineno}", f"not valid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise LocalTaskDataError(path, "top level", "expected an object PMID -> record")
    rows = []
    for pmid, rec in data.items():
        where = f"key {pmid!r}"
        if not isinstance(rec, dict):
            raise LocalTaskDataError(path, where, "expected an object")
        ctx = _field(path, where, rec, "CONTEXTS")
        if not isinstance(ctx, list) or not all(isinstance(c, str) for c in ctx):
            raise LocalTaskDataError(path, where, "CONTEXTS is not a list of strings")
        rows.append({
            "id": str(pmid),
            "QUESTION": str(_field(path, where, rec, "QUESTION")),
            "CONTEXTS": ctx,
            "final_decision": str(_field(path, where, rec, "final_decision")),
        })
    return _as_dataset(rows, path)


def medqa_4options(data_file: str | None = None, **_: object) -> Any:
    """MedQA-USMLE 4-option JSON lines, either the released layout (question, options {A..D},
    answer_idx: what medllm's `medqa:` loader reads) or the HF layout lm-eval's task was written
    for (sent1, ending0..3, label 0-3)."""
    path = _path(data_file)
    rows = []
    for i, rec in _jsonl(path):
        where = f"line {i}"
        if "sent1" in rec:
            endings = [str(_field(path, where, rec, f"ending{k}")) for k in range(4)]
            label = _field(path, where, rec, "label")
            if label not in (0, 1, 2, 3):
                raise LocalTaskDataError(path, where, f"label {label!r} is not 0-3")
            question = str(_field(path, where, rec, "sent1"))
        else:
            opts = _field(path, where, rec, "options")
            if not isinstance(opts, dict) or sorted(opts) != list(LETTERS):
                raise LocalTaskDataError(
                    path, where, f"options must be an object with keys A-D (medqa_4options has "
                    f"four options), got {sorted(opts) if isinstance(opts, dict) else type(opts).__name__}")
            gold = str(_field(path, where, rec, "answer_idx")).strip()
            if gold not in opts:
                raise LocalTaskDataError(path, where, f"answer_idx {gold!r} is not one of A-D")
            endings = [str(opts[k]) for k in LETTERS]
            label = LETTERS.index(gold)
            question = str(_field(path, where, rec, "question"))
        rows.append({"id": str(rec.get("id") or f"medqa-{i}"), "sent1": question, "sent2": "",
                     **{f"ending{k}": e for k, e in enumerate(endings)}, "label": label})
    return _as_dataset(rows, path)
