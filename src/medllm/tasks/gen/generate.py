"""Prompts and generation for notes, note sections, question summaries and open answers.

Every function takes the model (any `Model`: in-process, remote, or a `GatedModel`) and returns a
`Generated` with the text and its cost. Decoding is greedy (temperature 0) unless `params` say
otherwise. The conversation comes first in each prompt and the instruction last, so the
sections of one note share the conversation's prefix (llama.cpp reuses its evaluated tokens).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from medllm.models.base import Completion, GenParams, Message, Model

SCRIBE = ("You are a careful medical scribe. You write clinical documentation from what was said in a "
          "doctor-patient conversation. Write only facts stated in the conversation; never invent "
          "findings, results, plans, ages or names. Use standard clinical wording, the third person and "
          "plain text (no markdown).")


@dataclass(frozen=True)
class NoteSection:
    heading: str  # as written in the note
    instruction: str
    max_tokens: int


# The sections ACI-Bench notes share (its evaluation groups them as subjective: chief complaint,
# HPI, review of systems; objective exam; objective results; assessment and plan).
NOTE_SECTIONS: tuple[NoteSection, ...] = (
    NoteSection("CHIEF COMPLAINT", "the reason for the visit in a few words", 24),
    NoteSection("HISTORY OF PRESENT ILLNESS",
                "one or two paragraphs of prose on the present complaints, their onset, course and severity, "
                "what helps or worsens them, relevant history and current medications (the patient's age and "
                "sex only if stated)", 220),
    NoteSection("REVIEW OF SYSTEMS",
                "only the symptoms this patient reports or denies in the conversation, one bullet per body "
                "system, each bullet starting with the system's name (such as '• Respiratory: ...'); "
                "write 'Not documented.' if none are discussed", 90),
    NoteSection("PHYSICAL EXAMINATION",
                "the doctor's examination findings, one bullet per body system; "
                "write 'Not documented.' if no examination is described", 100),
    NoteSection("RESULTS", "the test, laboratory and imaging results discussed; write 'Not documented.' if none", 70),
    NoteSection("ASSESSMENT AND PLAN",
                "each problem on its own line with the doctor's assessment, then the plan for it "
                "(tests, treatment, referrals, follow-up)", 220),
)

# MTS-Dialog's normalised section headers, spelled out for the prompt.
MTS_HEADERS: dict[str, str] = {
    "GENHX": "history of present illness", "FAM/SOCHX": "family and social history",
    "PASTMEDICALHX": "past medical history", "CC": "chief complaint", "PASTSURGICAL": "past surgical history",
    "ROS": "review of systems", "ALLERGY": "allergies", "MEDICATIONS": "medications",
    "ASSESSMENT": "assessment", "EXAM": "physical examination", "DIAGNOSIS": "diagnosis",
    "DISPOSITION": "disposition", "PLAN": "plan", "EDCOURSE": "emergency department course",
    "IMMUNIZATIONS": "immunizations", "IMAGING": "imaging results", "GYNHX": "gynecologic history",
    "PROCEDURES": "procedures", "OTHER_HISTORY": "other history", "LABS": "laboratory results",
}


@dataclass
class Generated:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0
    parts: int = 1  # pieces the source was cut into to fit the context window

    def add(self, c: Completion) -> None:
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens
        self.seconds += c.seconds
        self.calls += 1


def _params(params: GenParams | None, max_tokens: int) -> GenParams:
    p = params or GenParams(temperature=0.0, seed=0)
    return GenParams(max_tokens=max_tokens, temperature=p.temperature, top_p=p.top_p, seed=p.seed,
                     stop=p.stop, repeat_penalty=p.repeat_penalty)


def _clean(text: str, heading: str | None = None) -> str:
    """Drop what small models add around the asked-for text: code fences, a repeated heading."""
    t = re.sub(r"```[a-z]*", "", text).strip()
    t = re.sub(r"\*\*(.+?)\*\*", r"\1", t)  # markdown bold, which notes do not use
    # a lead-in line ("The history of present illness section ... is as follows:", "Summary:")
    first, _, rest = t.partition("\n")
    if rest.strip() and first.rstrip().endswith(":") and re.search(
            r"section|as follows|summar|here is|note|question", first, re.I):
        t = rest.strip()
    if heading:
        t = re.sub(rf"^\W*{re.escape(heading)}\W*\n", "", t, flags=re.I).strip()
    return t


def _chat(model: Model, messages: list[Message], params: GenParams, out: Generated) -> str:
    t = time.perf_counter()
    c = model.chat(messages, params)
    if not c.seconds:
        c.seconds = time.perf_counter() - t
    out.add(c)
    return c.text


def fit_dialogue(dialogue: str, model: Model, budget: int) -> list[str]:
    """The conversation cut at turn boundaries into pieces of at most `budget` tokens (one piece
    when it fits). A single turn longer than the budget is cut by words."""
    if budget < 64:
        raise ValueError(f"only {budget} tokens left for the conversation; raise the context window (MEDLLM_N_CTX)")
    if model.count_tokens(dialogue) <= budget:
        return [dialogue]
    pieces: list[str] = []
    cur: list[str] = []
    used = 0
    for turn in dialogue.splitlines():
        n = model.count_tokens(turn) + 1
        while n > budget:  # a monologue longer than a piece: cut by words
            words = turn.split()
            half = max(1, len(words) // 2)
            head, turn = " ".join(words[:half]), " ".join(words[half:])
            pieces.extend(["\n".join(cur)] if cur else [])
            cur, used = [], 0
            pieces.append(head)
            n = model.count_tokens(turn) + 1
        if used + n > budget and cur:
            pieces.append("\n".join(cur))
            cur, used = [], 0
        cur.append(turn)
        used += n
    if cur:
        pieces.append("\n".join(cur))
    return pieces


def note_sections(note: str) -> dict[str, str]:
    """A note's sections by heading (all-capital lines), for few-shot exemplars."""
    out: dict[str, str] = {}
    head = None
    for line in note.splitlines():
        s = line.strip()
        if s and s.upper() == s and re.fullmatch(r"[A-Z][A-Z /&-]{2,}", s):
            head = s
            out[head] = ""
        elif head is not None:
            out[head] += line + "\n"
    return {k: v.strip() for k, v in out.items() if v.strip()}


