"""MedQuAD answers found by their own questions.

A patient writes "what is the oral option to get rid of scabies?"; MedQuAD holds the answer to
"What are the treatments for Scabies ?". The answer's text shares few words and little meaning
with the patient's wording (it lists lotions and household contacts), but the two questions
are close: MiniLM was trained on question pairs. `QuestionMatcher` embeds each MedQuAD
question once (cached under `$MEDLLM_HOME/cache`, keyed by the corpus checksum and the
embedder) and returns the answer documents whose question is closest to the patient's; the
clinical retriever adds their passages to its candidates and scores them by the better of the
passage's own cosine and its question's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np


class QuestionMatcher:
    """Cosine of a query vector with every MedQuAD question that has passages in `store`."""

    def __init__(self, store: Any, embedder: Any, corpus: str | Path | None = None,
                 cache_dir: str | Path | None = None) -> None:
        from medllm.knowledge.corpora import load_medquad_jsonl

        if corpus is None:
            from medllm.assets import asset

            corpus = asset("corpora/medquad.jsonl.gz").path
        corpus = Path(corpus)
        have = store.doc_ids("medquad")
        docs: list[str] = []
        questions: list[str] = []
        for d in load_medquad_jsonl(corpus):  # the same unique ids as the index was built with
            q = (d.metadata or {}).get("question")
            if d.id in have and q:
                docs.append(d.id)
                questions.append(" ".join(str(q).split()))
        self.docs, self.questions, self.store = docs, questions, store
        self.vectors = (self._vectors(corpus, embedder, cache_dir) if docs
                        else np.zeros((0, int(getattr(embedder, "dim", 384))), dtype=np.float32))

    def _vectors(self, corpus: Path, embedder: Any, cache_dir: str | Path | None) -> np.ndarray:
        if cache_dir is None:
            from medllm.config import home

            cache_dir = home() / "cache"
        key = hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]
        name = f"{Path(str(getattr(embedder, 'path', type(embedder).__name__))).name}-{getattr(embedder, 'max_tokens', '')}"
        digest = hashlib.sha256("\n".join(self.docs).encode()).hexdigest()[:8]
        path = Path(cache_dir) / f"medquad-questions-{key}-{digest}-{name}.npy"
        if path.exists():
            v = np.load(path)
            if v.shape[0] == len(self.docs):
                return v
        v = np.asarray(embedder.encode(self.questions), dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, v)
        tmp.replace(path)
        return v

    def match(self, qv: np.ndarray, n: int = 5, floor: float = 0.0) -> list[tuple[str, float]]:
        """(document id, cosine of its question with `qv`) for the `n` closest, best first."""
        if not self.docs:
            return []
        sims = self.vectors @ np.asarray(qv, dtype=np.float32).reshape(-1)
        top = np.argsort(-sims)[:n]
        return [(self.docs[i], float(sims[i])) for i in top if sims[i] >= floor]
