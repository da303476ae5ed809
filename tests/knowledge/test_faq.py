"""MedQuAD answers found by their own questions: the matcher's ranking, its cache, and an index
without MedQuAD. The embedder is a small bag-of-words stand-in (the ranking logic is under
test, not MiniLM)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medllm.knowledge.faq import QuestionMatcher

VOCAB = ["scabies", "treatments", "treat", "symptoms", "migraine", "what", "are", "the"]


class BagEmbedder:
    path = "bag"
    max_tokens = 8
    dim = len(VOCAB)

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        v = np.array([[t.lower().count(w) for w in VOCAB] for t in texts], dtype=np.float32) + 1e-6
        return v / np.linalg.norm(v, axis=1, keepdims=True)


class Store:
    def __init__(self, docs: set[str]) -> None:
        self.docs = docs

    def doc_ids(self, source: str | None = None) -> set[str]:
        return self.docs


def _corpus(tmp_path: Path) -> Path:
    rows = [{"id": "1", "focus": "Scabies", "question": "What are the treatments for Scabies ?", "answer": "Lotions."},
            {"id": "2", "focus": "Scabies", "question": "What are the symptoms of Scabies ?", "answer": "Itching."},
            {"id": "3", "focus": "Migraine", "question": "What are the treatments for Migraine ?", "answer": "Rest."}]
    p = tmp_path / "medquad.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_the_closest_question_comes_first_and_vectors_are_cached(tmp_path: Path) -> None:
    corpus, emb = _corpus(tmp_path), BagEmbedder()
    store = Store({"medquad:1", "medquad:2", "medquad:3"})
    m = QuestionMatcher(store, emb, corpus, cache_dir=tmp_path / "cache")
    got = m.match(emb.encode(["how do you treat scabies, what are the treatments"])[0], n=2)
    assert got[0][0] == "medquad:1" and got[0][1] > got[1][1]
    emb2 = BagEmbedder()
    again = QuestionMatcher(store, emb2, corpus, cache_dir=tmp_path / "cache")
    assert emb2.calls == 0 and np.allclose(again.vectors, m.vectors)  # read back, not re-embedded
    assert m.match(emb.encode(["migraine"])[0], n=3, floor=0.99) == []


def test_only_documents_the_index_holds_are_matched(tmp_path: Path) -> None:
    m = QuestionMatcher(Store({"medquad:3"}), BagEmbedder(), _corpus(tmp_path), cache_dir=tmp_path)
    assert m.docs == ["medquad:3"]
    none = QuestionMatcher(Store(set()), BagEmbedder(), _corpus(tmp_path), cache_dir=tmp_path)
    assert none.docs == [] and none.match(np.ones(len(VOCAB)), 3) == []


def test_store_lists_documents_and_their_rows(tmp_path: Path) -> None:
    from medllm.knowledge.store import PassageStore
    from medllm.types import Passage

    s = PassageStore(tmp_path / "p.sqlite")
    s.add([Passage(id=f"{d}#{i}", doc_id=d, title="t", text=f"{d} part {i}", source=src)
           for d, src in (("medquad:1", "medquad"), ("book:1", "openstax-x")) for i in range(2)])
    assert s.doc_ids("medquad") == {"medquad:1"} and s.doc_ids() == {"medquad:1", "book:1"}
    rows = s.rows_of(["medquad:1", "nope"])
    assert len(rows["medquad:1"]) == 2 and rows["nope"] == []
    assert [p.doc_id for p in s.get(rows["medquad:1"])] == ["medquad:1", "medquad:1"]
