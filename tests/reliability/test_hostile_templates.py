"""Server-side template injection: a corpus of Jinja2 payloads pushed as prompts and rendered,
through the Python API and through the gateway's REST API and chat endpoint. None may reach
Python internals, files, the environment or a shell, and none may exhaust memory or time:
each is refused at push, refused at render, or renders harmless text, within a second."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steerwise import BadInputError, TemplateSecurityError, Workspace
from tests.conftest import write_prompt
from tests.reliability.harness import KeyedGateway, keyed_gateway, send

CORPUS = Path(__file__).parent / "data" / "ssti_payloads.txt"
PAYLOADS = [
    line
    for line in CORPUS.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
CANARY = f"canary-{secrets.token_hex(8)}"
LEAKS = ("<class", "uid=", "root:", "__globals__", "<module", "subprocess", CANARY)
"""What an escape would print: a class or module, `id`'s output, /etc/passwd, or the canary
this test puts into the environment of the process that renders (an `os.environ` read)."""
VARIABLE_SETS: list[dict[str, Any]] = [
    {"q": "text", "k": ["a", "b"]},
    {"q": "text", "k": "__class__"},  # for payloads that name an attribute through a variable
]
TIME_LIMIT_S = 1.0


def prompt_yaml(name: str, template: str) -> str:
    escaped = template.replace("'", "''")
    return (
        f"name: {name}\nmessages:\n  - role: user\n    content: '{escaped}'\n"
        "variables:\n  type: object\n  properties:\n    q: {}\n    k: {}\n"
    )


def prompt_data(name: str, template: str) -> dict[str, Any]:
    return {
        "name": name,
        "messages": [{"role": "user", "content": template}],
        "variables": {"type": "object", "properties": {"q": {}, "k": {}}},
    }


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEERWISE_TEST_CANARY", CANARY)


def test_the_corpus_is_substantial() -> None:
    assert len(PAYLOADS) >= 80
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def test_no_payload_escapes_through_the_python_api(
    sqlite_workspace: Workspace, tmp_path: Path, figures: dict[str, Any]
) -> None:
    outcomes = {"refused_at_push": 0, "refused_at_render": 0, "rendered_harmless": 0}
    for index, payload in enumerate(PAYLOADS):
        name = f"p{index}"
        path = write_prompt(tmp_path / name, name, prompt_yaml(name, payload))
        try:
            sqlite_workspace.prompts.push([path])
        except BadInputError:
            outcomes["refused_at_push"] += 1
            continue
        for variables in VARIABLE_SETS:
            started = time.monotonic()
            try:
                text = sqlite_workspace.prompts.render(name, variables).messages[0]["content"]
            except (TemplateSecurityError, BadInputError):
                outcomes["refused_at_render"] += 1
            else:
                outcomes["rendered_harmless"] += 1
                assert not [leak for leak in LEAKS if leak in text], (payload, text[:200])
                assert len(text) <= 1_000_000, payload
            assert time.monotonic() - started < TIME_LIMIT_S, payload
    figures["ssti"] = {"payloads": len(PAYLOADS), "escapes": 0, **outcomes}
    assert outcomes["refused_at_push"] >= 40  # the static check stops most before storage


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedGateway]:
    with keyed_gateway(tmp_path_factory.mktemp("ssti") / "ws", "editor") as running:
        yield running


def post(url: str, key: str, body: Any) -> tuple[int, Any]:
    return send(url, key, "POST", json.dumps(body).encode())


def test_no_payload_escapes_through_the_gateway(
    gateway: KeyedGateway, figures: dict[str, Any]
) -> None:
    url, key, root = gateway.url, gateway.key, gateway.root
    statuses: dict[str, int] = {}
    for index, payload in enumerate(PAYLOADS):
        name = f"web{index}"
        status, _ = post(f"{url}/api/prompts", key, prompt_data(name, payload))
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        assert status in (201, 400), (payload, status)
        if status != 201:
            continue
        chat = {
            "model": f"prompt:{name}@1",
            "messages": [{"role": "user", "content": "hello"}],
            "metadata": {"q": "text", "k": "__class__"},
        }
        started = time.monotonic()
        status, body = post(f"{url}/v1/chat/completions", key, chat)
        assert status in (200, 400), (payload, status, body)
        assert time.monotonic() - started < 10 * TIME_LIMIT_S, payload
        statuses[f"chat {status}"] = statuses.get(f"chat {status}", 0) + 1
    with Workspace.open(root) as ws:
        stored = "\n".join(ws.traces.export())
    assert not [leak for leak in LEAKS if leak in stored]
    figures["ssti_gateway"] = {"payloads": len(PAYLOADS), "statuses": statuses, "escapes": 0}
