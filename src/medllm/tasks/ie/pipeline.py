"""Clinical extraction of one note: sections -> entities (a tagger) -> concept links -> ConText
assertion. `extract(text)` returns the project's `Span` records with type, concept, assertion,
temporality, experiencer and section filled in.

Nothing here calls a model: with the dictionary or the trained tagger the path is local and
fast. A tagger that calls a remote model must be given text that passed the privacy gate
(the `medllm extract` command does that).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from medllm.tasks.ie.context import Assertion, ConText, split_sentences, with_defaults
from medllm.tasks.ie.sections import SECTION_DEFAULTS, Section, section_at, split_sections
from medllm.types import Span

if TYPE_CHECKING:
    from medllm.knowledge.kg.graph import KnowledgeGraph


class Tagger(Protocol):
    """What `medllm.tasks.ie.ner.EntityTagger` provides (structurally the same)."""

    name: str

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]: ...

    def tag(self, text: str) -> list[Span]: ...


def load_tagger(name: str = "default", graph: KnowledgeGraph | None = None) -> Tagger:
    """A tagger by name: "default" (the trained model) or "dictionary" (the graph's linker), or
    any other name `medllm.tasks.ie.ner.load_tagger` knows. Without the trained model
    installed, "default" is the dictionary tagger."""
    if name == "dictionary":
        from medllm.tasks.ie.dictionary import DictionaryTagger

        return DictionaryTagger(graph)
    try:
        from medllm.tasks.ie.ner import load_tagger as load_ner
    except ImportError:
        if name == "default":
            from medllm.tasks.ie.dictionary import DictionaryTagger

            return DictionaryTagger(graph)
        raise ValueError(f"tagger {name!r}: unknown; use default or dictionary") from None
    return load_ner(name)


@lru_cache(maxsize=1)
def default_context() -> ConText:
    """The ConText rules shipped with medllm, compiled once."""
    return ConText.from_file()


def sentence_ranges(text: str, sections: Sequence[Section]) -> list[tuple[int, int]]:
    """Sentences within each section body, so a heading never joins the sentence after it."""
    out: list[tuple[int, int]] = []
    for s in sections:
        out += split_sentences(text, s.body_start, s.end)
    return out


def assert_mentions(text: str, spans: Sequence[tuple[int, int]], context: ConText | None = None,
                    sections: Sequence[Section] | None = None) -> list[tuple[Assertion, Section | None]]:
    """ConText assertion of each (start, end) mention of `text`, with its section's defaults
    (a family-history section makes it other-experiencer, a past-history section historical)."""
    context = context or default_context()
    secs = list(sections) if sections is not None else split_sections(text)
    found = context.assert_spans(text, spans, sentence_ranges(text, secs))
    out = []
    for (a, _), asr in zip(spans, found, strict=True):
        sec = section_at(secs, a)
        out.append((with_defaults(asr, SECTION_DEFAULTS.get(sec.name) if sec else None), sec))
    return out


def extract(text: str, tagger: Tagger | None = None, *, context: ConText | None = None,
            graph: KnowledgeGraph | None = None) -> list[Span]:
    """Entities of a clinical note with their concept, assertion and section.

    `tagger`: an EntityTagger (default: `load_tagger("default")`, load it once and pass it in
    for many notes); `graph`: the knowledge graph used to link mentions the tagger left
    unlinked (default: the tagger's own graph, if it has one)."""
    if not isinstance(text, str):
        raise ValueError("extract() takes the note's text as a string")
    tagger = tagger or load_tagger("default", graph)
    graph = graph or getattr(tagger, "graph", None)
    sections = split_sections(text)
    headings = [(s.start, s.body_start) for s in sections if s.heading]
    # a heading names a section ("FAMILY HISTORY:"), it is not a finding
    spans = sorted((s for s in tagger.tag(text) if not any(a <= s.start < b for a, b in headings)),
                   key=lambda s: (s.start, s.end))
    if graph is not None:
        spans = [s if s.concept_id else link_span(s, graph) for s in spans]
    asserted = assert_mentions(text, [(s.start, s.end) for s in spans], context, sections)
    out = []
    for s, (a, sec) in zip(spans, asserted, strict=True):
        out.append(s.model_copy(update={
            "assertion": a.existence, "temporality": a.temporality, "experiencer": a.experiencer,
            "section": sec.name if sec else None,
            "polarity": "negated" if a.negated else "present",
        }))
    return out


def link_span(span: Span, graph: KnowledgeGraph) -> Span:
    """The span with the concept its text links to (the longest dictionary match inside it,
    scored by the share of the mention it covers), or unchanged when nothing links."""
    hits = graph.linker().link(span.text)
    if not hits:
        return span
    best = max(hits, key=lambda h: h.end - h.start)
    c = graph.concepts[best.concept_id] if best.concept_id in graph.concepts else None
    cover = (best.end - best.start) / max(1, len(span.text.strip()))
    return span.model_copy(update={"concept_id": best.concept_id, "concept": c.name if c else None,
                                   "score": round(min(1.0, cover), 3)})
