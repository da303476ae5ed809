"""Clinical information extraction: entities, assertion, sections, codes."""
