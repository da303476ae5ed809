"""A learned second pass over every token: logistic regression on the rules' output and context.

The recognizers decide from fixed rules; they miss what no list knows (a surrogate surname in
capitals, a local ward name) and the rules cannot weigh their own cues against each other. This
model looks at each token (a run of letters or digits) with features that hold no note text:
the rules' label on it and its neighbours, its shape and capitals, which word lists know it
(census names, dictionary and whether both dictionaries hold it, medical words, clinical
shorthand, places, the site lexicon), the
punctuation around it, and its neighbours' identity only when they are dictionary or clinical
words. Features are hashed (crc32) into a fixed vector, so the weights file (`token_model.npz`)
holds numbers only.

A token is PHI when P(not O) >= `threshold`; the threshold was chosen on training folds for
recall (see `benchmarks/deid.py`, which reports it on folds the model never saw). The model only
adds spans to the rules' (hiding more is safer); the rules' spans all stay.

Build the shipped weights: `make deid-model` (trains on an annotated JSON-lines file).
"""

from __future__ import annotations

import bisect
import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from medllm.trust.privacy.lexicon import CLINICAL_WORDS, STOPWORDS, Lexicon, SiteLexicon

TOKEN = re.compile(r"[A-Za-z0-9]+")
CLASSES = ("O", "NAME", "LOCATION", "DATE", "OTHER_ID")
N_FEATURES = 1 << 18
MODEL_FILE = "token_model.npz"
# Gold labels (PhysioNet deid and our own) -> the model's classes.
GOLD_TO_CLASS = {
    **{k: "NAME" for k in ("NAME", "HCPName", "PTName", "PTNameInitial", "RelativeProxyName",
                           "PERSON", "DOCTOR", "PATIENT")},
    **{k: "LOCATION" for k in ("LOCATION", "Location", "HOSPITAL", "CITY", "STREET")},
    "Date": "DATE", "DATE": "DATE",
}
NEUTRAL = {"DateYear"}  # a year alone: Safe Harbor keeps it; neither PHI nor not in training


def _shape(tok: str) -> str:
    if tok.isdigit():
        return f"d{min(len(tok), 5)}"
    if tok.isalpha():
        if len(tok) == 1:
            return "A" if tok.isupper() else "a"
        if tok.isupper():
            return "XX"
        if tok.islower():
            return "xx"
        return "Xx" if tok[0].isupper() and tok[1:].islower() else "xX"
    return "ad"  # letters and digits: "3pm", "2L", "A5"


def _gap(s: str) -> str:
    """The characters between two tokens, reduced to a few classes."""
    if not s:
        return "_"
    s = s.replace("\r", "")
    if "\n" in s:
        return "NL"
    s = s.strip(" \t")
    return s[:2] if s else "sp"


@dataclass
class TokenFeatures:
    spans: list[tuple[int, int]]
    rows: list[list[int]]  # hashed feature indices per token


