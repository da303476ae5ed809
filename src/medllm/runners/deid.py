"""De-identification as a runner job.

Where the cost is: PHI detection (Presidio's recognizers + the token model) is ~all of the time
and is a pure function of one text, so workers run it. Replacement is not pure: surrogates,
date offsets and name propagation ("a name met earlier in this run is a name here too") depend
on every note before, in order. So the driver replays `deidentify_files` in input order over the
workers' detections, with one `PrivacyGate` whose detector looks them up: the same ledger, the
same atomic files, the same session, hence the same bytes as the local runner, and the vault
never leaves the driver's machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medllm.trust.privacy.batch import LEDGER, BatchReport, FileTask, deidentify_files
from medllm.types import Span

SpanTuple = tuple[int, int, str, float]  # (start, end, label, score): a detection before propagation


def payload_texts(task: FileTask, fields: set[str] | None) -> list[str] | None:
    """The texts `deidentify_files` will scrub in this file, in the order it scrubs them (a .txt
    file: its text; a .jsonl file: the string values of its lines, up to a bad line), or None
    when the file cannot be read (the commit step reports it)."""
    try:
        text = task.src.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if task.src.suffix == ".txt":
        return [text]
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            break  # the file fails at this line; what came before is still scrubbed
        out.extend(_strings(obj, fields, None))
    return out


def _strings(obj: Any, fields: set[str] | None, key: str | None) -> Iterator[str]:
    # mirrors batch._scrub_json: which strings are scrubbed, in the same order
    if isinstance(obj, str):
        if fields is None or key in fields:
            yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from _strings(x, fields, key)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, fields, k)


@dataclass
class DetectorSpec:
    """What a worker needs to build the same detector as the driver would (picklable)."""

    site: Any  # SiteLexicon, resolved in the driver ($MEDLLM_HOME may not exist on a worker)
    score_threshold: float = 0.35
    operating_point: str = "recall"

    def build(self) -> Callable[[list[str]], list[list[SpanTuple]]]:
        from medllm.trust.privacy.detect import PhiDetector

        det = PhiDetector(site=self.site, score_threshold=self.score_threshold,
                          operating_point=self.operating_point)

        def detect(texts: list[str]) -> list[list[SpanTuple]]:
            # known_names=(): propagation needs the run's state, so the driver applies it
            return [[(s.start, s.end, s.label, float(s.score or 0.0)) for s in det.analyze(t)] for t in texts]

        return detect


class _PrecomputedDetector:
    """A `PhiDetector` stand-in for the driver: detections come from the workers, in the order
    the files are scrubbed; name propagation is applied here, exactly as `PhiDetector.analyze`
    does it. A text the workers did not see (it should not happen) is detected here."""

    def __init__(self, next_unit: Callable[[], dict[str, list[SpanTuple]] | None], spec: DetectorSpec) -> None:
        from medllm.trust.privacy.lexicon import load_lexicon

        self._next_unit = next_unit
        self._current: dict[str, list[SpanTuple]] = {}
        self._spec = spec
        self._local: Callable[[list[str]], list[list[SpanTuple]]] | None = None
        self._lexicon = load_lexicon()
        self.propagate_names = True
        self.fallbacks = 0

    def _lookup(self, text: str) -> list[SpanTuple]:
        while text not in self._current:
            unit = self._next_unit()
            if unit is None:  # not among the workers' units: detect it here
                self.fallbacks += 1
                if self._local is None:
                    self._local = self._spec.build()
                return self._local([text])[0]
            self._current = unit
        return self._current[text]

    def analyze(self, text: str, known_names: Sequence[str] = ()) -> list[Span]:
        from medllm.trust.privacy.detect import _propagate

        spans = self._lookup(text)
        if self.propagate_names and known_names:
            spans = _propagate(text, spans, known_names, self._lexicon)
        return [Span(start=s, end=e, label=lab, text=text[s:e], score=sc) for s, e, lab, sc in spans]


@dataclass
class DeidJob:
    """`medllm deid` over `tasks` into `out`, with the gate's settings (see `PrivacyGate`)."""

    tasks: list[FileTask]
    out: Path
    mode: str = "surrogate"
    vault: Path | None = None
    session_id: str | None = None
    seed: int | None = None
    fields: set[str] | None = None
    patient_field: str | None = None
    site: Any = None  # SiteLexicon; None: the session's (its home's, else the shipped one)
    force: bool = False
    progress: Callable[[int, int], None] | None = None
    operating_point: str = "recall"  # the detector's (see `PhiDetector`)
    session: Any = None  # the medllm.session.Session that builds the de-identifier and gate
    gate: Any = field(default=None, repr=False)  # the PrivacyGate of the last commit (its session id)
    fallbacks: int = 0  # texts the driver had to detect itself

    def __post_init__(self) -> None:
        if self.session is None:
            from medllm.session import Session

            self.session = Session.configure()
        if self.site is None:  # resolved once, here, so every worker uses the driver's lexicon
            self.site = self.session.site_lexicon()

    def units(self) -> list[FileTask]:
        from medllm.batch import read_lines

        if self.force:
            return list(self.tasks)
        done = {str(r["file"]) for _, r in read_lines(self.out / LEDGER, key="file")
                if (self.out / str(r["file"])).exists()}
        return [t for t in self.tasks if t.rel.as_posix() not in done]

    def key(self, unit: FileTask) -> str:
        return unit.rel.as_posix()

    def payload(self, unit: FileTask) -> list[str] | None:
        return payload_texts(unit, self.fields)

    def worker_spec(self) -> DetectorSpec:
        return DetectorSpec(site=self.site, operating_point=self.operating_point)

    def commit(self, results: Callable[[FileTask], list[list[SpanTuple]] | None] | None) -> BatchReport:
        if results is None:
            own = self.site is self.session.site_lexicon()  # the session's own, built once
            deid = self.session.deidentifier(site=None if own else self.site, operating_point=self.operating_point)
        else:
            pending = iter(self.units())

            def next_unit() -> dict[str, list[SpanTuple]] | None:
                for task in pending:
                    texts = self.payload(task)
                    spans = results(task)
                    if texts is not None and spans is not None:
                        return dict(zip(texts, spans, strict=True))
                return None

            detector = _PrecomputedDetector(next_unit, self.worker_spec())
            deid = self.session.deidentifier(detector=detector)
        self.gate = self.session.privacy_gate(mode=self.mode, vault=self.vault, session_id=self.session_id,
                                              seed=self.seed, deidentifier=deid)
        report = deidentify_files(self.tasks, self.out, self.gate, fields=self.fields,
                                  patient_field=self.patient_field, force=self.force, progress=self.progress)
        if results is not None:
            self.fallbacks = detector.fallbacks
        return report
