"""The REST API under `/api/`: prompts, releases, deployments, traces, metrics and API keys.

Each handler is a call into the workspace; the route's action (read, write, deploy, admin)
is checked against the caller's role (`server.auth.permit`). Bodies are validated by pydantic
models; errors share the OpenAI error format of the rest of the gateway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from steerwise.core.access import Action
from steerwise.core.jsonable import to_plain
from steerwise.releases import PinRequest, release_dict
from steerwise.workspace import Workspace

Permit = Callable[[Action], Callable[[Request], Awaitable[None]]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewRelease(_Body):
    """`POST /api/releases`: what `steerwise release create` takes."""

    name: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    model: str | None = None
    snapshot: str | None = None
    graph: str | None = None
    policy: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class Deploy(_Body):
    """`PUT /api/deployments/{name}/{label}`: the release to serve."""

    release: str = Field(min_length=1)


class LabelTarget(_Body):
    """`PUT /api/prompts/{name}/labels/{label}`: the version the label points at."""

    version: int = Field(ge=1)


class CanarySplit(_Body):
    """`PUT /api/deployments/{name}/{label}/canary`: the release and its share of requests."""

    release: str = Field(min_length=1)
    percent: float = Field(gt=0.0, lt=100.0)


class Reason(_Body):
    """`POST /api/promotions/{id}/reject`: why."""

    reason: str = Field(default="", max_length=2000)


class NewFeedback(_Body):
    """`POST /api/traces/{id}/feedback`: how good the answer was (1 good, 0 bad), and why."""

    score: float = Field(ge=0.0, le=1.0)
    comment: str = Field(default="", max_length=4000)


class NewKey(_Body):
    """`POST /api/keys`: the role of the new key and a name for people."""

    role: str
    name: str = ""


def api_router(workspace: Workspace, permit: Permit) -> APIRouter:
    """Every `/api/` route, each behind its action's permission."""
    router = APIRouter(prefix="/api")
    _prompt_routes(router, workspace, permit)
    _release_routes(router, workspace, permit)
    _promotion_routes(router, workspace, permit)
    _canary_routes(router, workspace, permit)
    _trace_routes(router, workspace, permit)
    _key_routes(router, workspace, permit)
    return router


def _prompt_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    prompts = workspace.prompts

    @router.get("/prompts", dependencies=[Depends(permit("read"))])
    def list_prompts() -> Any:
        return to_plain(prompts.summaries())

    @router.get("/prompts/{ref}", dependencies=[Depends(permit("read"))])
    def show_prompt(ref: str) -> Any:
        return to_plain(prompts.describe(ref))

    @router.post("/prompts", status_code=201, dependencies=[Depends(permit("write"))])
    def push_prompt(body: dict[str, Any]) -> Any:
        return to_plain(prompts.push_data(body, source="api"))

    @router.put("/prompts/{name}/labels/{label}", dependencies=[Depends(permit("deploy"))])
    def label_prompt(name: str, label: str, body: LabelTarget) -> Any:
        return to_plain(prompts.label(f"{name}@{body.version}", label))


def _release_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    releases = workspace.releases

    @router.get("/releases", dependencies=[Depends(permit("read"))])
    def list_releases() -> Any:
        return to_plain(releases.summaries())

    @router.get("/releases/{ref}", dependencies=[Depends(permit("read"))])
    def show_release(ref: str) -> Any:
        return release_dict(releases.find(ref))

    @router.post("/releases", status_code=201, dependencies=[Depends(permit("write"))])
    def create_release(body: NewRelease) -> Any:
        request = PinRequest(
            body.prompt, body.model, body.snapshot, body.graph, body.policy, body.params
        )
        return release_dict(releases.create(body.name, request, description=body.description))

    @router.get("/deployments", dependencies=[Depends(permit("read"))])
    def list_deployments() -> Any:
        return [
            {"deployment": name, "release": release_dict(found)}
            for name, found in releases.deployments()
        ]

    @router.put("/deployments/{name}/{label}", dependencies=[Depends(permit("deploy"))])
    def deploy(name: str, label: str, body: Deploy) -> Any:
        if workspace.promotions.gate_of(name, label) is None:
            return to_plain(releases.deploy(name, body.release, label))
        promotion = workspace.promotions.request(name, body.release, label)
        return JSONResponse(promotion.to_dict(), status_code=202)

    @router.post("/deployments/{name}/{label}/rollback", dependencies=[Depends(permit("deploy"))])
    def rollback(name: str, label: str) -> Any:
        return to_plain(releases.rollback(name, label))


