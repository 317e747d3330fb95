"""Canary splits: a share of a deployment's requests to another release, then promote or abort."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError, ConflictError, NotFoundError
from steerwise.releases import PinRequest, release_id
from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok

STABLE, CANARY = "Refunds take five working days.", "Refunds take three working days."


@pytest.fixture
def shop(tmp_path: Path, store_url: str) -> Iterator[tuple[Path, str, str]]:
    """bot@production serves `stable`; `candidate` answers differently (on each backend)."""
    with FaultServer(default=ok(STABLE)) as old, FaultServer(default=ok(CANARY)) as new:
        root = tmp_path / "ws"
        database_url = None if store_url.startswith("sqlite") else store_url
        Workspace.init(root, database_url=database_url).close()
        config = root / "steerwise.toml"
        models = "".join(
            f'\n[models.{name}]\nprovider = "openai"\nmodel = "m"\nbase_url = "{server.base_url}"\n'
            for name, server in (("old", old), ("new", new))
        )
        config.write_text(config.read_text() + models + "\n[prompts]\nlabel_cache_ttl_s = 0\n")
        with Workspace.open(root, actor="user:dev") as ws:
            ws.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
            stable = release_id(ws.releases.create("bot", PinRequest("p@1", model="old")))
            candidate = release_id(ws.releases.create("bot", PinRequest("p@1", model="new")))
            ws.releases.deploy("bot", stable, "production")
        yield root, stable, candidate


def answers(ws: Workspace, count: int) -> list[str]:
    return [ws.run("bot@production", {"question": f"refund {n}?"}).text for n in range(count)]


def test_a_canary_takes_its_share_and_is_counted_apart(shop: tuple[Path, str, str]) -> None:
    root, stable, candidate = shop
    with Workspace.open(root, actor="user:dev") as ws:
        started = ws.canaries.start("bot", candidate, "production", percent=30)
        assert (started.deployment, started.percent) == ("bot@production", 30.0)
        given = answers(ws, 200)
        share = given.count(CANARY) / len(given)
        assert 0.2 <= share <= 0.4  # binomial: 30% of 200, well inside 3 standard deviations
        assert set(given) == {STABLE, CANARY}
        metrics = ws.monitor.metrics("bot@production", window="5m")
        assert metrics.releases == {"bot@1": given.count(STABLE), "bot@2": given.count(CANARY)}
        assert release_id(ws.releases.get("bot@production")) == stable  # the label did not move
        ws.canaries.promote("bot", "production")
        assert set(answers(ws, 20)) == {CANARY} and ws.canaries.items() == []
        actions = [e.action for e in ws.audit.events(limit=20)]
    assert actions.index("release.canary.start") < actions.index("release.canary.promote")


def test_an_aborted_canary_serves_nobody(shop: tuple[Path, str, str]) -> None:
    root, _, candidate = shop
    with Workspace.open(root) as ws:
        ws.canaries.start("bot", candidate, "production", percent=50)
        ws.canaries.abort("bot", "production")
        assert set(answers(ws, 20)) == {STABLE}
        with pytest.raises(NotFoundError, match="has no canary"):
            ws.canaries.abort("bot", "production")


def test_bad_canaries_are_refused(shop: tuple[Path, str, str]) -> None:
    root, stable, candidate = shop
    with Workspace.open(root) as ws:
        for percent in (0, 100, 150, -5):
            with pytest.raises(BadInputError, match="between 0 and 100"):
                ws.canaries.start("bot", candidate, "production", percent=percent)
        with pytest.raises(ConflictError, match=r"serves \w+ already"):
            ws.canaries.start("bot", stable, "production", percent=10)
        with pytest.raises(BadInputError, match="serves nothing yet"):
            ws.canaries.start("bot", candidate, "staging", percent=10)
        assert ws.canaries.items() == []


def test_the_cli_starts_lists_and_aborts(shop: tuple[Path, str, str]) -> None:
    root, _, candidate = shop
    started = steerwise("canary", "start", "bot", candidate, "--percent", "10", "--json", cwd=root)
    assert started.code == 0, started.err
    assert started.json()["release_id"] == candidate
    listed = steerwise("canary", "list", "--json", cwd=root)
    assert [c["deployment"] for c in listed.json()] == ["bot@production"]
    aborted = steerwise("canary", "abort", "bot", cwd=root)
    assert aborted.code == 0 and "canary aborted" in aborted.out
    bad = steerwise("canary", "start", "bot", candidate, "--percent", "100", cwd=root)
    assert bad.code == 2 and "between 0 and 100" in bad.err
