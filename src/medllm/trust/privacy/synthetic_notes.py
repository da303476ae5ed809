"""Synthetic clinical notes with known PHI positions: a fixture for the REPLACEMENT code.

Faker (seeded) fills clinical templates (admission notes, discharge summaries, radiology reports,
nursing notes, referral letters) whose PHI is written through `NoteBuilder.phi`, so the gold
spans are exact by construction and all 18 Safe Harbor categories appear. The templates use the
same cue words the recognizers look for, so these notes say nothing about how well PHI is
DETECTED in real notes (that is `benchmarks/deid.py`, on real gold). Use them to test what
happens once spans are known: surrogates, date shifts, the vault, what crosses the gate.

Nothing here is real patient data.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from medllm.trust.privacy.detect import ALLOWED_PLACE_NAMES
from medllm.trust.recognizers import STATES
from medllm.types import Span


@dataclass
class SynthNote:
    id: str
    kind: str
    text: str
    phi: list[Span] = field(default_factory=list)


class NoteBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n = 0
        self.spans: list[Span] = []

    def add(self, text: str) -> NoteBuilder:
        self.parts.append(text)
        self.n += len(text)
        return self

    def phi(self, label: str, value: str) -> NoteBuilder:
        self.spans.append(Span(start=self.n, end=self.n + len(value), label=label, text=value))
        return self.add(value)

    def text(self) -> str:
        return "".join(self.parts)


def _fmt_date(d: date, rng: random.Random) -> str:
    fmts = ["%m/%d/%Y", "%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%m/%d/%y",
            "%m-%d-%Y", "%d-%b-%Y"]
    s = d.strftime(rng.choice(fmts))
    return s


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}",
                       f"+1 {a} {b} {c:04d}", f"{a}-{b}-{c:04d} ext. {rng.randint(10, 9999)}"])


def _city(fake) -> str:
    """A Faker city that is not also a state or country name ("Mary" + "land" = "Maryland"):
    those are allowed under Safe Harbor and no detector can tell them from the state."""
    while (city := fake.city()).lower() in ALLOWED_PLACE_NAMES:
        pass
    return city


def _code(rng: random.Random, shape: str) -> str:
    """'A' letter, '9' digit, other characters kept."""
    return "".join(rng.choice(string.ascii_uppercase) if ch == "A" else
                   str(rng.randrange(10)) if ch == "9" else ch for ch in shape)


def _vin(rng: random.Random) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    while True:
        v = "".join(rng.choice(chars) for _ in range(17))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v


class Patient:
    def __init__(self, fake, rng: random.Random):
        self.sex = rng.choice(["male", "female"])
        self.first = fake.first_name_male() if self.sex == "male" else fake.first_name_female()
        self.last = fake.last_name()
        self.middle = rng.choice(string.ascii_uppercase)
        old = rng.random() < 0.2
        self.age = rng.randint(90, 104) if old else rng.randint(18, 89)
        self.admit = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))
        self.dob = self.admit - timedelta(days=self.age * 365 + rng.randint(0, 364))
        self.mrn = _code(rng, rng.choice(["99999999", "999-99-99", "A9999999", "9999999"]))
        self.ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
        self.street = fake.street_address()
        self.city = _city(fake)
        self.state = rng.choice(STATES)
        self.zip = fake.zipcode()
        self.county = f"{fake.last_name()} County"
        self.phone = _phone(rng)
        self.email = fake.email()
        self.he = "he" if self.sex == "male" else "she"
        self.his = "his" if self.sex == "male" else "her"
        self.title = "Mr." if self.sex == "male" else rng.choice(["Ms.", "Mrs."])
        self.relative_first = fake.first_name()
        self.relative_last = self.last if rng.random() < 0.6 else fake.last_name()
        self.relation = rng.choice(["daughter", "son", "wife", "husband", "sister", "brother"])


def _name_variant(b: NoteBuilder, p: Patient, rng: random.Random) -> None:
    style = rng.randrange(4)
    if style == 0:
        b.phi("NAME", f"{p.first} {p.last}")
    elif style == 1:
        b.phi("NAME", f"{p.last}, {p.first}")
    elif style == 2:
        b.phi("NAME", f"{p.first} {p.middle}. {p.last}")
    else:
        b.phi("NAME", f"{p.last.upper()}, {p.first.upper()}")


def _age_phrase(b: NoteBuilder, p: Patient, rng: random.Random) -> None:
    if p.age > 89:
        style = rng.randrange(3)
        b.phi("AGE", str(p.age))
        b.add(["-year-old", " yo", " y/o"][style])
    else:
        b.add(f"{p.age}-year-old")


def _header(b: NoteBuilder, fake, p: Patient, rng: random.Random, title: str) -> None:
    b.add(f"{title}\n").add("Patient: ")
    _name_variant(b, p, rng)
    b.add("    MRN: ").phi("MRN", p.mrn).add("\nDOB: ").phi("DATE", _fmt_date(p.dob, rng))
    b.add("    Date of service: ").phi("DATE", _fmt_date(p.admit, rng)).add("\n")


def _dr(fake) -> str:
    return f"{fake.first_name()} {fake.last_name()}"


def admission_note(fake, rng: random.Random) -> NoteBuilder:
    p, b = Patient(fake, rng), NoteBuilder()
    _header(b, fake, p, rng, "ADMISSION NOTE")
    b.add("Attending: Dr. ").phi("NAME", fake.last_name()).add("\n\nHPI: ")
    b.add(f"{p.title} ").phi("NAME", p.last).add(" is a ")
    _age_phrase(b, p, rng)
    b.add(f" {p.sex} with a history of {rng.choice(['COPD', 'CHF', 'type 2 diabetes', 'CKD stage 3', 'atrial fibrillation'])} "
          f"who presents with {rng.choice(['shortness of breath', 'chest pain', 'fever and cough', 'confusion', 'abdominal pain'])} "
          f"for {rng.randint(2, 9)} days. Symptoms began on ")
    b.phi("DATE", (p.admit - timedelta(days=rng.randint(2, 9))).strftime(rng.choice(["%B %d", "%m/%d", "%b %d"])))
    b.add(f". {p.he.capitalize()} lives at ").phi("LOCATION", p.street).add(", ").phi("LOCATION", p.city)
    b.add(f", {p.state} ").phi("LOCATION", p.zip).add(f" with {p.his} {p.relation}, ")
    b.phi("NAME", f"{p.relative_first} {p.relative_last}").add(", who can be reached at ").phi("PHONE", p.phone)
    b.add(".\n\nSocial: Retired, previously worked in ").phi("LOCATION", p.county)
    b.add(". Drives; vehicle plate ").phi("VEHICLE", _code(rng, rng.choice(["9AAA999", "AAA-9999", "AA9 9AAA"])))
    b.add(" noted by security.\nInsurance: Medicare, Member ID: ").phi("HEALTH_PLAN", _code(rng, "9AA9-AA9-AA99"))
    b.add("\nSSN: ").phi("SSN", p.ssn).add("\n\nPlan: admit to medicine, telemetry, labs in AM.\n")
    b.add("Electronically signed by ").phi("NAME", _dr(fake)).add(", MD on ").phi("DATE", _fmt_date(p.admit, rng)).add("\n")
    return b


def discharge_summary(fake, rng: random.Random) -> NoteBuilder:
    p, b = Patient(fake, rng), NoteBuilder()
    _header(b, fake, p, rng, "DISCHARGE SUMMARY")
    dis = p.admit + timedelta(days=rng.randint(2, 12))
    b.add("Admission date: ").phi("DATE", _fmt_date(p.admit, rng)).add("   Discharge date: ").phi("DATE", _fmt_date(dis, rng))
    b.add("\nAccount #: ").phi("ACCOUNT", _code(rng, rng.choice(["9999999999", "AC-99999999", "99-9999999"])))
    b.add("\n\nHospital course: The patient is a ")
    _age_phrase(b, p, rng)
    b.add(f" {p.sex} admitted for {rng.choice(['pneumonia', 'NSTEMI', 'cellulitis', 'DKA', 'GI bleed'])}. ")
    b.add(f"{p.title} ").phi("NAME", p.last).add(" improved on antibiotics. A pacemaker was placed (device serial number ")
    b.phi("DEVICE", _code(rng, rng.choice(["AAA999999A", "99999-AAA", "PM9999999"]))).add(").\n")
    b.add("Discharge medications: metoprolol 25 mg BID, atorvastatin 40 mg daily.\n")
    b.add("Follow-up with Dr. ").phi("NAME", fake.last_name()).add(" on ").phi("DATE", _fmt_date(dis + timedelta(days=14), rng))
    b.add(" at the clinic, ").phi("LOCATION", fake.street_address()).add(", ").phi("LOCATION", _city(fake))
    b.add(f", {rng.choice(STATES)}. Clinic fax: ").phi("FAX", _phone(rng))
    b.add("\nPatient portal: ").phi("URL", f"https://portal.{fake.domain_name()}/patient/{rng.randint(10000, 99999)}")
    b.add("\nQuestions: ").phi("EMAIL", p.email).add("\n")
    b.add("Dictated by: ").phi("NAME", _dr(fake)).add(", MD\n")
    return b


def radiology_report(fake, rng: random.Random) -> NoteBuilder:
    p, b = Patient(fake, rng), NoteBuilder()
    _header(b, fake, p, rng, "RADIOLOGY REPORT")
    b.add("Accession #: ").phi("OTHER_ID", _code(rng, rng.choice(["AA99999999", "9999999-AA", "RAD-999999"])))
    b.add("\nOrdering physician: ").phi("NAME", _dr(fake)).add(f"\nExam: {rng.choice(['CT chest with contrast', 'MRI brain', 'CXR PA/lateral', 'CT abdomen/pelvis'])}\n")
    b.add("Workstation IP: ").phi("IP", fake.ipv4_private() if rng.random() < 0.8 else fake.ipv6()).add("\n")
    b.add("Comparison: prior study from ").phi("DATE", _fmt_date(p.admit - timedelta(days=rng.randint(30, 900)), rng))
    b.add(".\nFindings: No acute cardiopulmonary process. Implanted device UDI ")
    b.phi("DEVICE", f"(01){rng.randint(10**13, 10**14 - 1)}(21){_code(rng, 'AA9999')}")
    b.add(" noted in the left chest wall.\nImpression: Stable.\n")
    b.add("Key images: ").phi("PHOTO", f"{p.last.lower()}_{rng.randint(100, 999)}.{rng.choice(['jpg', 'png', 'dcm'])}")
    b.add("\nRead by: ").phi("NAME", _dr(fake)).add(", MD, license no. ").phi("LICENSE", _code(rng, rng.choice(["A99999", "AA-999999", "9999999"])))
    b.add("\n")
    return b


def nursing_note(fake, rng: random.Random) -> NoteBuilder:
    p, b = Patient(fake, rng), NoteBuilder()
    b.add(f"NURSING NOTE {rng.choice(['0700', '1500', '2300'])}  ").phi("DATE", _fmt_date(p.admit, rng)).add("\n")
    b.add("Pt ").phi("NAME", f"{p.first} {p.last}").add(", MRN ").phi("MRN", p.mrn).add(", ")
    _age_phrase(b, p, rng)
    b.add(f". Resting comfortably, VS stable. {p.he.capitalize()} asked to call {p.his} {p.relation} ")
    b.phi("NAME", p.relative_first).add(" at ").phi("PHONE", _phone(rng)).add(". ")
    b.add("Identity confirmed by fingerprint ID ").phi("BIOMETRIC", _code(rng, rng.choice(["FP-99999999", "AAA99999999"])))
    b.add(" and wristband. Photo on file: ").phi("PHOTO", f"IMG_{rng.randint(1000, 9999)}.jpg")
    b.add(".\nInsulin pump serial ").phi("DEVICE", _code(rng, "AA999999")).add(" checked. ")
    b.add("Family drove from ").phi("LOCATION", _city(fake)).add("; car VIN ").phi("VEHICLE", _vin(rng))
    b.add(" left in lot B.\n")
    b.add("Email updates requested to ").phi("EMAIL", fake.email()).add(".\n")
    b.phi("NAME", f"{fake.first_name()} {fake.last_name()}").add(", RN\n")
    return b


def referral_letter(fake, rng: random.Random) -> NoteBuilder:
    p, b = Patient(fake, rng), NoteBuilder()
    b.phi("DATE", p.admit.strftime(rng.choice(["%B %d, %Y", "%d %B %Y"]))).add("\n\nDear Dr. ").phi("NAME", fake.last_name())
    b.add(",\n\nThank you for seeing ").phi("NAME", f"{p.first} {p.last}").add(" (DOB ").phi("DATE", _fmt_date(p.dob, rng))
    b.add("), a ")
    _age_phrase(b, p, rng)
    b.add(f" {p.sex} from ").phi("LOCATION", p.city).add(f", for evaluation of {rng.choice(['memory loss', 'tremor', 'weight loss', 'anemia'])}. ")
    b.add(f"{p.title} ").phi("NAME", p.last).add(" has Medicaid ID ").phi("HEALTH_PLAN", _code(rng, "AA99999999"))
    b.add(" and holds driver's license ").phi("LICENSE", _code(rng, rng.choice(["A9999999", "A999-9999-9999"])))
    b.add(". Voiceprint enrollment ").phi("BIOMETRIC", _code(rng, "VP-99999-AA")).add(" is on file for telephone access.\n")
    b.add("Billing account number: ").phi("ACCOUNT", _code(rng, "9999999999")).add(". Study ID: ")
    b.phi("OTHER_ID", _code(rng, "AAA-9999")).add(". Home address: ").phi("LOCATION", p.street).add(", ")
    b.phi("LOCATION", p.city).add(f", {p.state} ").phi("LOCATION", p.zip).add(". Phone ").phi("PHONE", p.phone)
    b.add(", fax ").phi("FAX", _phone(rng)).add(".\nResults are posted at ")
    b.phi("URL", f"www.{fake.domain_name()}/results").add(" and our server ").phi("IP", fake.ipv4_public()).add(".\n\nSincerely,\n")
    b.phi("NAME", _dr(fake)).add(", MD\n")
    return b


NOTE_KINDS: dict[str, Callable] = {
    "admission": admission_note, "discharge": discharge_summary, "radiology": radiology_report,
    "nursing": nursing_note, "referral": referral_letter,
}


def generate_notes(n: int = 500, seed: int = 0) -> list[SynthNote]:
    """`n` synthetic notes cycling through the note kinds; deterministic for a seed."""
    from faker import Faker

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    kinds = list(NOTE_KINDS)
    notes = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        b = NOTE_KINDS[kind](fake, rng)
        notes.append(SynthNote(id=f"synth-{seed}-{i:05d}", kind=kind, text=b.text(), phi=b.spans))
    return notes
