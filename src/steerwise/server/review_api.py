"""Review queues over HTTP: the REST routes under `/api/review/` and the reviewer's page.

`GET /review` is a static page (it holds no data, so it needs no key to load); it asks for
an API key and then works through `/api/review/...` with it: queues [read], the next item of
a queue for the caller [review], a verdict [review], agreement [read]. The keyboard drives
it: `a` approve, `r` reject, `c` correct (type the answer, Ctrl+Enter sends), `?` help.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.jsonable import to_plain
from steerwise.server.api import Permit
from steerwise.server.pages import static_page
from steerwise.workspace import Workspace

REVIEW_PAGE = "/review"


class NewVerdict(BaseModel):
    """`POST /api/review/items/{id}/verdicts`."""

    model_config = ConfigDict(extra="forbid")

    verdict: str
    correction: str | None = None
    rubric: dict[str, int] = Field(default_factory=dict)
    note: str = ""


def review_router(workspace: Workspace, permit: Permit) -> APIRouter:
    """The review routes and page, each API route behind its action's permission."""
    router = APIRouter()
    reviews = workspace.reviews
    page_html = static_page("review.html")

    @router.get(REVIEW_PAGE, response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return page_html

    @router.get("/api/review/queues", dependencies=[Depends(permit("read"))])
    def queues() -> Any:
        return to_plain(reviews.queues())

    @router.get("/api/review/queues/{queue}/next", dependencies=[Depends(permit("review"))])
    def next_item(queue: str) -> Any:
        return to_plain(reviews.next(queue))

    @router.post(
        "/api/review/items/{item_id}/verdicts",
        status_code=201,
        dependencies=[Depends(permit("review"))],
    )
    def submit(item_id: int, body: NewVerdict) -> Any:
        found = reviews.submit(
            item_id, body.verdict, correction=body.correction, rubric=body.rubric, note=body.note
        )
        return to_plain(found)

    @router.get("/api/review/stats", dependencies=[Depends(permit("read"))])
    def stats(queue: str | None = None) -> Any:
        return to_plain(reviews.stats(queue=queue))

    return router
