"""The probe judge: the triage classifier's uncertain band read through a small language model.

The message is put in a fixed prompt that asks whether it is an emergency, a harmful request or an
ordinary question, and the packaged 0.5B model's last-layer hidden states are read (not its
words): the state at the prompt's last token and the mean over the message's tokens. Two
logistic-regression heads over them (trained by `medllm.trust.triage_train --probe`, shipped as
`triage_probe.npz`) answer "emergency now?" and "refuse?". It implements the triage `Judge`
protocol, so it runs only where the MiniLM classifier is unsure.

Why a probe and not the few-shot judge (`medllm.trust.triage_judge`): the few-shot 1.5B judge did
not lower false alarms and took ~12-22 s a message; heads over the 0.5B's states are trained on
the same data as the classifier and take ~0.3-0.6 s (benchmarks/safety.py --judge probe).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medllm.trust.triage import Head

PROBE_PATH = Path(__file__).with_name("triage_probe.npz")
PROBE_MODEL = "qwen2.5-coder-0.5b-instruct"
PREFIX = "A message sent to a medical assistant:\n\n"
SUFFIX = ("\n\nIs the writer having an emergency now, asking for something harmful, or asking an"
          " ordinary question? Answer:")
MAX_CHARS = 1500
_LOAD_LOCK = threading.Lock()


def probe_prompt(text: str) -> str:
    return PREFIX + " ".join(text.split())[:MAX_CHARS] + SUFFIX


def pool(states: np.ndarray, n_prefix: int, n_suffix: int) -> tuple[np.ndarray, np.ndarray]:
    """The prompt's last state and the mean over the message's own tokens (all tokens when the
    message is empty)."""
    inner = states[n_prefix:len(states) - n_suffix]
    return states[-1], (inner if len(inner) else states).mean(axis=0)


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def standardised_features(blocks: Sequence[np.ndarray], mean: Sequence[np.ndarray],
                          std: Sequence[np.ndarray]) -> np.ndarray:
    """Each (n, hidden) block standardised and scaled to unit rows, then joined and scaled to
    unit rows: what the heads read."""
    return _unit(np.hstack([_unit((x - m) / s) for x, m, s in zip(blocks, mean, std, strict=True)])).astype(np.float32)


def probe_model_path(models_dir: Path | None = None) -> Path:
    """The packaged probe model in `models_dir` (a Session passes its settings' folder; without
    one, the configured folder), assembled on first use."""
    from medllm.models.registry import resolve_gguf

    if models_dir is None:  # a library caller without a Session (the training script, tests)
        from medllm.config import load_settings

        models_dir = load_settings().models_dir
    assert models_dir is not None
    return resolve_gguf(PROBE_MODEL, models_dir)


@dataclass(frozen=True)
class ProbeWeights:
    """Standardisation of the two pooled states, the two heads, and each head's cut-off (the
    probability that kept the chosen recall on out-of-fold training scores)."""

    mean: np.ndarray  # (2, hidden): last, mean-pooled
    std: np.ndarray
    emergency: Head
    harmful: Head
    emergency_cut: float
    refuse_cut: float
    meta: dict = field(default_factory=dict)

    def features(self, last: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """(n, 2 * hidden) unit rows from (n, hidden) pooled states."""
        return standardised_features((last, mean), self.mean, self.std)

    def save(self, path: Path) -> None:
        arrays = {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32),
                  "cuts": np.array([self.emergency_cut, self.refuse_cut], np.float64),
                  "meta": np.array(json.dumps(self.meta))}
        for name in ("emergency", "harmful"):
            h: Head = getattr(self, name)
            arrays |= {f"{name}_W": h.W.astype(np.float32), f"{name}_b": h.b.astype(np.float32),
                       f"{name}_classes": np.array(h.classes)}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def empty(cls) -> ProbeWeights:
        """No heads: for reading states only."""
        none = Head(np.zeros((1, 1), np.float32), np.zeros(1, np.float32), ("0", "1"))
        return cls(np.zeros((2, 1)), np.ones((2, 1)), none, none, 0.5, 0.5)

    @classmethod
    def load(cls, path: Path = PROBE_PATH) -> ProbeWeights:
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: train it with `make triage-probe`")
        z = np.load(path)
        heads = {n: Head(z[f"{n}_W"], z[f"{n}_b"], tuple(str(c) for c in z[f"{n}_classes"]))
                 for n in ("emergency", "harmful")}
        return cls(z["mean"], z["std"], heads["emergency"], heads["harmful"], float(z["cuts"][0]),
                   float(z["cuts"][1]), json.loads(str(z["meta"])))


def shifted(p: float, cut: float) -> float:
    """`p` moved in log-odds so that the head's cut-off lands at 0.5 (the judge's yes line)."""
    p, cut = min(max(p, 1e-9), 1 - 1e-9), min(max(cut, 1e-9), 1 - 1e-9)
    z = math.log(p / (1 - p)) - math.log(cut / (1 - cut))
    return 1.0 / (1.0 + math.exp(-z))


@dataclass
class ProbeJudge:
    """The triage `Judge` over a local model's hidden states; the model loads on first use, so
    a batch with no uncertain message never loads it. `features` may be given instead (the
    benchmark serves cached ones)."""

    weights: ProbeWeights
    model_path: Path | None = None
    calls: int = 0
    _states: object = None
    _last: tuple[str, tuple[float, float]] | None = None  # `decide` asks both questions of one text

    @classmethod
    def packaged(cls, models_dir: Path | None = None) -> ProbeJudge:
        return cls(ProbeWeights.load(), probe_model_path(models_dir))

    def pooled(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        with _LOAD_LOCK:  # the service triages from several threads: load the model once
            if self._states is None:
                from medllm.models.llamacpp import LlamaCppHiddenStates

                if self.model_path is None:
                    raise ValueError("the probe judge has no model to read states with")
                self._states = LlamaCppHiddenStates(self.model_path)
        hs = self._states  # type: ignore[assignment]
        states = hs.states(probe_prompt(text))  # type: ignore[attr-defined]
        return pool(states, hs.count_tokens(PREFIX), hs.count_tokens(SUFFIX))  # type: ignore[attr-defined]

    def _p(self, text: str) -> tuple[float, float]:
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        last, mean = self.pooled(text)
        x = self.weights.features(last[None], mean[None])
        self.calls += 1
        w = self.weights
        p = (shifted(float(w.emergency.proba(x)[0, 1]), w.emergency_cut),
             shifted(float(w.harmful.proba(x)[0, 1]), w.refuse_cut))
        self._last = (text, p)
        return p

    def p_emergency(self, text: str) -> float:
        return self._p(text)[0]

    def p_refuse(self, text: str) -> float:
        return self._p(text)[1]
