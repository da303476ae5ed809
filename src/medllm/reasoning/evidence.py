"""The `evidence` solver: answers that stand on cited medical text.

1. Retrieve few, strong passages (`medllm.knowledge.clinical.ClinicalRetriever`: the question
   expanded by the concepts the graph links, BM25 + dense fused, reranked, a relevance floor);
   an index without vectors falls back to its own search.
2. Show the model, per passage, only its sentences closest to the question (short prompts:
   a 1.5B model on 2 cores reads ~77 tokens/s), numbered [1]..[k].
3. Multiple-choice items are then answered by the inner `direct` solver over that evidence.
   Open questions get a short answer written from the passages, one sentence at a time: each
   sentence is checked against the passages it cites (all of them when it cites none) before it
   is shown — enough of its content words must occur there (`lexical_support` >= 0.5) and the
   MiniLM entailment judge (`EmbeddingJudge`: closest window similar and of the same polarity)
   must call it entailed. A sentence that fails against the passage it cites but stands on one
   other shown passage is kept with its mark moved there (a 1.5B model often misnumbers its
   citations). Unsupported sentences are dropped and listed in `metadata["unsupported"]`.
   The prompt asks for what the sources say even when they answer only in part, and offers no
   "the sources do not answer" escape (the support check and the fallback decide): with that
   escape the 1.5B model declined on 12 of K-QA dev's first 15 questions, though several of
   their sources were on topic, only partial.
4. When no sentence is supported, the answer says so and quotes the best passages'
   answer-bearing sentences instead (an extractive fallback); confidence is the supported share
   of the written sentences (0 for the fallback).
"""

from __future__ import annotations

import re
import time
from typing import Any

from medllm.models.base import ContextTooLong, GenParams, Message
from medllm.reasoning.base import Mode, SolveContext
from medllm.reasoning.util import Stage, check_citations
from medllm.types import Answer, Cost, Evidence, Flag, Question

SYSTEM = ("You are a careful medical assistant. Answer the patient's question from the numbered sources only. "
          "Write 2 to 5 short sentences, each stating something the sources say that helps answer the question, "
          "even when they answer only part of it. Put the source number in square brackets after every "
          "sentence, e.g. [1].")
# No "say the sources do not answer" escape: the support check decides what is shown, and the
# extractive fallback covers sources that are off the question. The reply is still watched for
# this phrase, which a model may write on its own.
NO_ANSWER = "The sources do not answer this"
_SENT_END = re.compile(r"(?<=[.!?])(?:\s*\[\d+(?:,\s*\d+)*\])?\s+(?=\S)")


def _split_done(buffer: str) -> tuple[list[str], str]:
    """Finished sentences of a growing text (a sentence ends at . ! ? and its citation marks)."""
    out, start = [], 0
    for m in _SENT_END.finditer(buffer):
        out.append(buffer[start:m.end()].strip())
        start = m.end()
    return out, buffer[start:]


