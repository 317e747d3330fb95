"""The SQL of promotion requests (`promotions`): searchable columns and the whole as JSON."""

from __future__ import annotations

from steerwise.store.json_rows import JsonRows
from steerwise.store.session import Session


class PromotionRecords(JsonRows):
    """Rows of `promotions`."""

    def __init__(self, session: Session) -> None:
        columns = ("id", "deployment", "status", "requested_at")
        super().__init__(
            session, "promotions", columns, body_column="promotion_json", newest_by="requested_at"
        )
