"""Clinical text generation (the survey's Med-Gen): a visit note from a doctor-patient
conversation, written section by section within the model's context window (`write_note`); one
note section from a conversation snippet (`write_section`, MTS-Dialog); a consumer health question
summarised as a short question (`summarize_question`, MeQSum); a free-text answer to a patient's
question, optionally over retrieved passages (`answer_question`, K-QA).

Everything goes through the model protocol, so a `GatedModel` (the privacy gate) can stand in
for the model; how the text is scored lives in `medllm.eval.gen_tasks` and
`medllm.trust.grounding`.
"""

from medllm.tasks.gen.generate import (
    NOTE_SECTIONS,
    Generated,
    NoteSection,
    answer_question,
    fit_dialogue,
    summarize_question,
    write_note,
    write_section,
)

__all__ = ["NOTE_SECTIONS", "Generated", "NoteSection", "answer_question", "fit_dialogue",
           "summarize_question", "write_note", "write_section"]
