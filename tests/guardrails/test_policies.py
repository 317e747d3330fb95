"""Policies: versioned, labelled, diffed and audited like prompts; refused when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError, NotFoundError

POLICY = """\
name: support
description: rails of the support bot
input:
  - detector: pii
    action: redact
    restore: true
  - detector: length
    action: block
    settings: {max_chars: 2000}
output:
  - detector: pii
    action: redact
"""


def write_policy(folder: Path, body: str, name: str = "support") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.policy.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_push_versions_by_content_and_audits(workspace: Workspace, tmp_path: Path) -> None:
    path = write_policy(tmp_path / "p", POLICY)
    first = workspace.policies.push([path])
    again = workspace.policies.push([path])
    write_policy(tmp_path / "p", POLICY.replace("max_chars: 2000", "max_chars: 500"))
    second = workspace.policies.push([tmp_path / "p"])
    assert [(r.ref, r.status) for r in (*first, *again, *second)] == [
        ("support@1", "new"),
        ("support@1", "unchanged"),
        ("support@2", "new"),
    ]
    diff = workspace.policies.diff("support@1", "support@2")
    assert "-    max_chars: 2000" in diff and "+    max_chars: 500" in diff
    actions = [event.action for event in workspace.audit.events()]
    assert actions[1:] == ["policy.push", "policy.push"]
    assert workspace.audit.verify().ok


def test_labels_move_and_roll_back(workspace: Workspace, tmp_path: Path) -> None:
    write_policy(tmp_path / "p", POLICY)
    workspace.policies.push([tmp_path / "p"])
    write_policy(tmp_path / "p", POLICY.replace("2000", "900"))
    workspace.policies.push([tmp_path / "p"])
    workspace.policies.label("support@1", "production")
    workspace.policies.label("support@2", "production")
    assert workspace.policies.get("support@production").version == 2
    assert workspace.policies.load("support@production").ref == "support@2"
    move = workspace.policies.rollback("support", "production")
    assert (move.from_version, move.to_version) == (2, 1)
    assert workspace.policies.get("support@production").version == 1
    summary = workspace.policies.summaries()[0]
    assert (summary.name, summary.latest_version, summary.labels) == (
        "support",
        2,
        {"production": 1},
    )
    actions = [event.action for event in workspace.audit.events()][-3:]
    assert actions == ["policy.label.set", "policy.label.set", "policy.label.rollback"]


def test_prompts_and_policies_keep_separate_names(workspace: Workspace, tmp_path: Path) -> None:
    write_policy(tmp_path / "p", POLICY)
    workspace.policies.push([tmp_path / "p"])
    with pytest.raises(NotFoundError, match="unknown prompt 'support'"):
        workspace.prompts.get("support")
    with pytest.raises(NotFoundError, match="unknown policy 'nope'"):
        workspace.policies.get("nope")


BAD_POLICIES = [
    (
        "input:\n  - detector: mind_reader\n    action: block\n",
        r"support\.policy\.yaml:3: unknown detector 'mind_reader' \(known: [a-z_, ]*pii",
    ),
    (
        "input:\n  - detector: pii\n    action: explode\n",
        r"support\.policy\.yaml:4: input\[0\]\.action: Input should be 'block'",
    ),
    (
        "input:\n  - detector: length\n    action: block\n    settings:\n      max_chars: many\n",
        r"support\.policy\.yaml:6: input\[0\]\.settings\.max_chars: Input should be a valid",
    ),
    (
        "output:\n  - detector: length\n    action: block\n    settings: {max_words: 3}\n",
        r"support\.policy\.yaml:5: unknown setting 'max_words' of detector 'length'",
    ),
    (
        "input:\n  - detector: pii\n    action: reask\n",
        r"support\.policy\.yaml:4: reask only applies to output rails",
    ),
    (
        "output:\n  - detector: json\n    action: redact\n",
        r"support\.policy\.yaml:4: json findings have no span to redact",
    ),
    (
        "output:\n  - detector: pii\n    action: block\n  - detector: pii\n    action: flag\n",
        r"support\.policy\.yaml:5: two output rails are named 'pii'",
    ),
]


@pytest.mark.parametrize(("rails", "message"), BAD_POLICIES)
def test_bad_policies_are_refused_at_push_and_nothing_is_written(
    sqlite_workspace: Workspace, tmp_path: Path, rails: str, message: str
) -> None:
    path = write_policy(tmp_path / "p", f"name: support\n{rails}")
    with pytest.raises(BadInputError, match=message) as caught:
        sqlite_workspace.policies.push([path])
    assert caught.value.exit_code == 2
    assert sqlite_workspace.policies.summaries() == []
    assert [e.action for e in sqlite_workspace.audit.events()] == ["workspace.init"]


def test_policy_versions_are_immutable_in_the_database(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    sqlite_workspace.policies.push([write_policy(tmp_path / "p", POLICY)])
    with (
        pytest.raises(Exception, match="policy_versions is immutable"),
        sqlite_workspace.store.write() as tx,
    ):
        tx.session.execute("UPDATE policy_versions SET spec_json = '{}'")
