"""ReviewQueue: what guardrails flagged (and rails that failed), waiting for a person."""

from __future__ import annotations

import json
from collections.abc import Callable
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
    """Reads the review items of one workspace; `pending` writes what is queued for it (the
    guardrails' flags) before each read."""

    def __init__(self, store: Store, *, pending: Callable[[], object] | None = None) -> None:
        self._store = store
        self._pending = pending

    def items(self, *, status: str | None = "open", limit: int = 50) -> list[ReviewItem]:
        """Newest first; `status` None for every status."""
        if self._pending is not None:
            self._pending()
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
