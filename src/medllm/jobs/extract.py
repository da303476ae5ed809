"""The extraction job: one note's entities (type, concept, ConText assertion, section) and its
ICD-10-CM code suggestions, by the session's tagger, graph and coder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from medllm.tasks.ie.batch import NoteResult

if TYPE_CHECKING:
    from medllm.session import Session


@dataclass(frozen=True)
class ExtractRequest:
    """One note. `tagger`: "default" (the trained model) or "dictionary" (the graph's linker);
    `codes`: ICD-10-CM suggestions to make (0: none); `source`: the file it came from."""

    id: str
    text: str
    source: str = ""
    tagger: str = "default"
    codes: int = 5


def check_tagger(session: Session, name: str) -> None:
    """Refuse a tagger backed by a model outside this process when the privacy gate covers it:
    extraction maps spans onto the original text, which the gate's surrogates would move."""
    from medllm.trust.privacy.gate import gate_required

    spec = getattr(session.tagger(name), "model_spec", None)
    if spec and gate_required(spec, session.settings.privacy_gate):
        raise ValueError(f"tagger {name!r} sends text to {spec}, which the privacy gate covers; use a "
                         "local tagger (default, dictionary) or set privacy_gate = \"off\" explicitly")


def extract(session: Session, req: ExtractRequest) -> NoteResult:
    """The note's spans (linked in the graph) and, with `codes`, its code suggestions."""
    from medllm.tasks.ie.pipeline import extract as extract_spans

    tagger = session.tagger(req.tagger)
    # the graph links what the tagger found (HPO, diseases, drugs, ICD-10-CM) and codes it
    graph = getattr(tagger, "graph", None) or session.knowledge_graph()
    spans = extract_spans(req.text, tagger, graph=graph)
    codes = session.icd_coder().suggest(spans, req.codes) if req.codes else []
    return NoteResult(req.id, req.source, len(req.text), spans, codes)
