"""Shared fixtures: real SQLite files and real PostgreSQL schemas, one contract for both."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace

POSTGRES_URL = os.environ.get(
    "STEERWISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
SCHEDULED_FIRST = (
    "tests/demo/test_demo.py",  # the tour, about 100 s alone
    "tests/finetune/test_lora.py",
    "tests/cli/test_release_commands.py",
    "tests/cli/test_finetune_cli.py",
)
"""The longest modules. `make test` runs the suite on two workers (pytest-xdist), each taking
whole modules in the order collected; a long module taken last would leave one worker alone
at the end, so these go first."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run `SCHEDULED_FIRST` first (in that order), the rest in their collected order."""
    rank = {path: number for number, path in enumerate(SCHEDULED_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def _postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=5):
            return None
    except Exception as error:
        return str(error)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base URL of the test server; skips outside CI when it is down, fails in CI."""
    problem = _postgres_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must run in CI but is unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}")
    return POSTGRES_URL


def postgres_schema_url(base: str, schema: str) -> str:
    """A URL whose connections use `schema` as their search path."""
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    import psycopg

    schema = f"sw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield postgres_schema_url(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def workspace(tmp_path: Path, store_url: str) -> Iterator[Workspace]:
    """A new workspace on each backend."""
    database_url = None if store_url.startswith("sqlite") else store_url
    ws = Workspace.init(tmp_path / "ws", database_url=database_url, actor="user:tester")
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new workspace on SQLite only (for tests of behaviour that does not touch the store)."""
    ws = Workspace.init(tmp_path / "ws", actor="user:tester")
    try:
        yield ws
    finally:
        ws.close()


def write_prompt(folder: Path, name: str, body: str) -> Path:
    """Write `name.prompt.yaml` into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.prompt.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def simple_prompt(name: str, system: str = "You help.", extra: str = "") -> str:
    """The YAML of a small valid prompt with one `question` variable."""
    return (
        f"name: {name}\n"
        "messages:\n"
        f"  - role: system\n    content: {system!r}\n"
        "  - role: user\n    content: '{{ question }}'\n"
        "variables:\n  type: object\n  properties:\n    question: {type: string}\n"
        "  required: [question]\n" + extra
    )
