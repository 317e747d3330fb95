"""Per-deployment metrics from the facts stored with each trace, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.core.traces import Span, Trace
from steerwise.monitor.facts import bucket_value, latency_bucket
from steerwise.monitor.metrics import iso, parse_window, percentiles
from steerwise.releases import PinRequest
from tests.cli.runner import steerwise
from tests.shop import build_shop

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def rails_span(stage: str, outcome: str, fired: dict[str, str]) -> Span:
    """An `input_rails` or `output_rails` span; `fired` maps rail name to triggered|error."""
    names = ["pii", "prompt_injection"] if stage == "input" else ["pii", "grounding", "freshness"]
    rails = [
        {
            "rail": name,
            "triggered": fired.get(name) == "triggered",
            "error": "ValueError: boom" if fired.get(name) == "error" else None,
            "elapsed_us": 100.0,
        }
        for name in names
    ]
    return Span(f"{stage}_rails", 2.0, {"outcome": outcome, "rails": rails})


def make_trace(
    number: int,
    *,
    at: datetime,
    latency_ms: float,
    model_ms: float,
    target: str = "bot@production",
    release: str = "bot@1",
    outcome: str = "allow",
    status: str = "ok",
    fired_in: dict[str, str] | None = None,
    fired_out: dict[str, str] | None = None,
    cites_stale: bool = False,
    confidence: float = 0.8,
    grounding: float = 0.9,
) -> Trace:
    """A trace shaped like the request path's: retrieval, generate (rails and model), citations."""
    chunks = [{"chunk_id": "c1", "stale": cites_stale}, {"chunk_id": "c2", "stale": False}]
    model = Span(
        "model_call",
        model_ms,
        {"input_tokens": 400, "output_tokens": 50, "cost_usd": 0.002, "attempts": [{}, {}]},
    )
    generate = Span(
        "generate",
        model_ms + 4,
        {},
        (
            rails_span("input", "allow", fired_in or {}),
            model,
            rails_span("output", outcome, fired_out or {}),
        ),
    )
    children = (
        Span("retrieval", 5.0, {"chunks": chunks}),
        generate,
        Span("citations", 1.0, {"cited": [1], "confidence": confidence, "grounding": grounding}),
    )
    return Trace(
        id=f"trace-{number:05d}",
        created_at=iso(at),
        target=target,
        release=release,
        release_id="abc123",
        outcome=outcome,
        status=status,
        latency_ms=latency_ms,
        input={"question": "Where is my parcel?"},
        output="It ships in 3 days [1].",
        root=Span("request", latency_ms, {}, children),
    )


def test_a_window_sums_traffic_latency_outcomes_rails_and_quality(workspace: Workspace) -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(mean=6.0, sigma=0.6, size=300)  # about 400 ms, long tail
    for number, latency in enumerate(latencies):
        workspace.traces.record(
            make_trace(
                number,
                at=NOW - timedelta(minutes=50) + timedelta(seconds=number),
                latency_ms=float(latency),
                model_ms=float(latency) * 0.8,
                outcome="block" if number % 10 == 0 else "allow",
                status="error" if number % 25 == 0 else "ok",
                fired_in={"prompt_injection": "triggered"} if number % 10 == 0 else {},
                fired_out={"freshness": "error"} if number % 50 == 0 else {},
                cites_stale=number % 20 == 0,
                confidence=0.25 if number % 2 else 0.75,
            )
        )
    workspace.traces.record(
        make_trace(999, at=NOW - timedelta(hours=2), latency_ms=9e5, model_ms=1)
    )
    workspace.traces.record(
        make_trace(
            998,
            at=NOW - timedelta(minutes=1),
            latency_ms=1,
            model_ms=1,
            target="other@x",
            release="other@1",
        )
    )
    found = workspace.monitor.metrics("bot@production", window="1h", until=NOW)
    assert found.requests == 300  # the trace two hours old and the other deployment left out
    assert (found.errors, found.error_rate) == (12, 0.04)
    assert found.outcomes == {"allow": 270, "block": 30}
    assert (found.refusals, found.refusal_rate) == (30, 0.1)
    figures = (found.latency.p50, found.latency.p95, found.latency.p99)
    for quantile, figure in zip((50, 95, 99), figures, strict=True):
        exact = float(np.percentile(latencies, quantile, method="inverted_cdf"))
        assert figure == pytest.approx(exact, rel=0.026)
    model_p50 = found.steps["model_call"].p50
    assert model_p50 == pytest.approx(0.8 * float(np.median(latencies)), rel=0.03)
    assert set(found.steps) == {
        "retrieval",
        "input_rails",
        "model_call",
        "output_rails",
        "citations",
    }
    assert (found.input_tokens, found.output_tokens, found.retries) == (120_000, 15_000, 300)
    assert found.cost_usd == pytest.approx(0.6)
    assert found.cost_per_1k_requests == pytest.approx(2.0)
    assert found.confidence_mean == pytest.approx(0.5)
    assert found.confidence_tenths[2] == 150 and found.confidence_tenths[7] == 150
    assert found.grounding_mean == pytest.approx(0.9) and found.grounding_tenths[9] == 300
    assert (found.stale_citations, found.stale_share) == (15, 0.05)
    rails = {(r.stage, r.rail): r for r in found.rails}
    assert set(rails) == {("input", "prompt_injection"), ("output", "freshness")}
    assert (
        rails["input", "prompt_injection"].triggered,
        rails["input", "prompt_injection"].rate,
    ) == (30, 0.1)
    assert rails["output", "freshness"].errors == 6
    assert sum(period.requests for period in found.series) == 300
    assert all(len(period.start) == 16 for period in found.series)  # per minute in a 1h window
    by_release = workspace.monitor.metrics("bot", window="1d", until=NOW)
    assert by_release.requests == 301 and by_release.releases == {"bot@1": 301}


