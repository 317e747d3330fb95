"""Credentials are detected, redacted, and kept out of the prompt registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise import BadInputError, Workspace
from steerwise.guardrails import find_secrets, redact_secrets
from steerwise.guardrails.secrets import SECRET_PATTERNS
from tests.conftest import simple_prompt, write_prompt

OPENAI_KEY = "sk-proj-" + "Ab3" * 12
SAMPLES = {
    "OpenAI API key": f"use {OPENAI_KEY} here",
    "Anthropic API key": "sk-ant-api03-" + "x1Y" * 10,
    "AWS access key id": "AKIAIOSFODNN7EXAMPLE",
    "GitHub token": "ghp_" + "a1B2" * 9,
    "private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "password in a URL": "postgresql://app:hunter2@db/prod",
    "Slack token": "xoxb-" + "12345-abcde" * 2,
    "Google API key": "AIza" + "Sy9" * 11 + "Zq",
    "Stripe key": "rk_live_" + "4eC39HqL" * 3,
    "JSON web token": "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
}
FINE_GRAINED_GITHUB = "github_pat_" + "11ABCDEFG0" * 5


def test_every_pattern_is_tried_only_on_text_with_one_of_its_markers() -> None:
    texts = [*SAMPLES.values(), FINE_GRAINED_GITHUB]
    for kind, markers, pattern in SECRET_PATTERNS:
        found = [match.group() for text in texts for match in pattern.finditer(text)]
        assert found, f"no sample for a {kind} pattern"
        assert all(any(marker in secret for marker in markers) for secret in found), kind
    assert [m.kind for m in find_secrets(FINE_GRAINED_GITHUB)] == ["GitHub token"]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_kind_is_found(kind: str) -> None:
    assert kind in {match.kind for match in find_secrets(SAMPLES[kind])}


def test_ordinary_text_has_no_secrets() -> None:
    text = "Refunds reach you within 5 business days; ask-desk@fernhill.example or sk-8."
    assert find_secrets(text) == []
    assert redact_secrets(text) == text


def test_redaction_replaces_only_the_secret() -> None:
    assert redact_secrets(f"key={OPENAI_KEY}, ok") == "key=[REDACTED:OpenAI API key], ok"


def test_prompt_holding_a_key_is_refused_and_not_stored(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    body = simple_prompt("leaky", f"Call the API with {OPENAI_KEY}.")
    path = write_prompt(tmp_path, "leaky", body)
    with pytest.raises(BadInputError, match=r"messages\[0\]\.content holds what looks like"):
        sqlite_workspace.prompts.push([path])
    assert sqlite_workspace.prompts.summaries() == []
    database = (sqlite_workspace.root / ".steerwise" / "steerwise.db").read_bytes()
    assert OPENAI_KEY.encode() not in database
