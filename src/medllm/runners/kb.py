"""`medllm kb build` embeddings as runner jobs.

- `EmbedJob` (an embedded index, `kb build --out DIR`): the texts are embedded in parts of
  `EMB_PART` on the workers (one MiniLM each); the driver saves each part where the local build
  saves it, so a build started on one runner resumes on the other, and writes the FAISS index.
- `MilvusBuildJob` (`kb build --store milvus://…`): after the driver's first, streaming pass
  (BM25's statistics), the workers embed and weight one batch of passages each; the driver reads
  the corpus a second time, batch by batch, and inserts the workers' rows in order. The corpus is
  never held in memory: the driver keeps a window of batches in flight. Run again after an
  interruption, it goes on from the batch it was inserting (`milvus_store.open_build`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medllm.knowledge.index import Progress, Vectors, _noop, embed_parts, save_part
from medllm.knowledge.milvus_store import (
    BATCH,
    BuildPlan,
    MilvusBatch,
    MilvusRowsSpec,
    PassageSource,
    _source,
    build_milvus_index,
    plan_batches,
    plan_build,
    resume_batch,
)
from medllm.knowledge.retrievers import Embedder
from medllm.runners.base import Runner
from medllm.types import Passage


def _portable(embedder: Any) -> tuple[Any, int | None]:
    """What a worker is sent to build the driver's embedder: the packaged MiniLM is rebuilt there
    (None, its max_tokens); any other embedder object is sent as it is (it must pickle)."""
    if type(embedder) is Embedder:
        return None, embedder.max_tokens
    return embedder, None


@dataclass
class EmbedderSpec:
    embedder: Any = None
    max_tokens: int | None = None

    def build(self) -> Callable[[list[str]], np.ndarray]:
        emb = self.embedder if self.embedder is not None else Embedder(max_tokens=self.max_tokens)
        return lambda texts: np.asarray(emb.encode(texts), dtype=np.float32)


@dataclass
class EmbedJob:
    """Embed `texts` in parts saved under `work` (the index build's resume folder)."""

    embedder: Any
    texts: list[str]
    work: Path
    progress: Progress = _noop

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self._parts = embed_parts(self.texts, self.work)

    def units(self) -> list[int]:
        return [i for i, (_, f) in enumerate(self._parts) if not f.exists()]

    def key(self, unit: int) -> str:
        return self._parts[unit][1].name

    def payload(self, unit: int) -> list[str]:
        start = self._parts[unit][0]
        stop = self._parts[unit + 1][0] if unit + 1 < len(self._parts) else len(self.texts)
        return self.texts[start:stop]

    def worker_spec(self) -> EmbedderSpec:
        return EmbedderSpec(*_portable(self.embedder))

    def commit(self, results: Callable[[int], np.ndarray | None] | None) -> np.ndarray:
        todo = set(self.units())
        out = np.empty((len(self.texts), self.embedder.dim), np.float32)  # filled in place: one copy
        for i, (start, f) in enumerate(self._parts):
            if i not in todo:
                v = np.load(f)
            else:
                got = results(i) if results is not None else None
                v = got if got is not None else np.asarray(self.embedder.encode(self.payload(i)), dtype=np.float32)
                if len(v) != len(self.payload(i)):
                    raise RuntimeError(f"embedding part {i}: {len(v)} vectors for {len(self.payload(i))} texts")
                save_part(f, v)
            out[start:start + len(v)] = v
            self.progress("embed", start + len(v), len(self.texts))
        return out


def runner_vectors(runner: Runner) -> Vectors:
    """`build_index(vectors=…)`: the embeddings of an index build computed through `runner`."""

    def vectors(embedder: Any, texts: list[str], work: Path, progress: Progress) -> np.ndarray:
        return runner.run(EmbedJob(embedder, texts, work, progress))

    return vectors


@dataclass
class MilvusBuildJob:
    """`kb build --store SPEC`: `passages` (a list, or a function returning a fresh iterator over
    them) into the Milvus collection at `spec`. The first pass runs when the job is made."""

    passages: Iterable[Passage] | PassageSource
    spec: str | Path
    embedder: Any = None
    overwrite: bool = False
    batch: int = BATCH
    progress: Callable[[str, int, int], None] | None = None
    plan: BuildPlan = field(init=False)

    def __post_init__(self) -> None:
        from medllm.knowledge.milvus_store import check_target

        check_target(self.spec, self.overwrite)  # a wrong spec fails before the first pass, not after
        self._source = _source(self.passages)
        self.embedder = self.embedder or Embedder()
        self.plan = plan_build(self._source, batch=self.batch, progress=self.progress)
        # an unfinished build of the same corpus and settings goes on from its first batch not
        # wholly inserted (the commit step deletes that batch's rows, then inserts from it)
        self.start = resume_batch(self.spec, self.plan, self.embedder, self.overwrite)
        self._reader: Iterator[tuple[int, list[Passage]]] | None = None

    def units(self) -> Sequence[int]:
        return range(self.start, self.plan.batches)

    def key(self, unit: int) -> str:
        return str(unit)

    def payload(self, unit: int) -> tuple[int, list[Passage]]:
        """The runner asks for the units in order, once each: the second pass, one batch at a time."""
        if self._reader is None:
            self._reader = plan_batches(self._source, self.plan)
        start, part = next(self._reader)
        while start < unit * self.plan.batch:  # batches an earlier, interrupted build inserted
            start, part = next(self._reader)
        if start != unit * self.plan.batch:
            raise RuntimeError(f"batch {unit} read out of order (row {start})")
        return start, part

    def worker_spec(self) -> MilvusRowsSpec:
        emb, max_tokens = _portable(self.embedder)
        return MilvusRowsSpec(self.plan.stats.weights(), emb, max_tokens)

    def commit(self, results: Callable[[int], MilvusBatch | None] | None) -> dict:
        return build_milvus_index(self._source, self.spec, embedder=self.embedder, overwrite=self.overwrite,
                                  batch=self.batch, progress=self.progress, plan=self.plan, results=results,
                                  start=self.start)
