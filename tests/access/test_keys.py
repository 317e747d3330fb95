"""API keys on both stores: created once, stored hashed, checked, revoked, audited."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.access import secret_hash
from steerwise.core.access import ACTIONS, PERMISSIONS, ROLES, may
from steerwise.core.errors import (
    AuthenticationError,
    BadInputError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.cli.runner import steerwise


def test_no_key_means_the_gateway_is_open(workspace: Workspace) -> None:
    assert not workspace.keys.enforced()
    assert workspace.keys.authenticate(None) is None
    workspace.keys.authorize(None, "admin", target="anything")  # nothing to refuse with


def test_a_key_is_shown_once_and_checked_by_its_hash(workspace: Workspace) -> None:
    key, secret = workspace.keys.create("editor", name="ci")
    assert secret.startswith(f"sw_{key.id}_") and len(secret) > 40
    assert workspace.keys.enforced()
    assert workspace.keys.authenticate(secret) == key
    assert (key.role, key.name, key.revoked_at) == ("editor", "ci", None)
    with pytest.raises(AuthenticationError, match="missing API key"):
        workspace.keys.authenticate(None)
    with pytest.raises(AuthenticationError, match="invalid or revoked"):
        workspace.keys.authenticate(secret + "x")


def test_a_revoked_key_stops_working_at_once(workspace: Workspace) -> None:
    keep, kept_secret = workspace.keys.create("admin")
    gone, secret = workspace.keys.create("viewer")
    revoked = workspace.keys.revoke(gone.id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError):
        workspace.keys.authenticate(secret)
    assert workspace.keys.authenticate(kept_secret) == keep
    assert [k.id for k in workspace.keys.items()] == [keep.id, gone.id]
    with pytest.raises(NotFoundError, match="no API key has id 'nope'"):
        workspace.keys.revoke("nope")


def test_a_refused_action_is_audited_as_the_key(workspace: Workspace) -> None:
    viewer, _ = workspace.keys.create("viewer", name="dashboards")
    approver, _ = workspace.keys.create("approver")
    workspace.keys.authorize(approver, "deploy", target="PUT /api/deployments/bot/production")
    with pytest.raises(PermissionDeniedError, match="role 'viewer' may not deploy"):
        workspace.keys.authorize(viewer, "deploy", target="PUT /api/deployments/bot/production")
    events = workspace.audit.events(limit=5)
    denied = [e for e in events if e.action == "access.denied"]
    assert len(denied) == 1
    assert denied[0].actor == f"key:{viewer.id} (dashboards)"
    assert denied[0].after == {"action": "deploy", "role": "viewer"}
    assert [e.action for e in events].count("key.create") == 2
    assert workspace.audit.verify().ok


def test_roles_and_bad_roles(workspace: Workspace) -> None:
    assert all(may("admin", action) for action in ACTIONS)
    assert [role for role in ROLES if may(role, "deploy")] == ["approver", "admin"]
    assert [role for role in ROLES if may(role, "write")] == ["editor", "admin"]
    assert all({"read", "infer"} <= PERMISSIONS[role] for role in ROLES)
    with pytest.raises(BadInputError, match="unknown role 'owner'"):
        workspace.keys.create("owner")
    assert workspace.keys.items() == []


def test_the_store_never_holds_the_secret(sqlite_workspace: Workspace) -> None:
    _, secret = sqlite_workspace.keys.create("admin")
    database = sqlite_workspace.root / ".steerwise" / "steerwise.db"
    with sqlite3.connect(database) as connection:
        dump = "\n".join(connection.iterdump())
    assert secret not in dump and secret_hash(secret) in dump


def test_the_keys_commands(tmp_path: Path) -> None:
    assert steerwise("init", str(tmp_path / "ws"), cwd=tmp_path).code == 0
    root = tmp_path / "ws"
    created = steerwise("keys", "create", "--role", "reviewer", "--name", "qa", "--json", cwd=root)
    assert created.code == 0, created.err
    body = created.json()
    assert body["role"] == "reviewer" and body["key"].startswith(f"sw_{body['id']}_")
    plain = steerwise("keys", "create", "--role", "viewer", cwd=root)
    assert plain.out.startswith("sw_") and "not shown again" in plain.err
    listed = steerwise("keys", "list", "--json", cwd=root).json()
    assert [k["role"] for k in listed] == ["reviewer", "viewer"]
    assert all("key" not in k for k in listed)
    revoked = steerwise("keys", "revoke", body["id"], cwd=root)
    assert revoked.code == 0 and f"revoked key {body['id']}" in revoked.out
    bad = steerwise("keys", "create", "--role", "owner", cwd=root)
    assert bad.code == 2 and "owner" in bad.err
    missing = steerwise("keys", "revoke", "nope", cwd=root)
    assert missing.code == 2 and "no API key has id 'nope'" in missing.err
