"""Metrics and statistics, by hand with numpy/scipy so each formula is visible and checked.

- Wilson score interval (Wilson 1927; Newcombe 1998 method 3, no continuity correction);
- percentile bootstrap CI of a mean;
- macro-F1 (unanswered items count as wrong for their gold class);
- calibration: expected calibration error over equal-width confidence bins (Guo et al. 2017),
  multi-class Brier score (Brier 1950: sum over classes of squared error, averaged over items),
  reliability bins;
- selective prediction: accuracy of the most confident fraction of items (coverage curve);
- Med-HALT pointwise score: +1 right, -0.25 wrong, averaged;
- paired comparison: exact McNemar test (two-sided binomial on the discordant pairs) and a
  paired bootstrap CI of the accuracy difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def wilson_ci(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n."""
    if n <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= k <= n:
        raise ValueError(f"wilson_ci: k={k} must be between 0 and n={n}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 (or n) the bound is exactly 0 (or 1); the formula leaves rounding dust there
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    a = (1 - confidence) / 2
    return (float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


def macro_f1(golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1 over `labels` (a label never gold nor predicted scores 0,
    as scikit-learn does with zero_division=0)."""
    if len(golds) != len(preds):
        raise ValueError("macro_f1: golds and preds differ in length")
    f1s = []
    for lbl in labels:
        tp = sum(1 for g, p in zip(golds, preds, strict=True) if g == lbl and p == lbl)
        fp = sum(1 for g, p in zip(golds, preds, strict=True) if g != lbl and p == lbl)
        fn = sum(1 for g, p in zip(golds, preds, strict=True) if g == lbl and p != lbl)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


@dataclass(frozen=True)
class Bin:
    lo: float
    hi: float
    count: int
    confidence: float  # mean confidence in the bin (nan when empty)
    accuracy: float  # share correct in the bin (nan when empty)


def reliability_bins(
    confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> list[Bin]:
    """Equal-width bins over [0, 1]; a confidence of exactly 1 falls in the last bin."""
    c = np.asarray(confidence, dtype=float)
    y = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(c, edges[1:-1], right=True), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        cnt = int(m.sum())
        out.append(Bin(
            lo=float(edges[b]), hi=float(edges[b + 1]), count=cnt,
            confidence=float(c[m].mean()) if cnt else float("nan"),
            accuracy=float(y[m].mean()) if cnt else float("nan"),
        ))
    return out


def ece(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """Expected calibration error: sum over bins of (bin share) * |accuracy - confidence|."""
    n = len(confidence)
    if n == 0:
        return float("nan")
    return float(sum(
        b.count / n * abs(b.accuracy - b.confidence)
        for b in reliability_bins(confidence, correct, n_bins) if b.count
    ))


def brier(probs: Sequence[Sequence[float]], gold_index: Sequence[int]) -> float:
    """Multi-class Brier score: mean over items of sum_k (p_k - 1[k = gold])^2 (0 best, 2 worst)."""
    if len(probs) == 0:
        return float("nan")
    total = 0.0
    for p, g in zip(probs, gold_index, strict=True):
        v = np.asarray(p, dtype=float)
        onehot = np.zeros_like(v)
        onehot[g] = 1.0
        total += float(((v - onehot) ** 2).sum())
    return total / len(probs)


def coverage_curve(
    confidence: Sequence[float], correct: Sequence[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, accuracy) when answering only the k most confident items, k = 1..n. Ties are
    broken by input order (stable sort) so the curve is reproducible."""
    c = np.asarray(confidence, dtype=float)
    y = np.asarray(correct, dtype=float)
    order = np.argsort(-c, kind="stable")
    k = np.arange(1, c.size + 1)
    return k / c.size, np.cumsum(y[order]) / k


def accuracy_at_coverage(
    confidence: Sequence[float], correct: Sequence[bool], coverage: float = 0.8
) -> float:
    """Accuracy on the ceil(coverage * n) most confident items."""
    n = len(confidence)
    if n == 0:
        return float("nan")
    k = max(1, math.ceil(coverage * n - 1e-9))
    _, acc = coverage_curve(confidence, correct)
    return float(acc[k - 1])


def medhalt_score(correct: Sequence[bool], right: float = 1.0, wrong: float = -0.25) -> float:
    """Med-HALT pointwise score: mean of +1 per right answer and -0.25 per wrong one."""
    if len(correct) == 0:
        return float("nan")
    return float(np.mean([right if c else wrong for c in correct]))


@dataclass(frozen=True)
class McNemar:
    a_only: int  # items A got right and B wrong
    b_only: int  # items B got right and A wrong
    p_value: float


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """Exact McNemar: two-sided binomial test of the discordant pairs against p = 1/2."""
    if len(a_correct) != len(b_correct):
        raise ValueError("mcnemar_exact: the two runs must cover the same items")
    b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if y and not x)
    n = b + c
    p = 1.0 if n == 0 else min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), n, 0.5)))
    return McNemar(a_only=b, b_only=c, p_value=p)


def paired_bootstrap_diff(
    a_correct: Sequence[bool],
    b_correct: Sequence[bool],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(accuracy B - accuracy A, lower, upper): items are resampled together, keeping pairs."""
    a = np.asarray(a_correct, dtype=float)
    b = np.asarray(b_correct, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired_bootstrap_diff: the two runs must cover the same items")
    if a.size == 0:
        return (float("nan"),) * 3
    d = b - a
    lo, hi = bootstrap_ci(d, n_boot=n_boot, confidence=confidence, seed=seed)
    return (float(d.mean()), lo, hi)


def softmax(scores: Sequence[float]) -> list[float]:
    x = np.asarray(scores, dtype=float)
    e = np.exp(x - x.max())
    return (e / e.sum()).tolist()


def f1_counts(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(precision, recall, F1) from counts; 0 where undefined (nothing predicted or no gold)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bootstrap_f1_ci(
    tp: Sequence[int], fp: Sequence[int], fn: Sequence[int], *, n_boot: int = 2000,
    confidence: float = 0.95, seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of micro F1 (2TP / (2TP + FP + FN)), resampling items
    (sentences) with their per-item counts, so items with several entities stay whole."""
    t, p, n = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    if t.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(n_boot, t.size))
    st, sp, sn = t[idx].sum(1), p[idx].sum(1), n[idx].sum(1)
    den = 2 * st + sp + sn
    f1 = np.divide(2 * st, den, out=np.zeros_like(den), where=den > 0)
    a = (1 - confidence) / 2
    return (float(np.quantile(f1, a)), float(np.quantile(f1, 1 - a)))
