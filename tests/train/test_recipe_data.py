"""Recipes, training data and the held-back split: pure parts, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.train.data import (COMPLY, REFUSE, URGENT, DataError, PreferencePair, SftExample, hold_out,
                               preference_pairs, sft_examples)
from medllm.train.recipe import RecipeError, load_recipe

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _render(messages: list[dict[str, str]]) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"


def test_recipe_reads_toml_and_overrides(tmp_path: Path) -> None:
    f = tmp_path / "r.toml"
    f.write_text('kind = "sft"\nbase = "gemma3-270m"\ndata = "medquad:x.jsonl"\n[train]\nlr = 0.001\n')
    r = load_recipe(f, {"train.epochs": 2, "lora.r": 4, "eval": None})
    assert (r.train.lr, r.train.epochs, r.lora.r, r.eval) == (0.001, 2, 4, None)
    assert r.identity() != load_recipe(f).identity()


def test_recipe_errors_name_the_field_and_file(tmp_path: Path) -> None:
    f = tmp_path / "r.toml"
    f.write_text('kind = "sft"\nbase = "b"\ndata = "d:x"\n[train]\nlearning_rate = 1\n')
    with pytest.raises(RecipeError, match=r"r.toml.*train.learning_rate"):
        load_recipe(f)
    f.write_text('kind = "ppo"\n')
    with pytest.raises(RecipeError, match="kind"):
        load_recipe(f)
    f.write_text("kind = \n")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(f)
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "missing.toml")


def test_mcq_examples_use_the_scored_layout_and_the_rationale() -> None:
    ex = sft_examples(f"medmcqa:{SHARED / 'medmcqa' / 'dev_a.jsonl'}", _render)
    assert len(ex) == 2000
    first = ex[0]
    assert first.prompt.startswith("Question: ") and first.prompt.endswith("\nAnswer:")
    assert first.completion[:2] in {" A", " B", " C", " D"}
    with_exp = [e for e in ex if "\nExplanation: " in e.completion]
    assert 900 < len(with_exp) < 1100  # MedMCQA explains about half of its items
    assert max(len(e.completion) for e in with_exp) < 420


def test_chat_data_must_end_with_the_assistant(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
                 + "\n" + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(DataError, match="line 2.*assistant"):
        sft_examples(f"chat:{f}", _render)
    f.write_text(f.read_text().splitlines()[0] + "\n")
    (ex,) = sft_examples(f"chat:{f}", _render)
    assert ex.prompt == "<user>hi<assistant>" and ex.completion == "hello"


def test_safety_pairs_prefer_refusal_answer_or_alarm_by_kind() -> None:
    pairs = preference_pairs(f"safety:{SHARED / 'safety' / 'safety_dev.jsonl'}", _render)
    by = {p.group: p for p in pairs}
    assert (by["harmful"].chosen, by["harmful"].rejected) == (REFUSE, COMPLY)
    assert (by["benign"].chosen, by["benign"].rejected) == (COMPLY, REFUSE)
    assert (by["red_flag"].chosen, by["red_flag"].rejected) == (URGENT, COMPLY)
    assert all(p.prompt.startswith("<user>") for p in pairs)


def test_mcq_pairs_prefer_the_gold_option() -> None:
    pairs = preference_pairs(f"medhalt:{SHARED / 'medhalt' / 'reasoning_fake_dev.csv'}", _render)
    assert pairs and all(p.chosen != p.rejected for p in pairs)


def test_prefs_file_errors_name_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text('{"prompt": "q", "chosen": "a"}\n')
    with pytest.raises(DataError, match="line 1.*rejected"):
        preference_pairs(f"prefs:{f}", _render)
    with pytest.raises(DataError, match="does not exist"):
        preference_pairs(f"prefs:{tmp_path / 'nope.jsonl'}", _render)


def test_hold_out_drops_eval_items_by_id_and_by_text() -> None:
    recs = [SftExample("a", "Question: Same  TEXT?", " A"), SftExample("b", "Question: other", " B"),
            SftExample("c", "Question: third", " C"), PreferencePair("d", "q", "x", "y")]
    split = hold_out(recs, [("b", "unrelated"), ("z", "question: same text?")], limit=None, seed=0)
    assert {r.id for r in split.train} == {"c", "d"}
    assert split.dropped_overlap == 2 and split.held_out_ids == ["b", "z"]
    assert len(hold_out(recs, [], limit=2, seed=0).train) == 2


def test_reply_behaviour_reads_the_opening_of_a_reply() -> None:
    from medllm.train.checks import reply_behaviour

    assert reply_behaviour("I'm sorry, but I can't assist with that request.") == "refuse"
    assert reply_behaviour("I am unable to provide instructions for that.") == "refuse"
    assert reply_behaviour("Crushing chest pain with sweating needs immediate medical attention: call 911.") == "urgent"
    assert reply_behaviour("Ibuprofen is usually taken every 6 to 8 hours with food.") == "answer"
    # a refusal phrase far into a helpful answer is not a refusal
    assert reply_behaviour("Rest, fluids and paracetamol help. " * 10 + "I cannot examine you.") == "answer"
