"""all-MiniLM-L6-v2 sentence embeddings in NumPy: the packaged weights (safetensors) and fast
tokenizer (tokenizer.json), mean pooling and unit length, as sentence-transformers computes them.

Why not sentence-transformers: importing torch and transformers costs ~0.5 GB of resident memory
and seconds of start-up in every `ask`, for a six-layer encoder of one short query. This forward
pass matches it to float precision (a test compares the two on real text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # BERT's exact GELU, not the tanh approximation

    return 0.5 * x * (1.0 + erf(x * np.float32(1 / np.sqrt(2.0))))  # a float64 constant would upcast x


_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _map_weights(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, mapped read-only instead of read: only the pages a
    forward pass touches become resident (a query touches a few rows of the 47 MB word-embedding
    table), and loading makes no second copy. Half-precision weights are cast to float32."""
    import struct

    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))  # the format: header length, JSON header, raw data
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out: dict[str, np.ndarray] = {}
    for name, t in header.items():
        if t["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {t['dtype']}; expected one of {sorted(_DTYPES)}")
        a = data[t["data_offsets"][0]:t["data_offsets"][1]].view(_DTYPES[t["dtype"]]).reshape(t["shape"])
        out[name] = a.astype(np.float32) if t["dtype"] == "F16" else a
    return out


class MiniLM:
    """A BERT encoder (the MiniLM-L6 shape) with mean pooling; `encode` gives unit vectors."""

    def __init__(self, model_dir: str | Path, max_tokens: int | None = None) -> None:
        from tokenizers import Tokenizer

        d = Path(model_dir)
        cfg = json.loads((d / "config.json").read_text())
        st = d / "sentence_bert_config.json"
        default_len = json.loads(st.read_text()).get("max_seq_length", 256) if st.exists() else 256
        self.max_tokens = int(max_tokens or default_len)
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.dim = int(cfg["hidden_size"])
        self.w = {k.removeprefix("bert."): v for k, v in _map_weights(d / "model.safetensors").items()}
        self.tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tok.enable_truncation(max_length=self.max_tokens)
        self.tok.no_padding()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, n, t = self.w, ids.shape[0], ids.shape[1]
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        h, hd = self.heads, self.dim // self.heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:  # 2-D, so BLAS does it
                out = v.reshape(-1, v.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                return out.reshape(*v.shape[:-1], out.shape[-1])

            # contiguous heads: numpy hands stacked matmuls of contiguous arrays to BLAS
            q, k, v = (np.ascontiguousarray(lin(x, f"attention.self.{m}").reshape(n, t, h, hd).transpose(0, 2, 1, 3))
                       for m in ("query", "key", "value"))
            kt = np.ascontiguousarray(k.transpose(0, 1, 3, 2))
            s = np.empty((n, h, t, t), dtype=np.float32)
            for b in range(n):  # per sequence and head: plain 2-D products, faster than a stacked matmul
                for j in range(h):
                    np.matmul(q[b, j], kt[b, j], out=s[b, j])
            s = s / np.float32(np.sqrt(hd)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(n, t, self.dim)
            x = _layer_norm(lin(a, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            f = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(f + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def tokenize(self, texts: Sequence[str]) -> list:
        """The word pieces of each text (truncated), as `encode` takes them."""
        return self.tok.encode_batch(list(texts))

    def encode(self, texts: Sequence[str], batch_size: int = 64, *, encodings: list | None = None) -> np.ndarray:
        """Unit vectors, one row per text (`encodings`: `tokenize(texts)` when the caller has it).
        Texts are batched by length, so padding stays short. BLAS runs on one thread: for a
        query's small matrices, waking more threads costs more than it saves on a busy machine."""
        from threadpoolctl import threadpool_limits

        enc = encodings if encodings is not None else self.tokenize(texts)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._encode(enc, batch_size)

    def _encode(self, enc: list, batch_size: int) -> np.ndarray:
        out = np.zeros((len(enc), self.dim), dtype=np.float32)
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            t = max(len(enc[i].ids) for i in rows)
            ids = np.zeros((len(rows), t), dtype=np.int64)
            mask = np.zeros((len(rows), t), dtype=np.int64)
            for j, i in enumerate(rows):
                ids[j, :len(enc[i].ids)] = enc[i].ids
                mask[j, :len(enc[i].ids)] = 1
            out[rows] = self._forward(ids, mask)
        return out
