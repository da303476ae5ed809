"""ConText assertion: is a mention negated, possible, historical, hypothetical, or about someone
other than the patient?

The algorithm (Harkema et al., 2009, "ConText: an algorithm for determining negation,
experiencer, and temporal status from clinical reports"), implemented here on plain regex
tokens:

1. Split the text into sentences; in each, mask the target mentions (a trigger never matches
   inside a mention) and find the trigger phrases of the rules, longest match first, left to right.
2. A trigger has a category (negated, possible, historical, hypothetical, family) and a
   direction. Its scope runs from the trigger forward (or backward, or both) to the sentence
   edge, stopping at a termination term for its category or at `max_scope` tokens.
3. Pseudo-triggers ("no change", "gram negative", "history of present illness") are matched
   like triggers, so the shorter trigger inside them cannot fire, and do nothing.
4. A mention inside a trigger's scope takes the trigger's category.

The rules live in `context_rules.json` beside this module (the project's own list); pass
another file to `ConText.from_file` to use a site's rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Category = Literal["negated", "possible", "historical", "hypothetical", "family"]
CATEGORIES: tuple[Category, ...] = ("negated", "possible", "historical", "hypothetical", "family")
Direction = Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]
RULES_FILE = Path(__file__).with_name("context_rules.json")

# words joined by ' or / (s/p, r/o, can't), or one punctuation mark (a hyphen too, so
# "2-week history" has the words "week history")
_TOKEN = re.compile(r"[a-z0-9]+(?:['/][a-z0-9]+)*|[^\sa-z0-9]")
# a sentence ends: after . ! ? and spaces before a letter, digit or bracket (nursing notes start
# sentences in lower case too); after "..." (nursing notes' separator); at a blank line; at a line end after . ! ? ;; before a list
# number ("  2) ", "\n3. ")
_SENT_END = re.compile(r"(?<=[.!?])[)\]]?\s+(?=[A-Za-z0-9*\[(])|(?<=\.\.\.)(?=[A-Za-z0-9])|\n\s*\n|(?<=[.!?;])\s*\n|(?:\s\s+|\n\s*)(?=\d{1,2}[.)]\s)")
# a period that ends these does not end a sentence ("Dr. Lee", "p.o. intake", "approx. 2130")
_ABBREV = {"dr", "mr", "mrs", "ms", "st", "prof", "vs", "approx", "e.g", "i.e", "etc", "fig",
           "min", "max", "hr", "hrs", "mg", "ml", "cc", "q", "sq", "tab", "tabs", "cap", "caps"}


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    if m.group(0)[:1] in ")]" or text[m.start() - 1:m.start()] != "." or text[m.start() - 3:m.start()] == "...":
        return True
    word = re.search(r"(\S*)\.$", text[max(0, m.start() - 20):m.start()])
    w = (word.group(1) if word else "").lower()
    # one letter ("A. fib"), dotted abbreviations ("p.o.", "b.i.d."), and the list above
    return not (len(w) == 1 or "." in w or w in _ABBREV)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(lower-cased token, start, end) for the words and punctuation marks of `text`."""
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence character ranges within text[start:end]: a break after . ! ? before a capital
    or a digit, or at a blank line. Clinical notes wrap lines mid-sentence, so a single newline
    breaks only after . ! ? ;."""
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    a = start
    for m in _SENT_END.finditer(text, start, end):
        if m.group(0).strip(" \t)]") == "" and not _ends_sentence(text, m):
            continue
        if text[a:m.start()].strip():
            out.append((a, m.start()))
        a = m.end()
    if text[a:end].strip():
        out.append((a, end))
    return out


@dataclass(frozen=True)
class Rule:
    literal: str
    category: Category | Literal["terminate", "pseudo"]
    direction: Direction
    max_scope: int | None = None
    terminates: tuple[str, ...] = ()  # for terminate rules: the categories ended; () = all


@dataclass(frozen=True)
class Cue:
    """A trigger that applied to a mention, as evidence for the assertion."""

    category: Category
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Assertion:
    """The ConText attributes of one mention. `cues` are the triggers that set them."""

    negated: bool = False
    possible: bool = False
    historical: bool = False
    hypothetical: bool = False
    other_experiencer: bool = False
    cues: tuple[Cue, ...] = field(default=(), compare=False)

    @property
    def existence(self) -> Literal["present", "negated", "possible"]:
        return "negated" if self.negated else "possible" if self.possible else "present"

    @property
    def temporality(self) -> Literal["recent", "historical", "hypothetical"]:
        return "hypothetical" if self.hypothetical else "historical" if self.historical else "recent"

    @property
    def experiencer(self) -> Literal["patient", "other"]:
        return "other" if self.other_experiencer else "patient"

    @property
    def codable(self) -> bool:
        """A finding the patient has (or had): not negated, hypothetical or someone else's."""
        return not (self.negated or self.hypothetical or self.other_experiencer)

    def merged(self, other: Assertion) -> Assertion:
        """Either's attributes (section defaults OR the sentence's triggers)."""
        return Assertion(*(getattr(self, f) or getattr(other, f) for f in _FLAGS),
                         cues=self.cues + other.cues)


