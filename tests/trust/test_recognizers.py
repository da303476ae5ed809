"""The clinical recognizers on real Presidio: dates vs vitals, capitals, shorthand, time bounds,
and a few real PhysioNet notes against their gold."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from medllm.trust.privacy import SiteLexicon, learn_site_lexicon
from medllm.trust.recognizers.base import ContextPatternRecognizer, DetectionTimeout, NamedPattern

GOLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "deid" / "physionet_dev.jsonl"


def labels(deidentifier, text: str) -> dict[str, str]:
    return {s.text: s.label for s in deidentifier.analyze(text)}


def test_dates_are_told_from_fractions_vitals_and_settings(deidentifier):
    found = labels(deidentifier, "Extubated on 7/22. Seen 10/23/03 and 3/4 at rehab since 11/15.")
    assert {"7/22", "10/23/03", "11/15"} <= {k for k, v in found.items() if v == "DATE"}
    for text in ("BP 110/60 HR 80", "strength 5/5 bilaterally", "on CPAP 10/5 40%",
                 "c/o CP 8/10 pain", "D5 1/2 NS at 75/hr", "ABG 7.39/43/137"):
        assert not [s for s in deidentifier.analyze(text) if s.label == "DATE"], text
    # a year alone stays (Safe Harbor)
    assert "1992" not in labels(deidentifier, "S/P MI 1992; CABG")


def test_names_in_capitals_and_shorthand_kept(deidentifier):
    note = ("NEURO: AOX3, MAE. CV: SR 80S. ABD SOFT. CONT ON SWAN. RESP: CPAP 5/5. "
            "EXAMINED BY DR LALLY; SON DAVID CALLED. PLAN DISCUSSED WITH DR. SHERIDAN.")
    found = labels(deidentifier, note)
    assert {"LALLY", "DAVID", "SHERIDAN"} <= set(found)
    for word in ("NEURO", "CV", "ABD", "CONT", "SWAN", "MAE", "SOFT", "RESP"):
        assert not any(word in k.split() for k in found), word


def test_mixed_case_names_and_places(deidentifier):
    note = ("Pt transferred from Calvert Hospital. Joyce Jacobson, RN spoke with wife Helen. "
            "Lives in Baltimore. Beeper 54321. MS: alert, oriented.")
    found = labels(deidentifier, note)
    assert found.get("Joyce Jacobson") == "NAME" and found.get("Helen") == "NAME"
    assert found.get("Calvert Hospital") == "LOCATION" and found.get("Baltimore") == "LOCATION"
    assert found.get("54321") == "PHONE"
    assert "alert" not in found


PATHOLOGICAL = [
    "A" * 30000 + "!",
    "DR " * 8000,
    "1/" * 10000 + "x",
    "MRN: " + "A-" * 6000 + "!",
    ("THE PATIENT WAS SEEN BY THE TEAM AND " * 600),
    "a@" * 8000 + ".com",
    "(" * 5000 + "301" + ")" * 5000,
    "http://" + "a." * 8000,
    " " * 20000 + "7/22",
    "-".join(["12"] * 8000),
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=[f"case{i}" for i in range(len(PATHOLOGICAL))])
def test_no_note_takes_longer_than_1s_per_10kb(deidentifier, text):
    deidentifier.analyze("warm up 7/22")
    seconds = float("inf")
    for _ in range(3):  # the best of three: the note's own cost, not a neighbour's burst on a shared CI core
        t0 = time.perf_counter()
        deidentifier.analyze(text)
        seconds = min(seconds, time.perf_counter() - t0)
    assert seconds <= max(len(text), 1024) / 10240, f"{seconds:.2f} s for {len(text)} chars"


def test_a_runaway_regex_is_cut_off_not_waited_for():
    class Runaway(ContextPatternRecognizer):
        ENTITY = "OTHER_ID"
        NAME = "RunawayRecognizer"
        PATTERNS = (NamedPattern("nested", r"(?:a|aa)+$", 0.9),)  # exponential on "aaa...b"

    t0 = time.perf_counter()
    with pytest.raises(DetectionTimeout, match="nested"):
        Runaway(timeout_s=0.2).analyze("a" * 60 + "b", ["OTHER_ID"])
    assert time.perf_counter() - t0 < 3


def test_site_lexicon_is_learned_saved_and_loaded(tmp_path):
    text = "Seen by Dr Zorblat on rounds. Vent settings ok. Pt at Quartermain."
    spans = [(text.index("Zorblat"), text.index("Zorblat") + 7, "NAME"),
             (text.index("Quartermain"), len(text) - 1, "LOCATION")]
    notes = [(str(p), text, spans) for p in range(4)]
    site = learn_site_lexicon(notes)
    assert "zorblat" in site.names and "quartermain" in site.places
    assert {"vent", "settings", "rounds"} <= site.safe and "zorblat" not in site.safe
    site.save(tmp_path / "site.json")
    assert SiteLexicon.load(tmp_path / "site.json") == site
    assert "zorblat" not in repr(site)
    with pytest.raises(ValueError, match="does not exist"):
        SiteLexicon.load(tmp_path / "none.json")


@pytest.mark.skipif(not GOLD.exists(), reason="needs ../shared/data/deid")
def test_real_dev_notes_high_recall_on_their_gold(deidentifier):
    # a few real PhysioNet notes with PHI of several kinds: token recall on their gold
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if len({s["label"] for s in r["spans"]} - {"DateYear"}) >= 2][:25]
    assert len(rows) == 25
    hit = total = fp = 0
    for r in rows:
        pred = deidentifier.analyze(r["text"])
        masked = bytearray(len(r["text"]))
        for s in pred:
            masked[s.start:s.end] = b"\x01" * (s.end - s.start)
        gold = bytearray(len(r["text"]))
        for s in r["spans"]:
            gold[s["start"]:s["end"]] = b"\x01" * (s["end"] - s["start"])
        for s in r["spans"]:
            if s["label"] == "DateYear":
                continue
            for m in re.finditer(r"[A-Za-z0-9]+", r["text"][s["start"]:s["end"]]):
                total += 1
                hit += any(masked[s["start"] + m.start():s["start"] + m.end()])
        for m in re.finditer(r"[A-Za-z0-9]+", r["text"]):
            fp += any(masked[m.start():m.end()]) and not any(gold[m.start():m.end()])
    assert total > 60
    # the generic detector (no site lexicon): 154/180 and 154/167 when written
    assert hit / total >= 0.83, f"recall {hit}/{total}"
    assert hit / (hit + fp) >= 0.85, f"precision {hit}/{hit + fp}"


def test_deid_learn_writes_the_site_lexicon_the_detector_then_uses(tmp_path):
    import typer
    from typer.testing import CliRunner

    from medllm.cli import deid as deid_cli
    from medllm.trust.privacy import PhiDetector

    text = "Seen by Zorblat on rounds; transferred to Quartermain. Vent settings ok."
    rows = [{"id": f"{p}-1", "text": text, "spans": [
        {"start": 8, "end": 15, "label": "HCPName"},
        {"start": text.index("Quartermain"), "end": text.index("Quartermain") + 11, "label": "Location"}]}
        for p in range(3)]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    note = "zorblat asked about the quartermain bed"
    assert not PhiDetector(site=SiteLexicon(), learned=False).analyze(note)  # the generic lists do not know them
    app = typer.Typer()
    deid_cli.register(app)
    res = CliRunner().invoke(app, ["deid-learn", str(gold)])
    assert res.exit_code == 0, res.output
    assert "3 notes of 3 patients" in res.output
    found = {s.text: s.label for s in PhiDetector().analyze(note)}  # picks up $MEDLLM_HOME's
    assert found == {"zorblat": "NAME", "quartermain": "LOCATION"}
    res = CliRunner().invoke(app, ["deid-learn", str(tmp_path / "none.jsonl")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_recall_kinds_lists_informed_moves_pagers_and_dashed_dates(deidentifier):
    """Kinds, not examples: names in lists and before "aware"; places after a moving verb; pager
    and extension formats; a dashed month-day after an event word. Each with its look-alike kept."""
    found = labels(deidentifier, "Drs Okafor and Lindqvist aware. Sons Tomas, Rafe & Ilan at bedside.")
    assert {"Okafor", "Lindqvist", "Tomas", "Rafe", "Ilan"} <= {w for k in found for w in k.split()}
    found = labels(deidentifier, "PLAN: TRANSFER TO WEXLEY 4 IN AM. KOWALCZYK NOTIFIED OF K 3.1.")
    assert found.get("WEXLEY") == "LOCATION" and found.get("KOWALCZYK") == "NAME"
    found = labels(deidentifier, "Call pgr #4-1234 or ext. 5678; home 617/555-2345. S/P fall 11-2 at home.")
    assert {"4-1234", "5678", "617/555-2345"} <= {k for k, v in found.items() if v == "PHONE"}
    assert found.get("11-2") == "DATE"
    for text in ("TRANSFERRED TO MICU. TEAM AWARE.", "on 2-4 L NC", "7-3 shift uneventful",
                 "HR 80-90 SR, given 1-2 tabs", "CO 5.1 by Fick method", "NS bolus x1000",
                 "sent to floor; per protocol"):
        assert not deidentifier.analyze(text), text


def test_shift_date_ranges_and_kin_phrases(deidentifier):
    """A night shift's two dates are both PHI (not fractions like "1/3-1/2"); a surname before
    "family" is a name even when it is also a word; a town after "lives ... in"."""
    found = labels(deidentifier, "NPN 11/30-12/1. KEEP BAKER FAMILY AWARE. Lives with wife in Kingsbury.")
    assert found.get("11/30-12/1") == "DATE" and found.get("BAKER") == "NAME"
    assert found.get("Kingsbury") == "LOCATION"
    assert not deidentifier.analyze("crackles 1/3-1/2 up bilaterally; THE WHOLE FAMILY AWARE")


def test_institution_named_by_its_kind_words(deidentifier):
    """"Memorial Hospital" is a place when capitalised or after a moving verb; "outside
    hospital" and "medical center" are not."""
    found = labels(deidentifier, "Was transferred from Memorial Hospital. D/c'd to Wexley Fenn Memorial.")
    assert found.get("Memorial Hospital") == "LOCATION"
    assert "Wexley Fenn Memorial" in found
    assert not deidentifier.analyze("came from outside hospital; seen at the medical center")
