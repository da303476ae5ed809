from __future__ import annotations

import json
import re
import stat
from collections import Counter
from datetime import date

import pytest

from medllm.trust.privacy import GatedModel, PhiSession, PrivacyGate, gate_required, parse_date
from medllm.trust.privacy.synthetic_notes import generate_notes
from medllm.trust.recognizers import PHI_LABELS
from medllm.trust.vault import Vault
from support import FakeRemoteBackend

NOTE = (
    "Patient: John Smith    MRN: 4839201\n"
    "Mr. Smith is a 92-year-old man seen on 03/14/2023 at 12 Oak Street, Springfield, IL 62704.\n"
    "Phone 217-555-0123, fax: (217) 555-0199, email jsmith@example.org. SSN 123-45-6789.\n"
    "Follow-up on 03/24/2023 with Dr. Alice Wong. Member ID: W28419302.\n"
)
def leaked(text: str) -> list[str]:
    """PHI strings of NOTE present in `text` as whole words (a fake city may contain "John")."""
    return [s for s in PHI_STRINGS if re.search(rf"(?<![\w]){re.escape(s)}(?![\w])", text)]


PHI_STRINGS = ["John", "Smith", "4839201", "03/14/2023", "12 Oak Street", "Springfield", "62704",
               "217-555-0123", "555-0199", "jsmith@example.org", "123-45-6789", "Wong", "W28419302"]


def test_replacement_of_known_spans_covers_every_safe_harbor_category(deidentifier):
    # Synthetic notes test the REPLACEMENT code: given the gold spans (no detection), every PHI
    # value of every category is replaced, and the same value gets the same surrogate.
    notes = generate_notes(25, seed=7)
    assert {g.label for n in notes for g in n.phi} == set(PHI_LABELS), "every category appears"
    session = PhiSession(seed=4)
    for n in notes:
        res = deidentifier.deidentify(n.text, session, "surrogate", patient=n.id, spans=n.phi)
        for g in n.phi:
            if g.label in ("AGE",) or len(g.text) < 4:
                continue
            assert not re.search(rf"(?<![\w]){re.escape(g.text)}(?![\w])", res.text), (g.label, n.id)
        assert res.counts == dict(Counter(g.label for g in n.phi))
    first = notes[0].phi[0]
    assert session.surrogate(first.label, first.text, notes[0].id) == session.surrogate(
        first.label, first.text, notes[0].id)


def test_surrogates_hide_phi_and_are_consistent(deidentifier):
    gate = PrivacyGate(deidentifier, mode="surrogate", seed=3)
    clean, session = gate.scrub(NOTE)
    assert not leaked(clean)
    # "Smith" in "John Smith" and in "Mr. Smith" becomes the same fake surname
    surname = session.surrogate("NAME", "Smith")
    assert clean.count(surname) >= 2
    # and stays the same later in the session
    again, _ = gate.scrub("Mr. Smith called back.")
    assert surname in again and "Smith" not in again


def test_date_shift_keeps_intervals(deidentifier):
    gate = PrivacyGate(deidentifier, mode="shift", seed=11)
    clean = gate.scrub(NOTE)[0]
    assert "03/14/2023" not in clean and "03/24/2023" not in clean
    dates = [parse_date(tok)[0] for tok in clean.split() if parse_date(tok.strip(".,"))
             and "/" in tok and len(tok.strip(".,")) == 10]
    assert len(dates) >= 2
    assert (dates[1] - dates[0]).days == 10
    assert "<NAME>" in clean  # shift mode tags everything that is not a date


def test_restore_round_trip(deidentifier):
    gate = PrivacyGate(deidentifier, mode="surrogate", seed=5)
    clean, _ = gate.scrub(NOTE)
    assert clean != NOTE
    assert gate.restore(clean) == NOTE


def test_restore_unshifts_dates_the_model_wrote(deidentifier):
    gate = PrivacyGate(deidentifier, mode="surrogate", seed=5)
    gate.scrub("Seen on 03/14/2023.")
    days = next(iter(gate.session._offsets.values()))
    shifted = date(2023, 4, 1).toordinal() + days
    model_text = f"Recheck on {date.fromordinal(shifted).strftime('%m/%d/%Y')}."
    assert gate.restore(model_text) == "Recheck on 04/01/2023."


@pytest.mark.parametrize("mode", ["tag", "redact"])
def test_tag_and_redact(deidentifier, mode):
    gate = PrivacyGate(deidentifier, mode=mode)
    clean = gate.scrub(NOTE)[0]
    assert not leaked(clean)
    assert ("<NAME>" in clean) == (mode == "tag")
    assert ("<MRN>" in clean) == (mode == "tag")


