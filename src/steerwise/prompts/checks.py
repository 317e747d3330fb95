"""Checks of a prompt spec beyond its shape: schemas, template syntax, sandbox, variables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from steerwise.core.errors import BadInputError
from steerwise.core.prompt import PromptSpec
from steerwise.guardrails.secrets import find_secrets
from steerwise.prompts.sandbox import INCLUDE_FUNCTION, PromptSandbox, included_names, unsafe_names
from steerwise.versioning.files import Problem, field_name
from steerwise.versioning.refs import parse_ref

TEMPLATE_GLOBALS = frozenset({"range", INCLUDE_FUNCTION})


def check_spec(spec: PromptSpec, sandbox: PromptSandbox | None = None) -> Iterator[Problem]:
    """Yield (location, message) for every problem found, in file order."""
    yield from _check_schema(spec.variables, "variables")
    if spec.variables.get("type", "object") != "object":
        yield ("variables", "type"), "variables must be a JSON Schema of type 'object'"
    if INCLUDE_FUNCTION in _declared(spec.variables):
        yield ("variables",), f"the variable name {INCLUDE_FUNCTION!r} is reserved"
    if spec.response_format is not None:
        yield from _check_schema(spec.response_format, "response_format")
    yield from _check_includes(spec)
    yield from _check_secrets(spec.content(), ())
    environment = sandbox or PromptSandbox()
    for index, message in enumerate(spec.messages):
        yield from _check_template(environment, spec, index, message.content)


def _check_schema(schema: dict[str, Any], key: str) -> Iterator[Problem]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        path = tuple(str(part) for part in error.path)
        yield (key, *path), f"{key} is not a valid JSON Schema: {error.message}"


def _check_secrets(value: Any, location: tuple[str | int, ...]) -> Iterator[Problem]:
    """Credentials must never reach the store: a prompt holding one is refused."""
    if isinstance(value, str):
        for match in find_secrets(value):
            yield (
                location,
                (
                    f"{field_name(location)} holds what looks like a {match.kind}; keep secrets out"
                    " of prompts (nothing was stored)"
                ),
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _check_secrets(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_secrets(item, (*location, index))


def _check_includes(spec: PromptSpec) -> Iterator[Problem]:
    for index, text in enumerate(spec.includes):
        try:
            ref = parse_ref(text)
        except BadInputError as error:
            yield ("includes", index), error.message
            continue
        if ref.name == spec.name:
            yield ("includes", index), f"prompt {spec.name!r} cannot include itself"


def _check_template(
    environment: PromptSandbox, spec: PromptSpec, index: int, source: str
) -> Iterator[Problem]:
    location = ("messages", index, "content")
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as error:
        yield location, f"template syntax error on its line {error.lineno}: {error.message}"
        return
    for line, name in unsafe_names(tree):
        yield (
            location,
            (
                f"template line {line} reaches for {name!r}: the sandbox forbids names starting"
                " with '_'"
            ),
        )
    yield from _check_variables(spec, tree, location)
    yield from _check_include_calls(spec, tree, location)


def _check_variables(
    spec: PromptSpec, tree: nodes.Template, location: tuple[str | int, ...]
) -> Iterator[Problem]:
    declared = _declared(spec.variables)
    for name in sorted(meta.find_undeclared_variables(tree) - TEMPLATE_GLOBALS - declared):
        yield (
            location,
            (
                f"the template uses the variable {name!r}, which `variables.properties` does not"
                " declare"
            ),
        )


def _check_include_calls(
    spec: PromptSpec, tree: nodes.Template, location: tuple[str | int, ...]
) -> Iterator[Problem]:
    listed = {text.partition("@")[0].strip() for text in spec.includes}
    for line, name in included_names(tree):
        if name is None:
            yield location, f"template line {line}: include() takes a prompt name in quotes"
        elif name not in listed:
            yield (
                location,
                (f"template line {line} includes {name!r}, which `includes` does not list"),
            )


def _declared(schema: dict[str, Any]) -> set[str]:
    properties = schema.get("properties", {})
    return set(properties) if isinstance(properties, dict) else set()