def _canary_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    canaries = workspace.canaries
    route = "/deployments/{name}/{label}/canary"

    @router.get("/canaries", dependencies=[Depends(permit("read"))])
    def list_canaries() -> Any:
        return [found.to_dict() for found in canaries.items()]

    @router.put(route, dependencies=[Depends(permit("deploy"))])
    def start_canary(name: str, label: str, body: CanarySplit) -> Any:
        return canaries.start(name, body.release, label, percent=body.percent).to_dict()

    @router.post(f"{route}/promote", dependencies=[Depends(permit("deploy"))])
    def promote_canary(name: str, label: str) -> Any:
        return canaries.promote(name, label).to_dict()

    @router.delete(route, dependencies=[Depends(permit("deploy"))])
    def abort_canary(name: str, label: str) -> Any:
        return canaries.abort(name, label).to_dict()


def _promotion_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    @router.get("/promotions", dependencies=[Depends(permit("read"))])
    def list_promotions(
        status: str | None = None, limit: int = Query(default=50, ge=1, le=1000)
    ) -> Any:
        return [p.to_dict() for p in workspace.promotions.items(status=status, limit=limit)]

    @router.get("/promotions/{promotion_id}", dependencies=[Depends(permit("read"))])
    def show_promotion(promotion_id: str) -> Any:
        return workspace.promotions.get(promotion_id).to_dict()

    @router.post("/promotions/{promotion_id}/approve", dependencies=[Depends(permit("deploy"))])
    def approve_promotion(promotion_id: str) -> Any:
        return workspace.promotions.approve(promotion_id).to_dict()

    @router.post("/promotions/{promotion_id}/reject", dependencies=[Depends(permit("deploy"))])
    def reject_promotion(promotion_id: str, body: Reason) -> Any:
        return workspace.promotions.reject(promotion_id, body.reason).to_dict()


def _trace_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    traces = workspace.traces

    @router.get("/traces", dependencies=[Depends(permit("read"))])
    def list_traces(
        deployment: str | None = None,
        since: str | None = None,
        limit: int = Query(default=50, ge=1, le=1000),
    ) -> Any:
        found = traces.items(target=deployment, since=since, limit=limit)
        return [trace.to_dict() for trace in found]

    @router.get("/traces/{trace_id}", dependencies=[Depends(permit("read"))])
    def show_trace(trace_id: str) -> Any:
        return traces.get(trace_id).to_dict()

    @router.post(
        "/traces/{trace_id}/feedback", status_code=201, dependencies=[Depends(permit("infer"))]
    )
    def add_feedback(trace_id: str, body: NewFeedback) -> Any:
        return workspace.feedback.add(trace_id, body.score, body.comment).to_dict()

    @router.get("/traces/{trace_id}/feedback", dependencies=[Depends(permit("read"))])
    def list_feedback(trace_id: str) -> Any:
        return [found.to_dict() for found in workspace.feedback.of_trace(trace_id)]

    @router.get("/monitor/{deployment}", dependencies=[Depends(permit("read"))])
    def show_metrics(deployment: str, window: str = "1h", until: str | None = None) -> Any:
        return workspace.monitor.metrics(deployment, window=window, until=until).to_dict()


def _key_routes(router: APIRouter, workspace: Workspace, permit: Permit) -> None:
    keys = workspace.keys

    @router.get("/keys", dependencies=[Depends(permit("admin"))])
    def list_keys() -> Any:
        return [key.to_dict() for key in keys.items()]

    @router.post("/keys", status_code=201, dependencies=[Depends(permit("admin"))])
    def create_key(body: NewKey) -> Any:
        key, secret = keys.create(body.role, name=body.name)
        return {**key.to_dict(), "key": secret}

    @router.delete("/keys/{key_id}", dependencies=[Depends(permit("admin"))])
    def revoke_key(key_id: str) -> Any:
        return keys.revoke(key_id).to_dict()
