"""What `ask` shows of the differential (the kg-rag stage): rare-disease phenotype matches,
labelled as such after a caveat on what the knowledge graph cannot judge, kept out of the
model's prompt and shown after its answer."""

from __future__ import annotations

from medllm.models import GenParams
from medllm.reasoning.base import SolveContext
from medllm.reasoning.rag import KgRagSolver
from medllm.types import Question

COMMON = "A child has fever, a maculopapular rash and joint pain. What could it be?"


def _q(text: str) -> Question:
    return Question(id="q", question=text, task="open")


def test_common_presentation_matches_are_labelled_rare_and_never_reach_the_prompt(kg) -> None:
    ctx = SolveContext(model=None, graph=kg)  # type: ignore[arg-type]
    block = KgRagSolver().differential(_q(COMMON), ctx)
    lines = block.splitlines()
    assert lines[0].startswith("Rare-disease phenotype matches for Fever")
    assert "cannot judge how common a disease is" in lines[0]
    for rare in ("Rat-bite fever", "Boutonneuse", "Ebola"):  # Orphanet infections are not ranked as Mendelian matches
        assert rare not in block
    assert len(lines) == 6 and lines[1].startswith("1. ") and all("[OMIM:" in x for x in lines[1:])
    facts = KgRagSolver().facts(_q(COMMON), ctx)[1]
    assert facts and not any("OMIM:" in f and "match" in f for f in facts)


def test_negated_findings_reach_the_differential_as_excluded(kg) -> None:
    ctx = SolveContext(model=None, graph=kg)  # type: ignore[arg-type]
    block = KgRagSolver().differential(_q("Tall and thin with arachnodactyly and ectopia lentis; no seizures."), ctx)
    first, *ranked = block.splitlines()
    assert first.startswith("Rare-disease phenotype matches for") and "Seizure" not in first
    assert ranked[0].startswith("1. ")


def test_one_finding_is_not_a_case(kg) -> None:
    assert KgRagSolver().differential(_q("What causes fever?"), SolveContext(model=None, graph=kg)) == ""  # type: ignore[arg-type]


def test_the_block_follows_the_models_answer(kg, chat_model) -> None:
    ctx = SolveContext(model=chat_model, graph=kg, mode="generate", params=GenParams(max_tokens=24, temperature=0.0))
    a = KgRagSolver()(_q(COMMON), ctx)
    model_text, _, block = a.text.partition("\n\nRare-disease phenotype matches for")
    assert model_text.strip() and block and "OMIM:" not in model_text
    assert a.metadata["phenotype_matches"].startswith("Rare-disease phenotype matches for")
