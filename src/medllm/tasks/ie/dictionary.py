"""The dictionary tagger: the knowledge graph's entity linker (HPO terms, OMIM/ORPHA diseases,
drug names and brands, ICD-10-CM codes) behind the `EntityTagger` interface of
`medllm.tasks.ie.ner`, so it can be scored and used beside the trained tagger.

Linker types map to the two NER labels: phenotype, disease, icd10cm -> "Disease"; drug ->
"Chemical"; genes are not tagged (neither label covers them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medllm.types import Span

if TYPE_CHECKING:
    from medllm.knowledge.kg.graph import KnowledgeGraph

LABEL_OF_TYPE = {"phenotype": "Disease", "disease": "Disease", "icd10cm": "Disease", "drug": "Chemical"}


class DictionaryTagger:
    """Longest-match dictionary tagging over the knowledge graph's names and synonyms."""

    name = "dictionary"

    def __init__(self, graph: KnowledgeGraph | None = None) -> None:
        if graph is None:
            from medllm.knowledge.kg.graph import load_default_graph

            graph = load_default_graph()
        self.graph = graph
        self.linker = graph.linker()

    def tag(self, text: str) -> list[Span]:
        """Entity spans labelled "Disease" or "Chemical", with the linked concept id and name."""
        out = []
        for s in self.linker.link(text):
            label = LABEL_OF_TYPE.get(s.label)
            if label is None:
                continue
            c = self.graph.concepts.get(s.concept_id or "")
            out.append(Span(start=s.start, end=s.end, label=label, text=s.text, concept_id=s.concept_id,
                            concept=c.name if c else None, score=s.score))
        return out

    def tag_tokens(self, sentences: list[list[str]]) -> list[list[str]]:
        """IOB tags per token: each sentence is joined by single spaces, tagged, and every token
        that overlaps a span takes its label (B- on the span's first token)."""
        return [spans_to_iob(toks, self.tag(" ".join(toks))) for toks in sentences]


def spans_to_iob(tokens: list[str], spans: list[Span]) -> list[str]:
    """IOB tags for `tokens` joined by single spaces, from character spans over that string."""
    tags = ["O"] * len(tokens)
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    for s in sorted(spans, key=lambda s: s.start):
        idx = [i for i, a in enumerate(starts) if a < s.end and a + len(tokens[i]) > s.start]
        if not idx or any(tags[i] != "O" for i in idx):
            continue
        tags[idx[0]] = f"B-{s.label}"
        for i in idx[1:]:
            tags[i] = f"I-{s.label}"
    return tags


def load_tagger(graph: KnowledgeGraph | None = None) -> DictionaryTagger:
    """The dictionary tagger over `graph` (default: the cached default knowledge graph)."""
    return DictionaryTagger(graph)
