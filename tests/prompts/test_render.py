"""Rendering: variables validated against the schema, includes resolved and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import BadInputError, Workspace
from tests.conftest import simple_prompt, write_prompt

STYLE = "name: style\nmessages:\n  - role: system\n    content: 'Be {{ tone }}.'\n" + (
    "variables:\n  type: object\n  properties:\n    tone: {type: string}\n"
)
ANSWER = """name: answer
includes: [style@production]
messages:
  - role: system
    content: |
      {{ include("style") }}
      Answer in {{ n }} words.
  - role: user
    content: "{{ question }}"
variables:
  type: object
  properties:
    question: {type: string, minLength: 1}
    n: {type: integer, minimum: 1}
    tone: {type: string}
  required: [question, n, tone]
model:
  name: small
  params: {temperature: 0}
response_format: {type: object}
"""


@pytest.fixture
def library(workspace: Workspace, tmp_path: Path) -> Workspace:
    folder = tmp_path / "lib"
    write_prompt(folder, "style", STYLE)
    write_prompt(folder, "answer", ANSWER.replace("style@production", "style@latest"))
    workspace.prompts.push([folder])
    write_prompt(folder, "answer", ANSWER)
    workspace.prompts.push([folder / "style.prompt.yaml"])
    workspace.prompts.label("style@1", "production")
    workspace.prompts.push([folder / "answer.prompt.yaml"])
    return workspace


def test_render_fills_variables_and_includes(library: Workspace) -> None:
    rendered = library.prompts.render("answer", {"question": "Why?", "n": 5, "tone": "kind"})
    assert rendered.messages == [
        {"role": "system", "content": "Be kind.\nAnswer in 5 words.\n"},
        {"role": "user", "content": "Why?"},
    ]
    assert (rendered.name, rendered.version, rendered.includes) == ("answer", 2, {"style": 1})
    assert rendered.model == {"provider": None, "name": "small", "params": {"temperature": 0}}
    assert rendered.response_format == {"type": "object"}


def test_include_follows_its_label(library: Workspace, tmp_path: Path) -> None:
    write_prompt(tmp_path / "lib", "style", STYLE.replace("Be {{ tone }}.", "Stay {{ tone }}."))
    library.prompts.push([tmp_path / "lib" / "style.prompt.yaml"])
    variables = {"question": "Why?", "n": 5, "tone": "calm"}
    assert library.prompts.render("answer", variables).messages[0]["content"].startswith("Be calm")
    library.prompts.label("style@2", "production")
    rendered = library.prompts.render("answer", variables)
    assert rendered.messages[0]["content"].startswith("Stay calm")
    assert rendered.includes == {"style": 2}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"n": 5, "tone": "x"}, r"answer@2: missing variable: 'question' is a required property"),
        ({"question": "q", "n": "five", "tone": "x"}, r"variable 'n': 'five' is not of type"),
        ({"question": "", "n": 5, "tone": "x"}, r"variable 'question': '' should be non-empty"),
        ({"question": "q", "n": 0, "tone": "x"}, r"variable 'n': 0 is less than the minimum"),
    ],
)
def test_bad_variables_are_named(
    library: Workspace, variables: dict[str, object], expected: str
) -> None:
    with pytest.raises(BadInputError, match=expected):
        library.prompts.render("answer", variables)


def test_variables_are_data_not_templates(library: Workspace) -> None:
    sneaky = "{{ ''.__class__.__mro__ }}"
    rendered = library.prompts.render("answer", {"question": sneaky, "n": 1, "tone": "x"})
    assert rendered.messages[1]["content"] == sneaky


def test_include_cycle_is_an_error(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    def looped(name: str, other: str) -> str:
        return (
            f"name: {name}\nincludes: [{other}]\nmessages:\n  - role: system\n"
            f"    content: '{{{{ include(\"{other}\") }}}}'\n"
        )

    write_prompt(tmp_path / "c", "one", looped("one", "two"))
    write_prompt(tmp_path / "c", "two", looped("two", "one"))
    sqlite_workspace.prompts.push([tmp_path / "c"])
    with pytest.raises(BadInputError, match="includes form a cycle: one -> two -> one"):
        sqlite_workspace.prompts.render("one", {})


def test_optional_variable_left_out_is_an_error_only_if_used(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    body = simple_prompt("opt").replace("'{{ question }}'", "'{{ question }} {{ extra }}'")
    body = body.replace("question: {type: string}", "question: {type: string}\n    extra: {}")
    sqlite_workspace.prompts.push([write_prompt(tmp_path, "opt", body)])
    with pytest.raises(BadInputError, match="'extra' is undefined"):
        sqlite_workspace.prompts.render("opt", {"question": "q"})
    assert sqlite_workspace.prompts.render("opt", {"question": "q", "extra": 3}).messages[1] == {
        "role": "user",
        "content": "q 3",
    }
