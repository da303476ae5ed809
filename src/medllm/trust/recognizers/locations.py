"""Places smaller than a state: hospitals, towns, streets, ZIP codes.

- `site_place`: a word the site lexicon learned as a place ("GH", a unit named after a donor);
- `institution`: the proper words before "Hospital", "Rehab", "Medical Center" ... ("CALVERT
  HOSPITAL", "Kessler-Adventist Hosp"), not generic ones ("outside hospital");
- `city`: a city or county from the gazetteer after a place word ("lives in", "from", "to")
  or, in mixed-case notes, any capitalised gazetteer name that is not an English word;
- `street`, `city_state`, `zip`: address patterns.
States and countries stay: Safe Harbor allows them.
"""

from __future__ import annotations

import regex as re
from presidio_analyzer import EntityRecognizer, RecognizerResult

from medllm.trust.privacy.lexicon import CLINICAL_WORDS, STOPWORDS, Lexicon
from medllm.trust.recognizers.names import KIN

TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
INSTITUTION = frozenset("""
hospital hosp hospitals center ctr clinic rehab rehabilitation manor healthcare hospice
infirmary institute pavilion
""".split())
# words between a place's own name and the institution word: "Calvert Memorial Hospital"
INSTITUTION_KIND = frozenset("""
medical health nursing care general memorial community rehab rehabilitation regional
university children's childrens women's state county surgical
""".split())
GENERIC = frozenset("""
outside osh local community general this that their our the a an other another previous prior
same rehab psych psychiatric state university nursing acute chronic care long term private
transfer from to at in into va vna hospital medical center city county new old home his her
""".split())
# "lives in Catonsville": after these, a word no dictionary knows is a place
RESIDENCE = frozenset("lives live living resides reside resided moved born vacationing relocated".split())
PLACE_WORDS = frozenset("""
in from to at near lives live living resides reside resident moved vacationing visiting
transferred transfer tx trans returned return admitted home born
""".split())
# "transferred to X", "sent from X": a moving verb, then to/from/at and a word no dictionary or
# shorthand list knows is a place (a hospital, a ward named after someone, a town)
MOVE = frozenset("""transferred transfered transfering transferring transfer trans tx txd txf xfer
xferred sent admitted admit discharged discharge dc'd dcd dced c'd returned return returning
arrived arriving came come coming went going go goes accepted accepting screened screening bound
headed medflighted flown flew brought referred refered referral followed adm""".split())
MOVE_PREP = frozenset("to from at into by".split())
_ICU = re.compile(r"[a-z]{0,4}(?:icu|ccu|cu|ed|er|or|ir)$")  # "tsicu", "cvicu": units, not places
UNIVERSITY = frozenset("u univ university".split())
_ST = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
       "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split()
_STREET = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
           r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|pike)")
PATTERNS = (
    ("street", re.compile(rf"(?P<v>\b\d{{1,6}}\s(?:[NSEW]\.?\s)?(?:[A-Z0-9][A-Za-z0-9']*\s){{1,3}}(?i:{_STREET}))\b\.?")),
    ("city_state", re.compile(rf"(?P<v>\b[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}),\s(?:{'|'.join(_ST)})\b(?!\s*\d{{1,2}}\b)")),
    ("zip", re.compile(rf"\b(?:{'|'.join(_ST)})\s(?P<v>\d{{5}}(?:-\d{{4}})?)\b")),
    ("zip_label", re.compile(r"(?i:\bzip(?:\s?code)?\s?[:#]?\s?)(?P<v>\d{5}(?:-\d{4})?)\b")),
)
_STREET_ABBREVIATIONS = frozenset("st rd ave blvd ln dr ct pl ter cir pkwy hwy sq trl".split())
_STATES = frozenset("""alabama alaska arizona arkansas california colorado connecticut delaware
florida georgia hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland
massachusetts michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming""".split()) | {
    "new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota",
    "rhode island", "south carolina", "south dakota", "west virginia"}
_GLUE = re.compile(r"[ \t-]{1,3}")  # what may separate the words of one name
_SCORES = {"moved": 0.6, "university": 0.8, "site_place": 0.8, "institution": 0.75, "city": 0.6, "city_cue": 0.8, "saint": 0.8, "residence": 0.75, "street": 0.85,
           "city_state": 0.85, "zip": 0.9, "zip_label": 0.9}


