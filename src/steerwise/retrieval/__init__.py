"""Knowledge retrieval: sources, chunking, index snapshots, search and citations."""

from steerwise.retrieval.chunking import ChunkerSettings, chunk_document
from steerwise.retrieval.citations import Citation, cited_documents, find_citations, number_context
from steerwise.retrieval.index import BuildResult, KnowledgeIndex, SnapshotDiff
from steerwise.retrieval.readers import ReadDocument, SkipFile, discover, read_document
from steerwise.retrieval.search import SearchOptions, search
from steerwise.retrieval.sources import SourceLibrary, StaleDocument

__all__ = [
    "BuildResult",
    "ChunkerSettings",
    "Citation",
    "KnowledgeIndex",
    "ReadDocument",
    "SearchOptions",
    "SkipFile",
    "SnapshotDiff",
    "SourceLibrary",
    "StaleDocument",
    "chunk_document",
    "cited_documents",
    "discover",
    "find_citations",
    "number_context",
    "read_document",
    "search",
]
