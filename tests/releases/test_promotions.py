"""Gated promotion: an evaluation gate against what the label serves, then approvals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError, ConflictError
from steerwise.core.evals import DatasetItem
from steerwise.releases import PinRequest, release_id
from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt
from tests.models.fault_server import FaultServer, ok

ANSWER = "Refunds take five working days."
ITEMS = [
    DatasetItem(id=f"q{n}", variables={"question": f"Refund time {n}?"}, reference=ANSWER)
    for n in range(4)
]
GATES = """
[[promotion.gates]]
deployment = "bot@production"
dataset = "qa"
scorers = ["exact_match"]
rules = ["exact_match>=0.5", "exact_match_delta>=-0.1"]
approvals = 1

[[promotion.gates]]
deployment = "bot@staging"
dataset = "qa"
scorers = ["exact_match"]
rules = ["exact_match>=0.5"]
approvals = 0
"""


@pytest.fixture
def shop(tmp_path: Path, store_url: str) -> Iterator[tuple[Path, str, str]]:
    """A workspace (on each backend) with two releases of `bot`: one that answers right, one
    that does not."""
    with FaultServer(default=ok(ANSWER)) as good, FaultServer(default=ok("No idea.")) as bad:
        root = tmp_path / "ws"
        database_url = None if store_url.startswith("sqlite") else store_url
        Workspace.init(root, database_url=database_url).close()
        models = "".join(
            f'\n[models.{name}]\nprovider = "openai"\nmodel = "m"\nbase_url = "{server.base_url}"'
            "\nmax_retries = 0\n"
            for name, server in (("good", good), ("bad", bad))
        )
        config = root / "steerwise.toml"
        config.write_text(config.read_text() + models + GATES)
        with Workspace.open(root, actor="user:dev") as ws:
            ws.prompts.push([write_prompt(root / "prompts", "p", simple_prompt("p"))])
            right = release_id(ws.releases.create("bot", PinRequest("p@1", model="good")))
            wrong = release_id(ws.releases.create("bot", PinRequest("p@1", model="bad")))
            ws.datasets.import_items("qa", ITEMS, source="test")
        yield root, right, wrong


def test_a_passing_gate_waits_for_another_approver_then_deploys(
    shop: tuple[Path, str, str],
) -> None:
    root, right, _ = shop
    with Workspace.open(root, actor="user:dev") as ws:
        asked = ws.promotions.request("bot", right, "production")
        assert asked.status == "awaiting_approval" and asked.baseline is None
        assert asked.gate is not None and asked.gate["passed"] is True
        assert "bot@production" not in dict(ws.releases.deployments())  # nothing serves yet
        with pytest.raises(ConflictError, match="may not approve it"):
            ws.promotions.approve(asked.id)
    with Workspace.open(root, actor="user:approver") as ws:
        done = ws.promotions.approve(asked.id[:10])
        assert done.status == "deployed" and [a["by"] for a in done.approvals] == ["user:approver"]
        serving = ws.releases.target("bot@production")
        assert serving is not None and release_id(serving) == right
        with pytest.raises(ConflictError, match="is deployed, not awaiting approval"):
            ws.promotions.approve(asked.id)
        actions = [e.action for e in ws.audit.events(limit=30)]
    assert actions.index("promotion.request") < actions.index("promotion.gate")
    assert actions.index("promotion.gate") < actions.index("promotion.approve")


def test_a_failing_gate_rejects_and_the_label_keeps_serving(shop: tuple[Path, str, str]) -> None:
    root, right, wrong = shop
    with Workspace.open(root, actor="user:dev") as ws:
        ws.releases.deploy("bot", right, "production")  # serving before the gate is asked
        asked = ws.promotions.request("bot", wrong, "production")
        assert asked.status == "rejected" and asked.baseline == right
        assert asked.reason.startswith("gate failed: exact_match>=0.5")
        rules = {r["rule"]: r for r in asked.gate["rules"]}  # type: ignore[index]
        assert rules["exact_match>=0.5"]["value"] == 0.0
        assert rules["exact_match_delta>=-0.1"]["value"] == -1.0
        assert release_id(ws.releases.target("bot@production")) == right  # type: ignore[arg-type]
        assert [p.status for p in ws.promotions.items(status="rejected")] == ["rejected"]


def test_a_gate_without_approvals_deploys_when_it_passes(shop: tuple[Path, str, str]) -> None:
    root, right, _ = shop
    with Workspace.open(root, actor="user:dev") as ws:
        asked = ws.promotions.request("bot", right, "staging")
        assert asked.status == "deployed" and asked.approvals == []
        assert release_id(ws.releases.target("bot@staging")) == right  # type: ignore[arg-type]
        with pytest.raises(BadInputError, match="has no promotion gate"):
            ws.promotions.request("bot", right, "canary")


def test_the_cli_routes_a_gated_deploy_through_its_gate(shop: tuple[Path, str, str]) -> None:
    root, right, wrong = shop
    dev = {"STEERWISE_ACTOR": "user:dev"}
    failed = steerwise("deploy", "bot", wrong, "--label", "production", "--json", cwd=root, env=dev)
    assert failed.code == 1 and failed.json()["status"] == "rejected"
    asked = steerwise("deploy", "bot", right, "--label", "production", "--json", cwd=root, env=dev)
    assert asked.code == 0 and asked.json()["status"] == "awaiting_approval"
    promotion = asked.json()["id"]
    listed = steerwise("promotions", "list", "--status", "awaiting_approval", "--json", cwd=root)
    assert [p["id"] for p in listed.json()] == [promotion]
    own = steerwise("promotions", "approve", promotion[:8], cwd=root, env=dev)
    assert own.code == 2 and "may not approve it" in own.err
    other = {"STEERWISE_ACTOR": "user:lead"}
    approved = steerwise("promotions", "approve", promotion[:8], cwd=root, env=other)
    assert approved.code == 0 and "deployed" in approved.out
    shown = steerwise("promotions", "show", promotion, "--json", cwd=root)
    assert shown.json()["status"] == "deployed"
    direct = steerwise("deploy", "bot", right, "--label", "dev", cwd=root)
    assert direct.code == 0  # a label without a gate deploys as before


def test_a_malformed_gate_rule_is_refused_when_the_workspace_opens(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.init(root).close()
    config = root / "steerwise.toml"
    config.write_text(
        config.read_text()
        + '\n[[promotion.gates]]\ndeployment = "bot@production"\ndataset = "qa"\n'
        'scorers = ["f1"]\nrules = ["f1 is great"]\n'
    )
    with pytest.raises(BadInputError, match=r"promotion\.gates\.0\.rules: rule 'f1 is great'"):
        Workspace.open(root)