class ClinicalLocationRecognizer(EntityRecognizer):
    def __init__(self, lexicon: Lexicon, timeout_s: float = 1.0):
        self.lex = lexicon
        self.timeout_s = timeout_s
        super().__init__(supported_entities=["LOCATION"], name="ClinicalLocationRecognizer",
                         supported_language="en")

    def load(self) -> None:
        pass

    def _proper(self, w: str) -> bool:
        """A word that can be part of a place's name (not generic, not clinical shorthand)."""
        return (w not in GENERIC and w not in STOPWORDS and w not in CLINICAL_WORDS
                and w not in self.lex.medical_words and len(w) > 1)

    def _moved_to(self, w: str, tok: str, mixed_case: bool) -> bool:
        """A word that names where someone was moved: not generic, not a dictionary or clinical
        word, not a unit ("MICU"), capitalised in a mixed-case note."""
        acronym = mixed_case and tok.isupper() and 2 <= len(tok) <= 5  # "GH": a hospital's initials
        # a rare dictionary entry ("Ceres", "KOSONG") may be a place there; a misspelling
        # ("flor") may not, unless the gazetteer knows it ("Kleve")
        return (w.isalpha() and (len(w) >= 3 or acronym) and self._proper(w) and not self.lex.is_everyday(w)
                and not self.lex.is_clinical(w)
                and not _ICU.fullmatch(w) and w not in _STATES and (not mixed_case or tok[0].isupper())
                and (w in self.lex.places or not self.lex.near_common(w)))

    @staticmethod
    def _moved_before(k: int, low: list[str]) -> bool:
        """Word `k` comes right after a moving verb and its preposition ("transferred to"), or
        after a preposition a few words on from one ("to go this afternoon 4pm, to X")."""
        if k < 2 or low[k - 1] not in MOVE_PREP:
            return False
        return low[k - 2] in MOVE or (k >= 3 and low[k - 2] in ("the", "a") and low[k - 3] in MOVE) \
            or (low[k - 1] == "to" and any(low[m] in MOVE for m in range(max(0, k - 7), k - 2)))

    def _titled_word(self, j: int, toks: list[tuple[int, int, str]], low: list[str]) -> bool:
        """"Sacred", "Heart" in "Sacred Heart Memorial": a capitalised word (not in capitals)
        that is vocabulary but not shorthand or a generic word."""
        t = toks[j][2]
        return (t[0].isupper() and not t.isupper() and len(t) > 2 and low[j] not in GENERIC
                and low[j] not in STOPWORDS and low[j] not in CLINICAL_WORDS)

    def _street(self, match: str) -> bool:
        """"12 Oak Street", not "3 WAY FOLEY IN PLACE" or "2200 PER DR" in a note in capitals."""
        tokens = TOKEN.findall(match)
        words = [w.lower() for w in tokens][:-1]
        if match.isupper() and tokens[-1].lower() in _STREET_ABBREVIATIONS:
            return False  # "3 EPISODES ST" in a note in capitals: ST elevation, not Street
        return bool(words) and not any(w in STOPWORDS or w in CLINICAL_WORDS for w in words)

    def _institution(self, i: int, toks: list[tuple[int, int, str]], low: list[str],
                     text: str) -> tuple[int, int] | None:
        """The proper words before the institution word at `i` (past its kind: "Memorial")."""
        end = i
        while end - 1 >= 0 and low[end - 1] in INSTITUTION_KIND and i - end < 2:
            end -= 1
        j = end - 1
        while j >= 0 and end - j <= 3 and (self._proper(low[j]) or self._titled_word(j, toks, low)) \
                and _GLUE.fullmatch(text[toks[j][1]:toks[j + 1][0]]):
            j -= 1
        words = range(j + 1, end)
        # "to go to sacred heart hospital": after a moving verb and its preposition, the words
        # up to the institution word are its name, dictionary words too
        if not words or not self._moved_before(j + 1, low):
            k = end - 1
            while k >= 0 and end - k <= 3 and low[k] not in GENERIC and low[k] not in STOPWORDS \
                    and low[k] not in CLINICAL_WORDS and len(low[k]) > 1 \
                    and _GLUE.fullmatch(text[toks[k][1]:toks[k + 1][0]]):
                k -= 1
            if k + 1 < end and self._moved_before(k + 1, low):
                return toks[k + 1][0], toks[i][1]
        titled = all(toks[k][2][0].isupper() and not toks[k][2].isupper() for k in range(j + 1, i + 1))
        if words and (titled or any(not self.lex.is_common(low[k]) or self.lex.is_name(low[k]) for k in words)):
            return toks[j + 1][0], toks[i][1]  # the whole name: "Maryland Rehab", "Laurel Regional"
        # a name made of kind words alone ("Memorial Hospital"), capitalised, or after a moving
        # verb and its preposition ("transferred from MEMORIAL HOSPITAL")
        if end < i and low[end] not in ("medical", "nursing", "care", "health", "state", "county", "community") \
                and (all(toks[k][2][0].isupper() and not toks[k][2].isupper() for k in range(end, i + 1))
                     or (end >= 2 and low[end - 1] in MOVE_PREP and low[end - 2] in MOVE)):
            return toks[end][0], toks[i][1]
        return None

    def find(self, text: str) -> list[tuple[int, int, str]]:
        from medllm.trust.recognizers.base import DetectionTimeout

        toks = [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]
        low = [t[2].lower() for t in toks]
        letters = sum(c.isalpha() for c in text) or 1
        mixed_case = sum(c.isupper() for c in text) / letters < 0.5
        # a note written all in lower case says nothing by its capitals either
        caseless = not mixed_case or sum(t[2][0].isupper() for t in toks) < 0.03 * max(1, len(toks))
        lex = self.lex
        out: list[tuple[int, int, str]] = []
        n = len(toks)
        for i, w in enumerate(low):
            if w in lex.site.places and w not in STOPWORDS:
                out.append((toks[i][0], toks[i][1], "site_place"))
            if w in INSTITUTION or (w == "memorial" and i > 0 and low[i - 1] not in INSTITUTION_KIND
                                    and (i + 1 >= n or low[i + 1] not in INSTITUTION | INSTITUTION_KIND)):
                span = self._institution(i, toks, low, text)
                if span:
                    out.append((*span, "institution"))
            # "rehab (Sacred Heart Memorial)": a name in brackets right after an institution word
            if w in INSTITUTION and i + 1 < n and re.fullmatch(r"\s?\(", text[toks[i][1]:toks[i + 1][0]]):
                close = text.find(")", toks[i + 1][0])
                if 0 < close - toks[i + 1][0] <= 40 and "\n" not in text[toks[i + 1][0]:close]:
                    words = [low[k] for k in range(i + 1, n) if toks[k][1] <= close]
                    if words and any(self._proper(x) for x in words):
                        out.append((toks[i + 1][0], close, "institution"))
            # "St. Mary's", "ST AGNES": a saint's name is a place (the ST segment is "ST" alone)
            saint = low[i + 1].removesuffix("'s") if i + 1 < n else ""
            if w == "st" and i + 1 < n and re.fullmatch(r"\.? ?", text[toks[i][1]:toks[i + 1][0]]) \
                    and not text[max(0, toks[i][0] - 1):toks[i][0]].isdigit() \
                    and toks[i + 1][2][0].isupper() and lex.is_name(saint) and saint not in STOPWORDS \
                    and (saint in lex.common_names or not lex.is_common(saint)):  # not "1ST DEGREE"
                out.append((toks[i][0], toks[i + 1][1], "saint"))
            # "lives in Catonsville", "moved to Towson"
            # (up to two words between: "lives nearby in X", "lives with wife in X")
            for k in range(i + 1, min(i + 7, n - 1)):
                if w not in RESIDENCE or re.search(r"[\n.;!?]", text[toks[i][1]:toks[k][0]]):
                    break
                if low[k] in ("in", "to", "near", "at"):
                    if self._proper(low[k + 1]) and not lex.is_everyday(low[k + 1]) \
                            and (caseless or k == i + 1 or toks[k + 1][2][0].isupper() or low[k + 1] in lex.places):
                        out.append((toks[k + 1][0], toks[k + 1][1], "residence"))
                    break
            # "daughter Samsel of Hebron", "nephew, Neil Meitz of Towson": where a relative lives
            kin = next((k for k in range(i - 2, max(-1, i - 5), -1) if low[k] in KIN), None) \
                if w == "of" and 1 < i and low[i - 1] not in KIN else None
            if kin is not None and i + 1 < n and not re.search(r"[\n.;!?]", text[toks[kin][1]:toks[i][0]]) \
                    and self._proper(low[i + 1]) and not lex.is_everyday(low[i + 1]) \
                    and not lex.is_clinical(low[i + 1]) \
                    and (toks[i + 1][2][0].isupper() or low[i + 1] in lex.places):
                out.append((toks[i + 1][0], toks[i + 1][1], "residence"))
            # "transferred to X": X and the proper words right after it
            # ("ADM TO THE LOBATSE": an article may come between)
            x = i + 3 if i + 3 < n and i + 1 < n and low[i + 1] in MOVE_PREP and low[i + 2] == "the" else i + 2
            if w in MOVE and x < n and low[i + 1] in MOVE_PREP and text[toks[x][0] - 1] in " \t\n(\"'" \
                    and self._moved_to(low[x], toks[x][2], not caseless):
                j = x
                while j + 1 < n and j - i < 4 + x - i - 2 and _GLUE.fullmatch(text[toks[j][1]:toks[j + 1][0]]) \
                        and self._moved_to(low[j + 1], toks[j + 1][2], not caseless):
                    j += 1
                out.append((toks[x][0], toks[j][1], "moved"))
            # "from kampen ew", "at Ridgeway ER": a rare word before an emergency room's name
            if w in ("from", "at", "to") and i + 2 < n and low[i + 2] in ("ew", "er", "ed") \
                    and text[toks[i + 1][1]:toks[i + 2][0]] == " " \
                    and self._moved_to(low[i + 1], toks[i + 1][2], not caseless):
                out.append((toks[i + 1][0], toks[i + 1][1], "moved"))
            # "U Maryland", "University of Iowa": a university named after a place
            if w in UNIVERSITY and i + 1 < n and text[toks[i][1]:toks[i + 1][0]] in (" ", " of ") \
                    and not text[max(0, toks[i][0] - 1):toks[i][0]].strip():
                k = i + 2 if low[i + 1] == "of" and i + 2 < n else i + 1
                words = [low[k]] + ([low[k] + " " + low[k + 1]] if k + 1 < n else [])
                if any(p in lex.places or p in _STATES for p in words) and toks[k][2][0].isupper():
                    end = toks[k + 1][1] if len(words) > 1 and words[1] in lex.places | _STATES else toks[k][1]
                    out.append((toks[i][0], end, "university"))
            # gazetteer: one, two or three words
            for k in (3, 2, 1):
                if i + k > n:
                    continue
                phrase = " ".join(low[i:i + k])
                if k > 1 and phrase in lex.site.places:
                    out.append((toks[i][0], toks[i + k - 1][1], "site_place"))
                    break
                if phrase not in lex.places or phrase in STOPWORDS or lex.is_clinical(phrase):
                    continue
                cue = i > 0 and (low[i - 1] in PLACE_WORDS or (i > 1 and low[i - 1] == "the" and low[i - 2] in PLACE_WORDS))
                cap = mixed_case and all(toks[x][2][0].isupper() for x in range(i, i + k))
                plain = not any(lex.is_common(low[x]) for x in range(i, i + k))
                if (cue and (cap or caseless) and (plain or k > 1)) or (cap and plain and k > 1) \
                        or (cap and plain and not lex.is_name(phrase)):
                    out.append((toks[i][0], toks[i + k - 1][1], "city_cue" if cue else "city"))
                    break
        for name, rx in PATTERNS:
            try:
                for m in rx.finditer(text, timeout=self.timeout_s):
                    if name == "street" and not self._street(m.group("v")):
                        continue
                    out.append((*m.span("v"), name))
            except TimeoutError:
                raise DetectionTimeout(f"{self.name}: pattern {name!r} ran over {self.timeout_s} s") from None
        return out

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        return [RecognizerResult("LOCATION", s, e, _SCORES[r], recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id, "pattern": r})
            for s, e, r in self.find(text)]