def write_note(dialogue: str, model: Model, *, examples: Sequence[str] = (),
               sections: Sequence[NoteSection] = NOTE_SECTIONS, params: GenParams | None = None) -> Generated:
    """The clinical note of a visit, one section per model call. A conversation longer than the
    context window leaves room for is cut at turn boundaries; each section is then written from
    each piece and the pieces' texts are joined ('Not documented.' pieces dropped).
    `examples`: notes of other visits whose same-named section is shown as a style example."""
    if not dialogue.strip():
        raise ValueError("the conversation is empty; give the transcript of the visit")
    out = Generated(text="")
    shown = [note_sections(n) for n in examples]
    overhead = model.count_tokens(SCRIBE) + 200 + max(s.max_tokens for s in sections)
    example_tokens = max((sum(model.count_tokens(ex.get(s.heading, "")[:600]) for ex in shown) for s in sections), default=0)
    pieces = fit_dialogue(dialogue, model, model.info.context_window - overhead - example_tokens)
    out.parts = len(pieces)
    written = []
    for sec in sections:
        texts = []
        for i, piece in enumerate(pieces):
            part = f" (part {i + 1} of {len(pieces)})" if len(pieces) > 1 else ""
            ex = "".join(f"Example of this section from another visit:\n{e[sec.heading][:600]}\n\n"
                         for e in shown if e.get(sec.heading))
            ask = (f"Conversation{part}:\n{piece}\n\n{ex}Write the {sec.heading} section of the note: "
                   f"{sec.instruction}. Write only the section's text, without its heading.")
            text = _clean(_chat(model, [{"role": "system", "content": SCRIBE}, {"role": "user", "content": ask}],
                                _params(params, sec.max_tokens), out), sec.heading)
            if text and not (len(pieces) > 1 and text.lower().startswith("not documented")):
                texts.append(text)
        written.append(f"{sec.heading}\n\n{chr(10).join(texts) or 'Not documented.'}")
    out.text = "\n\n".join(written)
    return out


