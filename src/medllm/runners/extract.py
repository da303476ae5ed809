"""Extraction as a runner job: workers (one session each, from the driver's settings, so one
tagger, graph and coder) run the extract job (`medllm.jobs.extract`) on the notes of one file;
the driver replays `extract_files` over their results, so each output is written in input order,
atomically and resumably, as by the local runner (a note the workers did not see is extracted in
the driver)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medllm.tasks.ie.batch import BatchReport, NoteResult, extract_files, read_notes

Unit = tuple[Path, Path]  # (input file, output path relative to the output folder)
Payload = tuple[str, list[tuple[str, str]]]  # (source, [(note id, text)])


@dataclass
class ExtractorSpec:
    settings: Any = None
    tagger: str = "default"
    codes: int = 5

    def build(self) -> Callable[[Payload], list[NoteResult]]:
        from medllm.jobs import ExtractRequest, extract
        from medllm.session import Session

        session = Session.configure(self.settings)
        session.tagger(self.tagger)  # loaded once per worker, before the first file
        if self.codes:
            session.icd_coder()

        def run(payload: Payload) -> list[NoteResult]:
            source, notes = payload
            return [extract(session, ExtractRequest(nid, text, source, self.tagger, self.codes)) for nid, text in notes]

        return run


@dataclass
class ExtractJob:
    """`medllm extract` over `inputs` into `out` with `session`'s tagger (by name) and coder."""

    inputs: Sequence[Unit]
    out: Path
    tagger: str = "default"
    codes: int = 5
    id_field: str = "id"
    text_field: str = "text"
    force: bool = False
    progress: Callable[[int], None] | None = None
    on_note: Callable[[NoteResult], None] | None = None
    session: Any = None
    fallbacks: int = 0  # notes the driver had to extract itself

    def __post_init__(self) -> None:
        if self.session is None:
            from medllm.session import Session

            self.session = Session.configure()

    def units(self) -> list[Unit]:
        if self.force:
            return list(self.inputs)
        out = []
        for src, rel in self.inputs:
            dst = self.out / rel
            if dst.exists() and not dst.with_name(dst.name + ".part").exists():
                continue  # finished by an earlier run
            out.append((src, rel))
        return out

    def key(self, unit: Unit) -> str:
        return unit[1].as_posix()

    def payload(self, unit: Unit) -> Payload | None:
        try:
            notes: dict[str, str] = {}
            for nid, text, _ in read_notes(unit[0], self.id_field, self.text_field):
                if text is not None:
                    notes.setdefault(nid, text)  # as extract_files: a repeated id is the note already done
        except (OSError, UnicodeDecodeError):
            return None
        return str(unit[0]), list(notes.items())

    def worker_spec(self) -> ExtractorSpec:
        return ExtractorSpec(self.session.settings, self.tagger, self.codes)

    def _local(self, nid: str, text: str, src: Path) -> NoteResult:
        from medllm.jobs import ExtractRequest, extract

        return extract(self.session, ExtractRequest(nid, text, str(src), self.tagger, self.codes))

    def commit(self, results: Callable[[Unit], list[NoteResult] | None] | None) -> BatchReport:
        note_fn = self._local
        if results is not None:
            pending = iter(self.units())
            current: dict[tuple[str, str], NoteResult] = {}  # (source, note id): one file's results

            def precomputed(nid: str, text: str, src: Path) -> NoteResult:
                key = (str(src), nid)
                while key not in current:
                    unit = next(pending, None)
                    if unit is None:  # not among the workers' units: extract it here
                        self.fallbacks += 1
                        return self._local(nid, text, src)
                    got = results(unit)
                    if got is not None:
                        current.clear()
                        current.update({(r.source, r.id): r for r in got})
                res = current[key]
                # ids are unique per file (the first note of an id is the one extracted), so the
                # workers saw this text; a mismatch is extracted here rather than trusted
                if res.chars != len(text):
                    self.fallbacks += 1
                    return self._local(nid, text, src)
                return res

            note_fn = precomputed
        return extract_files(self.inputs, self.out, id_field=self.id_field, text_field=self.text_field,
                             force=self.force, progress=self.progress, on_note=self.on_note, note_fn=note_fn)

