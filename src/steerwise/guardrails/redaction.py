"""Typed placeholders: `[EMAIL_1]` in place of what a rail found, and back again."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from steerwise.core.guardrails import Finding

_PLACEHOLDER = re.compile(r"\[([A-Z][A-Z_]*)_(\d+)\]")


def redact(
    text: str, findings: Sequence[Finding], placeholders: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """`text` with each found span replaced by a typed placeholder, and the grown mapping.

    The same value gets the same placeholder everywhere (also across calls that share
    `placeholders`); overlapping findings keep the first, longest one.
    """
    mapping = dict(placeholders)
    by_value = {value: key for key, value in mapping.items()}
    pieces: list[str] = []
    position = 0
    for finding in _spans(findings):
        assert finding.start is not None and finding.end is not None
        if finding.start < position:
            continue
        value = text[finding.start : finding.end]
        key = by_value.get(value) or _new_placeholder(finding.type, mapping)
        mapping[key], by_value[value] = value, key
        pieces += [text[position : finding.start], key]
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces), mapping


def _spans(findings: Sequence[Finding]) -> list[Finding]:
    with_spans = [f for f in findings if f.start is not None and f.end is not None]
    return sorted(with_spans, key=lambda f: (f.start or 0, -(f.end or 0)))


def _new_placeholder(kind: str, mapping: Mapping[str, str]) -> str:
    prefix = re.sub(r"[^A-Z_]", "_", kind.upper()) or "REDACTED"
    number = 1 + sum(
        1 for key in mapping if (match := _PLACEHOLDER.fullmatch(key)) and match[1] == prefix
    )
    return f"[{prefix}_{number}]"


def restore(text: str, placeholders: Mapping[str, str]) -> str:
    """`text` with every known placeholder put back to its original value."""
    return _PLACEHOLDER.sub(lambda match: placeholders.get(match[0], match[0]), text)


def has_whole_text_findings(findings: Sequence[Finding]) -> bool:
    """Whether some finding has no span (so redaction cannot cover it)."""
    return any(finding.start is None for finding in findings)
