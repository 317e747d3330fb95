"""Workspaces the reliability tests serve: a prompt deployed as `bot@production` on models
that answer through local OpenAI-compatible upstreams."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steerwise import Workspace
from steerwise.releases import PinRequest, release_id
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok
from tests.server.conftest import scripted_workspace
from tests.serving import served


def model_section(name: str, base_url: str, **settings: Any) -> str:
    """A `[models.NAME]` section for an OpenAI-compatible upstream, with extra settings."""
    lines = [f"[models.{name}]", 'provider = "openai"', 'model = "m"', f'base_url = "{base_url}"']
    for key, value in settings.items():
        rendered = str(value).replace("'", '"') if isinstance(value, list) else repr(value)
        lines.append(f"{key} = {rendered}")
    return "\n" + "\n".join(lines) + "\n"


def answering_workspace(
    root: Path,
    models: str,
    *,
    model: str = "scripted",
    policy: Path | None = None,
    database_url: str | None = None,
) -> str:
    """A workspace whose `bot@production` answers the `answer` prompt with `model` (one of
    the `models` sections), behind `policy` when given; the release's id."""
    Workspace.init(root, database_url=database_url).close()
    config = root / "steerwise.toml"
    config.write_text(config.read_text() + models, encoding="utf-8")
    with Workspace.open(root) as ws:
        ws.prompts.push([write_prompt(root.parent / "prompts", "answer", simple_prompt("answer"))])
        if policy is not None:
            ws.policies.push([policy])
        pins = PinRequest("answer@1", model=model, policy=policy and policy.name.split(".")[0])
        made = ws.releases.create("bot", pins)
        ws.releases.deploy("bot", release_id(made), "production")
        return release_id(made)


@dataclass(frozen=True)
class KeyedGateway:
    """A served scripted workspace and one API key to call it with."""

    url: str
    key: str
    root: Path


@contextmanager
def keyed_gateway(root: Path, role: str) -> Iterator[KeyedGateway]:
    """`tests.server.conftest.scripted_workspace` served, with a key of `role`."""
    with FaultServer(default=ok("An answer.")) as upstream:
        scripted_workspace(root, upstream.base_url)
        with Workspace.open(root, actor="setup") as ws:
            key = ws.keys.create(role, name=role)[1]
        with served(root) as running:
            yield KeyedGateway(running.url, key, root)


def send(url: str, key: str, method: str, body: bytes | None) -> tuple[int, Any]:
    """(status, parsed JSON answer) of one request with `key`; error statuses too."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())
