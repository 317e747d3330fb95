"""Checks of a policy spec beyond its shape: known detectors, their settings, usable actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from steerwise.core.guardrails import PolicySpec, Rail
from steerwise.guardrails.detectors import DETECTORS
from steerwise.versioning.files import Location, Problem, field_name

SPANLESS_DETECTORS = frozenset({"length", "json", "citations", "freshness"})


def check_policy(spec: PolicySpec) -> Iterator[Problem]:
    """Yield (location, message) for every problem, in file order."""
    for direction in ("input", "output"):
        seen: set[str] = set()
        for index, rail in enumerate(spec.rails(direction)):
            at: Location = (direction, index)
            yield from _check_rail(rail, direction, at)
            if rail.rail_name in seen:
                yield (*at, "name"), f"two {direction} rails are named {rail.rail_name!r}; name one"
            seen.add(rail.rail_name)


def _check_rail(rail: Rail, direction: str, at: Location) -> Iterator[Problem]:
    kind = DETECTORS.get(rail.detector)
    if kind is None:
        known = ", ".join(sorted(DETECTORS))
        yield (*at, "detector"), f"unknown detector {rail.detector!r} (known: {known})"
        return
    yield from _check_settings(kind, rail.settings, at)
    if rail.action == "reask" and direction == "input":
        yield (*at, "action"), "reask only applies to output rails (it asks the model again)"
    if rail.action == "redact" and rail.detector in SPANLESS_DETECTORS:
        yield (*at, "action"), f"{rail.detector} findings have no span to redact; use block or flag"
    if rail.restore and (direction != "input" or rail.action != "redact"):
        yield (*at, "restore"), "restore applies only to input rails whose action is redact"


def _check_settings(kind: Any, settings: dict[str, Any], at: Location) -> Iterator[Problem]:
    try:
        kind.Settings.model_validate(settings)
    except ValidationError as error:
        first = error.errors()[0]
        location = (*at, "settings", *first["loc"])
        if first["type"] == "extra_forbidden":
            message = f"unknown setting {first['loc'][-1]!r} of detector {kind.name!r}"
        else:
            message = f"{field_name(location)}: {first['msg']}"
        yield location, message
