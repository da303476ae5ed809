"""Person names (patients, relatives, clinicians), the way deid.pl finds them: name lists
checked against dictionaries, and context.

A word is a name when
- `site_name`: the site lexicon learned it as a name (staff seen in the site's notes);
- `unambiguous`: it is on a census name list and is neither an English word, medical
  vocabulary nor clinical shorthand ("Vasquez", "healey"); a rare surname one typo from a
  word ("stabel") only when written as a proper noun;
- `capitalised`: in a note written in mixed case, a list name or a word no dictionary knows,
  with a capital in the middle of a sentence ("Rich", "Przybylo"; not "Neuro": shorthand);
- `title` / `role` / `relative` / `initial`: context makes a word a name when it is a list
  name or not a dictionary word ("dr small", "son bill", "Lally, RN", "Hank Przybylo (son)",
  "D. Phyl"); notes in capitals get these rules and the lists ("MS:" is mental status);
- a signature: one or two name-like words with a role at the end of a line, after a sentence
  end ("... this time. q. lander rrt", "Mary Hulse, R.N.").
A word found once is a name everywhere in the note (unless it is also a dictionary word);
initials and name-like words next to a name join it ("ROBERT V. DEGIORGIO", "Stord-Painter").
"""

from __future__ import annotations

import bisect

import regex as re
from presidio_analyzer import EntityRecognizer, RecognizerResult

from medllm.trust.privacy.lexicon import (
    CLINICAL_WORDS, NOT_NAMES, RELATIVE, ROLE_AFTER, STOPWORDS, TITLES, Lexicon,
)

TOKEN = re.compile(r"[A-Za-z][A-Za-z']*")

# Words before a name
ROLE_BEFORE = frozenset("""
np rn md resident attending fellow intern pcp sw nurse physician surgeon
therapist pt/ot rt cardiologist intensivist neurologist hospitalist dict dictated signed
caseworker chaplain chapl pastor priest rabbi interpreter translator counselor
""".split())
# Family words proper (not "friend", "proxy", "social"): after one of these, a list name that is
# also a dictionary word ("son Furrow called", "daughter Hope in to visit") is a name when the
# phrase closes right after it, unless it says how the relative is or what they do
KIN = RELATIVE - frozenset("friend friends neighbor proxy hcp guardian inlaw law social partner".split())
KIN_STATES = frozenset("""
still just also again always never already soon now then there here home well fine good ok okay
upset present aware concerned tearful anxious supportive involved asleep teary emotional
distraught angry happy pleased calm sad very much all both says said states stated feels felt
wants wanted agrees agreed understands left came stayed arrived returned died passed lives lived
works worked will can may might must would could should does did has had is was are were been
""".split())
# Words of time and manner that are also surnames and medical words: "wife daily visits"
WHEN_WORDS = frozenset("""daily early first last later often twice once finally initially briefly
frequently regularly constant below during course""".split())
# Words that may follow a relative's name (besides what `_named_after` takes)
KIN_CLOSERS = frozenset("""regarding re about will would has had says said states stated wants
wanted asked spoke came left brought took on to for with""".split())
# Words after a name that say someone was told: "Smith aware", "KOWALCZYK NOTIFIED"
INFORMED = frozenset("aware notified paged informed updated".split())
# Words before a name in charting: "seen by Okafor", "per Lindqvist"
AGENT_BEFORE = frozenset("by per".split())
# Acts of a person that come right after their name: "Okafor called", "son Linden phoned"
COMM_AFTER = frozenset("called calls phoned phones visited visits consented reports reported".split())
TITLED_VERBS = frozenset("""was is has had will did does remains remained continues continued states
stated says said seems seemed appears appeared""".split())
PLACE_BEFORE = frozenset("of from in at near".split())
# Speech before a name: "spoke with Okafor", "talked to Lindqvist", "paged Okafor"
SPEECH_BEFORE = frozenset("spoke speaking talked talking discussed met consult consulted".split())
REACHED_BEFORE = frozenset("called paged notified informed updated phoned contacted".split())
_CUES = TITLES | ROLE_BEFORE | RELATIVE | ROLE_AFTER
_TITLE_GAP = re.compile(r"\.[ \t]{0,2}|[ \t]{1,2}")
_CONTEXT_GAP = re.compile(r"[ \t]{0,2}[,:-]?[ \t]{0,2}")
_TITLECASE = re.compile(r"(?:Mc|Mac|O'|D'|De|Di|La|Le|Van)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?")
_APOSTROPHE_NAME = re.compile(r"[od]'[a-z]")
_KIN_AFTER_GAP = re.compile(r" ?\(|, (?:his|her|pt's) ")
_JOIN_GAP = re.compile(r"\.?[ \t]{1,2}|-")
# A signature: after a sentence end or a line start, an optional initial and one or two words,
# then a role, at the end of the line. Bounded quantifiers only (no backtracking blow-up).
_SIGNATURE = re.compile(
    r"(?:^|(?<=[.!?;]))[ \t]{0,4}(?P<who>(?:[A-Za-z]\.[ \t]?)?[A-Za-z][A-Za-z'-]{1,30}"
    r"(?:[ \t][A-Za-z][A-Za-z'-]{1,30})?)(?:,[ \t]{0,3}|[ \t]{1,3})"
    r"(?:RN|R\.N|RRT|MD|M\.D|NP|CNM|LPN|CRNA|PHD|LICSW|LCSW|MSW|PHARMD|RPH|CRNP)\.?[ \t]*$",
    re.IGNORECASE | re.MULTILINE)


