"""Pushing, versions, labels, rollback, history and diffs, on both stores."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from steerwise import BadInputError, NotFoundError, Workspace
from tests.conftest import simple_prompt, write_prompt


def test_push_creates_versions_only_for_changed_content(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_prompt(tmp_path / "p", "greet", simple_prompt("greet", "Say hello."))
    first = workspace.prompts.push([path])
    again = workspace.prompts.push([path])
    write_prompt(tmp_path / "p", "greet", simple_prompt("greet", "Say hello warmly."))
    changed = workspace.prompts.push([path])
    assert [(r.ref, r.status) for r in first + again + changed] == [
        ("greet@1", "new"),
        ("greet@1", "unchanged"),
        ("greet@2", "new"),
    ]
    versions = workspace.prompts.history("greet").versions
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].hash != versions[1].hash
    assert versions[0].spec.messages[0].content == "Say hello."
    assert versions[1].created_by == "user:tester"


def test_versions_are_immutable_and_addressable(workspace: Workspace, tmp_path: Path) -> None:
    path = write_prompt(tmp_path, "greet", simple_prompt("greet", "v1"))
    workspace.prompts.push([path])
    write_prompt(tmp_path, "greet", simple_prompt("greet", "v2"))
    workspace.prompts.push([path])
    assert workspace.prompts.get("greet@1").spec.messages[0].content == "v1"
    assert workspace.prompts.get("greet").version == 2
    assert workspace.prompts.get("greet@latest").version == 2


def test_labels_move_and_rollback_goes_back_one_step(workspace: Workspace, tmp_path: Path) -> None:
    path = write_prompt(tmp_path, "greet", simple_prompt("greet", "v1"))
    workspace.prompts.push([path])
    for body in ("v2", "v3"):
        write_prompt(tmp_path, "greet", simple_prompt("greet", body))
        workspace.prompts.push([path])
    workspace.prompts.label("greet@1", "production")
    workspace.prompts.label("greet@3", "production")
    assert workspace.prompts.get("greet@production").version == 3
    back = workspace.prompts.rollback("greet", "production")
    assert (back.from_version, back.to_version, back.kind) == (3, 1, "rollback")
    assert workspace.prompts.get("greet@production").version == 1
    moves = workspace.prompts.history("greet").moves
    assert [(m.from_version, m.to_version, m.kind) for m in moves] == [
        (None, 1, "set"),
        (1, 3, "set"),
        (3, 1, "rollback"),
    ]


def test_label_onto_same_version_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    workspace.prompts.push([write_prompt(tmp_path, "greet", simple_prompt("greet"))])
    workspace.prompts.label("greet@1", "production")
    count = workspace.audit.head().count
    assert workspace.prompts.label("greet@1", "production").kind == "unchanged"
    assert workspace.audit.head().count == count


def test_rollback_of_a_new_label_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    workspace.prompts.push([write_prompt(tmp_path, "greet", simple_prompt("greet"))])
    workspace.prompts.label("greet@1", "production")
    with pytest.raises(BadInputError, match="no earlier position"):
        workspace.prompts.rollback("greet", "production")
    with pytest.raises(NotFoundError, match="has no label 'staging'"):
        workspace.prompts.rollback("greet", "staging")


def test_unknown_prompt_version_and_label_are_named(workspace: Workspace, tmp_path: Path) -> None:
    workspace.prompts.push([write_prompt(tmp_path, "greet", simple_prompt("greet"))])
    with pytest.raises(NotFoundError, match="unknown prompt 'nope'"):
        workspace.prompts.get("nope")
    with pytest.raises(NotFoundError, match="has no version 7"):
        workspace.prompts.label("greet@7", "production")
    with pytest.raises(NotFoundError, match="has no label 'canary'"):
        workspace.prompts.get("greet@canary")
    with pytest.raises(BadInputError, match="reserved"):
        workspace.prompts.label("greet@1", "latest")
    with pytest.raises(BadInputError, match="invalid label"):
        workspace.prompts.label("greet@1", "Prod uction")


def test_diff_shows_messages_variables_and_params(workspace: Workspace, tmp_path: Path) -> None:
    model = "model:\n  name: m\n  params: {temperature: 0}\n"
    path = write_prompt(tmp_path, "greet", simple_prompt("greet", "Say hi.", model))
    workspace.prompts.push([path])
    changed = simple_prompt("greet", "Say hello.", model.replace("0}", "0.7}"))
    write_prompt(tmp_path, "greet", changed.replace("type: string", "type: string, maxLength: 9"))
    workspace.prompts.push([path])
    text = workspace.prompts.diff("greet@1", "greet@2")
    assert text.startswith("--- greet@1\n+++ greet@2\n")
    assert "-  content: Say hi.\n+  content: Say hello.\n" in text
    assert "+      maxLength: 9\n" in text
    assert "-    temperature: 0\n+    temperature: 0.7\n" in text
    assert workspace.prompts.diff("greet@1", "greet@1") == ""


def test_summaries_list_latest_versions_and_labels(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for name in ("b", "a"):
        write_prompt(folder, name, simple_prompt(name, extra="description: about " + name + "\n"))
    workspace.prompts.push([folder])
    workspace.prompts.label("a@1", "staging")
    summaries = workspace.prompts.summaries()
    assert [(s.name, s.latest_version, s.labels, s.description) for s in summaries] == [
        ("a", 1, {"staging": 1}, "about a"),
        ("b", 1, {}, "about b"),
    ]


def test_label_moved_by_another_process_is_seen_after_the_cache_ttl(
    workspace: Workspace, tmp_path: Path, store_url: str
) -> None:
    path = write_prompt(tmp_path, "greet", simple_prompt("greet", "v1"))
    workspace.prompts.push([path])
    write_prompt(tmp_path, "greet", simple_prompt("greet", "v2"))
    workspace.prompts.push([path])
    workspace.prompts.label("greet@1", "production")
    config = workspace.root / "steerwise.toml"
    config.write_text(config.read_text() + "\n[prompts]\nlabel_cache_ttl_s = 2.0\n")
    database_url = None if store_url.startswith("sqlite") else store_url
    other = Workspace.open(workspace.root, database_url=database_url, actor="user:other")
    try:
        assert other.prompts.get("greet@production").version == 1
        workspace.prompts.label("greet@2", "production")
        assert other.prompts.get("greet@production").version == 1  # still cached
        time.sleep(2.1)
        assert other.prompts.get("greet@production").version == 2
    finally:
        other.close()
