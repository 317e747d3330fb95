"""The access-control matrix: every route of a real gateway, called with every role's key and
with none, gets exactly the answer docs/access.md documents, and every refusal is audited.

The expected answers come from the documentation's two tables (which role may take which
action, and which action each route takes), so a route added without documenting it, or a
role table that says one thing while the server does another, fails here.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steerwise import Workspace
from tests.models.fault_server import FaultServer, ok
from tests.server.conftest import scripted_workspace
from tests.serving import served

DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"
ROLES = ("viewer", "editor", "reviewer", "approver", "admin")
OPEN_ROUTES = frozenset({("GET", "/healthz")})
PLACEHOLDER = "matrix-x"
"""Path parameters are filled with a name that exists nowhere: an allowed call is answered
(404, 400, 422) but changes nothing, so every cell of the matrix starts from the same state."""


@dataclass(frozen=True)
class Cell:
    """One call of the matrix: a route, a role (None: no key), and the answer's status."""

    method: str
    path: str
    role: str | None
    status: int


def documented_roles() -> dict[str, set[str]]:
    """Action -> the roles the role table ticks for it."""
    found: dict[str, set[str]] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0])
        if match and len(cells) == 2 + len(ROLES) and set(cells[2:]) <= {"✓", ""}:
            found[match.group(1)] = {r for r, tick in zip(ROLES, cells[2:], strict=True) if tick}
    return found


def documented_routes() -> dict[tuple[str, str], str]:
    """(method, path) -> action, from the route table."""
    pattern = re.compile(r"^\| `(GET|POST|PUT|DELETE) (/\S*)` \| `(\w+)` \|$")
    return {
        (match.group(1), match.group(2)): match.group(3)
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if (match := pattern.match(line))
    }


def call(url: str, method: str, path: str, key: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = b"{}" if method in ("POST", "PUT") else None
    request = urllib.request.Request(url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Cell], Path, Any]]:
    """Every route called with every key and with none, on a served workspace."""
    root = tmp_path_factory.mktemp("matrix") / "ws"
    with FaultServer(default=ok("An answer.")) as upstream:
        scripted_workspace(root, upstream.base_url)
        with Workspace.open(root, actor="setup") as ws:
            keys = {role: ws.keys.create(role, name=role)[1] for role in ROLES}
        with served(root) as gateway:
            admin = keys["admin"]
            schema = json.loads(_get(gateway.url + "/openapi.json", admin))
            cells = [
                Cell(
                    method,
                    path,
                    role,
                    call(gateway.url, method, _filled(path), keys.get(role or "")),
                )
                for path, operations in schema["paths"].items()
                for method in (name.upper() for name in operations)
                for role in (None, *ROLES)
            ]
        yield cells, root, schema


def _get(url: str, key: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


def expected_action(method: str, path: str) -> str | None:
    """The documented action of a route (None: open to everyone)."""
    if (method, path) in OPEN_ROUTES:
        return None
    return documented_routes().get((method, path), "read" if method == "GET" else "undocumented")


def test_every_route_that_changes_state_is_in_the_route_table(
    matrix: tuple[list[Cell], Path, Any],
) -> None:
    _, _, schema = matrix
    served_routes = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    changing = {(method, path) for method, path in served_routes if method != "GET"}
    documented = set(documented_routes())
    assert changing - documented == set()  # nothing that changes state goes undocumented
    assert documented - served_routes == set()  # and the table names no route that is gone
    assert len(changing) >= 15


def test_every_role_and_no_key_get_the_documented_answer(
    matrix: tuple[list[Cell], Path, Any],
) -> None:
    cells, _, _ = matrix
    roles_of = documented_roles()
    assert set(roles_of) == {"read", "infer", "write", "review", "deploy", "admin"}
    wrong = []
    for cell in cells:
        action = expected_action(cell.method, cell.path)
        if action is None:
            expected = "answered"
        elif cell.role is None:
            expected = "401"
        else:
            expected = "answered" if cell.role in roles_of[action] else "403"
        got = str(cell.status) if cell.status in (401, 403) else "answered"
        if got != expected or cell.status >= 500:
            wrong.append((cell, expected))
    assert wrong == []
    assert len(cells) >= 6 * 40


def test_each_refused_attempt_to_change_state_is_in_the_audit_log(
    matrix: tuple[list[Cell], Path, Any],
) -> None:
    cells, root, _ = matrix
    with Workspace.open(root) as ws:
        events = [e for e in ws.audit.events(limit=5000) if e.action == "access.denied"]
        assert ws.audit.verify().ok
    audited = [(e.actor, e.target) for e in events]
    refused = [cell for cell in cells if cell.status in (401, 403)]
    for cell in refused:
        target = f"{cell.method} {_filled(cell.path)}"
        if cell.role is not None:  # every 403, reads included, names the key that tried
            assert any(target == t and actor.endswith(f"({cell.role})") for actor, t in audited)
        elif cell.method != "GET":  # a stranger's attempt to change state: as anonymous
            assert ("anonymous", target) in audited
    strangers = [c for c in refused if c.role is None and c.method != "GET"]
    assert sum(actor == "anonymous" for actor, _ in audited) == len(strangers)
    assert len([c for c in refused if c.status == 403]) == sum(a != "anonymous" for a, _ in audited)
