"""Fact extraction by any configured LLM, constrained to a JSON Schema."""

from __future__ import annotations

from dataclasses import replace

from steerwise.core.graph import Fact, Provenance
from steerwise.core.models import ChatParams
from steerwise.graph.knowledge_graph import ChunkExtractor
from steerwise.models import ModelRegistry
from steerwise.retrieval.snapshot_file import IndexedChunk

FACTS_SCHEMA = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string", "minLength": 1, "maxLength": 80},
                    "predicate": {"type": "string", "minLength": 1, "maxLength": 60},
                    "object": {"type": "string", "minLength": 1, "maxLength": 80},
                },
                "required": ["subject", "predicate", "object"],
            },
        }
    },
    "required": ["facts"],
}
INSTRUCTION = (
    "Extract the facts that must never be wrong from the text: prices, durations, limits and "
    "who owns what. Use short subjects and predicates; copy numbers and units exactly."
)
LLM_CONFIDENCE = 0.5


def llm_extractor(models: ModelRegistry, model: str) -> ChunkExtractor:
    """A chunk extractor that asks `model` for facts as schema-valid JSON."""

    def extract(chunk: IndexedChunk, provenance: Provenance) -> list[Fact]:
        messages = [
            {"role": "system", "content": INSTRUCTION},
            {"role": "user", "content": chunk.searchable_text()},
        ]
        params = ChatParams(temperature=0, max_tokens=400, response_format=FACTS_SCHEMA)
        parsed = models.chat(model, messages, params).parsed
        origin = replace(provenance, origin="llm")
        return [
            Fact(item["subject"], item["predicate"], item["object"], LLM_CONFIDENCE, origin)
            for item in parsed["facts"]
            if item["object"].strip() and _quoted_from(item["object"], chunk.text)
        ]

    return extract


def _quoted_from(value: str, text: str) -> bool:
    """Keep only facts whose numbers appear in the chunk: a guard against invented values."""
    digits = [part for part in value.replace(",", "").split() if any(c.isdigit() for c in part)]
    plain = text.replace(",", "")
    return all(part.strip("£$€%.") in plain for part in digits)
