"""A served workspace whose model is a scripted OpenAI-compatible upstream (quick
requests), with an API key per role: what the access and streaming tests start from."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from playwright.sync_api import Browser, sync_playwright

from steerwise import Workspace
from steerwise.core.errors import NotFoundError
from steerwise.core.evals import DatasetItem
from steerwise.core.traces import Trace
from steerwise.demo import pack_path
from steerwise.releases import PinRequest, release_id
from tests.models.fault_server import FaultServer, ok
from tests.serving import served

ANSWER = "Refunds take five working days."
PAUSE_S = 0.15  # between streamed words


@dataclass(frozen=True)
class Gateway:
    """A served workspace: its URL, root, keys by role and the two releases of `bot`."""

    url: str
    root: Path
    keys: dict[str, str]
    releases: tuple[str, str]
    upstream: FaultServer

    def client(self, role: str | None) -> openai.OpenAI:
        key = self.keys[role] if role else "sw_not_a_key"
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, timeout=30, max_retries=0)

    def ask(self, role: str) -> dict[str, Any]:
        response = self.client(role).chat.completions.create(
            model="bot@production", messages=[{"role": "user", "content": "How long?"}]
        )
        assert response.choices[0].message.content == ANSWER
        return response.model_extra["steerwise"]  # type: ignore[index,no-any-return]

    def call(self, method: str, path: str, role: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if role:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("gateway") / "ws"
    with FaultServer(default=ok(ANSWER, pause_s=PAUSE_S)) as upstream:
        releases = scripted_workspace(root, upstream.base_url)
        with Workspace.open(root, actor="setup") as ws:
            keys = {
                role: ws.keys.create(_ROLES_OF.get(role, role), name=role)[1] for role in _ROLES
            }
        with served(root) as running:
            yield Gateway(running.url, root, keys, releases, upstream)


_ROLES = ("viewer", "editor", "approver", "admin", "spare")


def scripted_workspace(
    root: Path, upstream: str, *, database_url: str | None = None
) -> tuple[str, str]:
    """A workspace whose `bot` releases answer through the scripted upstream."""
    Workspace.init(root, database_url=database_url).close()
    config = root / "steerwise.toml"
    scripted = f'\n[models.scripted]\nprovider = "openai"\nmodel = "m"\nbase_url = "{upstream}"\n'
    sluggish = scripted.replace("scripted", "sluggish") + "timeout_s = 0.5\nmax_retries = 0\n"
    gate = (
        '\n[[promotion.gates]]\ndeployment = "bot@canary"\ndataset = "qa"\n'
        'scorers = ["exact_match"]\nrules = ["exact_match>=0.5"]\napprovals = 1\n'
    )
    config.write_text(config.read_text() + scripted + sluggish + gate)
    with Workspace.open(root) as ws:
        ws.prompts.push([pack_path() / "prompts"])
        first = ws.releases.create("bot", PinRequest("support-answer@1", model="scripted"))
        second = ws.releases.create(
            "bot", PinRequest("support-answer@1", model="scripted", params={"max_tokens": "20"})
        )
        ws.releases.deploy("bot", release_id(first), "production")
        items = [
            DatasetItem(id=f"q{n}", variables={"question": f"q{n}"}, reference=ANSWER)
            for n in range(2)
        ]
        ws.datasets.import_items("qa", items, source="test")
        slow = ws.releases.create("slow", PinRequest("support-answer@1", model="sluggish"))
        ws.releases.deploy("slow", release_id(slow), "production")
    return release_id(first), release_id(second)


# keys are created as role names; "spare" is an extra admin key that a test revokes
_ROLES_OF = {"spare": "admin"}


def stored_trace(root: Path, trace_id: str, *, within_s: float = 10.0) -> Trace:
    """The trace the server wrote (it stores traces in batches, off the request path)."""
    deadline = time.monotonic() + within_s
    with Workspace.open(root) as ws:
        while True:
            try:
                return ws.traces.get(trace_id)
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "the web pages are tested in Chromium: make browser installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()