class Featurizer:
    """Turns (text, rule spans) into hashed features per token. Word-list look-ups are cached."""

    def __init__(self, lexicon: Lexicon, site: SiteLexicon | None = None):
        self.lex = lexicon
        self.site = site or SiteLexicon()
        self._cache: dict[str, tuple[str, bool]] = {}

    def _word(self, w: str) -> tuple[str, bool]:
        """(list signature, is vocabulary) of a lower-case word."""
        hit = self._cache.get(w)
        if hit is not None:
            return hit
        lex, site = self.lex, self.site
        common = lex.is_common(w)
        # one letter per list that knows the word; the order is part of the hashed feature
        known = (("f", w in lex.first_names), ("l", w in lex.last_names), ("n", w in lex.common_names),
                 ("c", common), ("m", w in lex.medical_words), ("k", w in CLINICAL_WORDS),
                 ("p", w in lex.places), ("s", w in STOPWORDS), ("N", w in site.names),
                 ("P", w in site.places), ("S", w in site.safe), ("e", common and lex.is_everyday(w)))
        flags = [letter for letter, hit in known if hit]
        if ("f" in flags or "l" in flags) and not common and w.isalpha() and len(w) > 3:
            if lex.near_common(w):
                flags.append("t")  # one typo from a word
        vocab = common or w in CLINICAL_WORDS or w in STOPWORDS or w in lex.medical_words
        out = ("".join(flags) or "-", vocab)
        if len(self._cache) < 200_000:
            self._cache[w] = out
        return out

    def features(self, text: str, rule: Sequence[tuple[int, int, str]]) -> TokenFeatures:
        toks = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
        n = len(toks)
        # the rules' label per token
        lab = ["O"] * n
        if rule:
            starts = [t[0] for t in toks]
            for s, e, label in rule:
                i = max(0, bisect.bisect_right(starts, s) - 1)
                while i < n and toks[i][0] < e:
                    if toks[i][1] > s:
                        lab[i] = label
                    i += 1
        letters = sum(c.isalpha() for c in text) or 1
        caps = "C" if sum(c.isupper() for c in text) / letters > 0.5 else "m"
        low = [t[2].lower() for t in toks]
        info = [self._word(w) for w in low]
        shapes = [_shape(t[2]) for t in toks]
        gaps = [_gap(text[toks[i][1]:toks[i + 1][0]]) if i + 1 < n else "END" for i in range(n)]
        first_gap = _gap(text[:toks[0][0]]) if n else "_"

        def ctx(j: int) -> str:
            if j < 0:
                return "BOS"
            if j >= n:
                return "EOS"
            sig, vocab = info[j]
            return f"w:{low[j]}" if vocab else f"s:{shapes[j]}:{sig}"

        rows: list[list[int]] = []
        for i in range(n):
            w, shp, (sig, vocab), r = low[i], shapes[i], info[i], lab[i]
            gb = gaps[i - 1] if i else first_gap
            ga = gaps[i]
            rp = lab[i - 1] if i else "BOS"
            rn = lab[i + 1] if i + 1 < n else "EOS"
            feats = [
                "b", f"r={r}", f"r={r}|{caps}", f"rp={rp}", f"rn={rn}", f"r3={rp}|{r}|{rn}",
                f"sh={shp}", f"sh={shp}|{caps}", f"sig={sig}", f"sig={sig}|{shp}|{caps}",
                f"sig={sig}|r={r}", f"gb={gb}", f"ga={ga}", f"g={gb}|{shp}|{ga}",
                f"len={min(len(w), 12)}",
                f"w-1={ctx(i - 1)}", f"w-2={ctx(i - 2)}", f"w+1={ctx(i + 1)}", f"w+2={ctx(i + 2)}",
                f"w-1={ctx(i - 1)}|{shp}", f"w+1={ctx(i + 1)}|{shp}",
                f"w-1={ctx(i - 1)}|gb={gb}", f"w+1={ctx(i + 1)}|ga={ga}",
            ]
            if vocab:
                feats.append(f"w={w}")
                feats.append(f"w={w}|{caps}")
            elif w.isalpha():
                feats.append(f"suf={w[-3:]}")
            rows.append([zlib.crc32(f.encode()) & (N_FEATURES - 1) for f in feats])
        return TokenFeatures([(t[0], t[1]) for t in toks], rows)


def gold_classes(text: str, spans: Sequence[tuple[int, int, str]],
                 tok_spans: Sequence[tuple[int, int]]) -> list[int]:
    """The class index per token from gold spans; -1 for a year alone (left out of training)."""
    lab = [""] * len(text)
    for s, e, label in spans:
        for i in range(s, min(e, len(text))):
            lab[i] = label
    out = []
    for s, e in tok_spans:
        labels = set(lab[s:e]) - {""}
        if not labels:
            out.append(0)
        elif not labels - NEUTRAL:
            out.append(-1)
        else:
            out.append(CLASSES.index(GOLD_TO_CLASS.get(sorted(labels - NEUTRAL)[0], "OTHER_ID")))
    return out


# Operating points: the lowest threshold whose out-of-fold token precision (rules and model
# together) stays at or above the floor. "recall" is what the gate runs by default: a leak costs
# more than a masked clinical word, and 0.78 keeps a margin over the 0.75 a reader still needs.
OPERATING_POINTS: dict[str, float] = {"recall": 0.78, "balanced": 0.86}


