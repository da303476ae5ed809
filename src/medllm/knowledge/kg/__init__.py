"""The medical knowledge graph: HPO phenotypes, diseases and genes, ICD-10-CM, drugs; entity
linking with negation; paths and subgraphs for KG-RAG; differential diagnosis."""

from medllm.knowledge.kg.ddx import DdxParams, Diagnosis, Differential, Match, PatientCase
from medllm.knowledge.kg.graph import Concept, Edge, KnowledgeGraph, Neighbour, normalize_id
from medllm.knowledge.kg.linking import EntityLinker

__all__ = ["Concept", "DdxParams", "Diagnosis", "PatientCase", "Differential", "Edge", "EntityLinker", "KnowledgeGraph", "Match",
           "Neighbour", "normalize_id"]
