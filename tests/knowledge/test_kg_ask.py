"""What `ask` shows of the differential (the kg-rag stage): a rare-disease phenotype match,
labelled as one, after a caveat on what the knowledge graph cannot judge."""

from __future__ import annotations


def _facts(kg, text: str) -> list[str]:
    from medllm.reasoning.base import SolveContext
    from medllm.reasoning.rag import KgRagSolver
    from medllm.types import Question

    q = Question(id="q", question=text, task="open")
    return KgRagSolver().facts(q, SolveContext(model=None, graph=kg))[1]  # type: ignore[arg-type]


def test_common_presentation_does_not_lead_with_rare_diseases(kg) -> None:
    facts = _facts(kg, "A child has fever, a maculopapular rash and joint pain.")
    assert facts[0].startswith("Rare-disease phenotype match for Fever")
    assert "cannot judge how common a disease is" in facts[0]
    joined = "\n".join(facts)
    for rare in ("Rat-bite fever", "Boutonneuse", "Ebola"):  # Orphanet infections are not ranked as Mendelian matches
        assert rare not in joined
    ranked = [f for f in facts if "is a rare-disease phenotype match (rank" in f]
    assert ranked and all("[OMIM:" in f for f in ranked)
    assert facts.index(ranked[0]) > 1  # after the caveat and the graph's own facts, never first


def test_negated_findings_reach_the_differential_as_excluded(kg) -> None:
    facts = _facts(kg, "Tall and thin with arachnodactyly and ectopia lentis; no seizures.")
    assert facts[0].startswith("Rare-disease phenotype match for")
    assert "Seizure" not in facts[0]  # the negated finding is not listed as a finding
    assert any("rare-disease phenotype match (rank 1" in f for f in facts)