def test_vault_is_private_and_reidentifies_in_a_later_session(deidentifier, tmp_path):
    path = tmp_path / "v" / "vault.sqlite"
    gate = PrivacyGate(deidentifier, vault=path, seed=1, session_id="s1")
    clean = gate.scrub(NOTE)[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "John" not in repr(gate.session) and "John" not in repr(Vault(path))
    later = PhiSession("s1", vault=Vault(path))
    assert later.restore(clean) == NOTE


def test_synthetic_cities_never_look_like_a_state():
    # Faker builds cities as name + suffix, so "Mary" + "land" is a city; Safe Harbor lets state
    # names stay, so such a city would be gold PHI that no detector can tell from the state.
    from faker import Faker

    from medllm.trust.privacy import ALLOWED_PLACE_NAMES
    from medllm.trust.privacy.synthetic_notes import _city

    fake = Faker("en_US")
    fake.seed_instance(15784)  # this seed's first city is "South Dakota"
    assert fake.city().lower() in ALLOWED_PLACE_NAMES
    fake.seed_instance(15784)
    assert _city(fake).lower() not in ALLOWED_PLACE_NAMES


def test_gate_required():
    assert gate_required("openai:http://127.0.0.1:8000/v1#m", "auto")
    assert not gate_required("llamacpp:gemma3-270m", "auto")
    assert gate_required("llamacpp:gemma3-270m", "on")
    assert not gate_required("openai:http://x/v1", "off")
    with pytest.raises(ValueError, match="auto, on or off"):
        gate_required("openai:x", "maybe")
    with pytest.raises(ValueError, match="mode"):
        PrivacyGate(object(), mode="blur")  # type: ignore[arg-type]


def test_gated_model_with_fake_remote_backend_sees_no_phi(deidentifier):
    inner = FakeRemoteBackend()
    model = GatedModel(inner, PrivacyGate(deidentifier, seed=2))
    out = model.chat([{"role": "user", "content": NOTE}])
    assert not leaked("\n".join(inner.received))
    assert out.text == "Summary: " + NOTE  # re-identified for the caller
    assert model.info.extra["privacy_gate"] == "surrogate"


def test_count_tokens_does_not_deidentify_nor_leak(deidentifier, tmp_path):
    inner = FakeRemoteBackend()
    vault = Vault(tmp_path / "vault.sqlite")
    gate = PrivacyGate(deidentifier, seed=2, vault=vault, session_id="s")
    model = GatedModel(inner, gate)
    n = model.count_tokens(NOTE)
    assert n > 10
    assert gate.calls == 0 and not gate.counts, "no detection pass, no PHI counted"
    assert vault.mappings("s") == [], "no surrogate written to the vault"
    assert not leaked("\n".join(inner.received)), "raw text never sent to the remote tokenizer"
    # a text the gate already scrubbed is counted by the backend, in its scrubbed form
    clean = gate.scrub(NOTE)[0]
    model.count_tokens(NOTE)
    assert inner.received[-1] == clean and gate.calls == 1


def test_one_detection_pass_per_text(deidentifier):
    inner = FakeRemoteBackend()
    gate = PrivacyGate(deidentifier, seed=2)
    first = gate.scrub(NOTE)[0]  # e.g. the assistant scrubbing the question for its audit log
    model = GatedModel(inner, gate)
    model.chat([{"role": "user", "content": NOTE}])  # the same question in the prompt
    assert gate.calls == 1
    assert inner.received[-1] == first
    assert gate.counts["NAME"] == len([s for s in deidentifier.analyze(NOTE) if s.label == "NAME"])


def test_gated_model_can_keep_output_deidentified(deidentifier):
    inner = FakeRemoteBackend()
    model = GatedModel(inner, PrivacyGate(deidentifier, seed=2), restore=False)
    out = model.chat([{"role": "user", "content": NOTE}])
    assert not leaked(out.text)


def test_cli_deid_writes_mirror_tree_and_refuses_to_overwrite(tmp_path, deidentifier):
    from typer.testing import CliRunner

    from support import deid_cli_app

    app = deid_cli_app()

    src = tmp_path / "notes"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(NOTE)
    (src / "sub" / "b.jsonl").write_text(json.dumps({"id": 1, "text": NOTE}) + "\n")
    out = tmp_path / "clean"
    runner = CliRunner()
    res = runner.invoke(app, ["deid", str(src), "--out", str(out), "--mode", "tag", "--no-vault"])
    assert res.exit_code == 0, res.output
    assert "NAME" in res.output and "2 file(s) written" in res.output
    a = (out / "a.txt").read_text()
    b = json.loads((out / "sub" / "b.jsonl").read_text())
    assert not leaked(a) and not leaked(b["text"])
    res = runner.invoke(app, ["deid", str(src), "--out", str(src / "sub")])
    assert res.exit_code == 2 and "input" in res.output
    res = runner.invoke(app, ["deid", str(src / "missing.txt"), "--out", str(out)])
    assert res.exit_code == 2 and "does not exist" in res.output
