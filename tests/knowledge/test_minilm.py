"""The NumPy MiniLM forward pass gives sentence-transformers' vectors for the same text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medllm.knowledge.chunking import minilm_dir
from medllm.knowledge.minilm import MiniLM
from medllm.knowledge.retrievers import Embedder

MEDQUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "medquad" / "medquad.jsonl"


def _texts() -> list[str]:
    texts = ["What is the first-line drug for type 2 diabetes?", "warfarin", "A" * 3000]
    if MEDQUAD.exists():  # real answers, long enough to be truncated at 256 tokens
        with MEDQUAD.open() as fh:
            texts += [json.loads(line)["answer"] for _, line in zip(range(6), fh, strict=False)]
    return texts


def test_numpy_minilm_matches_sentence_transformers() -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    texts = _texts()
    ours = MiniLM(minilm_dir()).encode(texts, batch_size=4)
    ref = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True).encode(
        texts, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == ref.shape == (len(texts), 384)
    assert np.abs(ours - ref).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_embedder_uses_numpy_for_queries_and_agrees_in_bulk() -> None:
    emb = Embedder()
    one = emb.encode(["chest pain and sweating"])
    assert emb._bulk is None  # a query never loads torch
    many = emb.encode(["chest pain and sweating"] + ["a longer passage about heparin dosing " * 30] * 50)  # > BULK_TOKENS
    assert emb._bulk is not None
    assert np.abs(many[0] - one[0]).max() < 1e-5