@dataclass
class TokenModel:
    """Weights (classes x hashed features), biases and the PHI threshold of each operating point
    (`threshold` is the default one, "recall")."""

    weights: np.ndarray
    bias: np.ndarray
    threshold: float
    thresholds: dict[str, float] | None = None

    def __repr__(self) -> str:
        pts = ", ".join(f"{k}={v:.3f}" for k, v in self.operating_points().items())
        return f"TokenModel(classes={len(CLASSES)}, thresholds: {pts})"

    def operating_points(self) -> dict[str, float]:
        return dict(self.thresholds or {"recall": self.threshold})

    def threshold_for(self, operating_point: str) -> float:
        pts = self.operating_points()
        if operating_point not in pts:
            raise ValueError(f"operating point {operating_point!r}: this token model has "
                             f"{', '.join(sorted(pts))}; rebuild it with `make deid-model` for others")
        return pts[operating_point]

    def proba_phi(self, feats: TokenFeatures) -> tuple[np.ndarray, np.ndarray]:
        """(P(PHI) per token, most likely PHI class per token)."""
        if not feats.rows:
            return np.zeros(0), np.zeros(0, dtype=int)
        lens = [len(r) for r in feats.rows]
        idx = np.fromiter((j for r in feats.rows for j in r), dtype=np.int64, count=sum(lens))
        cols = self.weights[:, idx]  # classes x all features
        offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
        z = np.add.reduceat(cols, offsets, axis=1).T + self.bias  # tokens x classes
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return 1.0 - p[:, 0], p[:, 1:].argmax(axis=1) + 1

    def spans(self, feats: TokenFeatures, threshold: float | None = None) -> list[tuple[int, int, str, float]]:
        """(start, end, class, P(PHI)) of the tokens the model calls PHI."""
        thr = self.threshold if threshold is None else threshold
        p, cls = self.proba_phi(feats)
        return [(s, e, CLASSES[int(c)], float(q)) for (s, e), q, c in zip(feats.spans, p, cls) if q >= thr]

    def save(self, path: str | Path) -> None:
        import os
        import tempfile

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:  # atomic: a crash leaves the old weights or the new ones
            with os.fdopen(fd, "wb") as f:
                pts = self.operating_points()
                np.savez_compressed(f, weights=self.weights.astype(np.float16),
                                    bias=self.bias.astype(np.float32), threshold=np.float32(self.threshold),
                                    points=np.array(sorted(pts)),
                                    point_thresholds=np.array([pts[k] for k in sorted(pts)], np.float32))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path | None = None) -> TokenModel:
        """The weights at `path`; None: the ones shipped in the package."""
        try:
            if path is None:
                data = resources.files("medllm.trust.privacy").joinpath(MODEL_FILE).read_bytes()
            else:
                data = Path(path).read_bytes()
            z = np.load(io.BytesIO(data))
            pts = None
            if "points" in z.files:  # older files hold the one default threshold
                pts = {str(k): float(v) for k, v in zip(z["points"], z["point_thresholds"])}
            return cls(z["weights"].astype(np.float32), z["bias"].astype(np.float32), float(z["threshold"]), pts)
        except FileNotFoundError:
            raise ValueError(f"token model {path or MODEL_FILE} does not exist; build it with "
                             "`make deid-model`") from None
        except (KeyError, ValueError, OSError) as e:
            raise ValueError(f"{path or MODEL_FILE} is not a token model ({e}); rebuild it with "
                             "`make deid-model`") from None


@lru_cache(maxsize=1)
def shipped_model() -> TokenModel:
    """The weights shipped in the package (loaded once per process)."""
    return TokenModel.load()


