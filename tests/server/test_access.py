"""Access control at the gateway: a real uvicorn process, the official `openai` client and
the REST API, with a scripted upstream model so that each request is quick."""

from __future__ import annotations

import http.client
import json
import time

import openai
import pytest

from steerwise import Workspace
from tests.server.conftest import Gateway


def test_without_a_valid_key_every_route_but_healthz_is_a_401(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        gateway.client(None).models.list()
    assert "invalid or revoked API key" in caught.value.message
    status, body = gateway.call("GET", "/api/releases", None)
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    assert "missing API key" in body["error"]["message"]
    assert gateway.call("GET", "/healthz", None) == (200, {"status": "ok"})


def test_a_viewer_asks_and_reads_but_may_not_deploy(gateway: Gateway) -> None:
    details = gateway.ask("viewer")
    assert details["release"] == "bot@1"
    status, body = gateway.call(
        "PUT", "/api/deployments/bot/production", "viewer", {"release": gateway.releases[1]}
    )
    assert status == 403 and body["error"]["type"] == "permission_error"
    assert "role 'viewer' may not deploy" in body["error"]["message"]
    assert gateway.ask("viewer")["release"] == "bot@1"  # nothing moved
    status, found = gateway.call("GET", f"/api/traces/{details['trace_id']}", "viewer")
    assert status == 200 and found["release"] == "bot@1"
    status, metrics = gateway.call("GET", "/api/monitor/bot@production?window=1h", "viewer")
    assert status == 200 and metrics["requests"] >= 1 and "bot@1" in metrics["releases"]
    status, body = gateway.call("GET", "/api/monitor/bot@production?window=soon", "viewer")
    assert status == 400 and "is not a duration" in body["error"]["message"]
    path = f"/api/traces/{details['trace_id']}/feedback"
    status, rated = gateway.call("POST", path, "viewer", {"score": 0.0, "comment": "wrong"})
    assert status == 201 and rated["actor"].endswith("(viewer)")
    assert gateway.call("POST", path, "viewer", {"score": 3})[0] == 400
    status, listed = gateway.call("GET", path, "viewer")
    assert status == 200 and [f["score"] for f in listed] == [0.0]
    with Workspace.open(gateway.root) as ws:
        denied = [e for e in ws.audit.events(limit=50) if e.action == "access.denied"]
    assert denied[-1].actor.endswith("(viewer)") and denied[-1].target.startswith("PUT ")


def test_a_deploy_and_a_rollback_change_what_the_next_request_gets(gateway: Gateway) -> None:
    status, move = gateway.call(
        "PUT", "/api/deployments/bot/production", "approver", {"release": gateway.releases[1]}
    )
    assert status == 200 and move["to_version"] == 2
    assert gateway.ask("viewer")["release"] == "bot@2"
    status, move = gateway.call("POST", "/api/deployments/bot/production/rollback", "approver")
    assert status == 200 and move["to_version"] == 1
    assert gateway.ask("viewer")["release"] == "bot@1"
    with Workspace.open(gateway.root) as ws:
        moves = [e for e in ws.audit.events(limit=50) if e.action.startswith("release.")]
    assert moves[-1].actor.endswith("(approver)")  # audited as the key that deployed


def test_an_editor_creates_releases_but_may_not_deploy_them(gateway: Gateway) -> None:
    body = {"name": "bot", "prompt": "support-answer@1", "model": "scripted", "params": {"k": "2"}}
    status, made = gateway.call("POST", "/api/releases", "editor", body)
    assert status == 201 and made["ref"] == "bot@3" and made["pins"]["params"] == {"k": 2}
    assert gateway.call("POST", "/api/releases", "viewer", body)[0] == 403
    status, _ = gateway.call(
        "PUT", "/api/deployments/bot/staging", "editor", {"release": made["id"]}
    )
    assert status == 403
    status, deployments = gateway.call("GET", "/api/deployments", "editor")
    assert [d["deployment"] for d in deployments] == ["bot@production", "slow@production"]


def test_admins_manage_keys_and_a_revoked_key_fails_at_once(gateway: Gateway) -> None:
    status, listed = gateway.call("GET", "/api/keys", "admin")
    assert status == 200 and {k["role"] for k in listed} == {
        "viewer",
        "editor",
        "approver",
        "admin",
    }
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert gateway.call("GET", "/api/keys", "approver")[0] == 403
    spare = next(k for k in listed if k["name"] == "spare")
    assert gateway.call("GET", "/api/prompts", "spare")[0] == 200
    status, revoked = gateway.call("DELETE", f"/api/keys/{spare['id']}", "admin")
    assert status == 200 and revoked["revoked_at"]
    assert gateway.call("GET", "/api/prompts", "spare")[0] == 401


def test_rest_errors_are_clean_4xx_in_the_openai_format(gateway: Gateway) -> None:
    status, body = gateway.call("POST", "/api/releases", "admin", {"name": "bot"})
    assert status == 400 and "prompt" in body["error"]["message"]
    status, body = gateway.call("GET", "/api/releases/nobody@1", "admin")
    assert status == 404 and "nobody" in body["error"]["message"]
    status, body = gateway.call("GET", "/api/nothing-here", "admin")
    assert status == 404 and body["error"]["type"] == "not_found_error"
    status, body = gateway.call("POST", "/api/prompts", "admin", {"name": "p", "bogus": 1})
    assert status == 400 and "missing required key 'messages'" in body["error"]["message"]


def test_prompts_are_published_and_labelled_through_the_api(gateway: Gateway) -> None:
    prompt = {
        "name": "greet",
        "messages": [{"role": "user", "content": "Hi {{ who }}"}],
        "variables": {"type": "object", "properties": {"who": {"type": "string"}}},
    }
    status, pushed = gateway.call("POST", "/api/prompts", "editor", prompt)
    assert status == 201, pushed
    assert (pushed["name"], pushed["version"], pushed["status"]) == (
        "greet",
        1,
        "new",
    )
    assert gateway.call("POST", "/api/prompts", "editor", prompt)[1]["status"] == "unchanged"
    assert gateway.call("PUT", "/api/prompts/greet/labels/live", "editor", {"version": 1})[0] == 403
    status, move = gateway.call("PUT", "/api/prompts/greet/labels/live", "approver", {"version": 1})
    assert status == 200 and move["label"] == "live"
    status, shown = gateway.call("GET", "/api/prompts/greet@live", "viewer")
    assert status == 200 and shown["labels"] == ["live"] and shown["spec"]["messages"]


def test_a_chunked_body_over_the_limit_is_a_413(gateway: Gateway) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    pieces = (b'{"model": "bot@production", "messages": [], "pad": "' + b"x" * 200_000 + b'"}',)
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=iter(pieces * 6),  # 1.2 MB without a Content-Length: sent chunked
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {gateway.keys['viewer']}",
        },
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    assert "over 1000000 bytes" in json.loads(response.read())["error"]["message"]
    connection.close()


