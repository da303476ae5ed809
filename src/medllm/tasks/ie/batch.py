"""Extract from many notes: .txt files (one note each) and .jsonl files (one note a line, with
an id and a text field), folders of them; one JSON line per note out, under the same relative
path (`notes/a.txt` -> `OUT/notes/a.txt.jsonl`).

Resumable (`medllm.batch`): each output is written to `NAME.part` note by note (flushed) and
renamed when its input is done, so a run killed half-way keeps the finished notes and redoes only
the rest (a torn last line is dropped). A note or file that fails is reported by name and id (never its
text) and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medllm.batch import map_jsonl
from medllm.jsonl import BadLine, read_jsonl
from medllm.tasks.ie.coding import CodeSuggestion, ICDCoder
from medllm.tasks.ie.pipeline import Tagger, extract
from medllm.types import Span

if TYPE_CHECKING:
    from medllm.knowledge.kg.graph import KnowledgeGraph

SUFFIXES = (".txt", ".jsonl")


@dataclass
class NoteResult:
    """One note's extraction, as one JSON line."""

    id: str
    source: str
    chars: int
    spans: list[Span]
    codes: list[CodeSuggestion] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "source": self.source, "chars": self.chars,
            "spans": [span_json(s) for s in self.spans],
            "codes": [{"code": c.code, "title": c.title, "score": round(c.score, 3), "historical": c.historical,
                       "evidence": [{"start": s.start, "end": s.end, "text": s.text, "assertion": s.assertion,
                                     "temporality": s.temporality, "section": s.section} for s in c.evidence]}
                      for c in self.codes],
        }


def span_json(s: Span) -> dict[str, Any]:
    return {"start": s.start, "end": s.end, "text": s.text, "type": s.label, "concept_id": s.concept_id,
            "concept": s.concept, "score": None if s.score is None else round(s.score, 3),
            "assertion": s.assertion, "temporality": s.temporality, "experiencer": s.experiencer,
            "section": s.section}


@dataclass
class BatchReport:
    notes: int = 0  # notes extracted in this run
    resumed: int = 0  # notes found done by an earlier run
    skipped_files: int = 0  # files finished by an earlier run
    spans: int = 0
    chars: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file or file#id, why)
    outputs: list[Path] = field(default_factory=list)

    @property
    def chars_per_s(self) -> float:
        return self.chars / self.seconds if self.seconds else 0.0


def collect_inputs(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(input file, output path relative to the output folder) for every .txt/.jsonl given."""
    out: list[tuple[Path, Path]] = []
    for p in paths:
        if not p.exists():
            raise ValueError(f"{p} does not exist; give .txt/.jsonl files or folders holding them")
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and x.suffix in SUFFIXES):
                rel = f.relative_to(p)
                out.append((f, rel.with_name(rel.name + ".jsonl") if f.suffix == ".txt" else rel))
        elif p.suffix in SUFFIXES:
            out.append((p, Path(p.name + ".jsonl") if p.suffix == ".txt" else Path(p.name)))
        else:
            raise ValueError(f"{p}: only .txt files (one note) and .jsonl files (one note a line) are supported")
    if not out:
        raise ValueError("no .txt or .jsonl files found in the given paths")
    return out


def read_notes(path: Path, id_field: str = "id", text_field: str = "text") -> Iterator[tuple[str, str | None, str]]:
    """(note id, text or None, problem) per note of a .txt or .jsonl file; a bad line yields
    its problem instead of failing the file."""
    if path.suffix == ".txt":
        yield path.stem, path.read_text(encoding="utf-8", errors="replace"), ""
        return
    for i, rec in read_jsonl(path):
        if isinstance(rec, BadLine):
            yield f"line{i}", None, f"line {i}: {rec.problem}"
        elif not isinstance(rec.get(text_field), str):
            yield f"line{i}", None, f"line {i}: no string field {text_field!r} (set --text-field)"
        else:
            yield str(rec.get(id_field, f"line{i}")), rec[text_field], ""


def extract_files(inputs: Sequence[tuple[Path, Path]], out_dir: Path, tagger: Tagger | None = None, *,
                  graph: KnowledgeGraph | None = None, coder: ICDCoder | None = None, k: int = 5, id_field: str = "id", text_field: str = "text",
                  force: bool = False, progress: Callable[[int], None] | None = None,
                  on_note: Callable[[NoteResult], None] | None = None,
                  note_fn: Callable[[str, str, Path], NoteResult] | None = None) -> BatchReport:
    """Extract every note of `inputs` into `out_dir`, linking mentions in `graph` (default: the
    tagger's or the coder's); `progress(n)` after each file, `on_note(result)` after each note.
    `note_fn(id, text, source)`: the extraction of one note (default: `tagger`, `graph` and
    `coder`); the runners pass the extract job (`medllm.jobs.extract`)."""
    rep = BatchReport()
    if note_fn is None:
        if tagger is None:
            raise ValueError("extract_files needs a tagger or a note_fn")
        graph = graph or getattr(tagger, "graph", None) or (coder.graph if coder else None)

        def one(nid: str, text: str, src: Path) -> NoteResult:
            spans = extract(text, tagger, graph=graph)
            codes = coder.suggest(spans, k) if coder else []
            return NoteResult(nid, str(src), len(text), spans, codes)

        note_fn = one
    for src, rel in inputs:
        dst = out_dir / rel
        part = dst.with_name(dst.name + ".part")
        if dst.exists() and not part.exists() and not force:
            rep.skipped_files += 1
            rep.outputs.append(dst)
            if progress:
                progress(1)
            continue

        def note(batch: list[tuple[str, str]], src: Path = src) -> list[dict[str, Any]]:
            out = []
            for nid, text in batch:
                t = time.perf_counter()
                res = note_fn(nid, text, src)
                rep.seconds += time.perf_counter() - t
                rep.notes += 1
                rep.spans += len(res.spans)
                rep.chars += len(text)
                if on_note:
                    on_note(res)
                out.append(res.to_json())
            return out

        try:
            notes: dict[str, str] = {}
            for nid, text, problem in read_notes(src, id_field, text_field):
                if text is None:
                    rep.failed.append((f"{src}", problem))
                else:
                    notes.setdefault(nid, text)  # a repeated id is the note already done
            # one bad note must not sink the batch; its error type is reported, never its text
            done = map_jsonl(list(notes.items()), dst, note, part=part, force=force)
            rep.resumed += len(done.resumed)
            rep.failed += [(f"{src}#{f.id}", type(f.error).__name__) for f in done.failed]
            rep.outputs.append(dst)
        except OSError as e:
            rep.failed.append((str(src), f"cannot read or write: {e.strerror or type(e).__name__}"))
        if progress:
            progress(1)
    return rep
