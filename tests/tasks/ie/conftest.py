"""Fixtures for the extraction tests: the real knowledge graph and the dictionary tagger over it,
loaded once (the graph's cache is public ontology data, shared across sessions)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

KG_CACHE = Path(os.environ.get("MEDLLM_KG_DIR", "~/.medllm/kg")).expanduser()


@pytest.fixture(scope="session")
def ie_graph():
    from medllm.knowledge.kg.graph import load_default_graph

    return load_default_graph(KG_CACHE)


@pytest.fixture(scope="session")
def dict_tagger(ie_graph):
    from medllm.tasks.ie.dictionary import DictionaryTagger

    return DictionaryTagger(ie_graph)


@pytest.fixture(scope="session")
def coder(ie_graph):
    from medllm.tasks.ie.coding import ICDCoder

    return ICDCoder(ie_graph)
