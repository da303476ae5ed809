"""Retrieval-augmented answering: `rag` (passages) and `kg-rag` (knowledge-graph facts).

- `rag` searches `ctx.retriever` with the question alone (options hidden from the retriever,
  as MIRAGE/MedRAG do, so retrieval cannot match an option's wording), numbers the passages
  [1]..[k] above the question, and asks the inner solver to cite them. Passages that would not
  fit the model's context window are dropped from the end (the least relevant first).
- `kg-rag` links concepts in the question and options (`graph.link`), keeps the present (not
  negated) ones, takes the facts of their one-hop subgraph (`graph.subgraph`: facts between two
  linked concepts first, hubs last), prunes them to `max_facts`, and numbers them like passages;
  each fact carries its concept ids, so a citation by [n] or by concept id both count.
Both return the evidence the model saw (`Answer.evidence`, numbered as in the prompt) and which
of it the answer cites (`metadata["cited"]`); a cited number that was not in the prompt is
flagged `invalid_citation`.

`parse_options` reads the options of `medllm ask --options`; the pipeline that puts rag and
kg-rag in front of a strategy is `medllm.assistant.answer_open`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from medllm.models.base import Model
from medllm.reasoning.base import Mode, SolveContext
from medllm.reasoning.util import Stage, check_citations
from medllm.types import Answer, Choice, Evidence, Flag, Question

PROMPT_RESERVE = 384  # tokens kept for instructions, the question and its options


def _numbered(q: Question, lines: list[str], evidence: list[Evidence]) -> Question:
    meta = {**q.metadata, "evidence_block": True, "n_evidence": q.metadata.get("n_evidence", 0) + len(evidence)}
    return q.model_copy(update={"context": [*q.context, *lines], "metadata": meta})


def _fit(model: Model, lines: list[str], evidence: list[Evidence], budget: int) -> tuple[list[str], list[Evidence]]:
    """Keep the leading lines whose tokens fit `budget`."""
    used = 0
    for i, line in enumerate(lines):
        used += model.count_tokens(line) + 1
        if used > budget:
            return lines[:i], evidence[:i]
    return lines, evidence


def _budget(ctx: SolveContext, question: Question) -> int:
    window = ctx.model.info.context_window or 4096
    used = ctx.model.count_tokens(question.question + " ".join(c.text for c in question.options))
    used += sum(ctx.model.count_tokens(c) for c in question.context)
    # exemplars cost as much as their own questions again
    used += sum(ctx.model.count_tokens(s.question + " ".join(c.text for c in s.options)) + 200 for s in ctx.shots)
    return max(0, window - ctx.params.max_tokens - PROMPT_RESERVE - used)


def _finish(a: Answer, evidence: list[Evidence], flags: list[Flag]) -> Answer:
    merged = sorted([*evidence, *a.evidence], key=lambda e: e.index)
    return check_citations(a.model_copy(update={"evidence": merged, "flags": [*a.flags, *flags]}))


class RagSolver(Stage):
    name = "rag"
    kind = "context"
    modes: tuple[Mode, ...] = ("loglik", "generate")
    needs: tuple[str, ...] = ("retriever",)

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"rag k={k}: retrieve at least one passage")
        self.k = int(k)

    def retrieve(self, question: Question, ctx: SolveContext) -> tuple[list[str], list[Evidence]]:
        if ctx.retriever is None:
            raise ValueError("rag needs a retriever: open an index with medllm.knowledge.index.load_index(DIR)"
                             " and pass it in (build one with `medllm kb build`)")
        start = question.metadata.get("n_evidence", 0) + 1
        hits = ctx.retriever.search(question.question, self.k)  # type: ignore[attr-defined]
        evidence = [h.to_evidence(start + i) for i, h in enumerate(hits)]
        lines = []
        for e, h in zip(evidence, hits, strict=True):
            title = h.passage.title.strip()
            lines.append(f"[{e.index}] {title + ': ' if title else ''}{' '.join(h.passage.text.split())}")
        return _fit(ctx.model, lines, evidence, _budget(ctx, question))

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        lines, evidence = self.retrieve(question, ctx)
        flags = [] if evidence else [Flag(kind="no_evidence", message="retrieval found no passage to show")]
        a = self._inner()(_numbered(question, lines, evidence), ctx)
        return _finish(a, evidence, flags)


_FACT_IDS = re.compile(r"\[([A-Z0-9]+:[^\]\s]+)\]")


class KgRagSolver(Stage):
    name = "kg-rag"
    kind = "context"
    modes: tuple[Mode, ...] = ("loglik", "generate")
    needs: tuple[str, ...] = ("graph",)

    def __init__(self, max_facts: int = 12, max_concepts: int = 8, hops: int = 1, ddx_k: int = 5) -> None:
        super().__init__()
        self.max_facts, self.max_concepts, self.hops = int(max_facts), int(max_concepts), int(hops)
        self.ddx_k = int(ddx_k)

    def facts(self, question: Question, ctx: SolveContext) -> tuple[list[str], list[str]]:
        """(linked concept ids, pruned facts)."""
        g = self._graph(ctx)
        ids, _, _ = self._linked(question, g)
        if not ids:
            return [], []
        facts = g.subgraph(ids, hops=self.hops, max_facts=self.max_facts * 4)
        seeds = set(ids)
        # prune: facts touching more linked concepts first, then the graph's own order
        ranked = sorted(range(len(facts)), key=lambda i: (-len(seeds & set(_FACT_IDS.findall(facts[i]))), i))
        kept = [facts[i] for i in ranked[: self.max_facts]]
        covered = {cid for f in kept for cid in _FACT_IDS.findall(f)}
        for cid in ids:  # a linked concept with no fact still gets named, with its id
            if cid not in covered and len(kept) < self.max_facts:
                c = g.get(cid)
                kept.append(f"{c.name} [{c.id}] is a {c.type}")
        return ids, kept

    @staticmethod
    def _graph(ctx: SolveContext) -> Any:
        if ctx.graph is None:
            raise ValueError("kg-rag needs a knowledge graph: build one with "
                             "medllm.knowledge.kg.KnowledgeGraph.from_packages() and pass it in")
        return ctx.graph

    def _linked(self, question: Question, g: Any) -> tuple[list[str], list[str], list[str]]:
        """(present concept ids, present phenotype ids, negated phenotype ids) in the question."""
        text = "\n".join([question.question, *(c.text for c in question.options)])
        spans = g.link(text)
        ids = list(dict.fromkeys(s.concept_id for s in spans if s.concept_id and s.polarity == "present"))
        ids = ids[: self.max_concepts]
        negated = [s.concept_id for s in spans if s.polarity == "negated" and str(s.concept_id).startswith("HP:")]
        return ids, [i for i in ids if i.startswith("HP:")], negated

    def differential(self, question: Question, ctx: SolveContext) -> str:
        """With two or more phenotypes in the question (a case): the Mendelian (OMIM) diseases
        whose HPO annotations match them best (likelihood ratios, medllm.knowledge.kg.ddx), as a
        labelled block that follows the model's answer ("" for none). It is kept out of the
        model's prompt: the graph knows no prevalence, so for a common presentation (fever, rash,
        joint pain) its matches are rare look-alikes, and a small model given them as evidence
        leads with them whatever the prompt says."""
        g = self._graph(ctx)
        _, phenotypes, negated = self._linked(question, g)
        if len(phenotypes) < 2 or self.ddx_k < 1:
            return ""
        try:
            diags = g.ddx(phenotypes, k=self.ddx_k, excluded=[e for e in negated if e not in phenotypes])
        except ValueError:
            return ""
        if not diags:
            return ""
        names = ", ".join(g.get(p).name for p in phenotypes)
        lines = [f"Rare-disease phenotype matches for {names} (knowledge graph): Mendelian diseases ranked by "
                 "their HPO annotations only. The graph cannot judge how common a disease is, nor common causes "
                 "such as infections, drugs or everyday conditions, which come first for a common presentation."]
        for d in diags:
            matched = ", ".join(dict.fromkeys(g.get(m.patient).name for m in d.matches if m.patient == m.disease_term))
            lines.append(f"{d.rank}. {d.name} [{d.disease_id}]" + (f" (exact matches: {matched})" if matched else ""))
        return "\n".join(lines)

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        ids, facts = self.facts(question, ctx)
        start = question.metadata.get("n_evidence", 0) + 1
        evidence = [Evidence(index=start + i, passage_id="|".join(_FACT_IDS.findall(f)), text=f,
                             citation="knowledge graph: " + ", ".join(_FACT_IDS.findall(f)), source="kg")
                    for i, f in enumerate(facts)]
        lines = [f"[{e.index}] {e.text}" for e in evidence]
        lines, evidence = _fit(ctx.model, lines, evidence, _budget(ctx, question))
        flags = [] if evidence else [Flag(kind="no_evidence", message="no concept in the question was linked to the graph")]
        a = self._inner()(_numbered(question, lines, evidence), ctx)
        out = _finish(a, evidence, flags)
        meta = {**out.metadata, "linked_concepts": ids}
        block = self.differential(question, ctx)
        if block:
            meta["phenotype_matches"] = block
            if question.task == "open":  # a free answer shows it after the model's own text
                out = out.model_copy(update={"text": out.text.rstrip() + "\n\n" + block})
        return out.model_copy(update={"metadata": meta})


# ---------------------------------------------------------------- options as typed

_OPT = re.compile(r"(?:^|\s|;)\(?([A-J])[\)\.:]\s+")


def parse_options(options: str | Sequence[str]) -> list[Choice]:
    """Options for a multiple-choice question: "A) aspirin B) heparin" or ["aspirin", "heparin"]
    (lettered A, B, ... in order) or ["A) aspirin", "B) heparin"]."""
    if isinstance(options, str):
        marks = list(_OPT.finditer(options))
        if len(marks) < 2:
            raise ValueError(f"could not read options from {options!r}; write them as \"A) first B) second\"")
        out = []
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(options)
            text = options[m.end():end].strip().rstrip(";,").strip()
            if not text:
                raise ValueError(f"option {m.group(1)} is empty in {options!r}")
            out.append(Choice(label=m.group(1), text=text))
    else:
        items = [o.strip() for o in options if o.strip()]
        if len(items) < 2:
            raise ValueError("give at least two options")
        out = []
        for i, o in enumerate(items):
            m = re.match(r"^\(?([A-J])[\)\.:]\s+(.*)$", o)
            out.append(Choice(label=m.group(1), text=m.group(2).strip()) if m else Choice(label=chr(65 + i), text=o))
    labels = [c.label for c in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"option letters repeat ({', '.join(labels)}); give each option its own letter")
    return out
