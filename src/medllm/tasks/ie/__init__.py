"""Clinical information extraction: entities (a tagger: `ner` trained, or `dictionary`), note
sections, ConText assertion, concept links and ICD-10-CM code suggestions.

    from medllm.tasks.ie import extract, load_tagger
    tagger = load_tagger("dictionary")          # or "default", the trained model
    spans = extract(note_text, tagger)          # Span records: type, concept, assertion, section
"""

from medllm.tasks.ie.context import Assertion, ConText
from medllm.tasks.ie.pipeline import assert_mentions, extract, load_tagger
from medllm.tasks.ie.sections import Section, split_sections

__all__ = ["Assertion", "ConText", "Section", "assert_mentions", "extract", "load_tagger", "split_sections"]
