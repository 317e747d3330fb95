"""Detect credentials in text, so that they never reach the store."""

from __future__ import annotations

import re
from dataclasses import dataclass

SECRET_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    # (kind, markers, pattern): every match holds one of its markers, so a text without them
    # is not scanned (a substring search costs a fraction of a regex scan that needs `\b`)
    ("OpenAI API key", ("sk-",), re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    ("Anthropic API key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("AWS access key id", ("AKIA", "ASIA"), re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b"),
    ),
    ("GitHub token", ("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b")),
    ("Slack token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Stripe key", ("_live_",), re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{20,}")),
    ("private key", ("-----BEGIN ",), re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    (
        "JSON web token",
        ("eyJ",),
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
    ("password in a URL", ("://",), re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)


@dataclass(frozen=True)
class SecretMatch:
    """One credential found: its kind and where it is."""

    kind: str
    start: int
    end: int


def find_secrets(text: str) -> list[SecretMatch]:
    """Every credential-looking span in `text`, by position."""
    found = [
        SecretMatch(kind, match.start(), match.end())
        for kind, markers, pattern in SECRET_PATTERNS
        if any(marker in text for marker in markers)
        for match in pattern.finditer(text)
    ]
    return sorted(found, key=lambda match: (match.start, -match.end))


def redact_secrets(text: str) -> str:
    """`text` with each credential replaced by `[REDACTED:<kind>]`."""
    pieces: list[str] = []
    position = 0
    for match in find_secrets(text):
        if match.start < position:
            continue
        pieces.append(text[position : match.start])
        pieces.append(f"[REDACTED:{match.kind}]")
        position = match.end
    pieces.append(text[position:])
    return "".join(pieces)