# A patient introduced by title and age: "Mr. Kowal Se is a 70 y/o", "MRS ANNA KOWAL IS AN 82 YO":
# every word between the title and "is a(n) <age>" is the name (bounded, no backtracking blow-up)
_INTRODUCED = re.compile(
    r"\b(?:mr|mrs|ms|miss)\.?[ \t]{1,2}(?P<who>[A-Za-z][A-Za-z'-]{0,30}(?:[ \t][A-Za-z][A-Za-z'-]{0,30}){0,2}),?"
    r"[ \t]{1,2}(?:is|was)[ \t]an?[ \t]{1,2}\d{1,3}[ \t-]?(?:y|yr|year|m\b|f\b)", re.IGNORECASE)


def _index_at(toks: list[tuple[int, int, str]], start: int) -> int | None:
    i = bisect.bisect_left(toks, start, key=lambda t: t[0])
    return i if i < len(toks) and toks[i][0] == start else None


_SCORES = {"site_name": 0.85, "unambiguous": 0.7, "capitalised": 0.6, "title": 0.9, "role": 0.8,
           "relative": 0.8, "propagated": 0.75, "joined": 0.7, "initial": 0.7, "listed": 0.7}
_LIST_GAP = re.compile(r"[ \t]{0,2}[,&/+][ \t]{0,2}")


