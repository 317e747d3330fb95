"""ReviewQueue: what guardrails flagged (and rails that failed), waiting for a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from steerwise.store import Store


@dataclass(frozen=True)
class ReviewItem:
    """One queued item; `payload` holds the decision and the scrubbed text."""

    id: int
    created_at: str
    origin: str
    subject: str
    reason: str
    status: str
    payload: dict[str, Any]


class ReviewQueue:
    """Reads the review items of one workspace."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def items(self, *, status: str | None = "open", limit: int = 50) -> list[ReviewItem]:
        """Newest first; `status` None for every status."""
        with self._store.read() as tx:
            rows = tx.reviews.items(status=status, limit=limit)
        return [
            ReviewItem(
                id=int(item_id),
                created_at=str(at),
                origin=str(origin),
                subject=str(subject),
                reason=str(reason),
                status=str(state),
                payload=json.loads(payload),
            )
            for item_id, at, origin, subject, reason, payload, state in rows
        ]
