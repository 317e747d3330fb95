"""The CLI end to end, through the real executable: outputs, --json and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import steerwise
from tests.conftest import simple_prompt, write_prompt


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    assert steerwise("init", str(root), cwd=tmp_path).code == 0
    write_prompt(root / "prompts", "greet", simple_prompt("greet", "Say hi."))
    return root


def test_init_push_list_show(ws: Path) -> None:
    pushed = steerwise("prompt", "push", "prompts", cwd=ws)
    assert pushed.code == 0
    assert pushed.out == "greet@1  new  (prompts/greet.prompt.yaml)\n"
    assert "greet@1  unchanged" in steerwise("prompt", "push", "prompts", cwd=ws).out
    listing = steerwise("prompt", "list", "--json", cwd=ws).json()
    assert [(p["name"], p["latest_version"], p["labels"]) for p in listing] == [("greet", 1, {})]
    shown = steerwise("prompt", "show", "greet@1", cwd=ws)
    assert shown.code == 0
    assert "content: Say hi." in shown.out
    assert steerwise("prompt", "show", "greet", "--json", cwd=ws).json()["version"] == 1


def test_label_rollback_history_diff(ws: Path) -> None:
    steerwise("prompt", "push", "prompts", cwd=ws)
    write_prompt(ws / "prompts", "greet", simple_prompt("greet", "Say hello."))
    assert "greet@2  new" in steerwise("prompt", "push", "prompts", cwd=ws).out
    assert steerwise("prompt", "label", "greet@1", "production", cwd=ws).out == (
        "greet#production: - -> 1\n"
    )
    steerwise("prompt", "label", "greet@2", "production", cwd=ws)
    rolled = steerwise("prompt", "rollback", "greet", "production", cwd=ws)
    assert rolled.out == "greet#production rolled back: 2 -> 1\n"
    history = steerwise("prompt", "history", "greet", "--json", cwd=ws).json()
    assert [m["kind"] for m in history["moves"]] == ["set", "set", "rollback"]
    assert [v["version"] for v in history["versions"]] == [1, 2]
    diff = steerwise("prompt", "diff", "greet@1", "greet@2", cwd=ws)
    assert "-  content: Say hi.\n+  content: Say hello.\n" in diff.out


def test_render_with_vars_and_vars_file(ws: Path) -> None:
    steerwise("prompt", "push", "prompts", cwd=ws)
    rendered = steerwise("prompt", "render", "greet", "--var", "question=Why?", cwd=ws)
    assert rendered.out == "# greet@1\n--- system\nSay hi.\n--- user\nWhy?\n"
    (ws / "vars.json").write_text('{"question": "From a file"}')
    as_json = steerwise("prompt", "render", "greet", "--vars-file", "vars.json", "--json", cwd=ws)
    assert as_json.json()["messages"][1] == {"role": "user", "content": "From a file"}


def test_audit_log_head_verify(ws: Path) -> None:
    steerwise("prompt", "push", "prompts", cwd=ws)
    events = steerwise("audit", "log", "--json", cwd=ws).json()
    assert [e["action"] for e in events] == ["workspace.init", "prompt.push"]
    count, head = steerwise("audit", "head", cwd=ws).out.split()
    assert (count, head) == ("2", events[-1]["hash"])
    verified = steerwise("audit", "verify", "--head", head, cwd=ws)
    assert verified.code == 0
    assert verified.out.startswith("audit log intact: 2 events")


def test_tampered_log_exits_1_naming_the_event(ws: Path) -> None:
    import sqlite3

    steerwise("prompt", "push", "prompts", cwd=ws)
    with sqlite3.connect(ws / ".steerwise" / "steerwise.db") as db:
        db.execute("DROP TRIGGER audit_events_no_update")  # what a forger with file access does
        db.execute("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 2")
    verified = steerwise("audit", "verify", cwd=ws)
    assert verified.code == 1
    assert "event 2 does not match its hash" in verified.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("prompt", "show", "nope"), "error: unknown prompt 'nope'"),
        (("prompt", "show", "greet@@"), "is neither a version nor a label"),
        (("prompt", "push", "missing.yaml"), "missing.yaml: no such file or folder"),
        (("prompt", "render", "greet"), "missing variable: 'question' is a required property"),
        (("prompt", "render", "greet", "--var", "oops"), "--var 'oops': expected KEY=VALUE"),
        (("prompt", "label", "greet@1", "Bad Label"), "invalid label 'Bad Label'"),
        (("prompt", "frobnicate"), "No such command 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    ws: Path, args: tuple[str, ...], expected: str
) -> None:
    steerwise("prompt", "push", "prompts", cwd=ws)
    outcome = steerwise(*args, cwd=ws)
    assert outcome.code == 2
    assert expected in outcome.err
    assert "Traceback" not in outcome.err


def test_bad_file_exits_2_naming_file_and_line(ws: Path) -> None:
    write_prompt(ws / "prompts", "broken", "name: broken\nmessages:\n  - role: robot\n")
    outcome = steerwise("prompt", "push", "prompts", cwd=ws)
    assert outcome.code == 2
    assert "prompts/broken.prompt.yaml:3: messages[0].role" in outcome.err
    assert steerwise("prompt", "list", "--json", cwd=ws).json() == []


def test_workspace_is_found_from_flag_env_and_parents(ws: Path, tmp_path: Path) -> None:
    steerwise("prompt", "push", "prompts", cwd=ws)
    nested = ws / "prompts" / "deeper"
    nested.mkdir()
    assert steerwise("prompt", "list", "--json", cwd=nested).json()[0]["name"] == "greet"
    assert steerwise("--workspace", str(ws), "prompt", "list", cwd=tmp_path).code == 0
    env = {"STEERWISE_WORKSPACE": str(ws)}
    assert steerwise("prompt", "list", "--json", cwd=tmp_path, env=env).json()[0]["name"] == "greet"
    outside = steerwise("prompt", "list", cwd=tmp_path)
    assert outside.code == 2
    assert "no steerwise workspace in" in outside.err


def test_init_twice_and_bad_settings(ws: Path, tmp_path: Path) -> None:
    again = steerwise("init", str(ws), cwd=tmp_path)
    assert again.code == 2
    assert "already a steerwise workspace" in again.err
    config = ws / "steerwise.toml"
    config.write_text(config.read_text() + "\n[store]\ncolour = 'red'\n")
    broken = steerwise("prompt", "list", cwd=ws)
    assert broken.code == 2
    assert "steerwise.toml: malformed TOML" in broken.err
    config.write_text("[store]\ncolour = 'red'\n")
    unknown = steerwise("prompt", "list", cwd=ws)
    assert unknown.code == 2
    assert "steerwise.toml: store.colour: unknown key" in unknown.err


def test_postgres_store_from_environment(tmp_path: Path, postgres_url: str) -> None:
    env = {"STEERWISE_DATABASE_URL": postgres_url.replace("postgresql://", "postgresql+psycopg://")}
    assert steerwise("init", "pgws", cwd=tmp_path, env=env).code == 0
    write_prompt(tmp_path / "pgws", "greet", simple_prompt("greet"))
    assert steerwise("prompt", "push", ".", cwd=tmp_path / "pgws", env=env).code == 0
    assert not (tmp_path / "pgws" / ".steerwise" / "steerwise.db").exists()
    listing = steerwise("prompt", "list", "--json", cwd=tmp_path / "pgws", env=env).json()
    assert listing[0]["name"] == "greet"
    unreachable = {"STEERWISE_DATABASE_URL": "postgresql+psycopg://u:secret@127.0.0.1:1/x"}
    failed = steerwise("prompt", "list", cwd=tmp_path / "pgws", env=unreachable)
    assert failed.code == 3
    assert "cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:1/x" in failed.err
    assert "secret" not in failed.err