class EvidenceSolver(Stage):
    name = "evidence"
    kind = "context"
    modes: tuple[Mode, ...] = ("loglik", "generate")
    needs: tuple[str, ...] = ("retriever",)

    def __init__(self, k: int = 3, sentences: int = 3, max_tokens: int = 160, min_overlap: float = 0.5,
                 floor: float | None = None) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"evidence k={k}: retrieve at least one passage")
        self.k, self.sentences, self.max_tokens, self.min_overlap = int(k), int(sentences), int(max_tokens), min_overlap
        self.floor = floor
        self._judge: Any = None

    # ------------------------------------------------------------ retrieval

    def _retriever(self, ctx: SolveContext) -> Any:
        from medllm.knowledge.clinical import ClinicalRetriever
        from medllm.knowledge.retrievers import HybridRetriever

        r = ctx.retriever
        if r is None:
            raise ValueError("the evidence strategy needs a retriever: build the clinical knowledge base with "
                             "`medllm kb build-default` and open it (medllm.knowledge.index.load_index)")
        if isinstance(r, HybridRetriever) and r.dense is not None:
            kw = {"floor": self.floor} if self.floor is not None else {}
            return ClinicalRetriever(r, ctx.graph, **kw)
        return r

    def evidence(self, question: Question, ctx: SolveContext) -> tuple[list[Evidence], list[list[str]], Any]:
        """(numbered evidence holding each passage's answer-bearing sentences, those sentences,
        the embedder used or None)."""
        from medllm.knowledge.clinical import ClinicalRetriever, answer_sentences

        r = self._retriever(ctx)
        start = question.metadata.get("n_evidence", 0) + 1
        if isinstance(r, ClinicalRetriever):
            hits, exp = r.search_expanded(question.question, self.k)
            embedder = r.embedder
        else:
            hits, exp, embedder = r.search(question.question, self.k), None, None
        if embedder is not None and exp is not None and hits:
            picked = [[s for s, _ in ss] for ss in
                      answer_sentences(r.dense_query(question.question, exp), [h.passage.text for h in hits], embedder,
                                       self.sentences)]
        else:
            picked = [[" ".join(h.passage.text.split())] for h in hits]
        ev = []
        for i, (h, ss) in enumerate(zip(hits, picked, strict=True)):
            ev.append(Evidence(index=start + i, passage_id=h.passage.id, text=" ".join(ss), citation=h.citation,
                               source=h.passage.source, score=h.score))
        return ev, picked, embedder

    # ------------------------------------------------------------ checking

    def judge(self, embedder: Any) -> Any:
        from medllm.trust.grounding import EmbeddingJudge

        if self._judge is None and embedder is not None:
            self._judge = EmbeddingJudge(embedder)
        return self._judge

    def _stands(self, claim: str, texts: list[str], embedder: Any) -> bool:
        """Enough of the claim's content words occur in `texts` and the judge calls it entailed."""
        from medllm.trust.grounding import lexical_support

        if lexical_support(claim, texts) < self.min_overlap:
            return False
        j = self.judge(embedder)
        return j is None or j.judge("\n".join(texts), [claim])[0].verdict == "entailed"

    def supported(self, sentence: str, evidence: list[Evidence], embedder: Any) -> tuple[bool, str]:
        """Whether `sentence` stands on the evidence it cites; (ok, the sentence as shown: its
        claim with its marks, re-pointed when it stands on another passage than the one cited)."""
        cites = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        claim = re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", sentence).strip()
        by = {e.index: e for e in evidence}
        used = [by[c] for c in cites if c in by] or (evidence if not cites else [])
        if used and self._stands(claim, [e.text for e in used], embedder):
            return True, sentence
        # a small model often cites the wrong number: a claim that one other shown passage states
        # is kept with its mark moved there, so every shown sentence still names its support
        for e in evidence:
            if e not in used and self._stands(claim, [e.text], embedder):
                body = claim[:-1] if claim[-1:] in ".!?" else claim
                return True, f"{body} [{e.index}]{claim[-1:] if claim[-1:] in '.!?' else '.'}"
        return False, sentence

    # ------------------------------------------------------------ answering

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        t0 = time.perf_counter()
        evidence, picked, embedder = self.evidence(question, ctx)
        t_ret = time.perf_counter() - t0
        lines = [f"[{e.index}] {e.text}" for e in evidence]
        if question.options:
            meta = {**question.metadata, "evidence_block": bool(lines), "n_evidence": len(evidence)}
            q = question.model_copy(update={"context": [*question.context, *lines], "metadata": meta})
            a = self._inner()(q, ctx)
            merged = sorted([*evidence, *a.evidence], key=lambda e: e.index)
            flags = [] if evidence else [Flag(kind="no_evidence", message="no passage passed the relevance floor")]
            return check_citations(a.model_copy(update={"evidence": merged, "flags": [*a.flags, *flags]}))
        return self._open(question, ctx, evidence, embedder, t0, t_ret)

    def _open(self, q: Question, ctx: SolveContext, evidence: list[Evidence], embedder: Any, t0: float,
              t_ret: float) -> Answer:
        model = ctx.model
        if not evidence:
            text = ("No passage in the knowledge base is relevant enough to answer this, so no answer is given "
                    "from it. Ask a clinician, or rephrase the question with the condition or drug named.")
            if ctx.on_token:
                ctx.on_token(text)
            return Answer(question_id=q.id, text=text, confidence=0.0, model=model.info.spec, strategy=self.name,
                          flags=[Flag(kind="no_evidence", message="no passage passed the relevance floor")],
                          metadata={"support": {"sentences": 0, "supported": 0}, "fallback": True,
                                    "timings": {"retrieval_s": round(t_ret, 3)}})
        sources = "\n".join(f"[{e.index}] {e.citation.split(' (')[0]}: {e.text}" for e in evidence)
        messages: list[Message] = [{"role": "system", "content": SYSTEM},
                                   {"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: {q.question.strip()}"}]
        params = GenParams(max_tokens=min(self.max_tokens, ctx.params.max_tokens or self.max_tokens),
                           temperature=ctx.params.temperature, seed=ctx.params.seed)
        n_prompt = sum(model.count_tokens(m["content"]) for m in messages)
        window = model.info.context_window
        if window and n_prompt + params.max_tokens > window:
            raise ContextTooLong(n_prompt, window, params.max_tokens)
        kept: list[str] = []
        dropped: list[str] = []
        raw: list[str] = []
        first: float | None = None
        buffer = ""
        refused = False

        def take(sentence: str) -> None:
            nonlocal first, refused
            if NO_ANSWER.lower() in sentence.lower():
                refused = True
                return
            lead = re.match(r"((?:\[\d+(?:,\s*\d+)*\]\s*)+)(\S.*)$", sentence, re.S)
            if lead:  # "[2] Lotions treat scabies." -> "Lotions treat scabies [2]." (marks after the claim)
                body, marks = lead.group(2).strip(), " ".join(lead.group(1).split())
                end = body[-1] if body[-1] in ".!?" else "."
                sentence = f"{body.rstrip('.!?')} {marks}{end}"
            ok, sentence = self.supported(sentence, evidence, embedder)
            if ok:
                piece = ("" if not kept else " ") + sentence
                kept.append(sentence)
                if first is None:
                    first = time.perf_counter() - t0
                if ctx.on_token:
                    ctx.on_token(piece)
            else:
                dropped.append(sentence)

        t_gen = time.perf_counter()
        for piece in model.chat_stream(messages, params):
            raw.append(piece)
            buffer += piece
            done, buffer = _split_done(buffer)
            for s in done:
                take(s)
        if buffer.strip():
            take(buffer.strip())
        gen_s = time.perf_counter() - t_gen
        raw_text = "".join(raw).strip()
        n_written = len(kept) + len(dropped)
        flags: list[Flag] = []
        if kept:
            text = " ".join(kept)
            confidence = round(len(kept) / n_written, 3)
            if dropped:
                flags.append(Flag(kind="ungrounded", severity="info",
                                  message=f"{len(dropped)} of {n_written} sentences were left out: their sources do not state them"))
        else:
            text = self.fallback(evidence, refused)
            confidence = 0.0
            flags.append(Flag(kind="extractive_fallback", severity="warning",
                              message="no written sentence was supported by its sources; showing what the sources say"))
            if ctx.on_token:
                ctx.on_token(text)
            first = time.perf_counter() - t0
        total = time.perf_counter() - t0
        a = Answer(
            question_id=q.id, text=text, raw=raw_text, evidence=evidence, confidence=confidence, flags=flags,
            model=model.info.spec, strategy=self.name,
            cost=Cost(calls=1, prompt_tokens=n_prompt, completion_tokens=model.count_tokens(raw_text) if raw_text else 0,
                      seconds=round(gen_s, 3)),
            metadata={"support": {"sentences": n_written, "supported": len(kept)}, "unsupported": dropped,
                      "fallback": not kept,
                      "timings": {"retrieval_s": round(t_ret, 3), "first_token_s": round(first or total, 3),
                                  "total_s": round(total, 3)}},
        )
        # citations are read from what is shown, not from the dropped sentences of the raw reply
        return check_citations(a.model_copy(update={"raw": ""})).model_copy(update={"raw": raw_text})

    @staticmethod
    def fallback(evidence: list[Evidence], refused: bool) -> str:
        head = ("The sources found do not answer this directly." if refused else
                "I could not write an answer that the sources support.")
        lines = [head + " What the most relevant sources say:"]
        for e in evidence:
            lines.append(f"[{e.index}] {e.text}")
        return "\n".join(lines)
