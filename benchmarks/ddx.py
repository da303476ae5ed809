"""Differential diagnosis on real published cases (phenopacket-store), and on simulated patients.

Real cases: ../shared/data/phenopackets/phenopackets_dev.jsonl (observed and excluded HPO terms,
the diagnosed OMIM disease; cohorts = one gene or condition each). Every case is ranked against
all OMIM diseases of the graph; a diagnosis the graph lacks counts as a miss (coverage is printed).

Methods:
  overlap  count of exactly shared observed terms (naive baseline)
  bma      Resnik symmetric best-match average (Phenomizer)
  query    Resnik patient -> disease (Phenomizer's asymmetric score)
  lirical  likelihood ratios with LIRICAL's own constants (observed and excluded terms), untuned
  lr       the same evidence as features (FEATURES in medllm.knowledge.kg.ddx) with weights fitted
           by a conditional logit, k-fold BY COHORT: each fold is scored with weights fitted on
           the other folds only, so every figure in its row comes from cohorts (hence diseases)
           not fitted on. The posterior's temperature is fitted the same way.

Top-k with Wilson 95% intervals; MRR with a normal 95% interval. Tied scores count in
expectation (a target tied with e others below g better ones: P(rank <= k) = clip((k-g)/(e+1))).
Tables: all cases, then one case per disease (the first in file order).

Simulated patients (second table): for N OMIM diseases with >= 5 annotated phenotypic
abnormalities, 5 sampled terms, 2 replaced by a parent, 2 random noise terms; no excluded terms.

    nice -n 10 python benchmarks/ddx.py                      # real cases, 5 cohort folds, 500 simulated
    nice -n 10 python benchmarks/ddx.py --save-weights w.json  # also fit on all folds and save
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "phenopackets" / "phenopackets_dev.jsonl"
TOPK = (1, 3, 10)
CAND = 300  # candidates per case kept for fitting, the target first


@dataclass
class Row:
    id: str
    cohort: str
    disease: str
    target: int | None  # row of the diagnosis among the OMIM diseases, None when the graph lacks it
    tfeat: np.ndarray | None  # [F] the diagnosis' features (covered cases only)
    cands: np.ndarray | None  # [CAND, F] the best other diseases by a broad prior score
    fixed: dict[str, tuple[float, ...]]  # method -> (expected rank, P(top-1), P(top-3), P(top-10))

    @property
    def feats(self) -> np.ndarray | None:
        """Target first, then the candidates (covered cases only)."""
        if self.tfeat is None or self.cands is None:
            return None
        return np.vstack([self.tfeat[None, :], self.cands])


PERTINENT = ("exc_f0", "exc_ic", "exc_exact", "d2p_all", "examined_frac")


def pertinent_negatives(dx, case, F: np.ndarray) -> np.ndarray:  # noqa: ANN001 - benchmark helper
    """Ablation only, not in the product: excluded terms read with an assumed frequency of 0.5
    where none is known (LIRICAL log LR), and read as evidence FOR the diseases that have them
    (IC of the excluded terms the disease carries, how many it lists exactly, the disease ->
    patient Resnik half over observed + excluded terms, the share of its terms the case names)."""
    n_d = len(dx.diseases)
    E = np.zeros((n_d, len(PERTINENT)))
    x = np.zeros(len(dx.terms))
    for e in case.excluded:
        f = dx.excluded_freq(e, known_only=False)
        E[:, 0] += np.where(f > 0, np.log(np.maximum(0.01, 1.0 - f)), 0.0)
        E[:, 1] += np.where(f > 0, dx.ic[dx.tix[e]], 0.0)
        x[dx.tix[e]] = 1.0
    E[:, 2] = dx._binary @ x
    E[:, 3] = dx.d2p(case.observed + case.excluded)
    E[:, 4] = (F[:, 5] + E[:, 2]) / np.maximum(dx.n_ann, 1.0)
    return E


def expected_rank(s: np.ndarray, t: int) -> float:
    v = s[t]
    return 1.0 + float(np.sum(s > v)) + (float(np.sum(s == v)) - 1.0) / 2.0


def hit_prob(s: np.ndarray, t: int, k: int) -> float:
    v = s[t]
    g = int(np.sum(s > v))
    e = int(np.sum(s == v)) - 1
    return float(min(1.0, max(0.0, (k - g) / (e + 1))))


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return float(c - h), float(c + h)


def fit_weights(rows: list[Row], l2: float = 1e-4, use: np.ndarray | None = None,
                fixed: dict[int, float] | None = None) -> np.ndarray:
    """Conditional logit: maximise the softmax probability of the diagnosis among its candidates.
    `use`: a mask of the features fitted (the others get weight 0); `fixed`: weights held at a
    value, not fitted."""
    X = [f for f in (r.feats for r in rows) if f is not None]
    if not X:
        raise SystemExit("no covered case to fit on")
    A = np.stack(X)  # [n, K, F]
    fixed = fixed or {}
    off = sum((A[:, :, j] * v for j, v in fixed.items()), np.zeros(A.shape[:2]))
    use = (np.ones(A.shape[2]) if use is None else use.copy())
    for j in fixed:
        use[j] = 0.0
    A = A * use
    scale = np.maximum(np.abs(A).reshape(-1, A.shape[2]).std(axis=0), 1e-9)
    A = A / scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = A @ w + off
        m = s.max(axis=1, keepdims=True)
        e = np.exp(s - m)
        z = e.sum(axis=1, keepdims=True)
        p = e / z
        nll = float(np.sum(np.log(z[:, 0]) + m[:, 0] - s[:, 0]))
        grad = np.einsum("nk,nkf->f", p, A) - A[:, 0, :].sum(axis=0)
        return nll / len(A) + l2 * float(w @ w), grad / len(A) + 2 * l2 * w

    w0 = np.zeros(A.shape[2])
    w0[0] = 1.0
    res = minimize(loss, w0, jac=True, method="L-BFGS-B")
    w = res.x / scale
    for j, v in fixed.items():
        w[j] = v
    return w


def rank_metric(A: np.ndarray, w: np.ndarray) -> float:
    """top-1 + top-10 + MRR of the target (row 0) among its candidates, ties counted half."""
    S = A @ w
    t = S[:, :1]
    r = 1 + np.sum(S[:, 1:] > t, axis=1) + 0.5 * np.sum(S[:, 1:] == t, axis=1)
    return float(np.mean(r <= 1) + np.mean(r <= 10) + np.mean(1.0 / r))


def tune_weights(rows: list[Row], w0: np.ndarray, rounds: int = 4, use: np.ndarray | None = None,
                 fixed: dict[int, float] | None = None) -> np.ndarray:
    """Coordinate search from `w0` on the ranking metric itself (the logit fits probabilities,
    the figures that matter are ranks)."""
    A = np.stack([f for f in (r.feats for r in rows) if f is not None])
    if use is not None:
        A = A * use
    scale = np.maximum(A.reshape(-1, A.shape[2]).std(axis=0), 1e-9)
    w = w0.copy()
    best = rank_metric(A, w)
    for step in (1.0, 0.5, 0.25, 0.1)[:rounds]:
        for j in range(len(w)):
            if (use is not None and not use[j]) or j in (fixed or {}):
                continue
            for m in (-2, -1, 1, 2):
                cand = w.copy()
                cand[j] += m * step * float(np.linalg.norm(w * scale) / np.sqrt(len(w))) / scale[j]
                v = rank_metric(A, cand)
                if v > best + 1e-9:
                    best, w = v, cand
    return w


def fit_temperature(rows: list[Row], w: np.ndarray) -> float:
    """The temperature whose top-1 posterior best predicts whether the top-1 is right (binary
    log loss over all cases; a diagnosis the graph lacks is always wrong)."""
    tops, right = [], []
    for r in rows:
        if r.cands is None:
            continue
        s = (r.feats if r.feats is not None else r.cands) @ w
        tops.append(s)
        right.append(r.tfeat is not None and bool(s[0] > np.max(s[1:])))
    best, best_t = np.inf, 1.0
    for t in np.exp(np.linspace(np.log(0.2), np.log(20), 60)):
        ll = 0.0
        for s, ok in zip(tops, right, strict=True):
            z = s / t
            p = np.exp(z - z.max())
            p1 = float(p.max() / p.sum())
            ll -= np.log(max(p1 if ok else 1 - p1, 1e-9))
        if ll < best:
            best, best_t = ll, float(t)
    return best_t


def summarise(name: str, ranks: np.ndarray, hits: dict[int, np.ndarray]) -> str:
    n = len(ranks)
    cells = []
    for k in TOPK:
        p = float(hits[k].mean()) if n else 0.0
        lo, hi = wilson(p, n)
        cells.append(f"{p:.3f} [{lo:.3f}, {hi:.3f}]")
    rr = np.where(np.isfinite(ranks), 1.0 / ranks, 0.0)
    m, se = float(rr.mean()), float(rr.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    cells.append(f"{m:.3f} [{m - 1.96 * se:.3f}, {m + 1.96 * se:.3f}]")
    return f"{name:<34}" + "".join(f"{c:>22}" for c in cells)


def header(title: str, n: int, mrr: bool = True) -> None:
    print(f"\n{title} (n={n})")
    print(f"{'method':<34}" + "".join(f"{h:>22}" for h in ("top-1", "top-3", "top-10", "MRR")[: 4 if mrr else 3]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="phenopackets JSON lines (id, cohort, observed, excluded, disease)")
    ap.add_argument("--folds", type=int, default=5, help="cohort folds (k-fold by cohort)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N cases (quick look)")
    ap.add_argument("--sim", type=int, default=500, help="simulated patients for the second table (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=None, help="knowledge graph cache folder (default $MEDLLM_HOME/kg)")
    ap.add_argument("--hpoa", type=Path, default=None, help="a phenotype.hpoa to use instead of the bundled annotations")
    ap.add_argument("--save-weights", type=Path, default=None, help="fit on all folds and write the weights here (JSON)")
    ap.add_argument("--sim-only", action="store_true", help="only the simulated-patient table")
    args = ap.parse_args()

    from medllm.knowledge.kg.ddx import FEATURES, LIRICAL_WEIGHTS, DdxParams, Differential
    from medllm.knowledge.kg.graph import load_default_graph

    if not args.data.exists():
        raise SystemExit(f"{args.data}: no such file; pass --data PATH (phenopackets JSON lines)")
    t0 = time.perf_counter()
    g = load_default_graph(args.cache, hpoa=args.hpoa)
    dx = Differential(g)
    if args.sim_only:
        simulated(dx, g, args.sim, args.seed)
        return
    omim = np.array([d.startswith("OMIM:") for d in dx.diseases]) & (dx.n_ann > 0)
    omim_ix = np.flatnonzero(omim)
    pos = {int(i): j for j, i in enumerate(omim_ix)}
    print(f"graph + ddx index ready in {time.perf_counter() - t0:.1f} s ({len(dx.diseases):,} diseases, "
          f"{len(omim_ix):,} OMIM with phenotypes; {len(dx.terms):,} HPO terms; annotations: {g.annotation_source})")

    cases = []
    with args.data.open() as f:
        for ln, line in enumerate(f, 1):
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{args.data}:{ln}: not JSON ({e}); skipped", file=sys.stderr)
    if args.limit:
        cases = cases[: args.limit]
    covered = sum(c["disease"] in dx.dix and omim[dx.dix[c["disease"]]] for c in cases)
    diseases = {c["disease"] for c in cases}
    dcov = sum(d in dx.dix and omim[dx.dix[d]] for d in diseases)
    print(f"real cases: {len(cases):,} from {len({c['cohort'] for c in cases})} cohorts, {len(diseases)} diseases; "
          f"coverage (diagnosis among the graph's OMIM diseases): {covered:,}/{len(cases):,} cases = "
          f"{covered / max(len(cases), 1):.3f}, {dcov}/{len(diseases)} diseases")

    lir = np.asarray(LIRICAL_WEIGHTS)
    rng_c = np.random.default_rng(args.seed)
    rows: list[Row] = []
    ignored = 0
    t1 = time.perf_counter()
    for i, c in enumerate(cases):
        d = c["disease"]
        ti = pos.get(dx.dix[d]) if d in dx.dix else None
        miss = (np.inf, 0.0, 0.0, 0.0)
        fixed = {m: miss for m in ("overlap", "bma", "query", "lirical")}
        try:
            case = dx.case(c.get("observed", []), c.get("excluded", []), strict=False)
        except ValueError:  # no usable observed term: a miss for every method
            rows.append(Row(c["id"], c["cohort"], d, ti, None, None, fixed))
            continue
        ignored += len(case.ignored)
        Ffull = dx.features(case)
        F = Ffull[omim_ix]
        if ti is not None:
            for m in ("overlap", "bma", "query", "lirical"):
                s = F @ lir if m == "lirical" else dx.scores(case, ("OMIM",), m)[omim_ix]
                fixed[m] = (expected_rank(s, ti), *(hit_prob(s, ti, k) for k in TOPK))
        F = np.hstack([F, pertinent_negatives(dx, case, Ffull)[omim_ix]])
        # candidates for fitting: the best other diseases by a broad prior score, the best by
        # share of their terms shown, and random ones (so no weight can favour what the fit never sees)
        base = F[:, 0] + F[:, 3] + F[:, 5]
        top = np.unique(np.concatenate([np.argpartition(-base, CAND - 100)[: CAND - 100],
                                        np.argpartition(-F[:, 6], 50)[:50], rng_c.choice(len(F), 50, replace=False)]))
        top = top[top != ti]
        top = np.r_[top, rng_c.choice(len(F), CAND - 1 - len(top), replace=False)] if len(top) < CAND - 1 else top[: CAND - 1]
        rows.append(Row(c["id"], c["cohort"], d, ti, None if ti is None else F[ti].copy(), F[top].copy(), fixed))
        if (i + 1) % 500 == 0:
            print(f"  {i + 1:,} cases, {(time.perf_counter() - t1) / (i + 1) * 1000:.0f} ms per case", file=sys.stderr)
    dt = time.perf_counter() - t1
    print(f"features of {len(cases):,} cases x {len(omim_ix):,} OMIM diseases (+ 3 Resnik baselines) in {dt:.0f} s "
          f"({dt / max(len(cases), 1) * 1000:.0f} ms per case, one core); {ignored} input ids not in this HPO release set aside")

    # ---- k-fold by cohort: weights and temperature fitted on the other folds only
    cohorts = sorted({r.cohort for r in rows})
    rnd = random.Random(args.seed)
    rnd.shuffle(cohorts)
    fold_of = {c: i % args.folds for i, c in enumerate(cohorts)}
    lr_rank = np.full(len(rows), np.inf)
    lr_hits = {k: np.zeros(len(rows)) for k in TOPK}
    post_top1 = np.zeros(len(rows))
    right_top1 = np.zeros(len(rows))
    # the shipped features, and (ablation, ranked among the candidates only) the same plus
    # excluded terms read as pertinent negatives: evidence FOR the diseases that have them
    nf = len(FEATURES)
    shipped = np.r_[np.ones(nf), np.zeros(len(PERTINENT))]
    # excluded terms: the LIRICAL log LR over annotations of known frequency (none in the bundled
    # data) shares the observed terms' weight. Ablations: reading unknown frequencies as 0.5 at
    # that weight, weighing that freely (it turns negative), and pertinent-negative features.
    obs, exc, f0 = FEATURES.index("obs_lr"), FEATURES.index("exc_lirical"), nf + PERTINENT.index("exc_f0")
    hold = {exc: 0.0}

    def fit_shipped(train: list[Row]) -> np.ndarray:
        w = tune_weights(train, fit_weights(train, use=shipped, fixed=hold), use=shipped, fixed=hold)
        w[exc] = w[obs]
        return w

    only_f0 = shipped.copy()
    only_f0[f0] = 1.0
    approx = {"lr (same, among candidates)": None,
              "lr + unknown frequency read as 0.5": (only_f0, "tied"),
              "lr + that, weight fitted freely": (only_f0, {}),
              "lr + excluded as pertinent negatives": (np.r_[np.ones(nf), np.ones(len(PERTINENT))], {})}
    approx_rank = {name: np.full(len(rows), np.inf) for name in approx}
    print(f"\nfitted weights per fold ({', '.join(FEATURES)}; exc_lirical = obs_lr's), "
          "each used only on its held-out fold:")
    for fo in range(args.folds):
        train = [r for r in rows if fold_of[r.cohort] != fo]
        w = fit_shipped(train)
        T = fit_temperature(train, w)
        print(f"  fold {fo}: [{', '.join(f'{x:.3f}' for x in w[:nf])}] T={T:.2f}")
        for name, how in approx.items():
            if how is None:
                wa = w
            else:
                use, fx = how
                fx = {**hold, f0: float(w[obs])} if fx == "tied" else {**hold}
                wa = tune_weights(train, fit_weights(train, use=use, fixed=fx), use=use, fixed=fx)
            for i, r in enumerate(rows):
                if fold_of[r.cohort] == fo and r.feats is not None:
                    sc = r.feats @ wa
                    approx_rank[name][i] = expected_rank(sc, 0)
        params = DdxParams(weights=tuple(float(x) for x in w[:nf]), temperature=T)
        for i, r in enumerate(rows):
            if fold_of[r.cohort] != fo:
                continue
            c = cases[i]
            try:
                case = dx.case(c.get("observed", []), c.get("excluded", []), strict=False)
            except ValueError:
                continue
            s = dx.lr_scores(case, ("OMIM",), params)[omim_ix]
            p = dx.posterior(s, params)
            post_top1[i] = float(p.max())
            best = int(np.argmax(s))
            if r.target is not None:
                lr_rank[i] = expected_rank(s, r.target)
                for k in TOPK:
                    lr_hits[k][i] = hit_prob(s, r.target, k)
                right_top1[i] = float(best == r.target)

    def table(title: str, idx: np.ndarray) -> None:
        header(title, len(idx))
        names = {"overlap": "exact overlap (baseline)", "bma": "Resnik BMA (symmetric)",
                 "query": "Resnik patient->disease", "lirical": "LIRICAL-style LR (untuned)"}
        for m, label in names.items():
            fx = np.array([rows[i].fixed[m] for i in idx])
            print(summarise(label, fx[:, 0], {k: fx[:, j + 1] for j, k in enumerate(TOPK)}))
        print(summarise("lr, fitted (held-out folds)", lr_rank[idx], {k: lr_hits[k][idx] for k in TOPK}))

    allidx = np.arange(len(rows))
    table(f"real cases, all, {args.folds} cohort folds", allidx)
    print(f"ablation, held-out folds, ranked among each case's {CAND} best candidates (approximate):")
    for name, rk in approx_rank.items():
        print(summarise(name, rk, {k: (rk <= k).astype(float) for k in TOPK}))
    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(r.disease, i)
    table("real cases, one case per disease (first in file order)", np.array(sorted(first.values())))
    print("(tied scores count in expectation in every row)")

    # calibration of the posterior on the held-out folds
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(post_top1, bins) - 1, 0, 9)
    ece = sum(abs(post_top1[which == b].mean() - right_top1[which == b].mean()) * np.mean(which == b)
              for b in range(10) if np.any(which == b))
    print(f"\nposterior of the top diagnosis, held-out folds: mean {post_top1.mean():.3f} vs top-1 accuracy "
          f"{right_top1.mean():.3f}; expected calibration error (10 bins) {ece:.3f}")

    if args.save_weights:
        w = fit_shipped(rows)
        T = fit_temperature(rows, w)
        ws = [round(float(x), 4) for x in w[:nf]]
        args.save_weights.write_text(json.dumps({"features": list(FEATURES), "weights": ws, "temperature": round(T, 3)}) + "\n")
        print(f"weights fitted on all folds -> {args.save_weights}: {ws} T={T:.2f}")

    if args.sim:
        simulated(dx, g, args.sim, args.seed)


def simulated(dx, g, n: int, seed: int) -> None:  # noqa: ANN001 - benchmark helper
    root = "HP:0000118"
    pheno = [t for t in dx.terms if dx.is_pheno[dx.tix[t]]]
    pheno_set = set(pheno)
    rnd = random.Random(seed)
    eligible = []
    for d in dx.diseases:
        if d.startswith("OMIM:") and len(dx.dterms[dx.dix[d]]) >= 5:
            eligible.append((d, [dx.terms[t] for t in dx.dterms[dx.dix[d]]]))
    rnd.shuffle(eligible)
    chosen = eligible[:n]
    res: dict[str, dict[int, list[float]]] = {m: {k: [] for k in TOPK} for m in ("overlap", "bma", "query", "lr")}
    t1 = time.perf_counter()
    for d, terms in chosen:
        picked = rnd.sample(terms, 5)
        for i in rnd.sample(range(5), 2):
            parents = [p for r, p in g.edges_out(picked[i]) if r == "is_a" and p in pheno_set and p != root]
            if parents:
                picked[i] = rnd.choice(parents)
        patient = list(dict.fromkeys(picked + rnd.sample(pheno, 2)))
        case = dx.case(patient)
        t = dx.dix[d]
        for m in res:
            s = dx.scores(case, ("OMIM",), m)
            for k in TOPK:
                res[m][k].append(hit_prob(s, t, k))
    dt = time.perf_counter() - t1
    header(f"simulated patients ({len(chosen)} OMIM diseases; 5 terms, 2 made less specific, 2 noise; "
           f"{dt / max(len(chosen), 1) * 1000 / 4:.0f} ms per ranking)", len(chosen), mrr=False)
    for m, label in (("overlap", "exact overlap (baseline)"), ("bma", "Resnik BMA (symmetric)"),
                     ("query", "Resnik patient->disease"), ("lr", "lr (shipped weights)")):
        cells = []
        for k in TOPK:
            p = float(np.mean(res[m][k]))
            lo, hi = wilson(p, len(chosen))
            cells.append(f"{p:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"{label:<34}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