_FLAGS = ("negated", "possible", "historical", "hypothetical", "other_experiencer")
_FLAG_OF: dict[str, str] = {"negated": "negated", "possible": "possible", "historical": "historical",
                            "hypothetical": "hypothetical", "family": "other_experiencer"}
_MASK = "\x00"  # a token no rule contains: where a target mention sits


@dataclass
class _Hit:
    rules: list[Rule]
    i: int  # first token
    j: int  # one past the last token


class ConText:
    """Rules compiled for matching; `assert_spans` is the one entry point."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        if not rules:
            raise ValueError("ConText needs at least one rule")
        self.rules = list(rules)
        self._by_first: dict[str, list[tuple[tuple[str, ...], list[Rule]]]] = {}
        phrases: dict[tuple[str, ...], list[Rule]] = {}
        for r in self.rules:
            key = tuple(t for t, _, _ in tokenize(r.literal))
            if key:
                phrases.setdefault(key, []).append(r)
        for key, rs in phrases.items():
            self._by_first.setdefault(key[0], []).append((key, rs))
        for lst in self._by_first.values():
            lst.sort(key=lambda kr: -len(kr[0]))

    @classmethod
    def from_file(cls, path: str | Path = RULES_FILE) -> ConText:
        """Read a rules file: {"groups": [{category, direction?, max_scope?, terminates?, literals}]}."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{p}: cannot read ConText rules ({e}); expected a JSON file with 'groups'") from None
        rules: list[Rule] = []
        for n, g in enumerate(data.get("groups", [])):
            cat = g.get("category")
            if cat not in (*CATEGORIES, "terminate", "pseudo"):
                raise ValueError(f"{p}: group {n}: category {cat!r}; use one of "
                                 f"{', '.join((*CATEGORIES, 'terminate', 'pseudo'))}")
            direction = g.get("direction", cat if cat in ("terminate", "pseudo") else "forward")
            if direction not in ("forward", "backward", "bidirectional", "terminate", "pseudo"):
                raise ValueError(f"{p}: group {n}: direction {direction!r}; use forward, backward or bidirectional")
            lits = g.get("literals")
            if not isinstance(lits, list) or not all(isinstance(x, str) for x in lits):
                raise ValueError(f"{p}: group {n}: 'literals' must be a list of strings")
            for lit in lits:
                rules.append(Rule(lit, cat, direction, g.get("max_scope"), tuple(g.get("terminates", ()))))
        return cls(rules)

    # ---- matching
    def _hits(self, toks: list[str]) -> list[_Hit]:
        out: list[_Hit] = []
        i = 0
        while i < len(toks):
            for key, rules in self._by_first.get(toks[i], ()):
                if tuple(toks[i:i + len(key)]) == key:
                    out.append(_Hit(rules, i, i + len(key)))
                    i += len(key)
                    break
            else:
                i += 1
        return out

    def assert_spans(self, text: str, spans: Sequence[tuple[int, int]],
                     sentences: Sequence[tuple[int, int]] | None = None) -> list[Assertion]:
        """One `Assertion` per (start, end) character span of `text`, in order. `sentences`:
        character ranges to work in (default: `split_sentences(text)`)."""
        result = [Assertion() for _ in spans]
        if not spans:
            return result
        sents = list(sentences) if sentences is not None else split_sentences(text)
        by_sent: dict[int, list[int]] = {}
        si = 0
        order = sorted(range(len(spans)), key=lambda k: spans[k][0])
        for k in order:
            a = spans[k][0]
            while si < len(sents) - 1 and a >= sents[si][1]:
                si += 1
            by_sent.setdefault(si, []).append(k)
        for si, members in by_sent.items():
            s0, s1 = sents[si] if sents else (0, len(text))
            for k, a in zip(members, self._sentence(text, s0, s1, [spans[k] for k in members]), strict=True):
                result[k] = a
        return result

    def _sentence(self, text: str, s0: int, s1: int, targets: list[tuple[int, int]]) -> list[Assertion]:
        raw = tokenize(text[s0:s1])
        toks = [t for t, _, _ in raw]
        where: list[tuple[int, int]] = []  # token range of each target
        for a, b in targets:
            idx = [n for n, (_, x, y) in enumerate(raw) if x + s0 < b and y + s0 > a]
            where.append((idx[0], idx[-1] + 1) if idx else (-1, -1))
            for n in idx:
                toks[n] = _MASK
        hits = self._hits(toks)
        triggers: list[tuple[_Hit, Rule]] = []
        terms: list[tuple[int, Rule]] = []
        for h in hits:
            for r in h.rules:
                if r.direction == "terminate":
                    terms.append((h.i, r))
                elif r.direction != "pseudo":
                    triggers.append((h, r))
        out: list[Assertion] = []
        for ti, tj in where:
            if ti < 0:
                out.append(Assertion())
                continue
            flags = dict.fromkeys(_FLAGS, False)
            cues: list[Cue] = []
            for h, r in triggers:
                if self._in_scope(h, r, ti, tj, terms, len(toks)):
                    flags[_FLAG_OF[r.category]] = True
                    cues.append(Cue(r.category, text[s0 + raw[h.i][1]:s0 + raw[h.j - 1][2]],  # type: ignore[arg-type]
                                    s0 + raw[h.i][1], s0 + raw[h.j - 1][2]))
            out.append(Assertion(**flags, cues=tuple(cues)))
        return out

    @staticmethod
    def _in_scope(h: _Hit, r: Rule, ti: int, tj: int, terms: list[tuple[int, Rule]], n: int) -> bool:
        def stops(pos: int) -> bool:
            return any(p == pos and (not t.terminates or r.category in t.terminates) for p, t in terms)

        if r.direction in ("forward", "bidirectional") and ti >= h.j:
            limit = min(n, h.j + r.max_scope) if r.max_scope else n
            if ti < limit and not any(stops(p) for p in range(h.j, ti)):
                return True
        if r.direction in ("backward", "bidirectional") and tj <= h.i:
            limit = max(0, h.i - r.max_scope) if r.max_scope else 0
            if tj > limit and not any(stops(p) for p in range(tj, h.i)):
                return True
        return False


def with_defaults(a: Assertion, defaults: Assertion | None) -> Assertion:
    """`a` with a section's default attributes added (a family-history section makes every
    mention in it other-experiencer, whatever its sentence says)."""
    return a if defaults is None else a.merged(defaults)
