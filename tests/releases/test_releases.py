"""Releases pin every part under one id; deployments move labels; both stores, real parts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.clock import utc_now
from steerwise.core.errors import BadInputError, NotFoundError
from steerwise.releases import PinRequest, release_id
from tests.conftest import simple_prompt, write_prompt
from tests.guardrails.test_policies import POLICY, write_policy

FACTS_CSV = "subject,predicate,object,confidence\nGold Service,price,£140,1\n"


@pytest.fixture
def pinned(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Two prompt versions (production = 1), a policy, a tiny index and a graph."""
    path = write_prompt(tmp_path / "prompts", "answer", simple_prompt("answer", "v1"))
    workspace.prompts.push([path])
    write_prompt(tmp_path / "prompts", "answer", simple_prompt("answer", "v2"))
    workspace.prompts.push([path])
    workspace.prompts.label("answer@1", "production")
    workspace.policies.push([write_policy(tmp_path / "policies", POLICY)])
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "gold.md").write_text("# Gold Service\n\nThe Gold Service costs £140.\n")
    workspace.sources.add([docs])
    workspace.index.build()
    facts = tmp_path / "facts.csv"
    facts.write_text(FACTS_CSV)
    workspace.graph.import_facts([facts])
    return workspace


def request(**changes: object) -> PinRequest:
    base: dict[str, object] = {
        "prompt": "answer@production",
        "model": "local:smollm2-135m",
        "snapshot": "latest",
        "graph": "latest",
        "policy": "support",
        "params": {"temperature": "0.2", "k": "3", "mode": "hybrid"},
    }
    return PinRequest(**{**base, **changes})  # type: ignore[arg-type]


def test_create_resolves_every_reference_to_what_it_means_now(pinned: Workspace) -> None:
    created = pinned.releases.create("support-bot", request(), description="first cut")
    assert created.spec.pins() == {
        "prompt": "answer@1",
        "model": "local:smollm2-135m",
        "snapshot": pinned.index.get("latest").id,
        "graph": pinned.graph.get("latest").id,
        "policy": "support@1",
        "params": {"k": 3, "mode": "hybrid", "temperature": 0.2},
    }
    assert created.ref == "support-bot@1" and len(release_id(created)) == 12
    again = pinned.releases.create("support-bot", request(), description="first cut")
    assert (again.version, again.hash) == (1, created.hash)  # same pins, same release
    actions = [event.action for event in pinned.audit.events()]
    assert actions.count("release.push") == 1
    assert pinned.audit.verify().ok


def test_a_moved_label_makes_a_new_release_and_diff_names_the_pin(pinned: Workspace) -> None:
    first = pinned.releases.create("support-bot", request())
    pinned.prompts.label("answer@2", "production")
    second = pinned.releases.create("support-bot", request())
    assert (second.version, second.spec.prompt) == (2, "answer@2")
    assert second.hash != first.hash
    changes = pinned.releases.diff_pins(release_id(first), "support-bot@2")
    assert [(c.pin, c.old, c.new) for c in changes] == [("prompt", "answer@1", "answer@2")]
    assert pinned.releases.diff_pins("support-bot@1", release_id(first)) == []


def test_find_by_id_prefix_name_version_and_label(pinned: Workspace) -> None:
    created = pinned.releases.create("support-bot", request())
    assert pinned.releases.find(created.hash[:8]).ref == "support-bot@1"
    assert pinned.releases.find("support-bot").ref == "support-bot@1"
    pinned.releases.deploy("support-bot", release_id(created), "production")
    assert pinned.releases.find("support-bot@production").hash == created.hash
    with pytest.raises(NotFoundError, match="no release has id 'abcdef12'"):
        pinned.releases.find("abcdef12")


def test_deploy_rollback_and_what_served_when(pinned: Workspace) -> None:
    first = pinned.releases.create("support-bot", request())
    second = pinned.releases.create("support-bot", request(model=None))
    before_any = utc_now()
    time.sleep(0.01)
    pinned.releases.deploy("support-bot", release_id(first), "production")
    time.sleep(0.01)
    between = utc_now()
    time.sleep(0.01)
    moved = pinned.releases.deploy("support-bot", release_id(second), "production")
    assert (moved.from_version, moved.to_version) == (1, 2)
    back = pinned.releases.rollback("support-bot", "production")
    assert (back.from_version, back.to_version, back.kind) == (2, 1, "rollback")
    assert pinned.releases.find("support-bot@production").hash == first.hash
    serving = pinned.releases.serving_at
    assert serving("support-bot", "production", before_any) is None
    assert serving("support-bot", "production", between).ref == "support-bot@1"  # type: ignore[union-attr]
    assert serving("support-bot", "production", utc_now()).ref == "support-bot@1"  # type: ignore[union-attr]
    actions = [event.action for event in pinned.audit.events()]
    assert actions[-3:] == ["release.label.set", "release.label.set", "release.label.rollback"]


def test_a_release_of_another_name_is_not_deployed(pinned: Workspace) -> None:
    other = pinned.releases.create("other-bot", request())
    with pytest.raises(BadInputError, match="is a release of 'other-bot', not 'support-bot'"):
        pinned.releases.deploy("support-bot", release_id(other), "production")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": "nope"}, "unknown prompt 'nope'"),
        ({"policy": "support@9"}, "support@9"),
        ({"snapshot": "ffffffff"}, "snapshot 'ffffffff' does not exist"),
        ({"model": "nosuch:model"}, "unknown model 'nosuch:model'"),
        ({"params": {"temprature": "0.2"}}, "unknown model parameter"),
        ({"params": {"mode": "fuzzy"}}, "unknown search mode 'fuzzy'"),
    ],
)
def test_bad_pins_are_refused_and_nothing_is_written(
    pinned: Workspace, changes: dict[str, object], message: str
) -> None:
    with pytest.raises((BadInputError, NotFoundError), match=message):
        pinned.releases.create("support-bot", request(**changes))
    assert pinned.releases.summaries() == []


def test_release_versions_are_immutable_in_the_database(pinned: Workspace) -> None:
    pinned.releases.create("support-bot", request())
    with pytest.raises(Exception, match="immutable"), pinned.store.write() as tx:
        tx.session.execute("UPDATE release_versions SET source = 'edited'")