class ClinicalNameRecognizer(EntityRecognizer):
    """Census name lists + dictionaries + context words (see the module docstring)."""

    def __init__(self, lexicon: Lexicon):
        self.lex = lexicon
        super().__init__(supported_entities=["PERSON"], name="ClinicalNameRecognizer",
                         supported_language="en")

    def load(self) -> None:
        pass

    # -- word classes ------------------------------------------------------------------------

    def _candidate(self, w: str, proper: bool = False) -> bool:
        """Could be a name when context says so: a list name (even "Foley", "Ed", "Small")
        or a word no dictionary or shorthand list knows ("Przybylo") and, unless written as a
        proper noun, not one typo away from a word ("visisted")."""
        if w in STOPWORDS or w in _CUES or w in NOT_NAMES or len(w) < 2:
            return False
        if self.lex.is_name(w):
            return True
        if self.lex.is_common(w) or w in CLINICAL_WORDS:
            return False
        return proper or not self.lex.near_common(w)

    def _unambiguous(self, w: str, proper: bool = False) -> bool:
        """A list name no dictionary knows. A rare surname one typo away from a word ("stabel",
        "bein") counts only when written as a proper noun in a mixed-case note (`proper`)."""
        lex = self.lex
        return (len(w) >= 3 and w not in STOPWORDS and lex.is_name(w) and not lex.is_common(w)
                and not lex.is_clinical(w)
                and (w in lex.site.names or w in lex.common_names or proper or not lex.near_common(w)))

    def _named_after(self, i: int, toks: list[tuple[int, int, str]], low: list[str], text: str) -> bool:
        """After a kin word, a rare word one typo from a dictionary word ("dtr Maeve") is a
        name when what follows it closes the phrase (punctuation, "and", a telling verb), not
        when a sentence goes on ("son visted today": a misspelling)."""
        if i + 1 >= len(toks):
            return True
        g = text[toks[i][1]:toks[i + 1][0]]
        return bool(re.search(r"[,.;:()\n-]", g)) or low[i + 1] in INFORMED or low[i + 1] in (
            "and", "is", "was", "called", "visited", "in", "at", "here", "present", "who", "phoned")

    def _acted(self, i: int, toks: list[tuple[int, int, str]], low: list[str], text: str) -> bool:
        """Word i is followed by what a person does: "X called", "X in to visit", "X was updated"."""
        if i + 1 >= len(toks) or text[toks[i][1]:toks[i + 1][0]] not in (" ", "  ", ", "):
            return False
        nxt = low[i + 1]
        after = low[i + 2] if i + 2 < len(low) else ""
        if text[toks[i][1]:toks[i + 1][0]] == ", ":  # "son Bunion, visited": the act only
            return nxt in COMM_AFTER
        return nxt in COMM_AFTER or (nxt == "in" and after in ("to", "visiting")) or (
            nxt in ("was", "is", "were") and after in INFORMED | {"called", "here", "present", "visiting"})

    def _kin_named(self, i: int, toks: list[tuple[int, int, str]], low: list[str], text: str) -> bool:
        """After a kin word: a list name that is also a dictionary word, not a state or an act
        ("son upset", "wife still at bedside", "dtr visited"), with the phrase closing after it."""
        w = low[i]
        if not (len(w) >= 3 and self.lex.is_name(w) and w not in STOPWORDS and w not in _CUES
                and w not in NOT_NAMES and w not in KIN_STATES and w not in WHEN_WORDS
                and not w.endswith(("ed", "ing", "ly"))):
            return False
        if self.lex.is_clinical(w):
            # a surname that is also a medical word ("son Bunion called"): only where what
            # follows says a person acted, or it stands between commas ("his son, Bunion, called")
            if w in CLINICAL_WORDS or w in self.lex.site.safe or w in WHEN_WORDS:
                return False
            return self._acted(i, toks, low, text) or (
                text[toks[i - 1][1]:toks[i][0]] == ", " and i + 1 < len(toks)
                and text[toks[i][1]:toks[i + 1][0]] == ", ")
        if self._named_after(i, toks, low, text) or (i + 1 < len(low) and low[i + 1] in KIN_CLOSERS):
            return True
        # a surname after it, then the phrase closes: "son cabot tamez regarding", "DAUGHTER BIRT VINCENT."
        j = i + 1
        return (j < len(low) and text[toks[i][1]:toks[j][0]] == " " and self.lex.is_name(low[j])
                and not self.lex.is_everyday(low[j]) and not self.lex.is_clinical(low[j])
                and (self._named_after(j, toks, low, text) or (j + 1 < len(low) and low[j + 1] in KIN_CLOSERS)))

    # -- detection ---------------------------------------------------------------------------

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, rule) of every name word."""
        toks = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
        low = [t[2].lower().removesuffix("'s").strip("'") for t in toks]
        # capitals tell names only in notes written in mixed case (not in capitals, not all
        # in lower case)
        letters = sum(c.isalpha() for c in text) or 1
        capital_words = sum(t[2][0].isupper() for t in toks) / (len(toks) or 1)
        mixed_case = sum(c.isupper() for c in text) / letters < 0.5 and capital_words > 0.08
        rule: dict[int, str] = {}
        lex = self.lex
        n = len(toks)

        def gap(i: int) -> str:  # the characters between word i and word i + 1
            return text[toks[i][1]:toks[i + 1][0]] if i + 1 < n else ""

        for i, w in enumerate(low):
            tok = toks[i][2]
            if "'" in w and not _APOSTROPHE_NAME.match(w):
                # "con't", "can't": not names ("O'Brien" is); after a title, one letter and an
                # apostrophe open a surname ("dr. n'dour")
                if i and low[i - 1] in TITLES and _TITLE_GAP.fullmatch(gap(i - 1)) \
                        and re.fullmatch(r"[a-z]'[a-z]{2,}", w):
                    rule[i] = "title"
                continue
            proper = mixed_case and tok[0].isupper()
            if w in lex.site.names and w not in STOPWORDS and len(w) >= 2 and (
                    proper or not mixed_case or not lex.is_common(w)):
                rule[i] = "site_name"
            elif self._unambiguous(w, proper=mixed_case and tok[0].isupper() and tok[1:].islower()):
                rule[i] = "unambiguous"
            elif (mixed_case and tok[0].isupper() and not tok.isupper() and i > 0
                  and not re.search(r"[.:;!?\n]\s*$", gap(i - 1)) and w not in STOPWORDS
                  and not lex.is_clinical(w) and w not in NOT_NAMES and (lex.is_name(w) or (
                      len(w) >= 4 and _TITLECASE.fullmatch(tok) and not lex.is_common(w)
                      and not lex.near_common(w)))):
                rule[i] = "capitalised"  # "Rich", "Przybylo" mid-sentence; not "Neuro"
            # context before the word
            if i == 0:
                continue
            prev, g = low[i - 1], gap(i - 1)
            if prev in TITLES and _TITLE_GAP.fullmatch(g) and self._candidate(w, proper or not mixed_case) and (
                    prev != "ms" or toks[i - 1][2] == "Ms"):  # "MS:" is mental status
                rule.setdefault(i, "title")
            elif (prev in ROLE_BEFORE or prev in RELATIVE) and _CONTEXT_GAP.fullmatch(g) and (
                    self._candidate(w, proper or (prev in RELATIVE and self._named_after(i, toks, low, text)))) \
                    and (proper or w in lex.common_names or not lex.is_common(w)) \
                    and w not in WHEN_WORDS:  # not "dtr died", "wife daily visits"
                rule.setdefault(i, "relative" if prev in RELATIVE else "role")
            elif prev in KIN and _CONTEXT_GAP.fullmatch(g) and self._kin_named(i, toks, low, text):
                rule.setdefault(i, "relative")  # "son furrow called", "daughter Hope in to visit"
            elif prev in KIN and _CONTEXT_GAP.fullmatch(g) and i + 1 < n and gap(i) == " " \
                    and lex.is_name(w) and w not in STOPWORDS and w not in _CUES and w not in KIN_STATES \
                    and w not in WHEN_WORDS and not lex.is_clinical(w) and len(low[i + 1]) >= 3 and lex.is_name(low[i + 1]) \
                    and not lex.is_common(low[i + 1]) and not lex.is_clinical(low[i + 1]) \
                    and low[i + 1] not in STOPWORDS and low[i + 1] not in _CUES \
                    and (not mixed_case or (tok[0].isupper() and toks[i + 1][2][0].isupper())):
                # "DAUGHTER SOFTLY KOWALCZYK": a first word that is also a word, then a surname
                rule.setdefault(i, "relative")
                rule.setdefault(i + 1, "relative")
        # a first and a last name, both capitalised and neither everyday English, where a sentence
        # starts ("Yow Vosburgh arrived in micu"), in a mixed-case note
        for i in range(n - 1):
            a, b = toks[i][2], toks[i + 1][2]
            if mixed_case and i not in rule and gap(i) == " " and _TITLECASE.fullmatch(a) \
                    and _TITLECASE.fullmatch(b) and low[i] in lex.first_names and lex.is_name(low[i + 1]) \
                    and low[i + 1] in lex.last_names \
                    and not any(lex.is_everyday(x) or lex.is_clinical(x) or x in STOPWORDS or x in _CUES
                                for x in (low[i], low[i + 1])):
                rule[i] = "joined"
                rule.setdefault(i + 1, "joined")
        # an initial and a full stop before a name-like word: "D. Phyl", "q. lander" (not "E. coli")
        for i in range(1, n):
            t0, w = toks[i - 1][2], low[i]
            start = toks[i - 1][0]
            if len(t0) == 1 and t0.lower() not in "aio" and gap(i - 1) in (". ", ".  ") \
                    and (start == 0 or text[start - 1] in " \t\n(,;") \
                    and (toks[i][2][0].isupper() or not mixed_case) and w not in lex.medical_words \
                    and self._candidate(w, mixed_case) and (w in lex.common_names or not lex.is_common(w)):
                rule.setdefault(i, "initial")
                rule.setdefault(i - 1, "initial")
        # a title and a surname that is also a function word: "Mr. To was", "mrs by has" (a
        # title of address is followed by a name; a verb after it says the name was that word)
        for i in range(1, n - 1):
            if low[i - 1] in ("mr", "mrs", "miss") or toks[i - 1][2] == "Ms":
                if i not in rule and low[i] in STOPWORDS and low[i] in lex.last_names \
                        and _TITLE_GAP.fullmatch(gap(i - 1)) and gap(i) == " " and low[i + 1] in TITLED_VERBS:
                    rule[i] = "title"
        # a title and a lone capital: "mr I remained", "Dr. K" (not "MS:", mental status)
        for i in range(1, n):
            t = toks[i][2]
            if len(t) == 1 and t.isupper() and low[i - 1] in ("mr", "mrs", "dr") \
                    and _TITLE_GAP.fullmatch(gap(i - 1)) and (i + 1 >= n or gap(i)[:1] in (" ", ".", ",", "'")):
                rule.setdefault(i, "title")
        # a signature ending its line: "... this time. q. lander rrt", "Mary Hulse, R.N." (the
        # words may be dictionary words there: "lander", "rich")
        for m in _SIGNATURE.finditer(text, timeout=1.0):
            for k, tm in enumerate(TOKEN.finditer(m.group("who"))):
                w = tm.group().lower()
                if len(w) > 1 and (w in STOPWORDS or w in _CUES or w in CLINICAL_WORDS or w in NOT_NAMES
                                   or w in lex.medical_words or not (lex.is_name(w) or not lex.is_common(w))):
                    break  # "Notify MD", "will page md": not signatures
            else:
                base = m.start("who")
                for tm in TOKEN.finditer(m.group("who")):
                    i = _index_at(toks, base + tm.start())
                    if i is not None:
                        rule.setdefault(i, "role")
        for m in _INTRODUCED.finditer(text, timeout=1.0):
            if m.group("who").split()[0].lower() in STOPWORDS:
                continue  # "Mr. is a": nothing named
            base = m.start("who")
            for tm in TOKEN.finditer(m.group("who")):
                i = _index_at(toks, base + tm.start())
                if i is not None and low[i] not in STOPWORDS:
                    rule.setdefault(i, "title")
        # context after: "Jacobson, RN", "Hank Przybylo (son)"
        for i in range(n - 1):
            if low[i + 1] == "family" and gap(i) == " " and self._candidate(low[i]) \
                    and (not lex.is_common(low[i]) or low[i] in lex.common_names) \
                    and low[i] not in lex.medical_words:  # a surname that is also a word, too
                rule.setdefault(i, "relative")  # "KEEP ROMERO FAMILY AWARE"
            if low[i + 1] in RELATIVE and _KIN_AFTER_GAP.fullmatch(gap(i)) and self._candidate(low[i]) \
                    and ((mixed_case and toks[i][2][0].isupper()) or low[i] in lex.common_names
                         or not lex.is_common(low[i])):
                rule.setdefault(i, "relative")
            if low[i + 1] in ROLE_AFTER and _CONTEXT_GAP.fullmatch(gap(i)) and self._candidate(low[i]) \
                    and ((mixed_case and toks[i][2][0].isupper()) or not lex.is_common(low[i])
                         or (gap(i) in (",", ", ") and _TITLECASE.fullmatch(toks[i][2]) is not None
                             and lex.is_name(low[i]) and toks[i + 1][2].isupper())):
                rule.setdefault(i, "role")  # "Jacobson, RN"; "Patt Younger,MD" even in a lower-case note
            # "Okafor aware", "KOWALCZYK NOTIFIED": someone told; not "team aware", "MICU aware"
            if low[i + 1] in INFORMED and gap(i) in (" ", "  ") and len(low[i]) >= 3 \
                    and self._candidate(low[i], mixed_case and toks[i][2][0].isupper()) \
                    and not lex.is_common(low[i]) and low[i] not in lex.medical_words \
                    and (not mixed_case or toks[i][2][0].isupper()):
                rule.setdefault(i, "role")
            # "seen by Okafor", "per Lindqvist" in a mixed-case note: not "by mouth", "per
            # protocol", "by EGD", "by Fick" (eponyms, acronyms and capitals say nothing there)
            nxt = toks[i + 1][2]
            if mixed_case and low[i] in AGENT_BEFORE and gap(i) in (" ", "  ") and len(nxt) >= 3 \
                    and _TITLECASE.fullmatch(nxt) and self._candidate(low[i + 1], True) \
                    and not lex.is_common(low[i + 1]) and not lex.is_clinical(low[i + 1]) \
                    and not lex.near_common(low[i + 1]):
                rule.setdefault(i + 1, "role")
        for i in range(n):
            w, tok = low[i], toks[i][2]
            rare = (len(w) >= 3 and w not in STOPWORDS and w not in _CUES and w not in NOT_NAMES
                    and lex.is_name(w) and not lex.is_common(w) and not lex.is_clinical(w)
                    and (not mixed_case or tok[0].isupper()))
            if i in rule:
                continue
            listed = (len(w) >= 2 and lex.is_name(w) and w not in STOPWORDS and w not in _CUES
                      and w not in NOT_NAMES and w not in KIN_STATES and w not in CLINICAL_WORDS
                      and w not in lex.site.safe and w not in WHEN_WORDS and not w.endswith(("ed", "ing", "ly")))
            if listed and self._acted(i, toks, low, text) and (
                    (mixed_case and _TITLECASE.fullmatch(tok) and not lex.is_everyday(w)
                     and (not lex.is_common(w) or w in lex.common_names or not (i == 0 or re.search(r"[.:;!?\n]\s*$", gap(i - 1)))))
                    or (i >= 1 and low[i - 1] == "social" and re.fullmatch(r"[ \t]{0,2}[:-]+[ \t]{0,3}", gap(i - 1)))):
                # "psych doctor Kamal phoned"; "social: weller visited" (what follows a social
                # heading and acts is a visitor, even when the name is also a word)
                rule[i] = "role"
                continue
            # "Kowal is family contact", "bunion is the health care proxy"
            listed = listed and not lex.is_clinical(w)
            if listed and i + 2 < n and low[i + 1] == "is" and gap(i) == " " and (
                    (lex.is_name(w) and not lex.is_everyday(w)) or (mixed_case and tok[0].isupper())) \
                    and re.match(r" (?:the |pt's |his |her |pts |patient's )?(?:family |health ?care )?"
                                 r"(?:contact|proxy|hcp|spokesperson|spokesman|guardian|interpreter)\b",
                                 text[toks[i + 1][1]:toks[i + 1][1] + 60], re.IGNORECASE):
                rule[i] = "relative"
                continue
            if not rare or (i >= 1 and low[i - 1] in PLACE_BEFORE):
                continue  # "nephew of towson visited": a place
            # "bradberry called early", "Okafor phoned": a rare list name and an act of a person
            if self._acted(i, toks, low, text):
                rule[i] = "role"
            # "spoke with lindqvist", "paged okafor", "per okafor": speech or a page before it
            elif i >= 1 and gap(i - 1) in (" ", "  ") and (
                    low[i - 1] in REACHED_BEFORE or low[i - 1] in AGENT_BEFORE
                    or (low[i - 1] in ("with", "to") and i >= 2 and low[i - 2] in SPEECH_BEFORE)):
                rule[i] = "role"
            # two rare list names side by side: "consult with christner musial"; a misspelling
            # may be one typo from a word, two in a row that are both surnames are a name
            elif i + 1 < n and gap(i) == " " and len(low[i + 1]) >= 3 and low[i + 1] not in STOPWORDS \
                    and low[i + 1] not in _CUES and lex.is_name(low[i + 1]) and not lex.is_common(low[i + 1]) \
                    and not lex.is_clinical(low[i + 1]) and (not mixed_case or toks[i + 1][2][0].isupper()):
                rule[i] = "joined"
                rule.setdefault(i + 1, "joined")
        # a name once is a name throughout the note (not from the weakest rule)
        found = {low[i] for i, r in rule.items() if r != "capitalised" and len(low[i]) >= 3
                 and self._candidate(low[i])}
        for i, w in enumerate(low):
            if i not in rule and w in found and (
                    not self.lex.is_common(w) or (mixed_case and toks[i][2][0].isupper())):
                rule[i] = "propagated"  # but not "small" in "small amount" after "Dr Small"
        # names in lists: "Drs Okafor and Lindqvist", "sons Tomas, Rafe & Ilan"
        changed = True
        while changed:
            changed = False
            for i in sorted(rule):
                if rule[i] == "capitalised":
                    continue
                js = []
                if i + 1 < n and _LIST_GAP.fullmatch(gap(i)):
                    js.append(i + 1)
                elif i + 2 < n and low[i + 1] in ("and", "or") and gap(i) in (" ", ", ") and gap(i + 1) == " ":
                    js.append(i + 2)
                # and backwards, across a title: "Ostrow and Drs Lindqvist and Okafor aware"
                k = i - 1 if i >= 1 and low[i - 1] in TITLES and _TITLE_GAP.fullmatch(gap(i - 1)) else i
                if k >= 2 and low[k - 1] in ("and", "or") and gap(k - 1) == " " and gap(k - 2) in (" ", ", ") \
                        and rule[i] != "propagated":
                    js.append(k - 2)
                for j in js:
                    w, t = low[j], toks[j][2]
                    if j in rule or len(w) < 2 or not self._candidate(w, mixed_case and t[0].isupper()):
                        continue
                    if (mixed_case and t[0].isupper()) or (not mixed_case and (w in lex.common_names or not lex.is_common(w))):
                        rule[j] = "listed"
                        changed = True
        # join initials and list names next to a name ("Joyce Jacobson", "ROBERT V. DEGIORGIO")
        changed = True
        while changed:
            changed = False
            for i in list(rule):
                for j in (i - 1, i + 1):
                    if j < 0 or j >= n or j in rule:
                        continue
                    g = gap(min(i, j))
                    if not _JOIN_GAP.fullmatch(g):
                        continue
                    t = toks[j][2]
                    # an initial: "V." in "ROBERT V. DEGIORGIO", "J Smith", "q. lander"
                    initial = len(t) == 1 and g != "-" and (
                        text[toks[j][1]:toks[j][1] + 1] == "." or (t.isupper() and t not in "AIO"))
                    w = low[j]
                    wordlike = (w not in STOPWORDS and w not in _CUES and len(w) >= 2
                                and (not mixed_case or t[0].isupper())
                                and (not self.lex.is_clinical(w) or (mixed_case and self.lex.is_name(w)
                                                                     and w not in CLINICAL_WORDS))
                                and w not in NOT_NAMES
                                and ((self.lex.is_name(w) and (w in self.lex.common_names or not self.lex.is_common(w)))
                                     or not (self.lex.is_common(w) or (not mixed_case and self.lex.near_common(w)))))
                    # "Mr. Raymonde tutt": a lower-case surname after a titled name
                    titled = (mixed_case and j == i + 1 and i >= 1 and low[i - 1] in TITLES
                              and _TITLE_GAP.fullmatch(gap(i - 1)) is not None and t.islower() and len(w) >= 3
                              and w in self.lex.last_names and not self.lex.is_everyday(w)
                              and not self.lex.is_clinical(w) and w not in STOPWORDS)
                    # "Bernard Foley": an eponym after a first name, in a mixed-case note
                    surname = (mixed_case and j == i + 1 and low[i] in self.lex.first_names
                               and _TITLECASE.fullmatch(t) is not None and self.lex.is_name(w))
                    # "Yow Vosburgh arrived": a first name (even a word) capitalised before a name
                    given = (mixed_case and j == i - 1 and low[j] in self.lex.first_names
                             and _TITLECASE.fullmatch(t) is not None and not t.isupper()
                             and rule[i] not in ("capitalised", "propagated") and toks[i][2][0].isupper()
                             and w not in STOPWORDS and w not in _CUES and w not in NOT_NAMES
                             and not self.lex.is_clinical(w) and g == " ")
                    if initial or wordlike or surname or titled or given:
                        rule[j] = "joined"
                        changed = True
        return [(toks[i][0], toks[i][1], r) for i, r in sorted(rule.items())]

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [RecognizerResult("PERSON", s, e, _SCORES[r], recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id, "pattern": r})
            for s, e, r in self.find(text)]
