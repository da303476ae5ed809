"""The base recognizer: named regex patterns with context words, time-bounded.

Presidio's `PatternRecognizer` boosts a match when a context word appears near it. Clinical
text needs the converse too: the same "7/22" is a date after "on" and a fraction after
"strength", the same five digits a pager number after "beeper" and a lab value after "glucose".
So a `ContextPatternRecognizer` has, per pattern, a base score, words that raise it (`context`)
and words that veto it (`veto`), looked up in a few words either side.

Every regex runs with the `regex` module's timeout: patterns are written without nested
quantifiers, and a note that still makes one run too long fails loudly (`DetectionTimeout`)
instead of hanging the gate, which then refuses to send the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import regex as re
from presidio_analyzer import EntityRecognizer, RecognizerResult

# Seconds one regex may spend on one text: far above what a 100 kB note needs (~10 ms).
REGEX_TIMEOUT_S = 1.0
WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d+")


class DetectionTimeout(RuntimeError):
    """A recognizer ran past its time bound on one text (the text is not de-identified)."""


@dataclass(frozen=True)
class NamedPattern:
    """One regex of a recognizer. The named group `v`, when present, is the PHI; the rest of
    the match is context (a label, a title). `context` words near the match raise the score by
    0.4; a `veto` word before it (`veto_after`: after it) drops the match."""

    name: str
    regex: str
    score: float
    context: frozenset[str] = frozenset()
    veto: frozenset[str] = frozenset()  # looked for before the match
    veto_after: frozenset[str] = frozenset()  # looked for after it
    window: tuple[int, int] = (3, 1)  # words (and numbers) looked at before, after
    flags: int = 0


@dataclass
class _Compiled:
    pattern: NamedPattern
    rx: re.Pattern = field(repr=False)


def words_around(text: str, start: int, end: int, before: int, after: int) -> tuple[list[str], list[str]]:
    """Lower-case words just before `start` and just after `end` (bounded look-around)."""
    head = text[max(0, start - 12 * before - 4):start]
    tail = text[end:end + 12 * after + 4]
    b = [w.lower() for w in WORD.findall(head)][-before:] if before else []
    a = [w.lower() for w in WORD.findall(tail)][:after] if after else []
    return b, a


class ContextPatternRecognizer(EntityRecognizer):
    """Named patterns, each with context and veto words. Subclasses set ENTITY, NAME, PATTERNS."""

    ENTITY: str = ""
    NAME: str = ""
    PATTERNS: Sequence[NamedPattern] = ()

    def __init__(self, patterns: Sequence[NamedPattern] | None = None, timeout_s: float = REGEX_TIMEOUT_S):
        self.timeout_s = timeout_s
        self._compiled = [_Compiled(p, re.compile(p.regex, p.flags)) for p in (patterns or self.PATTERNS)]
        super().__init__(supported_entities=[self.ENTITY], name=self.NAME or type(self).__name__,
                         supported_language="en")

    def load(self) -> None:  # nothing to load
        pass

    def keep(self, text: str, start: int, end: int, pattern: NamedPattern) -> bool:
        """Hook for checks a regex cannot express (a valid calendar date, a Luhn digit ...)."""
        return True

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for c in self._compiled:
            p = c.pattern
            try:
                matches = list(c.rx.finditer(text, timeout=self.timeout_s))
            except TimeoutError:
                raise DetectionTimeout(
                    f"{self.name}: pattern {p.name!r} ran over {self.timeout_s} s on a text of "
                    f"{len(text)} characters; split the text or report the pattern") from None
            for m in matches:
                start, end = m.span("v") if "v" in c.rx.groupindex else m.span()
                if end <= start or not self.keep(text, start, end, p):
                    continue
                score = p.score
                if p.context or p.veto or p.veto_after:
                    b, a = words_around(text, m.start(), m.end(), *p.window)
                    if p.veto.intersection(b) or p.veto_after.intersection(a):
                        continue
                    if p.context.intersection(b) or p.context.intersection(a):
                        score = min(1.0, score + 0.4)
                out.append(RecognizerResult(self.ENTITY, start, end, score,
                                            recognition_metadata={
                                                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                                                "pattern": p.name}))
        return out
