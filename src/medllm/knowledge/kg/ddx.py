"""Differential diagnosis: rank diseases for a patient's observed and excluded HPO phenotypes.

The default method, "lr", scores each disease by likelihood ratios in the manner of LIRICAL
(Robinson et al., AJHG 2020), written here from its published definitions, then weighs that
evidence by weights fitted on published cases (the score is a weighted sum of log LRs):

  observed term q, disease d: the best-explaining ancestor a of q (q itself included, the
      phenotypic-abnormality root excluded) that d is annotated to (directly or through a
      descendant) gives   LR = f(d, a) / bg(a)
      where f(d, a) is the annotation frequency of a in d (the highest among the annotations of
      d at or below a; `default_frequency` = 0.5, the middle of HPO's "Frequent" band, when
      none is given: the bundled hpo3 data has no frequencies, a user phenotype.hpoa does.
      LIRICAL assumes 1, which makes ruling out any listed feature all but exclude the disease)
      and bg(a) the mean of
      f(., a) over all diseases (the background). With no frequencies bg(a) is the share of
      diseases carrying a, so log LR = IC(a): the patient -> disease Resnik match, made
      frequency-aware.  No common ancestor below the root: LIRICAL's LR is 0.01 (the finding
      is unexplained by d: noise, another condition, or an incomplete annotation); here the
      count of such terms is weighed by the fit. A term the
      disease's annotations exclude ("NOT" rows of a phenotype.hpoa): LR = 1/1000.
  excluded term e: LR = max(0.01, 1 - f(d, e)) / (1 - bg(e)) when d carries e (or a
      descendant) with a known frequency f, else 1 / (1 - bg(e)): ruling out a frequent feature
      of d counts against d. A feature of unknown frequency gives no evidence: all of the bundled
      hpo3 annotations (it has no frequencies), so there excluded terms move nothing; with a
      phenotype.hpoa (`hpoa` setting) they count.
  more evidence of the same kind, weighed by the fit: the disease -> patient half of the Resnik
      score, how many observed terms the disease lists exactly and what share of its terms they
      are, and the log of its annotation count (FEATURES). Excluded terms act only through the
      LIRICAL ratio, with the observed terms' weight. benchmarks/ddx.py measures two tempting
      alternatives on published cases and this module does NOT use them: reading an excluded
      feature of unknown frequency as 50% frequent costs top-1 accuracy (-0.02), and letting the
      fit weigh excluded terms freely makes them count FOR the diseases that have them (+0.13
      top-1): case reports list as excluded the features of the suspected disease that were
      looked for. That is the author's differential leaking into the data, not evidence about
      the patient; a clinician ruling out ectopia lentis must not push Marfan syndrome up.
  posterior: softmax(score / temperature) over the ranked diseases (uniform pretest), the
      temperature fitted on held-out cohorts so that the top diagnosis' posterior matches how
      often it is right (see benchmarks/ddx.py).

The defaults of `DdxParams` were chosen on folds of the development cohorts of
phenopacket-store and checked on the folds not tuned on (benchmarks/ddx.py).

Older scores stay for comparison: "query" (Resnik patient -> disease, Phenomizer's asymmetric
score), "bma" (Resnik symmetric best-match average) and "overlap" (count of exactly shared terms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from medllm.knowledge.kg.graph import KnowledgeGraph

PHENOTYPIC_ABNORMALITY = "HP:0000118"
ALL = "HP:0000001"
METHODS = ("lr", "query", "bma", "overlap")
_SHIFT = 100.0  # keeps stored log LRs positive so a sparse max can tell "no match" (0) apart
_NOT_IN_DISEASE_LR = 1e-3  # observed term the disease's annotations exclude (LIRICAL's constant)
_BG_MIN = 1e-4  # background frequency floor (LIRICAL's default)
_EXC_FLOOR = 0.01  # an excluded term the disease always has still happens (LIRICAL's constant)


FEATURES = (
    "obs_lr",         # sum of log LR of the observed terms that matched below the root
    "obs_unmatched",  # observed terms with no common ancestor below the root (LIRICAL: LR 0.01 each)
    "exc_lirical",    # sum of log LR of the excluded terms: max(0.01, 1-f) / (1-bg) where the disease has them
    "d2p_obs",        # disease -> patient: mean over the disease's terms of the best IC to an observed term
    "log_size",       # log of the number of annotated phenotypic abnormalities
    "obs_exact",      # observed terms the disease lists exactly
    "obs_frac",       # share of the disease's terms the patient shows exactly
)
LIRICAL_WEIGHTS = (1.0, float(np.log(0.01)), 1.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class DdxParams:
    """Weights of the "lr" score (one per name in FEATURES) and the posterior's temperature.
    LIRICAL_WEIGHTS is LIRICAL's own model; the defaults are fitted on the development cohorts
    by a conditional logit (benchmarks/ddx.py, which reports the cohort folds not fitted on)."""

    # fitted on all 360 dev cohorts: nice python benchmarks/ddx.py --save-weights w.json
    # fitted on all 360 dev cohorts (nice python benchmarks/ddx.py --save-weights w.json);
    # exc_lirical is not fitted but set to obs_lr's weight (see the module docstring)
    weights: tuple[float, ...] = (0.4977, 1.2876, 0.4977, 0.788, 0.5828, 1.8396, -0.4607)
    temperature: float = 1.78

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"DdxParams.weights: {len(self.weights)} values for {len(FEATURES)} features {FEATURES}")


@dataclass
class Match:
    """One term's part in a candidate's score: `log_lr` > 0 moved it up, < 0 down."""

    patient: str  # patient phenotype id
    disease_term: str  # best-matching disease phenotype id ("" when none)
    ancestor: str  # their common ancestor that carried the match ("" when none)
    ic: float  # information content of `ancestor`
    log_lr: float = 0.0
    excluded: bool = False  # True: the patient does NOT have `patient`

    def describe(self, names: dict[str, str] | None = None) -> str:
        n = (lambda t: names.get(t, t)) if names else (lambda t: t)
        if self.excluded:
            what = f"excluded {n(self.patient)}"
            return what + (f", which the disease has ({n(self.disease_term)})" if self.disease_term else "")
        if not self.disease_term:
            return f"{n(self.patient)}: not a feature of the disease"
        via = "" if self.disease_term == self.ancestor else f" via {n(self.ancestor)}"
        return f"{n(self.patient)} ~ {n(self.disease_term)}{via}"


@dataclass
class Diagnosis:
    disease_id: str
    name: str
    score: float  # "lr": posterior probability; other methods: their raw score
    rank: int
    matches: list[Match] = field(default_factory=list)  # observed terms
    excluded: list[Match] = field(default_factory=list)  # excluded terms that moved it
    log_lr: float = 0.0

    def to_dict(self) -> dict:
        return {"disease_id": self.disease_id, "name": self.name, "score": self.score, "rank": self.rank}


@dataclass
class PatientCase:
    """Observed and excluded HPO ids as ranked, plus the input ids that were set aside."""

    observed: list[str]
    excluded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # unknown ids, or outside phenotypic abnormality


class Differential:
    """The ranking index of a graph: term-ancestor closures and the disease x term frequency
    closure as sparse matrices, built once (~3 s); a case then costs ~30 ms over ~12,800 diseases."""

    def __init__(self, graph: KnowledgeGraph, default_frequency: float = 0.5, params: DdxParams | None = None) -> None:
        self.g = graph
        self.params = params or DdxParams()
        self.default_frequency = float(default_frequency)
        terms = [c.id for c in graph.concepts.values() if c.type == "phenotype"]
        if not terms:
            raise ValueError("the knowledge graph has no HPO phenotypes; build it with hpo=True")
        self.terms = terms
        self.tix = {t: i for i, t in enumerate(terms)}
        n_t = len(terms)
        # ancestors (self included) as index arrays: one topological pass, not a walk per term
        parents = [[self.tix[p] for r, p in graph.edges_out(t) if r == "is_a" and p in self.tix] for t in terms]
        anc: list[np.ndarray | None] = [None] * n_t

        def closure(i: int) -> np.ndarray:
            stack = [i]
            while stack:
                j = stack[-1]
                todo = [p for p in parents[j] if anc[p] is None]
                if todo:
                    stack.extend(todo)
                    continue
                stack.pop()
                if anc[j] is None:
                    parts = [np.array([j])] + [anc[p] for p in parents[j]]  # type: ignore[misc]
                    anc[j] = np.unique(np.concatenate(parts))
            return anc[i]  # type: ignore[return-value]

        self.anc: list[np.ndarray] = [closure(i) for i in range(n_t)]
        pa = self.tix.get(PHENOTYPIC_ABNORMALITY)
        self.is_pheno = np.zeros(n_t, dtype=bool)
        if pa is not None:
            for i, a in enumerate(self.anc):
                self.is_pheno[i] = pa in a and i != pa
        # the part of a term's ancestry that can carry a match: below the root
        roots = [self.tix[r] for r in (PHENOTYPIC_ABNORMALITY, ALL) if r in self.tix]
        self.anc_match = [a[~np.isin(a, roots)] for a in self.anc]

        # diseases and their direct phenotypic-abnormality annotations with frequencies
        self.diseases = [c.id for c in graph.concepts.values() if c.type == "disease"]
        self.dix = {d: i for i, d in enumerate(self.diseases)}
        n_d = len(self.diseases)
        rows, cols, freqs, known, not_rows, not_cols = [], [], [], [], [], []
        self.dterms: list[np.ndarray] = []
        for di, d in enumerate(self.diseases):
            meta = graph.concepts[d].meta
            fq = meta.get("frequency", {})
            ids = sorted({self.tix[t] for r, t in graph.edges_out(d) if r == "has_phenotype" and t in self.tix})
            ids = [t for t in ids if self.is_pheno[t]]
            self.dterms.append(np.array(ids, dtype=np.int64))
            for t in ids:
                f = fq.get(terms[t])
                rows.append(di)
                cols.append(t)
                freqs.append(self.default_frequency if f is None else max(float(f), 1e-3))
                known.append(0.0 if f is None else float(f))
            for t in meta.get("not", ()):
                if t in self.tix:
                    not_rows.append(di)
                    not_cols.append(self.tix[t])
        self.n_ann = np.array([len(t) for t in self.dterms], dtype=np.float64)
        # closure with frequency: f(d, a) = max frequency over d's annotations at or below a
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        fr, fcol, ef = self._closure(r, c, np.asarray(freqs, dtype=np.float64), n_t)
        self.fc = sparse.csc_matrix((ef, (fr, fcol)), shape=(n_d, n_t))
        # the same over annotations whose frequency is known: only those can say how surprising
        # it is that a patient does NOT have a feature
        kr, kcol, kf = self._closure(r, c, np.asarray(known, dtype=np.float64), n_t)
        self.fk = sparse.csc_matrix((kf, (kr, kcol)), shape=(n_d, n_t))
        self.fk.eliminate_zeros()
        counts = np.bincount(fcol, minlength=n_t).astype(np.float64)  # diseases carrying each term
        self.ic = np.where(counts > 0, -np.log(np.maximum(counts, 1) / max(n_d, 1)), 0.0)
        self.bg = np.maximum(np.bincount(fcol, weights=ef, minlength=n_t) / max(n_d, 1), _BG_MIN)
        self.loglr = sparse.csc_matrix((np.log(ef) - np.log(self.bg[fcol]) + _SHIFT, (fr, fcol)), shape=(n_d, n_t))
        self.notmat = sparse.csc_matrix((np.ones(len(not_rows)), (not_rows, not_cols)), shape=(n_d, n_t))
        # for the Resnik methods: which diseases carry each term, and descendants of each term
        self.holders = [self.fc.indices[self.fc.indptr[i]:self.fc.indptr[i + 1]] for i in range(n_t)]
        desc: list[list[int]] = [[] for _ in range(n_t)]
        for ti, a in enumerate(self.anc):
            for x in a:
                desc[x].append(ti)
        self.desc = [np.array(d, dtype=np.int64) for d in desc]
        drows = np.concatenate([np.full(len(ts), di) for di, ts in enumerate(self.dterms)]) if n_d else np.zeros(0)
        dcols = np.concatenate(self.dterms) if n_d else np.zeros(0)
        w = np.concatenate([np.full(len(ts), 1.0 / len(ts)) for ts in self.dterms if len(ts)]) if n_d else np.zeros(0)
        self.dmat = sparse.csr_matrix((w, (drows, dcols)), shape=(n_d, n_t))
        self._binary = (self.dmat > 0).astype(np.float64)
        self._keep: dict[tuple[str, ...], np.ndarray] = {}

    def _closure(self, r: np.ndarray, c: np.ndarray, f: np.ndarray, n_t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(disease, term, value) with each annotation spread to its ancestors, max per pair."""
        lens = np.array([len(self.anc[t]) for t in c], dtype=np.int64)
        key = np.repeat(r, lens) * n_t + (np.concatenate([self.anc[t] for t in c]) if len(c) else np.zeros(0, dtype=np.int64))
        ef = np.repeat(f, lens)
        order = np.lexsort((ef, key))
        key, ef = key[order], ef[order]
        last = np.r_[key[1:] != key[:-1], True] if len(key) else np.zeros(0, dtype=bool)
        key, ef = key[last], ef[last]
        return key // n_t, key % n_t, ef

    # ---- input
    def resolve(self, phenotypes: str | list[str]) -> list[str]:
        """HPO ids, or free text linked to present phenotypes (negated ones are dropped)."""
        return self.case(phenotypes).observed

    def case(self, observed: str | list[str], excluded: list[str] | None = None, strict: bool = True) -> PatientCase:
        """Resolve a patient: HPO ids, or free text whose negated phenotypes ("no seizures")
        become excluded terms. `strict`: an unknown HPO id is an error; otherwise it is set aside
        in `ignored` (batch runs over real cases, whose ids may predate the bundled release)."""
        from medllm.knowledge.kg.graph import normalize_id

        obs: list[str] = []
        exc: list[str] = []
        ignored: list[str] = []
        items = [observed] if isinstance(observed, str) else list(observed)
        for bucket, its in ((obs, items), (exc, list(excluded or []))):
            for it in its:
                cid = normalize_id(str(it))
                if cid.startswith("HP:"):
                    if cid not in self.tix:
                        if strict:
                            raise ValueError(f"{it!r} is not an HPO term in this graph (HPO release bundled with hpo3)")
                        ignored.append(cid)
                    else:
                        bucket.append(cid)
                    continue
                for s in self.g.link(it):
                    if s.concept_id in self.tix:
                        (obs if s.polarity == "present" and bucket is obs else exc).append(s.concept_id)
        keep_o = [t for t in dict.fromkeys(obs) if self.is_pheno[self.tix[t]]]
        keep_e = [t for t in dict.fromkeys(exc) if self.is_pheno[self.tix[t]] and t not in keep_o]
        ignored += [t for t in dict.fromkeys(obs + exc) if not self.is_pheno[self.tix[t]]]
        if not keep_o:
            raise ValueError("no HPO phenotypes found in the input; give HPO ids (HP:0001945) or symptom "
                             "words such as 'fever, maculopapular rash, arthralgia'")
        return PatientCase(keep_o, keep_e, list(dict.fromkeys(ignored)))

    # ---- the likelihood-ratio score
    def observed_lr(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(log LR of observing `term` in each disease, whether it matched below the root).
        Unmatched entries hold 0 (the `obs_unmatched` feature counts them)."""
        cols = self.anc_match[self.tix[term]]
        if not len(cols):
            return np.zeros(len(self.diseases)), np.zeros(len(self.diseases), dtype=bool)
        best = np.asarray(self.loglr[:, cols].max(axis=1).todense()).ravel()
        hit = best > 0
        out = np.where(hit, best - _SHIFT, 0.0)
        if self.notmat.nnz:
            neg = np.asarray(self.notmat[:, self.anc[self.tix[term]]].sum(axis=1)).ravel() > 0
            out = np.where(neg, np.log(_NOT_IN_DISEASE_LR), out)
            hit = hit | neg
        return out, hit

    def excluded_freq(self, term: str, known_only: bool = True) -> np.ndarray:
        """Frequency of `term` (or a descendant) in each disease, 0 where it has none; with
        `known_only`, 0 also where no annotation gives a frequency (absence then says nothing)."""
        i = self.tix[term]
        return np.asarray((self.fk if known_only else self.fc)[:, i].todense()).ravel()

    def d2p(self, terms: list[str]) -> np.ndarray:
        """Disease -> patient half of the Resnik best-match average: for each disease, the mean
        over its terms of the best IC of a common ancestor with any of `terms`."""
        if not terms:
            return np.zeros(len(self.diseases))
        S = np.unique(np.concatenate([self.anc[self.tix[p]] for p in terms]))
        v = np.zeros(len(self.terms))
        for a in S[np.argsort(self.ic[S])]:
            v[self.desc[a]] = self.ic[a]  # ascending IC: the highest lands last
        return self.dmat @ v

    def features(self, case: PatientCase) -> np.ndarray:
        """The evidence for each disease as a matrix [n_diseases x len(FEATURES)]; the score is
        its product with the weights, so a benchmark can compute it once and fit the weights."""
        n_d = len(self.diseases)
        F = np.zeros((n_d, len(FEATURES)))
        for t in case.observed:
            lr, hit = self.observed_lr(t)
            F[:, 0] += lr
            F[:, 1] += ~hit
        x = np.zeros(len(self.terms))
        x[[self.tix[t] for t in case.observed]] = 1.0
        F[:, 5] = self._binary @ x
        F[:, 6] = F[:, 5] / np.maximum(self.n_ann, 1.0)
        for e in case.excluded:
            f = self.excluded_freq(e)
            F[:, 2] += np.where(f > 0, np.log(np.maximum(_EXC_FLOOR, 1.0 - f)), 0.0) - np.log(max(1.0 - self.bg[self.tix[e]], 1e-6))
        F[:, 3] = self.d2p(case.observed)
        F[:, 4] = np.log(np.maximum(self.n_ann, 1.0))
        return F

    def lr_scores(self, case: PatientCase, sources: tuple[str, ...] = ("OMIM", "ORPHA"),
                  params: DdxParams | None = None) -> np.ndarray:
        p = params or self.params
        return self._mask(self.features(case) @ np.asarray(p.weights), sources)

    def posterior(self, scores: np.ndarray, params: DdxParams | None = None) -> np.ndarray:
        """Calibrated posterior over the ranked diseases (masked ones get 0)."""
        p = params or self.params
        z = scores / max(p.temperature, 1e-6)
        fin = np.isfinite(z)
        out = np.zeros_like(z)
        if fin.any():
            e = np.exp(z[fin] - z[fin].max())
            out[fin] = e / e.sum()
        return out

    # ---- Resnik scores, kept for comparison
    def scores(self, patient: list[str] | PatientCase, sources: tuple[str, ...] = ("OMIM", "ORPHA"),
               method: str = "lr") -> np.ndarray:
        """Score of every disease (diseases outside `sources` get -inf) by `method`."""
        if method not in METHODS:
            raise ValueError(f"method {method!r}: use one of {', '.join(METHODS)}")
        case = patient if isinstance(patient, PatientCase) else PatientCase(list(patient))
        if method == "lr":
            return self.lr_scores(case, sources)
        if method == "overlap":
            return self.overlap_scores(case.observed, sources)
        P = [self.tix[p] for p in case.observed]
        n_d = len(self.diseases)
        # patient -> disease: for each p, best IC over ancestors of p that the disease carries
        p2d = np.zeros(n_d)
        for p in P:
            best = np.zeros(n_d)
            for a in self.anc[p][np.argsort(self.ic[self.anc[p]])]:
                best[self.holders[a]] = self.ic[a]  # ascending IC: the highest lands last
            p2d += best
        p2d /= len(P)
        bma = (p2d + self.d2p(case.observed)) / 2
        total = bma if method == "bma" else p2d + 1e-3 * bma
        return self._mask(total, sources)

    def _mask(self, s: np.ndarray, sources: tuple[str, ...]) -> np.ndarray:
        key = tuple(sorted(sources))
        if key not in self._keep:
            keep = np.array([d.split(":")[0] in sources for d in self.diseases], dtype=bool)
            self._keep[key] = keep & (self.n_ann > 0)
        return np.where(self._keep[key], s, -np.inf)

    def overlap_scores(self, patient: list[str], sources: tuple[str, ...] = ("OMIM", "ORPHA")) -> np.ndarray:
        """The naive baseline: how many patient terms the disease lists exactly."""
        x = np.zeros(len(self.terms))
        x[[self.tix[p] for p in patient]] = 1.0
        s = self._binary @ x
        return self._mask(s, sources)

    # ---- explanations
    def explain(self, patient: list[str], disease_id: str) -> list[Match]:
        """For each observed term, the disease term it matched and through which common ancestor
        (the one with the highest LR), with what that match added to the score (`log_lr`,
        against a term the disease does not explain, which adds 0)."""
        w = self.params.weights
        di = self.dix[disease_id]
        ts = self.dterms[di]
        direct = set(ts.tolist())
        out = []
        for p in patient:
            pi = self.tix[p]
            lr, hit = self.observed_lr(p)
            if not hit[di]:  # the reference: a term the disease does not explain moves nothing
                out.append(Match(p, "", "", 0.0, 0.0))
                continue
            cols = self.anc_match[pi]
            col = self.loglr[di, :][:, cols].toarray().ravel() if len(cols) else np.zeros(0)
            a = int(cols[int(np.argmax(col))]) if len(col) else pi
            if pi in direct:
                t = pi
            else:  # the disease's own term under that ancestor, the least specific one
                below = [x for x in ts if a in self.anc[x]]
                t = min(below, key=lambda x: len(self.anc[x])) if below else a
            # what matching moved, against not matching (`obs_unmatched`'s weight)
            part = w[0] * float(lr[di]) - w[1] + (w[5] + w[6] / max(self.n_ann[di], 1.0) if pi in direct else 0.0)
            out.append(Match(p, self.terms[t], self.terms[a], round(float(self.ic[a]), 3), round(part, 3)))
        return out

    def explain_excluded(self, excluded: list[str], disease_id: str, params: DdxParams | None = None) -> list[Match]:
        """Excluded terms the disease has, each with its weighted part of the score."""
        w = (params or self.params).weights
        di = self.dix[disease_id]
        direct = set(self.dterms[di].tolist())
        out = []
        for e in excluded:
            ei = self.tix[e]
            f = float(self.fk[di, ei])
            if f <= 0:  # not a feature of d, or one of unknown frequency: no evidence either way
                continue
            below = [t for t in self.dterms[di] if ei in self.anc[t]]
            t = self.terms[ei] if ei in direct else (self.terms[below[0]] if below else e)
            lir = np.log(max(_EXC_FLOOR, 1 - f)) - np.log(max(1 - self.bg[ei], 1e-6))
            part = w[2] * lir
            out.append(Match(e, t, e, round(float(self.ic[ei]), 3), round(float(part), 3), excluded=True))
        return out

    def rank(self, phenotypes: str | list[str] | PatientCase, k: int = 10,
             sources: tuple[str, ...] = ("OMIM",), method: str = "lr",
             excluded: list[str] | None = None, explain: bool = True) -> list[Diagnosis]:
        """The k best diseases, best first. With "lr", `score` is the calibrated posterior and
        each diagnosis names the observed and excluded terms that moved it (`explain`)."""
        if k < 1:
            raise ValueError(f"k={k}: ask for at least one diagnosis")
        case = phenotypes if isinstance(phenotypes, PatientCase) else self.case(phenotypes, excluded)
        s = self.scores(case, sources, method)
        shown = self.posterior(s) if method == "lr" else s
        order = np.lexsort((np.arange(len(s)), -s))[:k]  # stable: ties by graph order
        out = []
        for r, i in enumerate(order, 1):
            if not np.isfinite(s[i]):
                break
            d = self.diseases[i]
            out.append(Diagnosis(d, self.g.concepts[d].name, float(f"{shown[i]:.4g}"), r,
                                 self.explain(case.observed, d) if explain else [],
                                 self.explain_excluded(case.excluded, d) if explain else [],
                                 round(float(s[i]), 4)))
        return out