def test_a_gated_label_needs_its_gate_and_an_approver_who_did_not_ask(gateway: Gateway) -> None:
    path = "/api/deployments/bot/canary"
    assert gateway.call("PUT", path, "editor", {"release": gateway.releases[1]})[0] == 403
    status, asked = gateway.call("PUT", path, "approver", {"release": gateway.releases[1]})
    assert status == 202 and asked["status"] == "awaiting_approval"
    assert asked["gate"]["passed"] is True
    approve = f"/api/promotions/{asked['id']}/approve"
    status, body = gateway.call("POST", approve, "approver")
    assert status == 400 and "may not approve it" in body["error"]["message"]
    status, body = gateway.call("POST", approve, "viewer")
    assert status == 403 and "may not deploy" in body["error"]["message"]
    status, done = gateway.call("POST", approve, "admin")
    assert status == 200 and done["status"] == "deployed"
    status, listed = gateway.call("GET", "/api/promotions?status=deployed", "viewer")
    assert status == 200 and [p["id"] for p in listed] == [asked["id"]]
    with Workspace.open(gateway.root) as ws:
        events = ws.audit.events(limit=60)
    denied = [e for e in events if e.action == "access.denied" and "approve" in e.target]
    assert denied and denied[-1].actor.endswith("(viewer)")
    approved = [e for e in events if e.action == "promotion.approve"]
    assert approved[-1].actor.endswith("(admin)")


def test_a_canary_splits_the_gateway_s_requests_until_aborted(gateway: Gateway) -> None:
    path = "/api/deployments/bot/production/canary"
    body = {"release": gateway.releases[1], "percent": 50}
    assert gateway.call("PUT", path, "viewer", body)[0] == 403
    status, started = gateway.call("PUT", path, "approver", body)
    assert status == 200 and started["deployment"] == "bot@production"
    time.sleep(1.2)  # the server's canary cache (label_cache_ttl_s) picks it up
    served = {gateway.ask("viewer")["release"] for _ in range(24)}
    assert served == {"bot@1", "bot@2"}
    status, listed = gateway.call("GET", "/api/canaries", "viewer")
    assert status == 200 and [c["percent"] for c in listed] == [50.0]
    assert gateway.call("DELETE", path, "approver")[0] == 200
    time.sleep(1.2)
    assert {gateway.ask("viewer")["release"] for _ in range(8)} == {"bot@1"}
