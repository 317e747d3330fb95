"""Malformed, deeply nested, alias-bombed and oversized JSON and YAML everywhere steerwise takes
them: every CLI command that reads such a file exits 2 with one clear error (never a crash,
never a hang) and stores nothing; every gateway route that takes a body answers a clean 4xx
in the OpenAI error format."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steerwise import Workspace
from steerwise.core.evals import DatasetItem
from steerwise.demo import pack_path
from tests.cli.runner import Outcome, steerwise
from tests.conftest import simple_prompt, write_prompt
from tests.reliability.harness import KeyedGateway, keyed_gateway, send

DEPTH = 100_000
NESTED_JSON = "[" * DEPTH + "]" * DEPTH
NESTED_YAML = "name: t\nmessages: " + "[" * 5_000 + "]" * 5_000 + "\n"
MALFORMED_YAML = "name: t\nmessages: [\n  - role: {user\n"
MALFORMED_JSON = '{"id": "q1", "variables": {"question": '
BOMB_YAML = (
    "name: t\nlol0: &l0 ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']\n"
    + "".join(f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 9))
)
"""The "billion laughs": nine levels of nine aliases, 387 million strings once expanded."""
OVERSIZED_YAML = simple_prompt("t", system="x" * 6_000_000)
YAML_FORMS = {
    "malformed": MALFORMED_YAML,
    "nested": NESTED_YAML,
    "alias bomb": BOMB_YAML,
}
JSON_FORMS = {"malformed": MALFORMED_JSON, "nested": NESTED_JSON}


@dataclass(frozen=True)
class Case:
    """One command reading one hostile file."""

    name: str
    file: str
    content: str
    args: Callable[[Path], list[str]]


def cases() -> list[Case]:
    found = [
        *(
            Case(f"prompt push, {k}", "t.prompt.yaml", v, lambda f: ["prompt", "push", str(f)])
            for k, v in {**YAML_FORMS, "oversized": OVERSIZED_YAML}.items()
        ),
        *(
            Case(f"policy push, {k}", "t.policy.yaml", v, lambda f: ["policy", "push", str(f)])
            for k, v in YAML_FORMS.items()
        ),
        *(
            Case(
                f"promptfoo import, {k}",
                "promptfooconfig.yaml",
                v,
                lambda f: ["eval", "import-promptfoo", str(f), "--dataset", "pf"],
            )
            for k, v in YAML_FORMS.items()
        ),
        *(
            Case(
                f"dataset import, {k}",
                "items.jsonl",
                v,
                lambda f: ["dataset", "import", "hostile", str(f)],
            )
            for k, v in JSON_FORMS.items()
        ),
        *(
            Case(f"graph import, {k}", "facts.jsonl", v, lambda f: ["graph", "import", str(f)])
            for k, v in JSON_FORMS.items()
        ),
        *(
            Case(
                f"render --vars-file, {k}",
                "vars.json",
                v,
                lambda f: ["prompt", "render", "q", "--vars-file", str(f)],
            )
            for k, v in JSON_FORMS.items()
        ),
        *(
            Case(
                f"guard check --context, {k}",
                "context.json",
                v,
                lambda f: [
                    "guard",
                    "check",
                    "--policy",
                    "support",
                    "--output",
                    "Hi.",
                    "--context",
                    str(f),
                ],
            )
            for k, v in JSON_FORMS.items()
        ),
        *(
            Case(
                f"eval score --predictions, {k}",
                "predictions.jsonl",
                v,
                lambda f: [
                    "eval",
                    "score",
                    "--predictions",
                    str(f),
                    "--dataset",
                    "qa",
                    "--scorer",
                    "exact_match",
                ],
            )
            for k, v in JSON_FORMS.items()
        ),
    ]
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "ws"
    with Workspace.init(root) as ws:
        ws.prompts.push([write_prompt(root.parent / "p", "q", simple_prompt("q"))])
        ws.policies.push([pack_path() / "policies"])
        ws.datasets.import_items("qa", [DatasetItem(id="q1", reference="a")], source="test")
    return root


def stored(root: Path) -> dict[str, Any]:
    """What a refused command must leave as it was."""
    with Workspace.open(root) as ws:
        return {
            "prompts": [(s.name, s.latest_version) for s in ws.prompts.summaries()],
            "policies": [(s.name, s.latest_version) for s in ws.policies.summaries()],
            "datasets": [(s.name, s.latest_version) for s in ws.datasets.summaries()],
            "audit": ws.audit.verify().count,
        }


def test_every_command_refuses_every_hostile_file_cleanly(
    workspace: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    before = stored(workspace)
    all_cases = cases()

    def run(index: int, case: Case) -> tuple[Case, Outcome]:
        folder = tmp_path / str(index)
        folder.mkdir()
        path = folder / case.file
        path.write_text(case.content, encoding="utf-8")
        return case, steerwise(*case.args(path), cwd=workspace, timeout_s=60)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda pair: run(*pair), enumerate(all_cases)))
    wrong = [
        (case.name, outcome.code, outcome.err[-300:])
        for case, outcome in outcomes
        if outcome.code != 2 or "Traceback" in outcome.err or "unexpected" in outcome.err
    ]
    assert wrong == []
    assert all(outcome.err.startswith("error: ") for _, outcome in outcomes)
    assert stored(workspace) == before  # nothing half-written
    figures["hostile_files"] = {"commands": len(all_cases), "refused_cleanly": len(outcomes)}


def test_a_front_matter_alias_bomb_skips_only_that_document(
    workspace: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bomb.md").write_text(f"---\n{BOMB_YAML}---\nBody.\n", encoding="utf-8")
    (docs / "fine.md").write_text("---\ntitle: Fine\n---\nRefunds take five days.\n")
    outcome = steerwise("sources", "add", str(docs), "--json", cwd=workspace, timeout_s=60)
    assert outcome.code == 1  # a file was skipped (everything else was ingested)
    assert outcome.err == "error: 1 file(s) skipped; everything else was ingested\n"
    (report,) = outcome.json()
    skipped = {Path(path).name: reason for path, reason in report["skipped"]}
    assert "expands to more than" in skipped["bomb.md"]
    assert [Path(path).name for path in report["new"]] == ["fine.md"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedGateway]:
    with keyed_gateway(tmp_path_factory.mktemp("hostile-gateway") / "ws", "admin") as running:
        yield running


BODIES = {
    "malformed": b'{"model": "bot@production", "messages": [',
    "nested": NESTED_JSON.encode(),
    "nested object": ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(),
    "not an object": b'["a", "b"]',
    "not utf-8": b'{"x": "\xff\xfe"}',
}


def test_every_route_that_takes_a_body_answers_hostile_json_with_a_clean_4xx(
    gateway: KeyedGateway, figures: dict[str, Any]
) -> None:
    url, key = gateway.url, gateway.key
    status, schema = send(f"{url}/openapi.json", key, "GET", None)
    assert status == 200
    routes = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put")
    ]
    wrong = []
    for method, path in routes:
        for name, body in BODIES.items():
            status, answer = send(url + path, key, method, body)
            if not (400 <= status < 500) or "message" not in answer.get("error", {}):
                wrong.append((method, path, name, status))
        status = declared_too_large(url, key, method, path)
        if status != 413:
            wrong.append((method, path, "oversized", status))
    assert wrong == []
    requests = len(routes) * (len(BODIES) + 1)
    figures["hostile_bodies"] = {"routes": len(routes), "requests": requests}


def declared_too_large(url: str, key: str, method: str, path: str) -> int:
    """The status a request declaring a 2 MB body gets before it sends any of it (the body
    limit answers from the declared length; sending the body too would race the close)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
        )
        connection.sendall(head.encode())
        status_line = connection.makefile("rb").readline().decode()
    return int(status_line.split()[1])