def test_an_empty_window_has_no_percentiles_and_no_rates(workspace: Workspace) -> None:
    found = workspace.monitor.metrics("nobody@production", window="15m", until=NOW)
    assert (found.requests, found.error_rate, found.latency.p50) == (0, 0.0, None)
    assert found.steps == {} and found.rails == [] and found.confidence_mean is None


def test_buckets_hold_any_duration_within_two_and_a_half_percent() -> None:
    for ms in (0.02, 0.7, 13.0, 480.0, 7_300.0, 120_000.0):
        assert bucket_value(latency_bucket(ms)) == pytest.approx(ms, rel=0.025)
    assert latency_bucket(0.0) == 0
    assert percentiles([]).p50 is None


@pytest.mark.parametrize("text", ["", "1", "h", "0m", "1.5h", "-3m", "10y"])
def test_a_window_that_is_not_a_duration_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="is not a duration"):
        parse_window(text)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pins = PinRequest(
        "support-answer@production",
        snapshot="latest",
        policy="support",
        params={"max_tokens": "40"},
    )
    return build_shop(tmp_path_factory.mktemp("monitor") / "ws", "support-bot", pins)


def test_a_real_request_is_counted_with_its_steps_tokens_and_grounding(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        answer = ws.run("support-bot@production", {"question": "How long does a refund take?"})
        ws.traces.flush()
        found = ws.monitor.metrics("support-bot@production", window="5m")
        examples = ws.monitor.examples("support-bot", "any", window="5m")
    assert found.requests == 1 and found.releases == {"support-bot@1": 1}
    assert found.output_tokens == answer.runs[0].answer.usage.output_tokens > 0
    assert found.latency.p50 is not None and found.latency.p50 > found.steps["model_call"].p50 > 0  # type: ignore[operator]
    assert {"retrieval", "input_rails", "model_call", "output_rails"} <= set(found.steps)
    assert found.confidence_mean == pytest.approx(answer.confidence, abs=1e-4)
    assert found.grounding_mean is not None and 0.0 <= found.grounding_mean <= 1.0
    assert examples == [answer.trace_id]


def test_the_cli_prints_metrics_as_json_and_refuses_a_bad_window(shop: Path) -> None:
    shown = steerwise("monitor", "show", "support-bot", "--window", "1d", "--json", cwd=shop)
    assert shown.code == 0, shown.err
    body = shown.json()
    assert body["target"] == "support-bot" and body["requests"] >= 1
    assert set(body["latency"]) == {"p50", "p95", "p99", "count"}
    table = steerwise("monitor", "show", "support-bot@production", "--window", "1d", cwd=shop)
    assert table.code == 0 and "model_call" in table.out and "requests" in table.out
    bad = steerwise("monitor", "show", "support-bot", "--window", "soon", cwd=shop)
    assert bad.code == 2
    assert "window 'soon' is not a duration" in bad.err and "Traceback" not in bad.err
