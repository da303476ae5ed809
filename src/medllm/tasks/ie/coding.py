"""ICD-10-CM code suggestions for a note: the top k codes, each with the mentions that support
it and their assertion. Negated, hypothetical and other-person findings are never coded; merely
possible ones ("r/o MI") are not coded either unless asked (outpatient coding rules code
uncertain diagnoses only as their symptoms).

A mention is matched to codes through the code titles and inclusion terms of simple-icd-10-cm
(in the knowledge graph): an idf-weighted overlap of the mention's words, or of the name of the
concept it was linked to ("HTN" -> Hypertension), with the words of a title. Words in brackets
in a title are optional qualifiers ("hypertension (arterial) (benign)") and filler words
("unspecified", "other", "NOS") do not count against a match. A code written in the note
("I10") links directly.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medllm.types import Span

if TYPE_CHECKING:
    from medllm.knowledge.kg.graph import KnowledgeGraph

_WORD = re.compile(r"[a-z0-9]+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# words a title may have that a mention need not say: free (grammar, "unspecified", the default
# qualifiers) or cheap ("other", "complication")
_FREE = {"unspecified", "nos", "of", "the", "and", "or", "in", "a", "an", "to", "due", "by", "for",
         "on", "as", "site", "organism", "elsewhere", "classified", "not", "without", "mention", "essential"}
_CHEAP = {"other", "specified", "complication", "part", "region", "use", "condition", "disorder", "type",
          "with"}  # "with ..." in a title claims something more than the bare finding


def _norm(w: str) -> str:
    if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ys")):
        w = w[:-1]
    return w


def _words(text: str) -> list[str]:
    return [_norm(w) for w in _WORD.findall(text.lower())]


@dataclass
class CodeSuggestion:
    code: str
    title: str
    score: float  # the best mention's match score, in [0, 1]
    evidence: list[Span] = field(default_factory=list)

    @property
    def historical(self) -> bool:
        """Every supporting mention is historical (a coder may prefer a personal-history Z code)."""
        return all(s.temporality == "historical" for s in self.evidence)


class ICDCoder:
    """Matches mentions to ICD-10-CM codes (billable codes and categories of the graph)."""

    def __init__(self, graph: KnowledgeGraph, threshold: float = 0.6) -> None:
        self.graph = graph
        self.threshold = threshold
        self._titles: list[tuple[str, frozenset[str], frozenset[str]]] = []  # code, required, all words
        index: dict[str, list[int]] = defaultdict(list)
        df: dict[str, int] = defaultdict(int)
        for c in graph.concepts.values():
            if c.type != "icd10cm" or c.meta.get("level") != "code":
                continue
            if any(r == "code_parent" for r, _ in graph.edges_in(c.id)):
                continue  # a category with subcodes: not billable
            code = c.id.split(":", 1)[1]
            if code[0] in "VWXY" or c.name.endswith((", sequela", "subsequent encounter")):
                continue  # external causes and follow-up encounters are not what a note's findings code to
            for title in [c.name, *c.synonyms]:
                every = frozenset(_words(title))
                required = frozenset(w for w in _words(_BRACKETS.sub(" ", title)) if w not in _FREE)
                if not required:
                    continue
                n = len(self._titles)
                self._titles.append((code, required, every))
                for w in every:
                    index[w].append(n)
                    df[w] += 1
        total = max(1, len(self._titles))
        self._idf = {w: math.log(total / d) + 1.0 for w, d in df.items()}
        self._index = dict(index)

    def _weight(self, w: str) -> float:
        if w in _FREE:
            return 0.0
        base = self._idf.get(w, math.log(max(2, len(self._titles))) + 1.0)
        return 0.5 * base if w in _CHEAP else base

    def match(self, phrase: str, k: int = 3) -> list[tuple[str, float]]:
        """(code, score) for `phrase`, best first: the share of idf weight of the mention's
        content words and of the title's required words that the two have in common."""
        words = {w for w in _words(phrase) if w not in _FREE}
        if not words:
            return []
        cand: set[int] = set()
        for w in words:
            cand.update(self._index.get(w, ()))
        best: dict[str, float] = {}
        for n in cand:
            code, required, every = self._titles[n]
            inter = sum(self._weight(w) for w in words if w in every)
            union = sum(self._weight(w) for w in words | required)
            s = inter / union if union else 0.0
            best[code] = max(s, best.get(code, 0.0))
        # on a tie the shorter (less specific) code first: a category before its children
        ranked = sorted(best.items(), key=lambda cs: (-cs[1], len(cs[0]), cs[0]))
        return [(c, round(s, 3)) for c, s in ranked[:k] if s >= self.threshold]

    def code_span(self, span: Span) -> list[tuple[str, float]]:
        """Codes for one mention: its own ICD id, else the best of its text and concept name."""
        if span.concept_id and span.concept_id.startswith("ICD10CM:"):
            return [(span.concept_id.split(":", 1)[1], 1.0)]
        found: dict[str, float] = {}
        # the phrases in a fixed order and ties broken by the code: a set's order (and so which of
        # two equal codes came first) changed with each process's string hash seed, so a Ray
        # worker could code a note differently from the driver
        for phrase in dict.fromkeys((span.text, span.concept or span.text)):
            for c, s in self.match(phrase) or self._head_match(phrase):
                found[c] = max(s, found.get(c, 0.0))
        return sorted(found.items(), key=lambda cs: (-cs[1], len(cs[0]), cs[0]))[:3]

    def _head_match(self, phrase: str) -> list[tuple[str, float]]:
        """Nothing matched the whole phrase: its head, dropping leading modifiers one at a time
        ("productive cough" -> "cough"), a little less sure with each word dropped."""
        words = phrase.split()
        for i in range(1, len(words)):
            hits = [(c, round(s * (1 - 0.15 * i), 3)) for c, s in self.match(" ".join(words[i:]))]
            hits = [(c, s) for c, s in hits if s >= self.threshold]
            if hits:
                return hits
        return []

    def suggest(self, spans: Sequence[Span], k: int = 5, include_possible: bool = False) -> list[CodeSuggestion]:
        """The top `k` codes for a note's extracted spans (from `pipeline.extract`)."""
        out: dict[str, CodeSuggestion] = {}
        for s in spans:
            if s.label != "Disease" or not codable(s, include_possible):
                continue
            for code, score in self.code_span(s)[:1]:
                sug = out.get(code)
                if sug is None:
                    title = self.graph.concepts[f"ICD10CM:{code}"].name
                    sug = out[code] = CodeSuggestion(code, title, score)
                sug.score = max(sug.score, score)
                sug.evidence.append(s)
        ranked = sorted(out.values(), key=lambda g: (-g.score, -len(g.evidence), g.code))
        return ranked[:k]


def codable(span: Span, include_possible: bool = False) -> bool:
    """Whether a mention may be coded: not negated, hypothetical or about someone else."""
    if span.assertion == "negated" or span.polarity == "negated":
        return False
    if span.temporality == "hypothetical" or span.experiencer == "other":
        return False
    return include_possible or span.assertion != "possible"
