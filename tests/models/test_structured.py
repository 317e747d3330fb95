"""Structured output: answers are validated against the schema and re-asked with the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from steerwise.core.models import ChatParams, ModelConfig, StructuredOutputError
from steerwise.models import ModelRegistry
from tests.models.fault_server import FaultServer, ok

SCHEMA = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}
ASK = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Days?"}]


def prompt_mode(server: FaultServer, tmp_path: Path, retries: int = 2) -> ModelRegistry:
    config = ModelConfig(
        provider="openai",
        model="m",
        base_url=server.base_url,
        structured_output="prompt",
        max_output_retries=retries,
    )
    return ModelRegistry({"m": config}, root=tmp_path)


def test_invalid_answer_is_reasked_with_the_error(tmp_path: Path) -> None:
    with FaultServer(
        ok("thirty days"), ok('{"days": "30"}'), ok('```json\n{"days": 30}\n```')
    ) as server:
        result = prompt_mode(server, tmp_path).chat("m", ASK, ChatParams(response_format=SCHEMA))
    assert result.parsed == {"days": 30}
    assert [(a.outcome, a.error is not None) for a in result.attempts] == [
        ("ok", False),
        ("invalid_output", True),
        ("ok", False),
        ("invalid_output", True),
        ("ok", False),
    ]
    assert result.usage.output_tokens == 9  # three calls of 3 tokens
    first, second, third = server.requests
    assert "Reply with only JSON that matches this JSON Schema" in first["messages"][0]["content"]
    assert "response_format" not in first
    assert second["messages"][-2] == {"role": "assistant", "content": "thirty days"}
    assert "the answer is not JSON" in second["messages"][-1]["content"]
    assert "'30' is not of type 'integer'" in third["messages"][-1]["content"]


def test_answer_still_invalid_after_retries_is_a_clear_error(tmp_path: Path) -> None:
    with FaultServer(default=ok("no json here")) as server:
        models = prompt_mode(server, tmp_path, retries=1)
        with pytest.raises(
            StructuredOutputError, match=r"model m: the answer did not match .* after 2 tries"
        ):
            models.chat("m", ASK, ChatParams(response_format=SCHEMA))
    assert len(server.requests) == 2


def test_native_schema_mode_sends_the_schema(tmp_path: Path) -> None:
    with FaultServer(ok('{"days": 14}')) as server:
        config = ModelConfig(provider="openai", model="m", base_url=server.base_url)
        result = ModelRegistry({"m": config}, root=tmp_path).chat(
            "m", ASK, ChatParams(response_format=SCHEMA)
        )
    assert result.parsed == {"days": 14}
    sent = server.requests[0]["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
