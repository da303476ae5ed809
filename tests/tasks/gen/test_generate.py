"""Generation with the real 0.5B instruct model: notes by section within the context window,
note sections, question summaries, and the gated, audited pipeline the commands use."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from medllm.models.base import Message
from medllm.tasks.gen import NOTE_SECTIONS, fit_dialogue, summarize_question, write_note, write_section
from medllm.tasks.gen.generate import _clean, note_sections

VISIT = ("[doctor] good morning . what brings you in today ?\n"
         "[patient] i've had a cough for two weeks and some fever at night .\n"
         "[doctor] any shortness of breath or chest pain ?\n"
         "[patient] no chest pain , a little short of breath climbing stairs .\n"
         "[doctor] your lungs have crackles on the right side . the chest x-ray shows a right lower lobe pneumonia .\n"
         "[doctor] we'll start amoxicillin 500 mg three times a day for seven days and see you in a week .")


def test_fit_dialogue_cuts_at_turns_within_the_budget(chat_model):
    assert fit_dialogue(VISIT, chat_model, 4000) == [VISIT]
    long = "\n".join([VISIT] * 12)
    pieces = fit_dialogue(long, chat_model, 200)
    assert len(pieces) > 1
    assert all(chat_model.count_tokens(p) <= 200 for p in pieces)
    assert "\n".join(pieces).splitlines() == long.splitlines()  # nothing lost, turns whole
    with pytest.raises(ValueError, match="context window"):
        fit_dialogue(long, chat_model, 10)


def test_note_sections_and_cleaning():
    note = "CHIEF COMPLAINT\n\nCough.\n\nHISTORY OF PRESENT ILLNESS\n\nTwo weeks of cough.\nFever at night."
    assert note_sections(note) == {"CHIEF COMPLAINT": "Cough.", "HISTORY OF PRESENT ILLNESS": "Two weeks of cough.\nFever at night."}
    assert _clean("The review of systems section is as follows:\n\n• Respiratory: cough.") == "• Respiratory: cough."
    assert _clean("```\nREVIEW OF SYSTEMS\n• Respiratory: cough.\n```", "REVIEW OF SYSTEMS") == "• Respiratory: cough."


def test_write_note_section_by_section(chat_model):
    secs = [NOTE_SECTIONS[0], replace(NOTE_SECTIONS[-1], max_tokens=60)]  # short: the test's time
    g = write_note(VISIT, chat_model, sections=secs)
    assert g.calls == 2 and g.parts == 1
    assert g.text.startswith("CHIEF COMPLAINT\n\n") and "\n\nASSESSMENT AND PLAN\n\n" in g.text
    plan = g.text.split("ASSESSMENT AND PLAN", 1)[1].lower()
    # the plan is about this visit (words of the conversation), not the instructions' example
    assert any(w in plan for w in ("amoxicillin", "pneumonia", "chest", "cough", "crackles", "x-ray"))


@pytest.mark.slow
def test_write_note_on_a_conversation_longer_than_the_window(chat_model):
    """A conversation that cannot fit is written from its parts (the 0.5B's window is 2048 here)."""
    long = "\n".join([VISIT] * 25)
    assert chat_model.count_tokens(long) > chat_model.info.context_window
    secs = [s for s in NOTE_SECTIONS if s.heading == "CHIEF COMPLAINT"]
    g = write_note(long, chat_model, sections=secs)
    assert g.parts >= 2 and g.calls == g.parts
    assert g.text.startswith("CHIEF COMPLAINT\n\n") and len(g.text) > len("CHIEF COMPLAINT\n\n")


def test_summary_and_section(chat_model):
    s = summarize_question("SUBJECT: lipitor\nMESSAGE: hi, my dad takes lipitor and his legs hurt a lot. "
                           "is that from the lipitor? thanks", chat_model)
    assert "\n" not in s.text and "lipitor" in s.text.lower()
    sec = write_section("Doctor: Any allergies to medicines?\nPatient: Yes, penicillin gives me hives.", "ALLERGY",
                        chat_model, max_tokens=40)
    assert "penicillin" in sec.text.lower()
    with pytest.raises(ValueError, match="empty"):
        summarize_question("  ", chat_model)


class Recording:
    """The real model, with the messages it was sent kept to check what it saw."""

    def __init__(self, inner):
        self.inner, self.info, self.seen = inner, inner.info, []

    def chat(self, messages: list[Message], params):
        self.seen.extend(m["content"] for m in messages)
        return self.inner.chat(messages, params)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_pipeline_gates_and_audits(chat_model):
    """Gate on: the model never sees the patient's name; the audit log holds the event, the gate's
    counts and hashes, no text."""
    from medllm.config import load_settings
    from medllm.session import Session
    from medllm.tasks.gen.pipeline import generate

    rec = Recording(chat_model)
    text = "Hello, I am John Miller from Springfield. Can I take ibuprofen with my lisinopril?"
    with Session.open(rec, strategy="direct", settings=load_settings(), gate="on") as s:
        ans = generate(s, "summary", text)
        log = s.audit.path
    assert not any("John Miller" in m for m in rec.seen)
    assert ans.text and ans.strategy == "summary"
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["event"] == "summary" and entry["gate"]["on"] and sum(entry["gate"]["counts"].values()) >= 1
    assert "John" not in log.read_text() and "ibuprofen" not in log.read_text()