def write_section(dialogue: str, header: str, model: Model, *,
                  examples: Sequence[tuple[str, str, str]] = (), params: GenParams | None = None,
                  max_tokens: int = 160) -> Generated:
    """One note section (MTS-Dialog header code such as GENHX, or plain words) from a
    conversation snippet. `examples`: (dialogue, header, section text) shown as earlier turns."""
    if not dialogue.strip():
        raise ValueError("the conversation is empty; give the transcript")
    out = Generated(text="")
    name = MTS_HEADERS.get(header.upper(), header.lower())

    def ask(d: str, h: str) -> str:
        n = MTS_HEADERS.get(h.upper(), h.lower())
        return (f"Conversation:\n{d}\n\nWrite the {n} section of the clinical note from this conversation, "
                "as a clinician would write it. Write only the section's text.")

    msgs: list[Message] = [{"role": "system", "content": SCRIBE}]
    for d, h, t in examples:
        msgs += [{"role": "user", "content": ask(d, h)}, {"role": "assistant", "content": t}]
    msgs.append({"role": "user", "content": ask(dialogue, header)})
    out.text = _clean(_chat(model, msgs, _params(params, max_tokens), out), name)
    return out


SUMMARIZER = ("You summarise consumer health questions. Rewrite the message as one short question, "
              "in the style of a medical librarian, keeping only what is needed to answer it: the condition, "
              "drug or test and what is asked about it.")


def summarize_question(text: str, model: Model, *, examples: Sequence[tuple[str, str]] = (),
                       params: GenParams | None = None, max_tokens: int = 48) -> Generated:
    """A consumer health question (MeQSum style) as one short question. `examples`: (question,
    summary) pairs shown as earlier turns."""
    if not text.strip():
        raise ValueError("the text to summarise is empty")
    out = Generated(text="")
    msgs: list[Message] = [{"role": "system", "content": SUMMARIZER}]
    for q, s in examples:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": s}]
    msgs.append({"role": "user", "content": text})
    raw = _clean(_chat(model, msgs, _params(params, max_tokens), out))
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    out.text = lines[0] if lines else ""
    return out


ANSWERER = ("You are a physician answering a patient's question in writing. Answer accurately and "
            "concisely in plain language (one or two short paragraphs): what it is, what matters for the "
            "patient, what to do, and when to see a doctor.")


def answer_question(question: str, model: Model, *, passages: Sequence[str] = (),
                    examples: Sequence[tuple[str, str]] = (), params: GenParams | None = None,
                    max_tokens: int = 256) -> Generated:
    """A free-text answer to a patient's question; with `passages`, numbered above it as reference
    material (rag). Passages that would not fit the context window are dropped from the end."""
    if not question.strip():
        raise ValueError("the question is empty")
    out = Generated(text="")
    msgs: list[Message] = [{"role": "system", "content": ANSWERER}]
    for q, a in examples:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    user = question
    if passages:
        budget = model.info.context_window - max_tokens - 200 - model.count_tokens(
            ANSWERER + question + "".join(q + a for q, a in examples))
        kept: list[str] = []
        for p in passages:
            n = model.count_tokens(p) + 4
            if n > budget:
                break
            kept.append(p)
            budget -= n
        if kept:
            refs = "\n".join(f"[{i + 1}] {p}" for i, p in enumerate(kept))
            user = f"Reference passages (use them where they help):\n{refs}\n\nQuestion: {question}"
    msgs.append({"role": "user", "content": user})
    out.text = _clean(_chat(model, msgs, _params(params, max_tokens), out))
    return out
