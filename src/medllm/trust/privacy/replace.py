"""Replacement: Presidio's `AnonymizerEngine` turning detected PHI into tags, nothing, or
consistent surrogates, with date shifting; `PhiSession` keeps the mapping (and a `Vault` keeps
it on disk for re-identification). Detection is `medllm.trust.privacy.detect`.

Modes:
- `redact`: PHI removed; `tag`: PHI replaced by `<NAME>`, `<DATE>` ...;
- `surrogate`: realistic fakes from a seeded Faker, the same original always giving the same fake
  within a session (name parts too, so "Mr. Smith" follows "John Smith"); dates shifted by one
  offset per patient so intervals survive;
- `shift`: dates shifted as above, every other identifier tagged.
"""

from __future__ import annotations

import random
import re
import secrets
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from medllm.trust.privacy.detect import PhiDetector
from medllm.trust.privacy.lexicon import SiteLexicon
from medllm.trust.vault import Vault
from medllm.types import Span

Mode = Literal["redact", "tag", "surrogate", "shift"]
MODES: tuple[str, ...] = ("redact", "tag", "surrogate", "shift")


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
    """Detection (`PhiDetector`) + replacement (Presidio's anonymizer). Build once, reuse."""

    def __init__(self, detector: PhiDetector | None = None, *, site: SiteLexicon | None = None,
                 score_threshold: float = 0.35, operating_point: str = "recall"):
        """`operating_point`: "recall" (default: what a gate in front of a remote model should
        run) or "balanced" (fewer clinical words masked); ignored when `detector` is given."""
        from presidio_anonymizer import AnonymizerEngine

        self.detector = detector if detector is not None else PhiDetector(
            site=site, score_threshold=score_threshold, operating_point=operating_point)
        self.anonymizer = AnonymizerEngine()

    def __repr__(self) -> str:
        return f"Deidentifier({self.detector!r})"

    @property
    def operating_point(self) -> str:
        """The detector's operating point ("recall" or "balanced")."""
        return str(getattr(self.detector, "operating_point", "recall"))

    def analyze(self, text: str, known_names: Sequence[str] = ()) -> list[Span]:
        return self.detector.analyze(text, known_names)

    def deidentify(self, text: str, session: PhiSession, mode: Mode = "surrogate",
                   patient: str | None = None, spans: list[Span] | None = None) -> Deidentified:
        """`text` with its PHI replaced per `mode`. `spans` skips detection (already done)."""
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: use one of {', '.join(MODES)}")
        if spans is None:
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
            out = format_date(d + timedelta(days=self.offset(patient)), fmt)
            if not re.search(r"\b0\d", original):  # "7/22" stays unpadded: "9/3", not "09/03"
                out = re.sub(r"\b0(\d)", r"\1", out)
            return out.upper() if original.isupper() else out
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
            city = f.city()
            return city.upper() if o.isupper() and len(o) > 1 else city  # notes in capitals
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
