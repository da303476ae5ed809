"""Loaders for medical benchmarks in their upstream formats, into the shared `Question` record.

A dataset is named by a spec `KIND:PATH[#SUBSET][?KEY=VALUE&...]`, for example
`medqa:data/test.jsonl`, `mirage:benchmark.json#bioasq`, `pubmedqa:pubmedqa_tiny.json?context=0`,
`jsonl:my.jsonl?question=q&options=opa,opb,opc&answer=cop&answer_base=1`.

A malformed record stops the load with the file, line (or key) and field at fault; with
`skip_invalid=True` it is counted and skipped instead.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from medllm.jsonl import BadLine, read_jsonl
from medllm.types import Choice, Question

LETTERS = string.ascii_uppercase


class DatasetError(ValueError):
    """A dataset file or record cannot be read; the message names file, line and field."""

    def __init__(self, path: Path | str, where: str, fld: str | None, problem: str):
        self.path, self.where, self.field, self.problem = str(path), where, fld, problem
        at = f"{path}, {where}" + (f", field {fld!r}" if fld else "")
        super().__init__(
            f"{at}: {problem}. Fix the record, or pass --skip-invalid to count and skip it."
        )


@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    path: Path
    subset: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short name for tables: kind, subset, non-default options."""
        extra = "".join(f"-{k}{v}" for k, v in sorted(self.params.items()) if k == "context")
        return f"{self.kind}{'-' + self.subset if self.subset else ''}{extra}"

    def __str__(self) -> str:
        s = f"{self.kind}:{self.path}"
        if self.subset:
            s += f"#{self.subset}"
        if self.params:
            s += "?" + "&".join(f"{k}={v}" for k, v in self.params.items())
        return s


@dataclass
class LoadedDataset:
    spec: DatasetSpec
    questions: list[Question]
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # first few skipped-record messages


def parse_spec(spec: str) -> DatasetSpec:
    """`KIND:PATH[#SUBSET][?K=V&...]` -> DatasetSpec. Raises ValueError saying what to write."""
    if ":" not in spec:
        raise ValueError(
            f"dataset spec {spec!r} has no kind; write KIND:PATH, kinds: {', '.join(LOADERS)}"
        )
    kind, rest = spec.split(":", 1)
    kind = kind.strip().lower()
    if kind not in LOADERS:
        raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}; kinds: {', '.join(LOADERS)}")
    params: dict[str, str] = {}
    if "?" in rest:
        rest, query = rest.split("?", 1)
        params = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
    subset = None
    if "#" in rest:
        rest, subset = rest.split("#", 1)
    if not rest:
        raise ValueError(f"dataset spec {spec!r} has no path after {kind}:")
    return DatasetSpec(kind=kind, path=Path(rest).expanduser(), subset=subset or None, params=params)


def load_dataset(spec: str | DatasetSpec, *, skip_invalid: bool = False) -> LoadedDataset:
    """Read every record of a dataset. Ids are unique within the result."""
    ds = parse_spec(spec) if isinstance(spec, str) else spec
    if not ds.path.exists():
        raise FileNotFoundError(f"dataset file {ds.path} does not exist (from spec {str(ds)!r})")
    out = LoadedDataset(spec=ds, questions=[])
    seen: set[str] = set()
    for where, item in LOADERS[ds.kind](ds):
        if isinstance(item, DatasetError):
            if not skip_invalid:
                raise item
            out.skipped += 1
            if len(out.errors) < 20:
                out.errors.append(str(item.args[0]).split(". Fix")[0])
            continue
        if item.id in seen:
            err = DatasetError(ds.path, where, "id", f"duplicate id {item.id!r}")
            if not skip_invalid:
                raise err
            out.skipped += 1
            continue
        seen.add(item.id)
        out.questions.append(item)
    if not out.questions:
        raise ValueError(f"dataset {ds} holds no usable records ({out.skipped} skipped)")
    return out


