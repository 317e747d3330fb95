"""The knowledge graph: facts that must never be wrong, with provenance, versioned."""

from steerwise.graph.knowledge_graph import KnowledgeGraph
from steerwise.graph.llm_extraction import llm_extractor

__all__ = ["KnowledgeGraph", "llm_extractor"]
