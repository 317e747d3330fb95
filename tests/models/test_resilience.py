"""Retries, backoff, timeouts and fallback against a server that fails on a schedule."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from steerwise.core.models import ChatParams, ModelConfig, ModelError, ModelInputError
from steerwise.models import ModelRegistry
from steerwise.models.resilience import RetryPolicy
from tests.models.fault_server import FaultServer, broken, drop, ok, slow, status

HELLO = [{"role": "user", "content": "hello"}]


def registry(tmp_path: Path, *servers: FaultServer, **settings: object) -> ModelRegistry:
    """Models `a`, `b`, ... on the servers; `a` falls back along the rest."""
    names = [chr(ord("a") + index) for index in range(len(servers))]
    configs = {
        name: ModelConfig(
            provider="openai",
            model=f"m-{name}",
            base_url=server.base_url,
            timeout_s=settings.get("timeout_s", 5.0),  # type: ignore[arg-type]
            max_retries=settings.get("max_retries", 2),  # type: ignore[arg-type]
            retry_base_delay_s=0.01,
            price_input_per_million=1.0,
            price_output_per_million=2.0,
            fallback=names[index + 1 :] if index == 0 else [],
        )
        for index, (name, server) in enumerate(zip(names, servers, strict=True))
    }
    return ModelRegistry(configs, root=tmp_path)


def outcomes(result_attempts: list[object]) -> list[tuple[str, str, int | None]]:
    return [(a.model, a.outcome, a.status) for a in result_attempts]  # type: ignore[attr-defined]


def test_429_and_500_are_retried_and_retry_after_is_honoured(tmp_path: Path) -> None:
    with FaultServer(status(429, retry_after="0.3"), status(500), ok("done")) as server:
        result = registry(tmp_path, server).chat("a", HELLO)
    assert result.text == "done"
    assert outcomes(result.attempts) == [
        ("a", "retry", 429),
        ("a", "retry", 500),
        ("a", "ok", None),
    ]
    assert result.attempts[0].waited_s == pytest.approx(0.3)
    assert server.times[1] - server.times[0] >= 0.3
    assert result.usage.input_tokens == 7
    assert result.cost_usd == pytest.approx((7 * 1.0 + 3 * 2.0) / 1e6)


def test_slow_answer_times_out_and_is_retried(tmp_path: Path) -> None:
    with FaultServer(slow(3.0), ok("quick")) as server:
        started = time.monotonic()
        result = registry(tmp_path, server, timeout_s=0.5).chat("a", HELLO)
    assert result.text == "quick"
    assert time.monotonic() - started < 2.5
    assert result.attempts[0].outcome == "retry"
    assert "timed out after 0.5 s" in str(result.attempts[0].error)


def test_dropped_connection_is_retried(tmp_path: Path) -> None:
    with FaultServer(drop(), ok("back")) as server:
        result = registry(tmp_path, server).chat("a", HELLO)
    assert result.text == "back"
    assert "connection failed" in str(result.attempts[0].error)


def test_400_is_not_retried_but_falls_back(tmp_path: Path) -> None:
    with FaultServer(default=status(400)) as first, FaultServer(ok("from b")) as second:
        result = registry(tmp_path, first, second).chat("a", HELLO)
    assert result.text == "from b"
    assert result.model == "b"
    assert outcomes(result.attempts) == [("a", "failed", 400), ("b", "ok", None)]
    assert len(first.requests) == 1


def test_fallback_after_retries_run_out(tmp_path: Path) -> None:
    with FaultServer(default=status(503)) as first, FaultServer(ok("rescued")) as second:
        result = registry(tmp_path, first, second, max_retries=1).chat("a", HELLO)
    assert result.text == "rescued"
    assert outcomes(result.attempts) == [
        ("a", "retry", 503),
        ("a", "failed", 503),
        ("b", "ok", None),
    ]


def test_every_model_failing_names_the_last_error(tmp_path: Path) -> None:
    with FaultServer(default=status(401)) as first, FaultServer(default=status(500)) as second:
        models = registry(tmp_path, first, second, max_retries=1)
        with pytest.raises(ModelError, match=r"every model failed \(a -> b; 3 attempts\)"):
            models.chat("a", HELLO)
    assert len(first.requests) == 1  # a 401 cannot succeed: no retry
    assert len(second.requests) == 2


def test_stream_retries_before_the_first_delta(tmp_path: Path) -> None:
    with FaultServer(status(500), ok("one two three")) as server:
        events = list(registry(tmp_path, server).stream("a", HELLO))
    *deltas, final = events
    assert "".join(d.text for d in deltas) == final.text == "one two three "  # type: ignore[union-attr]
    assert outcomes(final.attempts) == [("a", "retry", 500), ("a", "ok", None)]  # type: ignore[union-attr]
    assert final.usage.output_tokens == 3  # type: ignore[union-attr]


def test_request_carries_params(tmp_path: Path) -> None:
    with FaultServer(ok()) as server:
        registry(tmp_path, server).chat(
            "a", HELLO, ChatParams(temperature=0.2, max_tokens=9, stop=("x",))
        )
    sent = server.requests[0]
    assert (sent["model"], sent["temperature"], sent["max_tokens"], sent["stop"]) == (
        "m-a",
        0.2,
        9,
        ["x"],
    )


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=5, base_delay_s=1.0, max_delay_s=4.0, jitter=0.5)
    for number, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)):
        delays = [policy.delay_s(number, None) for _ in range(200)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling * 0.2  # jitter spreads them
    assert policy.delay_s(1, 7.5) == 7.5


@pytest.mark.parametrize(
    ("ref", "module", "extra"),
    [("openai:gpt-4o-mini", "openai", "openai"), ("anthropic:claude-x", "anthropic", "anthropic")],
)
def test_missing_sdk_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if the package were not installed
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    with pytest.raises(ModelInputError, match=f"needs the {module} SDK") as caught:
        ModelRegistry({}, root=tmp_path).resolve(ref)
    assert caught.value.hint == f"install the extra: pip install 'steerwise[{extra}]'"


def test_a_stream_cut_short_is_resumed_where_it_broke(tmp_path: Path) -> None:
    with FaultServer(broken("one"), ok("one two three")) as server:
        events = list(registry(tmp_path, server).stream("a", HELLO))
    *deltas, final = events
    texts = [d.text for d in deltas]  # type: ignore[union-attr]
    assert "".join(texts) == final.text == "one two three "  # type: ignore[union-attr]
    assert texts[0] == "one"  # passed on before the break, and not again after it
    assert outcomes(final.attempts) == [("a", "retry", None), ("a", "ok", None)]  # type: ignore[union-attr]
    assert "the stream ended before [DONE]" in str(final.attempts[0].error)  # type: ignore[union-attr]


def test_a_retried_stream_that_says_something_else_fails(tmp_path: Path) -> None:
    with FaultServer(broken("one"), ok("uno dos tres")) as server:
        stream = registry(tmp_path, server).stream("a", HELLO)
        assert next(stream).text == "one"  # type: ignore[union-attr]
        with pytest.raises(ModelError, match="differs from the words already sent"):
            list(stream)
    assert len(server.requests) == 2  # no third try: it would not say "one" either