# -- helpers ---------------------------------------------------------------------------------

Item = tuple[str, "Question | DatasetError"]


def _bool(ds: DatasetSpec, key: str, default: bool) -> bool:
    raw = ds.params.get(key)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"dataset option {key}={raw!r} in {ds}: use 1 or 0")


def _jsonl(ds: DatasetSpec) -> Iterator[tuple[str, dict[str, Any] | DatasetError]]:
    for i, rec in read_jsonl(ds.path):
        where = f"line {i}"
        yield where, (DatasetError(ds.path, where, None, rec.problem) if isinstance(rec, BadLine) else rec)


def _csv_rows(path: Path, header: bool) -> Iterator[tuple[str, list[str] | dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        if header:
            reader = csv.DictReader(f)
            for row in reader:
                yield f"line {reader.line_num}", row
        else:
            rows = csv.reader(f)
            for row in rows:
                if row:
                    yield f"line {rows.line_num}", row


def _need(ds: DatasetSpec, where: str, rec: dict[str, Any], key: str) -> Any:
    val = rec.get(key)
    if val is None or (isinstance(val, str) and not val.strip()):
        raise DatasetError(ds.path, where, key, "missing or empty")
    return val


def _records(
    ds: DatasetSpec, make: Callable[[str, dict[str, Any]], Question]
) -> Iterator[Item]:
    for where, rec in _jsonl(ds):
        if isinstance(rec, DatasetError):
            yield where, rec
            continue
        try:
            yield where, make(where, rec)
        except DatasetError as e:
            yield where, e


def _letter_options(texts: list[str]) -> list[Choice]:
    return [Choice(label=LETTERS[i], text=str(t)) for i, t in enumerate(texts)]


# -- loaders ---------------------------------------------------------------------------------


def _medqa(ds: DatasetSpec) -> Iterator[Item]:
    """MedQA JSON lines: question, options {A: ..}, answer_idx (the letter)."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        opts = _need(ds, where, rec, "options")
        if not isinstance(opts, dict) or not opts:
            raise DatasetError(ds.path, where, "options", "expected an object {A: text, ...}")
        gold = str(_need(ds, where, rec, "answer_idx")).strip()
        if gold not in opts:
            raise DatasetError(ds.path, where, "answer_idx", f"{gold!r} is not one of {list(opts)}")
        return Question(
            id=str(rec.get("id") or where.replace("line ", "medqa-")),
            question=str(_need(ds, where, rec, "question")),
            options=[Choice(label=str(k), text=str(v)) for k, v in opts.items()],
            gold=gold,
            subject=rec.get("meta_info"),
            task="mcq",
        )

    return _records(ds, make)


def _medmcqa(ds: DatasetSpec) -> Iterator[Item]:
    """MedMCQA JSON lines: question, opa..opd, cop (1-4), subject_name."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        texts = [_need(ds, where, rec, k) for k in ("opa", "opb", "opc", "opd")]
        cop = _need(ds, where, rec, "cop")
        try:
            idx = int(cop)
        except (TypeError, ValueError):
            raise DatasetError(ds.path, where, "cop", f"{cop!r} is not a number 1-4") from None
        if not 1 <= idx <= 4:
            raise DatasetError(ds.path, where, "cop", f"{cop!r} is not in 1-4")
        return Question(
            id=str(rec.get("id") or where.replace("line ", "medmcqa-")),
            question=str(_need(ds, where, rec, "question")),
            options=_letter_options(texts),
            gold=LETTERS[idx - 1],
            subject=rec.get("subject_name") or None,
            task="mcq",
            metadata={"topic": rec.get("topic_name"), "choice_type": rec.get("choice_type"),
                      "exp": rec.get("exp") or None},  # the explanation, a training rationale
        )

    return _records(ds, make)


def _yesno_options() -> list[Choice]:
    return [Choice(label=w, text=w) for w in ("yes", "no", "maybe")]


def _pubmedqa(ds: DatasetSpec) -> Iterator[Item]:
    """PubMedQA pubmedqa_tiny.json-style object PMID -> {QUESTION, CONTEXTS, final_decision, ...}.
    Options: context=0 drops the abstracts (MIRAGE's PubMedQA*); labels=PATH reads gold labels
    from a separate {PMID: label} file (the official test ground truth layout)."""
    with_context = _bool(ds, "context", True)
    try:
        data = json.loads(ds.path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        yield f"line {e.lineno}", DatasetError(ds.path, f"line {e.lineno}", None, f"not valid JSON ({e.msg})")
        return
    if not isinstance(data, dict):
        yield "top level", DatasetError(ds.path, "top level", None, "expected an object PMID -> record")
        return
    labels: dict[str, str] = {}
    if "labels" in ds.params:
        lp = Path(ds.params["labels"]).expanduser()
        if not lp.exists():
            raise FileNotFoundError(f"PubMedQA ground-truth file {lp} does not exist")
        labels = {str(k): str(v) for k, v in json.loads(lp.read_text(encoding="utf-8")).items()}
    for pmid, rec in data.items():
        where = f"key {pmid!r}"
        try:
            if not isinstance(rec, dict):
                raise DatasetError(ds.path, where, None, "expected an object")
            gold = labels.get(str(pmid), rec.get("final_decision"))
            if gold is None:
                raise DatasetError(ds.path, where, "final_decision", "missing (and no labels= file)")
            gold = str(gold).strip().lower()
            if gold not in ("yes", "no", "maybe"):
                raise DatasetError(ds.path, where, "final_decision", f"{gold!r} is not yes/no/maybe")
            ctx = rec.get("CONTEXTS") or []
            if with_context and not (isinstance(ctx, list) and ctx):
                raise DatasetError(ds.path, where, "CONTEXTS", "missing or not a list of strings")
            yield where, Question(
                id=str(pmid),
                question=str(_need(ds, where, rec, "QUESTION")),
                options=_yesno_options(),
                gold=gold,
                context=[str(c) for c in ctx] if with_context else [],
                task="yesno",
                metadata={"year": rec.get("YEAR"), "long_answer": rec.get("LONG_ANSWER")},
            )
        except DatasetError as e:
            yield where, e


def _mmlu(ds: DatasetSpec) -> Iterator[Item]:
    """MMLU headerless CSV: question, A, B, C, D, answer letter. Subject from the file name."""
    subject = ds.path.stem.removesuffix("_dev").removesuffix("_test").removesuffix("_val")
    for where, row in _csv_rows(ds.path, header=False):
        assert isinstance(row, list)
        if len(row) != 6:
            yield where, DatasetError(ds.path, where, None, f"expected 6 columns, found {len(row)}")
            continue
        gold = row[5].strip().upper()
        if gold not in "ABCD" or not gold:
            yield where, DatasetError(ds.path, where, "answer", f"{row[5]!r} is not A-D")
            continue
        yield where, Question(
            id=f"{subject}-{where.split()[-1]}",
            question=row[0],
            options=_letter_options(row[1:5]),
            gold=gold,
            subject=subject.replace("_", " "),
            task="mcq",
        )


MIRAGE_SUBSETS = ("mmlu", "medqa", "medmcqa", "pubmedqa", "bioasq")


def _mirage(ds: DatasetSpec) -> Iterator[Item]:
    """MIRAGE benchmark.json: {subset: {id: {question, options {A: ..}, answer}}}. Choose the
    subset with #NAME. PubMedQA* and BioASQ-Y/N become yes/no tasks (question only)."""
    if ds.subset not in MIRAGE_SUBSETS:
        raise ValueError(
            f"MIRAGE needs a subset: write mirage:{ds.path}#NAME with NAME one of "
            f"{', '.join(MIRAGE_SUBSETS)}"
        )
    data = json.loads(ds.path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or ds.subset not in data:
        raise ValueError(f"{ds.path} has no subset {ds.subset!r}; it has {list(data)[:10]}")
    for qid, rec in data[ds.subset].items():
        where = f"key {ds.subset}/{qid}"
        try:
            if not isinstance(rec, dict):
                raise DatasetError(ds.path, where, None, "expected an object")
            opts = _need(ds, where, rec, "options")
            if not isinstance(opts, dict) or not opts:
                raise DatasetError(ds.path, where, "options", "expected an object {A: text, ...}")
            ans = str(_need(ds, where, rec, "answer")).strip()
            if ans not in opts:
                raise DatasetError(ds.path, where, "answer", f"{ans!r} is not one of {list(opts)}")
            texts = [str(v).strip().lower() for v in opts.values()]
            if ds.subset in ("pubmedqa", "bioasq") and set(texts) <= {"yes", "no", "maybe"}:
                options = [Choice(label=t, text=t) for t in texts]
                gold, task = str(opts[ans]).strip().lower(), "yesno"
            else:
                options = [Choice(label=str(k), text=str(v)) for k, v in opts.items()]
                gold, task = ans, "mcq"
            yield where, Question(
                id=f"{ds.subset}-{qid}",
                question=str(_need(ds, where, rec, "question")),
                options=options,
                gold=gold,
                task=task,  # type: ignore[arg-type]
                subject=ds.subset,
            )
        except DatasetError as e:
            yield where, e


_NLI_GOLD = {"supports": "supports", "refutes": "refutes", "neutral": "neutral"}


def _healthver(ds: DatasetSpec) -> Iterator[Item]:
    """HealthVer CSV with header: id, evidence, claim, label (Supports/Refutes/Neutral)."""
    for where, row in _csv_rows(ds.path, header=True):
        assert isinstance(row, dict)
        try:
            rec: dict[str, Any] = dict(row)
            label = str(_need(ds, where, rec, "label")).strip().lower()
            if label not in _NLI_GOLD:
                raise DatasetError(ds.path, where, "label", f"{row['label']!r} is not Supports/Refutes/Neutral")
            yield where, Question(
                id=str(rec.get("id") or where),
                question=str(_need(ds, where, rec, "claim")).strip(),
                context=[str(_need(ds, where, rec, "evidence"))],
                options=[Choice(label=w, text=w) for w in ("supports", "refutes", "neutral")],
                gold=_NLI_GOLD[label],
                task="nli",
                subject=(rec.get("question") or None),
            )
        except DatasetError as e:
            yield where, e


def _medhalt(ds: DatasetSpec) -> Iterator[Item]:
    """Med-HALT fake-question CSV: question, options as a Python-dict string {'0': text, ..}.
    The right answer is to decline: gold is the "I do not know" option, appended when the record
    lacks one (a few upstream records do)."""
    for where, row in _csv_rows(ds.path, header=True):
        assert isinstance(row, dict)
        try:
            rec: dict[str, Any] = dict(row)
            raw = str(_need(ds, where, rec, "options"))
            try:
                opts = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                raise DatasetError(ds.path, where, "options", "not a dict literal") from None
            if not isinstance(opts, dict) or not opts:
                raise DatasetError(ds.path, where, "options", "expected a non-empty dict")
            texts = [str(v) for _, v in sorted(opts.items(), key=lambda kv: int(kv[0]))
                     ] if all(str(k).isdigit() for k in opts) else [str(v) for v in opts.values()]
            if len(texts) > len(LETTERS) - 1:
                raise DatasetError(ds.path, where, "options", f"{len(texts)} options is too many")
            options = _letter_options(texts)
            gold = next((c.label for c in options if "do not know" in c.text.lower()), None)
            if gold is None:
                gold = LETTERS[len(options)]
                options.append(Choice(label=gold, text="I do not know"))
            yield where, Question(
                id=str(rec.get("id") or where),
                question=str(_need(ds, where, rec, "question")),
                options=options,
                gold=gold,
                task="fake",
                subject=(rec.get("subject_name") or None),
                metadata={"source": rec.get("dataset")},
            )
        except DatasetError as e:
            yield where, e


def _generic(ds: DatasetSpec) -> Iterator[Item]:
    """Any JSON lines with a field mapping: question=, options= (a field holding a list or
    {label: text}, or a comma list of fields), answer= (a label, an option text, or an index
    with answer_base=0|1), optional id=, context=, subject=, task=mcq|yesno|nli|fake."""
    p = ds.params
    q_key, a_key = p.get("question", "question"), p.get("answer", "answer")
    o_spec = p.get("options", "options")
    task = p.get("task", "mcq")
    if task not in ("mcq", "yesno", "nli", "fake"):
        raise ValueError(f"jsonl task={task!r}: use mcq, yesno, nli or fake")
    base = p.get("answer_base")

    def make(where: str, rec: dict[str, Any]) -> Question:
        if "," in o_spec:
            options = _letter_options([_need(ds, where, rec, k) for k in o_spec.split(",")])
        else:
            raw = _need(ds, where, rec, o_spec)
            if isinstance(raw, dict):
                options = [Choice(label=str(k), text=str(v)) for k, v in raw.items()]
            elif isinstance(raw, list) and raw:
                options = _letter_options(raw) if task in ("mcq", "fake") else [
                    Choice(label=str(t).lower(), text=str(t)) for t in raw]
            else:
                raise DatasetError(ds.path, where, o_spec, "expected a list or an object")
        ans = _need(ds, where, rec, a_key)
        labels = [c.label for c in options]
        gold: str | None = None
        if base is not None:
            try:
                idx = int(ans) - int(base)
            except (TypeError, ValueError):
                raise DatasetError(ds.path, where, a_key, f"{ans!r} is not an index") from None
            if not 0 <= idx < len(options):
                raise DatasetError(ds.path, where, a_key, f"index {ans!r} out of range")
            gold = labels[idx]
        elif str(ans).strip() in labels:
            gold = str(ans).strip()
        elif str(ans).strip().lower() in labels:
            gold = str(ans).strip().lower()
        else:
            gold = next((c.label for c in options if c.text.strip() == str(ans).strip()), None)
        if gold is None:
            raise DatasetError(ds.path, where, a_key, f"{ans!r} matches no option {labels}")
        ctx = rec.get(p["context"]) if "context" in p else None
        return Question(
            id=str(rec.get(p.get("id", "id")) or where.replace("line ", "item-")),
            question=str(_need(ds, where, rec, q_key)),
            options=options,
            gold=gold,
            context=[str(c) for c in ctx] if isinstance(ctx, list) else ([str(ctx)] if ctx else []),
            subject=rec.get(p["subject"]) if "subject" in p else None,
            task=task,  # type: ignore[arg-type]
        )

    return _records(ds, make)


def _conll(ds: DatasetSpec) -> Iterator[Item]:
    """IOB token files as they are: one `token<TAB>tag` line per token, a blank line between
    sentences (BC5CDR-IOB, NCBI-disease-IOB). Items are task "ner": `question` the tokens joined
    by spaces, metadata tokens and gold tags; ids are the sentence numbers from 1."""
    tokens: list[str] = []
    tags: list[str] = []
    n = 0
    first = 0

    def item() -> Item:
        where = f"line {first}"
        bad = next((t for t in tags if t != "O" and not (t[:2] in ("B-", "I-") and len(t) > 2)), None)
        if bad is not None:
            return where, DatasetError(ds.path, where, "tag", f"{bad!r} is not an IOB tag (O, B-Type, I-Type)")
        return where, Question(id=str(n), question=" ".join(tokens), gold=" ".join(tags), task="ner",
                               metadata={"tokens": list(tokens), "tags": list(tags)})

    with ds.path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if tokens:
                    n += 1
                    yield item()
                    tokens, tags = [], []
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0]:
                n += 1  # the sentence keeps its number, so later ids do not shift
                yield f"line {i}", DatasetError(ds.path, f"line {i}", None,
                                                "expected `token<TAB>tag` (an IOB token file)")
                while line.strip():  # skip the rest of that sentence
                    line = next(f, "")
                tokens, tags = [], []
                continue
            if not tokens:
                first = i
            tokens.append(parts[0])
            tags.append(parts[-1].strip())
    if tokens:
        n += 1
        yield item()


_NEGEX_LABELS = {"negation_status": ("Affirmed", "Negated"),
                 "temporality": ("Recent", "Historical", "Not particular"),
                 "experiencer": ("Patient", "Family member", "Other")}


def _negex(ds: DatasetSpec) -> Iterator[Item]:
    """NegEx/ConText annotations as JSON lines: {id, condition, sentence, negation_status,
    temporality, experiencer}. Items are task "assertion": `question` the sentence, gold the
    negation status, metadata the target's character span (where the condition is written in
    upper case), temporality and experiencer."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        sentence = str(_need(ds, where, rec, "sentence"))
        condition = str(_need(ds, where, rec, "condition"))
        for key, allowed in _NEGEX_LABELS.items():
            if _need(ds, where, rec, key) not in allowed:
                raise DatasetError(ds.path, where, key, f"{rec[key]!r} is not one of {', '.join(allowed)}")
        span = find_mention(sentence, condition)
        if span is None:
            raise DatasetError(ds.path, where, "condition", f"{condition!r} does not occur in the sentence")
        return Question(id=str(rec.get("id", where)), question=sentence, gold=rec["negation_status"],
                        task="assertion",
                        metadata={"condition": condition, "start": span[0], "end": span[1],
                                  "temporality": rec["temporality"], "experiencer": rec["experiencer"]})

    return _records(ds, make)


def find_mention(sentence: str, condition: str) -> tuple[int, int] | None:
    """Where `condition` occurs in `sentence` (spaces flexible, case-insensitive), preferring an
    occurrence written in upper case (the NegEx kit upper-cases its target)."""
    words = re.findall(r"\S+", condition)
    # the whole condition, else its longest run of words that does occur (the kit's sentence
    # splitter cut a few conditions across two sentences)
    for n in range(len(words), 0, -1):
        for i in range(len(words) - n + 1):
            pat = re.compile(r"\s+".join(re.escape(w) for w in words[i:i + n]), re.I)
            found = [(m.start(), m.end()) for m in pat.finditer(sentence)]
            upper = [(a, b) for a, b in found if sentence[a:b] == sentence[a:b].upper()]
            if found:
                return (upper or found)[0]
    return None


# -- generation (scored by medllm.eval.gen_tasks: ROUGE, factuality, K-QA entailment) --------


def _of_split(ds: DatasetSpec, items: Iterator[Item]) -> Iterator[Item]:
    """Only the records of split #SUBSET (e.g. `mtsdialog:FILE#validation`), when one is named."""
    for where, it in items:
        if ds.subset is None or not isinstance(it, Question) or it.metadata.get("split") == ds.subset:
            yield where, it


def _aci(ds: DatasetSpec) -> Iterator[Item]:
    """ACI-Bench as JSON lines: {encounter_id, dataset, dialogue, note, ...}. Task "note":
    `question` the visit conversation, gold the clinical note, subject the source subset;
    `#train` / `#valid` keep one split."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        return Question(id=str(_need(ds, where, rec, "encounter_id")), question=str(_need(ds, where, rec, "dialogue")),
                        gold=str(_need(ds, where, rec, "note")), task="note", subject=rec.get("dataset"),
                        metadata={"split": rec.get("split")})

    return _of_split(ds, _records(ds, make))


def _mtsdialog(ds: DatasetSpec) -> Iterator[Item]:
    """MTS-Dialog as JSON lines: {id, section_header, section_text, dialogue}. Task "section":
    `question` the conversation snippet, gold the section text, subject the header (given to the
    model: the section-text half of MEDIQA-Chat task A); `#train` / `#validation` keep one split."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        header = str(_need(ds, where, rec, "section_header"))
        return Question(id=str(_need(ds, where, rec, "id")), question=str(_need(ds, where, rec, "dialogue")),
                        gold=str(_need(ds, where, rec, "section_text")), task="section", subject=header,
                        metadata={"header": header, "split": rec.get("split")})

    return _of_split(ds, _records(ds, make))


def _meqsum(ds: DatasetSpec) -> Iterator[Item]:
    """MeQSum as JSON lines: {id, chq, summary}. Task "summary": the consumer question and the
    expert's summary question."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        return Question(id=str(_need(ds, where, rec, "id")), question=str(_need(ds, where, rec, "chq")),
                        gold=str(_need(ds, where, rec, "summary")), task="summary")

    return _records(ds, make)


def _kqa(ds: DatasetSpec) -> Iterator[Item]:
    """K-QA as JSON lines: {id, Question, Free_form_answer, Must_have [..], Nice_to_have [..]}.
    Task "kqa": gold the physician's answer, metadata the must-have and nice-to-have statements."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        lists = {}
        for key in ("Must_have", "Nice_to_have"):
            val = rec.get(key) or []
            if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
                raise DatasetError(ds.path, where, key, "expected a list of statements (strings)")
            lists[key] = [x.strip() for x in val if x.strip()]
        if not lists["Must_have"]:
            raise DatasetError(ds.path, where, "Must_have", "no must-have statements to score against")
        return Question(id=str(rec.get("id", where)), question=str(_need(ds, where, rec, "Question")),
                        gold=str(rec.get("Free_form_answer") or ""), task="kqa",
                        subject=rec.get("ICD_10_diag") or None,
                        metadata={"must_have": lists["Must_have"], "nice_to_have": lists["Nice_to_have"]})

    return _records(ds, make)


def _healthbench(ds: DatasetSpec) -> Iterator[Item]:
    """HealthBench-style rubric files as JSON lines: {prompt_id, prompt [{role, content}, ...] or
    a string, rubrics [{criterion, points}, ...]}. Task "rubric": `question` the conversation
    (role: text per line), metadata the rubric."""

    def make(where: str, rec: dict[str, Any]) -> Question:
        prompt = _need(ds, where, rec, "prompt")
        if isinstance(prompt, list):
            if not all(isinstance(m, dict) and "content" in m for m in prompt):
                raise DatasetError(ds.path, where, "prompt", "expected a list of {role, content} messages")
            text = "\n".join(f"{m.get('role', 'user')}: {m['content']}" for m in prompt)
        else:
            text = str(prompt)
        rub = _need(ds, where, rec, "rubrics")
        try:
            from medllm.eval.gen_tasks import parse_rubric

            parse_rubric(rub if isinstance(rub, list) else [None])
        except ValueError as e:
            raise DatasetError(ds.path, where, "rubrics", str(e).split(": ", 1)[-1]) from None
        return Question(id=str(rec.get("prompt_id") or rec.get("id") or where), question=text, task="rubric",
                        metadata={"rubrics": rub})

    return _records(ds, make)


LOADERS: dict[str, Callable[[DatasetSpec], Iterator[Item]]] = {
    "medqa": _medqa,
    "medmcqa": _medmcqa,
    "pubmedqa": _pubmedqa,
    "mmlu": _mmlu,
    "mirage": _mirage,
    "healthver": _healthver,
    "medhalt": _medhalt,
    "jsonl": _generic,
    "conll": _conll,
    "negex": _negex,
    "aci": _aci,
    "mtsdialog": _mtsdialog,
    "meqsum": _meqsum,
    "kqa": _kqa,
    "healthbench": _healthbench,
}
