"""The web console: one static page (`GET /console`) and the read routes it needs beyond the
rest of the API: incidents, the audit log with its verification, prompt histories and diffs,
release differences, evaluation runs, and drift.

The page holds no data, so it needs no key to load; it asks for an API key and works through
`/api/...` with it, so each role sees and does exactly what its key allows (a viewer's
approve button answers 403, as the API would). No build step: plain HTML and a small script.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from steerwise.core.jsonable import to_plain
from steerwise.server.api import Permit
from steerwise.server.pages import static_page
from steerwise.workspace import Workspace

CONSOLE_PAGE = "/console"


def console_router(workspace: Workspace, permit: Permit) -> APIRouter:
    """The console page, incidents and the audit log, each route behind its permission."""
    router = APIRouter()
    page_html = static_page("console.html")

    @router.get(CONSOLE_PAGE, response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return page_html

    @router.get("/api/incidents", dependencies=[Depends(permit("read"))])
    def list_incidents(
        status: str | None = None, limit: int = Query(default=50, ge=1, le=1000)
    ) -> Any:
        return [i.to_dict() for i in workspace.alerts.incidents(status=status, limit=limit)]

    @router.get("/api/audit", dependencies=[Depends(permit("read"))])
    def audit_events(limit: int = Query(default=50, ge=1, le=1000)) -> Any:
        return [asdict(event) for event in workspace.audit.events(limit=limit)]

    @router.get("/api/audit/verify", dependencies=[Depends(permit("read"))])
    def audit_verify() -> Any:
        return asdict(workspace.audit.verify())

    _history_routes(router, workspace, permit)
    _evaluation_routes(router, workspace, permit)
    return router


def _history_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    """Prompt versions and their diffs, and what changed between two releases."""

    @router.get("/api/prompts/{name}/history", dependencies=[Depends(permit("read"))])
    def prompt_history(name: str) -> Any:
        return to_plain(workspace.prompts.history(name))

    @router.get("/api/prompts/{name}/diff", dependencies=[Depends(permit("read"))])
    def prompt_diff(name: str, old: int = Query(ge=1), new: int = Query(ge=1)) -> Any:
        return {"diff": workspace.prompts.diff(f"{name}@{old}", f"{name}@{new}")}

    @router.get("/api/release-diff", dependencies=[Depends(permit("read"))])
    def release_diff(old: str, new: str) -> Any:
        return to_plain(workspace.releases.diff_pins(old, new))


def _evaluation_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    """Evaluation runs and a drift check, read-only."""

    @router.get("/api/evals", dependencies=[Depends(permit("read"))])
    def eval_runs(limit: int = Query(default=50, ge=1, le=1000)) -> Any:
        return to_plain(workspace.evals.runs(limit=limit))

    @router.get("/api/eval-compare", dependencies=[Depends(permit("read"))])
    def eval_compare(baseline: str, candidate: str) -> Any:
        return workspace.evals.compare(baseline, candidate).to_dict()

    @router.get("/api/evals/{run_id}", dependencies=[Depends(permit("read"))])
    def eval_report(run_id: str) -> Any:
        return workspace.evals.report(run_id).to_dict()

    @router.get("/api/drift/{deployment}", dependencies=[Depends(permit("read"))])
    def drift(deployment: str, reference: str = "7d", current: str = "1h") -> Any:
        return workspace.drift.check(deployment, reference=reference, current=current).to_dict()
