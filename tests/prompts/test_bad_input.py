"""Bad prompt files: one clear message naming file, line and field, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import BadInputError, Workspace
from tests.conftest import simple_prompt, write_prompt

CASES = {
    "malformed yaml": (
        'name: a\nmessages:\n  - role: system\n    content: "hi\n',
        r":5: malformed YAML",
    ),
    "unknown key": (
        "name: a\nmessages:\n  - role: system\n    content: hi\n    colour: red\n",
        r":5: unknown key 'messages\[0\]\.colour'",
    ),
    "unknown top-level key": (
        "name: a\ntemperature: 3\nmessages:\n  - {role: user, content: hi}\n",
        r":2: unknown key 'temperature'",
    ),
    "bad role": (
        "name: a\nmessages:\n  - role: robot\n    content: hi\n",
        r":3: messages\[0\]\.role: Input should be",
    ),
    "missing messages": ("name: a\n", r":1: missing required key 'messages'"),
    "bad name": ("name: 'a b'\nmessages:\n  - {role: user, content: hi}\n", r":1: name: Value"),
    "invalid json schema": (
        "name: a\nmessages:\n  - {role: user, content: hi}\nvariables:\n  type: object\n"
        "  properties:\n    q: {type: strin}\n",
        r":7: variables is not a valid JSON Schema",
    ),
    "invalid response format": (
        "name: a\nmessages:\n  - {role: user, content: hi}\nresponse_format: {type: 7}\n",
        r":4: response_format is not a valid JSON Schema",
    ),
    "variables not an object": (
        "name: a\nmessages:\n  - {role: user, content: hi}\nvariables: {type: array}\n",
        r":4: variables must be a JSON Schema of type 'object'",
    ),
    "undeclared variable": (
        "name: a\nmessages:\n  - role: user\n    content: '{{ q }}'\n",
        r":4: the template uses the variable 'q'",
    ),
    "template syntax": (
        "name: a\nmessages:\n  - role: user\n    content: '{% for x in %}'\n",
        r":4: template syntax error on its line 1",
    ),
    "duplicate key": ("name: a\nname: b\nmessages: []\n", r":2: duplicate key 'name'"),
    "not a mapping": ("- a\n", r":1: a prompt file must be a YAML mapping"),
    "include not listed": (
        "name: a\nmessages:\n  - role: user\n    content: '{{ include(\"b\") }}'\n",
        r"includes 'b', which `includes` does not list",
    ),
    "self include": (
        "name: a\nincludes: [a@1]\nmessages:\n  - {role: user, content: hi}\n",
        r":2: prompt 'a' cannot include itself",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_named_and_nothing_is_written(
    case: str, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    body, expected = CASES[case]
    folder = tmp_path / "prompts"
    good = write_prompt(folder, "good", simple_prompt("good"))
    bad = write_prompt(folder, "bad", body)
    with pytest.raises(BadInputError, match=expected) as caught:
        sqlite_workspace.prompts.push([folder])
    assert str(bad) in str(caught.value)
    assert str(good) not in str(caught.value)
    assert sqlite_workspace.prompts.summaries() == []
    assert sqlite_workspace.audit.head().count == 1  # only the workspace's creation


def test_one_bad_file_of_ten_writes_none(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "ten"
    for index in range(9):
        write_prompt(folder, f"p{index}", simple_prompt(f"p{index}"))
    write_prompt(folder, "p9", "name: p9\nmessages: not-a-list\n")
    with pytest.raises(BadInputError, match=r"p9\.prompt\.yaml:2"):
        workspace.prompts.push([folder])
    assert workspace.prompts.summaries() == []
    assert workspace.audit.head().count == 1


def test_missing_include_writes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "inc"
    write_prompt(folder, "good", simple_prompt("good"))
    write_prompt(
        folder,
        "needs",
        "name: needs\nincludes: [style@production]\n"
        "messages:\n  - role: system\n    content: '{{ include(\"style\") }}'\n",
    )
    with pytest.raises(
        BadInputError, match=r"needs\.prompt\.yaml:2: include 'style@production' of prompt 'needs'"
    ):
        workspace.prompts.push([folder])
    assert workspace.prompts.summaries() == []


def test_same_name_in_two_files_is_refused(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    write_prompt(tmp_path / "x", "one", simple_prompt("same"))
    write_prompt(tmp_path / "x", "two", simple_prompt("same"))
    with pytest.raises(BadInputError, match="prompt 'same' is also defined in"):
        sqlite_workspace.prompts.push([tmp_path / "x"])


def test_missing_path_and_empty_folder(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file or folder"):
        sqlite_workspace.prompts.push([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="no prompt files found"):
        sqlite_workspace.prompts.push([tmp_path / "empty"])
