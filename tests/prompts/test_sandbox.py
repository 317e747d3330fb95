"""Templates cannot reach Python internals, at push time or at render time."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import BadInputError, TemplateSecurityError, Workspace
from tests.conftest import write_prompt

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ q.__class__ }}",
    "{{ q['__class__'] }}",
    "{{ q|attr('__class__') }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
]


def _prompt(template: str) -> str:
    escaped = template.replace("'", "''")
    return (
        "name: t\nmessages:\n  - role: user\n"
        f"    content: '{escaped}'\n"
        "variables:\n  type: object\n  properties:\n    q: {}\n    k: {}\n"
    )


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_is_refused_at_push(
    template: str, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path = write_prompt(tmp_path, "t", _prompt(template))
    with pytest.raises(BadInputError, match=r"t.prompt.yaml:4: template line 1 reaches for '_"):
        sqlite_workspace.prompts.push([path])
    assert sqlite_workspace.prompts.summaries() == []


@pytest.mark.parametrize(
    "template",
    ["{{ q[k] }}", "{{ q|attr(k) }}", "{{ ('{0.' ~ k ~ '}').format(q) }}"],
)
def test_dynamic_escape_is_refused_at_render(
    template: str, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    sqlite_workspace.prompts.push([write_prompt(tmp_path, "t", _prompt(template))])
    with pytest.raises(TemplateSecurityError, match=r"__class__.*unsafe"):
        sqlite_workspace.prompts.render("t", {"q": "text", "k": "__class__"})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'a' * 1000000 }}", "repetition over the limit"),
        ("{{ [1] * 1000000 }}", "repetition over the limit"),
        ("{{ 9 ** 99999 }}", "exponent 99999 is over the limit"),
        ("{% for i in range(10 ** 9) %}{% endfor %}", "Range too big"),
    ],
)
def test_resource_exhaustion_is_refused(
    template: str, expected: str, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    sqlite_workspace.prompts.push([write_prompt(tmp_path, "t", _prompt(template))])
    with pytest.raises((TemplateSecurityError, BadInputError), match=expected):
        sqlite_workspace.prompts.render("t", {})


def test_template_errors_are_bad_input(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    sqlite_workspace.prompts.push([write_prompt(tmp_path, "t", _prompt("{{ 1 / 0 }}"))])
    with pytest.raises(BadInputError, match="template failed: ZeroDivisionError"):
        sqlite_workspace.prompts.render("t", {})


def test_ordinary_templates_still_work(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    template = "{{ q.upper() }} {{ k|join(',') }} {{ 'ab' * 2 }} {{ 2 ** 3 }}"
    sqlite_workspace.prompts.push([write_prompt(tmp_path, "t", _prompt(template))])
    rendered = sqlite_workspace.prompts.render("t", {"q": "hi", "k": ["x", "y"]})
    assert rendered.messages[0]["content"] == "HI x,y abab 8"