def fit(X_rows: Sequence[list[int]], y: Sequence[int], *, c: float = 1.0, phi_weight: float = 10.0,
        threshold: float = 0.5) -> TokenModel:
    """Multinomial logistic regression on hashed rows (tokens with y = -1 are left out). PHI
    tokens are rare (about 1 in 200): each weighs `phi_weight` times a clinical one."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    keep = [i for i, v in enumerate(y) if v >= 0]
    rows = [X_rows[i] for i in keep]
    yk = np.array([y[i] for i in keep])
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.fromiter((j for r in rows for j in r), dtype=np.int64, count=int(indptr[-1]))
    X = csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(rows), N_FEATURES))
    X.sum_duplicates()
    clf = LogisticRegression(C=c, max_iter=300, tol=1e-3,
                             class_weight={k: 1.0 if k == 0 else phi_weight for k in range(len(CLASSES))})
    clf.fit(X, yk)
    # classes absent from the training notes get no weight (never predicted)
    W = np.zeros((len(CLASSES), N_FEATURES), dtype=np.float32)
    b = np.full(len(CLASSES), -30.0, dtype=np.float32)
    for k, cl in enumerate(clf.classes_):
        if len(clf.classes_) == 2:  # binary: sklearn keeps one row
            sign = 1.0 if k == 1 else -1.0
            W[cl] = sign * clf.coef_[0] / 2
            b[cl] = sign * clf.intercept_[0] / 2
        else:
            W[cl] = clf.coef_[k]
            b[cl] = clf.intercept_[k]
    return TokenModel(W, b, threshold)


GoldNotes = Sequence[tuple[str, str, list[tuple[int, int, str]]]]  # (patient, text, spans)

# words of an institution's name that say what it is: kept when a place is renamed
_PLACE_KIND_WORDS = frozenset("""hospital hosp center ctr clinic rehab rehabilitation manor healthcare
hospice infirmary institute pavilion medical health nursing care general memorial community regional
university state county surgical st saint of the house home""".split())


class FreshNames:
    """Renames the annotated names and places of notes with fresh ones of the same shape (census
    first and last names, gazetteer towns, the case of the original; one patient's same word always
    gets the same new one), shifting the spans. Training on such copies beside the originals
    teaches the token model the contexts of names, not the names a site happens to use: new
    patients bring names no lexicon has seen. `benchmarks/deid.py --fresh` scores on such copies."""

    def __init__(self, seed: int = 0):
        import random

        from medllm.trust.privacy.lexicon import _census, _places

        self.rng = random.Random(seed)
        self.first = sorted({**_census("dist.female.first"), **_census("dist.male.first")})
        self.last = sorted(w for w, r in _census("dist.all.last").items() if r <= 20000)
        self.towns = sorted(p for p in _places() if p.isascii() and p.isalpha() and len(p) >= 4)
        self.memo: dict[tuple[str, str], str] = {}

    @staticmethod
    def _case(like: str, w: str) -> str:
        if like.isupper() and len(like) > 1:
            return w.upper()
        if like.islower():
            return w.lower()
        return w.capitalize()

    def _word(self, patient: str, cls: str, word: str, first: bool) -> str:
        key = (patient, word.lower())
        if key not in self.memo:
            if len(word) == 1:
                new = self.rng.choice("ABCDEFGHIJKLMNOPRSTW")
            elif cls == "LOCATION":
                new = self.rng.choice(self.towns)
            else:
                new = self.rng.choice(self.first if first else self.last)
            self.memo[key] = new
        return self._case(word, self.memo[key])

    def note(self, patient: str, text: str, spans: Sequence[tuple[int, int, str]]
             ) -> tuple[str, list[tuple[int, int, str]]]:
        """(new text, shifted spans) of one note; labels as given (any gold or class label)."""
        out, new_spans, pos = [], [], 0
        for s, e, label in sorted(spans):
            if s < pos:
                continue  # overlapping gold: keep the first
            out.append(text[pos:s])
            frag = text[s:e]
            cls = GOLD_TO_CLASS.get(label)
            if cls in ("NAME", "LOCATION"):
                words = list(re.finditer(r"[A-Za-z]+", frag))
                parts, last = [], 0
                for k, m in enumerate(words):
                    parts.append(frag[last:m.start()])
                    w = m.group()
                    keep = cls == "LOCATION" and w.lower() in _PLACE_KIND_WORDS
                    parts.append(w if keep else self._word(patient, cls, w, k == 0 and len(words) > 1))
                    last = m.end()
                parts.append(frag[last:])
                frag = "".join(parts)
            start = sum(len(x) for x in out)
            out.append(frag)
            new_spans.append((start, start + len(frag), label))
            pos = e
        out.append(text[pos:])
        return "".join(out), new_spans


# renamed copies of each training note the token model also learns from (see `FreshNames`)
FRESH_COPIES = 1
THRESHOLD_GRID = (0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.17, 0.15, 0.12, 0.1, 0.08, 0.07,
                  0.06, 0.05, 0.04, 0.03, 0.02)


def choose_threshold(p: np.ndarray, y: np.ndarray, rule_hit: np.ndarray, min_precision: float = 0.8) -> float:
    """The lowest threshold whose token precision (rules and model together) stays at or above
    `min_precision` on out-of-fold predictions: recall first, with a margin over 0.75."""
    phi = y > 0
    best = THRESHOLD_GRID[0]
    for thr in THRESHOLD_GRID:
        masked = rule_hit | (p >= thr)
        tp = int((masked & phi).sum())
        if tp / max(1, int(masked.sum())) < min_precision:
            break
        best = thr
    return best


def train_token_model(notes: GoldNotes, lexicon: Lexicon, *, folds: int = 4, c: float = 1.0,
                      phi_weight: float = 10.0, points: dict[str, float] | None = None,
                      fresh_copies: int | None = None, progress=None) -> tuple[TokenModel, SiteLexicon]:
    """Train on annotated notes, the way it is then used: for each of `folds` groups of patients
    the site lexicon is learned on the other groups and the rules run with it (so the model
    never sees a lexicon that knows its own notes); out-of-fold predictions choose the
    threshold of each operating point (`points`: name -> precision floor, default
    `OPERATING_POINTS`); the final fit uses every note. With `fresh_copies` (default
    `FRESH_COPIES`), each fit also learns from that many copies of its notes with names and places
    renamed (`FreshNames`), so that it weighs a name's context more than the name; thresholds are
    still chosen on the original notes only. Returns the model and the site lexicon learned
    on all the notes (what the model is used with)."""
    from medllm.trust.privacy.detect import PhiDetector
    from medllm.trust.privacy.lexicon import learn_site_lexicon

    patients = sorted({pid for pid, _, _ in notes}, key=lambda p: (len(p), p))
    group_of = {p: i % folds for i, p in enumerate(patients)}
    groups: list[list[tuple[list[list[int]], list[int], list[bool]]]] = [[] for _ in range(folds)]
    extra: list[list[tuple[list[list[int]], list[int], list[bool]]]] = [[] for _ in range(folds)]
    fresh = [FreshNames(seed=1000 + k) for k in range(FRESH_COPIES if fresh_copies is None else fresh_copies)]
    for g in range(folds):
        others = [n for n in notes if group_of[n[0]] != g]
        site = learn_site_lexicon(others)
        det = PhiDetector(site=site, learned=False)
        feat = Featurizer(lexicon, site)
        for pid, text, spans in notes:
            if group_of[pid] != g:
                continue
            rule = [(s.start, s.end, s.label) for s in det.analyze(text)]
            tf = feat.features(text, rule)
            hit = [any(s < e2 and e > s2 for s2, e2, _ in rule) for s, e in tf.spans]
            groups[g].append((tf.rows, gold_classes(text, spans, tf.spans), hit))
            for fr in fresh:
                ftext, fspans = fr.note(pid, text, spans)
                frule = [(s.start, s.end, s.label) for s in det.analyze(ftext)]
                ftf = feat.features(ftext, frule)
                extra[g].append((ftf.rows, gold_classes(ftext, fspans, ftf.spans), []))
        if progress:
            progress(f"features of group {g + 1}/{folds}")

    def stack(gs: Sequence[int], with_fresh: bool = False) -> tuple[list[list[int]], list[int], list[bool]]:
        rows, ys, hits = [], [], []
        for g in gs:
            for r, y, h in groups[g] + (extra[g] if with_fresh else []):
                rows += r
                ys += y
                hits += h
        return rows, ys, hits

    oof_p, oof_y, oof_hit = [], [], []
    for g in range(folds):
        rows, ys, _ = stack([k for k in range(folds) if k != g], with_fresh=True)
        m = fit(rows, ys, c=c, phi_weight=phi_weight)
        hrows, hy, hhit = stack([g])
        p, _ = m.proba_phi(TokenFeatures([(0, 0)] * len(hrows), hrows))
        oof_p.append(p)
        oof_y += hy
        oof_hit += hhit
        if progress:
            progress(f"threshold fold {g + 1}/{folds}")
    y = np.array(oof_y)
    keep = y >= 0
    p_all, hit_all = np.concatenate(oof_p)[keep], np.array(oof_hit)[keep]
    floors = points or OPERATING_POINTS
    thresholds = {name: choose_threshold(p_all, y[keep], hit_all, floor) for name, floor in floors.items()}
    rows, ys, _ = stack(range(folds), with_fresh=True)
    model = fit(rows, ys, c=c, phi_weight=phi_weight, threshold=thresholds.get("recall", min(thresholds.values())))
    model.thresholds = thresholds
    return model, learn_site_lexicon(notes)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the shipped files: `python -m medllm.trust.privacy.learned GOLD.jsonl` (`make deid-model`)."""
    import argparse

    from medllm.trust.privacy.lexicon import SHIPPED_SITE_LEXICON, load_lexicon, read_gold_notes

    ap = argparse.ArgumentParser(description="Train the token model and the shipped site lexicon "
                                 "on annotated notes (JSON lines {id, text, spans}).")
    ap.add_argument("gold", type=Path)
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).parent,
                    help="where token_model.npz and the site lexicon go (default: the package)")
    args = ap.parse_args(argv)
    notes = read_gold_notes(args.gold)
    model, site = train_token_model(notes, load_lexicon(), progress=lambda m: print(m, flush=True))
    model.save(args.out_dir / MODEL_FILE)
    site.save(args.out_dir / SHIPPED_SITE_LEXICON)
    for f in (MODEL_FILE, SHIPPED_SITE_LEXICON):  # package data: readable by all
        (args.out_dir / f).chmod(0o644)
    print(f"{model!r} and {site!r} written to {args.out_dir}")


if __name__ == "__main__":
    main()
