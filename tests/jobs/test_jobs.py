"""The jobs layer on real components: each job is a function of (session, record) -> record, and
the session's settings reach the parts it builds (no process-wide caches)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.jobs import (
    AskRequest, DeidRequest, EvalRequest, ExtractRequest, GenerateRequest, TriageRequest, ask, deid, evaluate,
    extract, generate, triage, triage_many,
)
from medllm.session import Session

FIX = Path(__file__).resolve().parents[1] / "eval" / "fixtures"
CHEST = "crushing chest pain spreading to my left arm and I'm sweating, started 20 minutes ago"


@pytest.fixture(scope="module")
def tools() -> Session:
    """One session without a language model, for deid, triage and extract (built once here)."""
    return Session.configure()


def test_triage_job_decides_and_refuses_empty(tools):
    d = triage(tools, TriageRequest(CHEST))
    assert d.level == "emergency" and not d.refuse and d.advice
    assert triage(tools, TriageRequest("How can I forge a prescription for Xanax?")).refuse
    many = triage_many(tools, [CHEST, "what is a normal resting heart rate?"])
    assert [x.level for x in many] == ["emergency", "routine"]
    with pytest.raises(ValueError, match="empty"):
        triage(tools, TriageRequest("   "))


def test_a_sessions_settings_reach_its_triager(tools):
    """Each session builds its triager from its own settings: a second session with other
    cut-offs decides differently, and the first is not changed by it (no shared cache). The text
    names a person, so the classifier alone may refuse it."""
    text = "what is a normal resting heart rate for a patient?"
    strict = Session.configure(triage_refuse_high=0.0)  # every message counts as close to harm
    assert strict.triager().thresholds.refuse_high == 0.0
    assert tools.triager().thresholds.refuse_high == tools.settings.triage_refuse_high > 0.0
    assert strict.triager() is strict.triager()  # built once per session
    assert strict.triager() is not tools.triager()
    assert not triage(tools, TriageRequest(text)).refuse
    assert triage(strict, TriageRequest(text)).refuse
    assert not triage(tools, TriageRequest(text)).refuse  # the first session is unchanged


def test_deid_job_scrubs_with_the_sessions_site_lexicon(tools):
    res = deid(tools, DeidRequest("Mr. John Smith, MRN 4432198, seen on 03/14/2023 at 617-555-0199.", mode="tag"))
    assert "John Smith" not in res.text and "4432198" not in res.text and "617-555-0199" not in res.text
    assert sum(res.counts.values()) >= 3 and all(s.end > s.start for s in res.spans)
    assert tools.deidentifier() is tools.deidentifier()  # heavy: built once per session


def test_a_learned_site_lexicon_in_the_sessions_home_is_used(tmp_path):
    from medllm.trust.privacy import SiteLexicon, learn_site_lexicon
    from medllm.trust.privacy.lexicon import SITE_LEXICON_FILE

    text = "Seen by Zorblat on rounds; transferred to Quartermain. Vent settings ok."
    gold = [(f"p{i}", text, [(8, 15, "NAME"), (text.index("Quartermain"), text.index("Quartermain") + 11,
                                                 "LOCATION")]) for i in range(3)]
    home = tmp_path / "site-home"
    home.mkdir()
    learn_site_lexicon(gold).save(home / SITE_LEXICON_FILE)
    session = Session.configure(home=home)
    assert "zorblat" in {n.lower() for n in session.site_lexicon().names}
    assert isinstance(session.site_lexicon(), SiteLexicon)
    assert Session.configure().site_lexicon() is not session.site_lexicon()


def test_extract_job_finds_assertions_and_codes(tools):
    res = extract(tools, ExtractRequest("n1", "HPI: Denies chest pain. Reports fever.\nPMH: Hypertension.\n",
                                        source="a.txt", tagger="dictionary", codes=3))
    assert res.id == "n1" and res.source == "a.txt" and res.chars > 0
    by_text = {s.text.lower(): s for s in res.spans}
    assert by_text["chest pain"].assertion == "negated"
    assert by_text["fever"].assertion == "present"
    assert res.codes and all(c.code for c in res.codes)
    none = extract(tools, ExtractRequest("n2", "Reports fever.", tagger="dictionary", codes=0))
    assert none.codes == []


def test_extract_runner_job_local_output_matches_the_cli_layout(tools, tmp_path):
    from medllm.runners import get_runner
    from medllm.runners.extract import ExtractJob

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("No cough. Hyperkalemia.")
    (notes / "b.jsonl").write_text(json.dumps({"id": "x", "text": "Reports fever."}) + "\n")
    from medllm.tasks.ie.batch import collect_inputs

    job = ExtractJob(collect_inputs([notes]), tmp_path / "out", tagger="dictionary", codes=2, session=tools)
    rep = get_runner("local").run(job)
    assert rep.notes == 2 and not rep.failed
    lines = [json.loads(x) for x in (tmp_path / "out" / "a.txt.jsonl").read_text().splitlines()]
    assert lines[0]["id"] == "a" and {s["text"] for s in lines[0]["spans"]} >= {"cough", "Hyperkalemia"}
    again = get_runner("local").run(ExtractJob(collect_inputs([notes]), tmp_path / "out", tagger="dictionary",
                                               session=tools))
    assert again.skipped_files == 2 and again.notes == 0


def test_generate_and_ask_jobs_on_the_fast_model(chat_model):
    from medllm.models.base import GenParams

    with Session.open(chat_model, strategy="direct", audit=False) as s:
        a = ask(s, AskRequest("Which vitamin deficiency causes scurvy?", params=GenParams(max_tokens=24)))
        assert a.text.strip() and a.model == chat_model.info.spec and a.strategy == "direct"
        refused = ask(s, AskRequest("How can I forge a prescription for Xanax?"))
        assert refused.strategy == "refused" and refused.cost.calls == 0  # triage, before the model
        g = generate(s, GenerateRequest("summary", "my mother takes warfarin, can she eat spinach and kale every day?",
                                        params=GenParams(max_tokens=24)))
        assert g.text.strip() and g.strategy == "summary"


def test_eval_job_runs_with_the_sessions_settings(base_model, tmp_path):
    from medllm.eval.runner import EvalConfig

    session = Session.configure(home=tmp_path / "home")
    cfg = EvalConfig(dataset=f"medqa:{FIX}/medqa.jsonl", model=base_model.info.spec, limit=2)
    res = evaluate(Session(model=base_model, settings=session.settings, owns_model=False), EvalRequest(cfg))
    assert res.summary["n"] == 2 and res.answered == 2
    assert res.out_dir == session.settings.runs_dir / res.run_id  # the session's home, not the process's
    assert session.run_store().get(res.run_id) is not None


def test_deid_cli_keeps_the_vault_session_option(tmp_path):
    """`--session` names the vault session (not the composition root's Session)."""
    from typer.testing import CliRunner

    from medllm.cli import app

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Mr. John Smith was seen on 03/14/2023.")
    r = CliRunner().invoke(app, ["deid", str(notes), "--out", str(tmp_path / "o"), "--session", "ward7",
                                 "--vault", str(tmp_path / "v.sqlite"), "--seed", "1"], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "session ward7" in r.output and "John Smith" not in (tmp_path / "o" / "a.txt").read_text()
