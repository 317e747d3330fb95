"""Building a CheckContext: from search hits (the request path) or a JSON file (the CLI)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steerwise.core.errors import BadInputError
from steerwise.core.guardrails import CheckContext, ContextDocument
from steerwise.core.json_input import parse_json
from steerwise.core.knowledge import SearchHit


def document_from_hit(hit: SearchHit) -> ContextDocument:
    """A retrieved chunk as a passage rails can check answers against."""
    return ContextDocument(
        id=hit.chunk_id,
        text=hit.text,
        document=hit.document_ref,
        valid_until=_text_or_none(hit.metadata.get("valid_until")),
        stale=hit.freshness.stale,
        stale_reasons=tuple(hit.freshness.reasons),
    )


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None


def context_from_hits(hits: Sequence[SearchHit]) -> CheckContext:
    """The context of an answer written from `hits`, numbered as `number_context` numbers them."""
    return CheckContext(documents=tuple(map(document_from_hit, hits)))


def load_context_file(path: str) -> CheckContext:
    """Passages from a JSON file: a list of {id, text, valid_until?, document?}."""
    try:
        data = parse_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: cannot read the context file: {error}") from error
    except json.JSONDecodeError as error:
        raise BadInputError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, list):
        raise BadInputError(f"{path}: the context file must hold a JSON list of passages")
    return CheckContext(documents=tuple(_passage(path, i, item) for i, item in enumerate(data)))


def _passage(path: str, index: int, item: Any) -> ContextDocument:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise BadInputError(f"{path}: passage {index} must be an object with a string 'text'")
    return ContextDocument(
        id=str(item.get("id", index + 1)),
        text=item["text"],
        document=str(item.get("document", "")),
        valid_until=_text_or_none(item.get("valid_until")),
    )
