"""`kb build` embeddings through the runners: a real local Ray cluster (started in-process once
for the module) and a real milvus-lite file, against the local runner on the same passages."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from medllm.knowledge.chunking import Chunker, index_text
from medllm.knowledge.corpora import load_corpus
from medllm.knowledge.index import build_index, embed_parts, load_index, save_part
from medllm.runners import get_runner
from medllm.runners.kb import EmbedJob, runner_vectors


@pytest.fixture(scope="module")
def passages(shared_data: Path) -> list:
    docs = list(itertools.islice(load_corpus(f"medquad:{shared_data / 'medquad' / 'medquad.jsonl'}"), 12))
    return [p for d in docs for p in Chunker(size=200, overlap=32).chunk(d)]


@pytest.fixture(scope="module")
def embedder():
    from medllm.knowledge.retrievers import Embedder

    return Embedder()


class _Counting:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def encode(self, texts, show_progress: bool = False) -> np.ndarray:  # noqa: ANN001
        self.texts += len(texts)
        return self.inner.encode(texts)


def test_embed_job_resumes_from_saved_parts(tmp_path: Path, embedder, monkeypatch) -> None:
    import medllm.knowledge.index as ix

    monkeypatch.setattr(ix, "EMB_PART", 16)
    texts = [f"passage {i} about gout and uric acid" for i in range(16 + 5)]  # two parts
    work = tmp_path / "emb"
    work.mkdir()
    (start, f), _ = embed_parts(texts, work)
    saved = embedder.encode(texts[start:start + 16])
    save_part(f, saved)  # as an interrupted build leaves it
    counting = _Counting(embedder)
    job = EmbedJob(counting, texts, work)
    assert job.units() == [1]
    vecs = get_runner("local").run(job)
    assert counting.texts == 5 and vecs.shape == (len(texts), embedder.dim)
    assert np.array_equal(vecs[:16], saved)
    assert not EmbedJob(counting, texts, work).units()  # everything saved now


def test_milvus_build_refuses_a_one_shot_generator(tmp_path: Path, passages) -> None:
    pytest.importorskip("milvus_lite")
    from medllm.knowledge.milvus_store import build_milvus_index

    with pytest.raises(ValueError, match="reads the corpus twice"):
        build_milvus_index((p for p in passages), tmp_path / "kb.db")


def test_corpus_that_changes_between_passes_is_an_error(passages) -> None:
    from medllm.knowledge.milvus_store import plan_batches, plan_build

    plan = plan_build(passages, batch=8)
    with pytest.raises(ValueError, match="changed between the two passes"):
        list(plan_batches(passages[:-3], plan))


def test_kb_build_on_ray_equals_local(tmp_path: Path, passages, embedder, ray_cluster) -> None:
    """Embedded index: the same vectors from Ray workers as from this process. Milvus: a streamed
    build (a generator function, batches of 16 on two workers) holds the same rows, and gives the
    same top 10 as the local build and the embedded index."""
    pytest.importorskip("milvus_lite")
    from medllm.knowledge.milvus_store import MilvusRetriever
    from medllm.runners.kb import MilvusBuildJob

    ray_runner = get_runner("ray", workers=2)
    build_index(passages, tmp_path / "local", embedder=embedder, vectors=runner_vectors(get_runner("local")))
    build_index(passages, tmp_path / "ray", embedder=embedder, vectors=runner_vectors(ray_runner))
    assert ray_runner.last is not None and ray_runner.last.units_sent == 1  # one part of EMB_PART
    a, b = load_index(tmp_path / "local", embedder=embedder), load_index(tmp_path / "ray", embedder=embedder)
    va = a.dense.index.reconstruct_n(0, len(passages))  # type: ignore[union-attr]
    vb = b.dense.index.reconstruct_n(0, len(passages))  # type: ignore[union-attr]
    assert np.allclose(va, vb, atol=1e-5)

    def stream():  # a fresh pass each call: nothing but a batch of it is held
        yield from passages
        yield passages[0]  # a duplicate: dropped in both builds

    local = get_runner("local").run(MilvusBuildJob(stream, tmp_path / "local.db", embedder=embedder, batch=16))
    ray_m = ray_runner.run(MilvusBuildJob(stream, tmp_path / "ray.db", embedder=embedder, batch=16))
    assert ray_runner.last.units_sent == -(-len(passages) // 16) > 2
    assert local["counts"] == ray_m["counts"]
    assert ray_m["counts"]["passages"] == len(passages) and ray_m["counts"]["duplicates_dropped"] == 1
    ml, mr = MilvusRetriever(tmp_path / "local.db", embedder=embedder), MilvusRetriever(tmp_path / "ray.db", embedder=embedder)
    assert len(ml) == len(mr) == len(passages)
    qs = ["What are the symptoms of glaucoma?", "How is high blood pressure treated?", "what causes anemia",
          "Who is at risk for diabetes?", "treatment of urinary incontinence"]
    for q in qs:
        for method in ("bm25", "dense", "hybrid"):
            x = [h.passage.id for h in ml.retriever(method).search(q, 10)]
            y = [h.passage.id for h in mr.retriever(method).search(q, 10)]
            z = [h.passage.id for h in a.retriever(method).search(q, 10)]
            assert set(x) == set(y) == set(z), (q, method)
    got = mr.search(qs[0], 1)[0]
    assert got.passage.text == next(p for p in passages if p.id == got.passage.id).text
    assert got.citation and index_text(got.passage)
    ml.close()
    mr.close()


def test_kb_build_cli_with_runner(tmp_path: Path, shared_data: Path, ray_cluster) -> None:
    pytest.importorskip("milvus_lite")
    from typer.testing import CliRunner

    from medllm.cli import app

    spec = f"medquad:{shared_data / 'medquad' / 'medquad.jsonl'}"
    cli = CliRunner()
    res = cli.invoke(app, ["kb", "build", "--corpus", spec, "--limit", "6", "--store", str(tmp_path / "kb.db"),
                           "--runner", "ray", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "ray: 2 worker(s)" in res.output and "passages with vectors" in res.output
    again = cli.invoke(app, ["kb", "build", "--corpus", spec, "--limit", "6", "--store", str(tmp_path / "kb.db")])
    assert again.exit_code != 0 and "--overwrite" in again.output
    res = cli.invoke(app, ["kb", "build", "--corpus", spec, "--limit", "6", "--out", str(tmp_path / "ix"),
                           "--runner", "ray", "--workers", "1"])
    assert res.exit_code == 0 and "ray: 1 worker(s)" in res.output, res.output
    res = cli.invoke(app, ["kb", "search", "glaucoma", "--index", str(tmp_path / "kb.db"), "-k", "3"])
    assert res.exit_code == 0 and "3 results" in res.output, res.output
    bad = cli.invoke(app, ["kb", "build", "--corpus", spec, "--out", str(tmp_path / "x"), "--workers", "2"])
    assert bad.exit_code != 0 and "--runner ray" in bad.output


def test_milvus_build_resumes_after_an_interruption(tmp_path: Path, passages, embedder, ray_cluster) -> None:
    """A build stopped after 3 batches, with part of the 4th inserted (an insert cut short), is
    run again: it deletes the partial batch, goes on from batch 3 (on Ray), and the collection
    holds the same rows as an uninterrupted build, each once. A third run, or a run with other
    settings, is refused."""
    pytest.importorskip("milvus_lite")
    from pymilvus import MilvusClient

    from medllm.knowledge.milvus_store import MilvusRetriever
    from medllm.runners.kb import MilvusBuildJob

    def stream():
        yield from passages

    def rows(db: Path) -> list[tuple[int, str]]:
        c = MilvusClient(str(db))
        c.load_collection("passages")
        got = c.query("passages", filter="row >= 0", output_fields=["row", "pid"], limit=16384)
        c.close()
        return sorted((int(r["row"]), r["pid"]) for r in got)

    get_runner("local").run(MilvusBuildJob(stream, tmp_path / "full.db", embedder=embedder, batch=8))

    def stop_after_three(step: str, done: int, total: int) -> None:
        if step == "milvus" and done >= 24:
            raise KeyboardInterrupt

    db = tmp_path / "cut.db"
    with pytest.raises(KeyboardInterrupt):
        get_runner("local").run(MilvusBuildJob(stream, db, embedder=embedder, batch=8, progress=stop_after_three))
    c = MilvusClient(str(db))  # part of batch 3, as an insert cut short leaves it
    c.insert("passages", [{"row": 24 + i, "pid": f"partial-{i}", "doc_id": "", "title": "", "text": "x", "source": "",
                           "url": "", "license": "", "dense": [0.0] * embedder.dim, "sparse": {1: 1.0}} for i in range(3)])
    c.flush("passages")
    c.close()
    assert [r for r, _ in rows(db)] == list(range(27))

    with pytest.raises(FileExistsError, match="another corpus or other settings"):
        MilvusBuildJob(stream, db, embedder=embedder, batch=16)
    job = MilvusBuildJob(stream, db, embedder=embedder, batch=8)
    assert job.start == 3 and list(job.units()) == list(range(3, -(-len(passages) // 8)))
    ray_runner = get_runner("ray", workers=2)
    m = ray_runner.run(job)
    assert m["resumed_after"] == 24 and ray_runner.last.units_sent == len(job.units())
    assert rows(db) == rows(tmp_path / "full.db")  # every passage once, at its row, no partial row left
    assert len(rows(db)) == len(passages)
    with pytest.raises(FileExistsError, match="a finished build"):
        MilvusBuildJob(stream, db, embedder=embedder, batch=8)
    r = MilvusRetriever(db, embedder=embedder)
    assert len(r) == len(passages) and r.search("What are the symptoms of glaucoma?", 3)
    r.close()
