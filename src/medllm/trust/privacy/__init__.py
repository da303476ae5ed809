"""PHI de-identification and the privacy gate, split along Presidio's seam:

- `detect`: the analyzer (Presidio + medllm's recognizers) and `PhiDetector`;
- `lexicon`: the word lists the recognizers consult, and site lexicons learned from gold notes;
- `replace`: the anonymizer, surrogates, date shifting (`Deidentifier`, `PhiSession`);
- `gate`: `PrivacyGate` and `GatedModel`, what stands in front of a remote model;
- `batch`: de-identifying folders of notes, resumably (shared by `medllm deid` and the service).

`from medllm.trust.privacy import PrivacyGate` keeps working: the names below are re-exported.
"""

from __future__ import annotations

from medllm.trust.privacy.detect import (
    ALLOWED_PLACE_NAMES, SPACY_MODEL, PhiDetector, load_analyzer, load_default_presidio,
)
from medllm.trust.privacy.gate import GatedModel, PrivacyGate, counts_table, gate_reason, gate_required
from medllm.trust.privacy.lexicon import (
    Lexicon, SiteLexicon, default_site_lexicon, learn_site_lexicon, load_lexicon, read_gold_notes,
)
from medllm.trust.privacy.replace import (
    MODES, Deidentified, Deidentifier, Mode, PhiSession, format_date, parse_date,
)
from medllm.trust.vault import Vault

__all__ = [
    "ALLOWED_PLACE_NAMES", "Deidentified", "Deidentifier", "GatedModel", "Lexicon", "MODES",
    "Mode", "PhiDetector", "PhiSession", "PrivacyGate", "SPACY_MODEL", "SiteLexicon", "Vault",
    "counts_table", "default_site_lexicon", "format_date", "gate_reason", "gate_required", "learn_site_lexicon",
    "load_analyzer", "load_default_presidio", "load_lexicon", "parse_date", "read_gold_notes",
]
