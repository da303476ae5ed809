"""The evidence solver's sentence checking and extractive fallback. The model is a scripted
stand-in (what it writes is the input under test); retrieval and the checks are real."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from medllm.knowledge.retrievers import Hit
from medllm.models.base import Completion, GenParams, ModelInfo
from medllm.reasoning.base import SolveContext
from medllm.reasoning.evidence import EvidenceSolver, _split_done
from medllm.types import Passage, Question

PASSAGES = [
    Passage(id="p1", doc_id="d1", title="Pharmacology for Nurses › Anticoagulants › Heparin",
            text="Heparin is given by subcutaneous or intravenous injection. Its effect is monitored with the aPTT.",
            source="openstax-pharmacology", url="https://openstax.org/details/books/pharmacology"),
    Passage(id="p2", doc_id="d2", title="Thrombosis", text="Clots in deep veins can travel to the lungs.",
            source="medquad", url="https://medlineplus.gov/x"),
]


class ListRetriever:
    def search(self, query: str, k: int = 3) -> list[Hit]:
        return [Hit(p, 1.0 - i / 10, i + 1, "test") for i, p in enumerate(PASSAGES[:k])]


class Scripted:
    """Streams a fixed reply in small pieces, as a chat model would."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.info = ModelInfo(spec="scripted", backend="test", name="scripted", context_window=4096, supports_chat=True)

    def chat_stream(self, messages: Sequence[dict], params: GenParams = GenParams()) -> Iterator[str]:
        self.prompt = messages[-1]["content"]
        for i in range(0, len(self.reply), 7):
            yield self.reply[i:i + 7]

    def chat(self, messages, params=GenParams()) -> Completion:
        return Completion(text=self.reply)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def _ask(reply: str):
    streamed: list[str] = []
    model = Scripted(reply)
    ctx = SolveContext(model=model, mode="generate", retriever=ListRetriever(), on_token=streamed.append)
    a = EvidenceSolver(k=2)(Question(id="q", question="How is heparin given and monitored?"), ctx)
    return a, "".join(streamed), model


def test_split_done_keeps_citations_with_their_sentence() -> None:
    done, rest = _split_done("Heparin is injected [1]. It is monitored with aPTT [1, 2]. Partial")
    assert done == ["Heparin is injected [1].", "It is monitored with aPTT [1, 2]."]
    assert rest == "Partial"


def test_unsupported_sentences_are_dropped_and_confidence_is_the_supported_share() -> None:
    a, streamed, model = _ask("Heparin is given by intravenous or subcutaneous injection [1]. "
                              "Warfarin tablets dissolve kidney stones quickly [2].")
    assert a.text == "Heparin is given by intravenous or subcutaneous injection [1]."
    assert streamed == a.text  # only checked sentences were shown
    assert a.confidence == 0.5
    assert a.metadata["unsupported"] == ["Warfarin tablets dissolve kidney stones quickly [2]."]
    assert a.metadata["cited"] == [1]
    assert "[1] Pharmacology for Nurses › Anticoagulants › Heparin:" in model.prompt


def test_nothing_supported_falls_back_to_the_sources() -> None:
    a, streamed, _ = _ask("Aspirin cures influenza in children [1].")
    assert a.confidence == 0.0 and a.metadata["fallback"] is True
    assert a.text.startswith("I could not write an answer that the sources support.")
    assert "[1] Heparin is given by subcutaneous or intravenous injection." in a.text
    assert any(f.kind == "extractive_fallback" for f in a.flags)


def test_a_sentence_citing_the_wrong_passage_is_kept_with_its_mark_moved() -> None:
    a, streamed, _ = _ask("Clots in deep veins can travel to the lungs [1].")
    assert a.text == "Clots in deep veins can travel to the lungs [2]."
    assert streamed == a.text
    assert a.metadata["cited"] == [2] and a.confidence == 1.0


def test_marks_written_before_a_sentence_follow_its_claim() -> None:
    a, _, _ = _ask("[1] Heparin is given by intravenous or subcutaneous injection.")
    assert a.text == "Heparin is given by intravenous or subcutaneous injection [1]."
