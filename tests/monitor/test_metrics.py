"""Per-deployment metrics from the facts stored with each trace, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from steerwise import Workspace
from steerwise.core.errors import BadInputError
from steerwise.core.windows import parse_window
from steerwise.monitor.facts import bucket_value, latency_bucket
from steerwise.monitor.metrics import percentiles
from steerwise.releases import PinRequest
from tests.cli.runner import steerwise
from tests.monitor.builders import NOW, make_trace
from tests.shop import build_shop


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


def comparable(figures: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in figures.items() if k not in ("since", "until", "series")}


def test_long_windows_read_the_hourly_roll_up_and_agree_with_the_facts(
    workspace: Workspace,
) -> None:
    """Windows over three hours take whole hours from the roll-up and the partial hours at
    their ends from the facts: the figures are the same as summing the facts alone."""
    rng = np.random.default_rng(3)
    first = NOW - timedelta(minutes=95)  # 07:25 to 08:25: the traces cross 08:00
    for number in range(240):
        latency = float(rng.lognormal(5.0, 1.0))
        workspace.traces.record(
            make_trace(
                number,
                at=first + timedelta(seconds=15 * number),
                latency_ms=latency,
                model_ms=latency / 2,
                release="bot@2" if number >= 120 else "bot@1",
                outcome="block" if number % 8 == 0 else "allow",
                fired_out={"grounding": "triggered"} if number % 3 == 0 else {},
                cites_stale=number % 12 == 0,
            )
        )
    for until in (NOW, NOW - timedelta(minutes=50), NOW + timedelta(minutes=20)):
        facts_only = workspace.monitor.metrics("bot@production", window="3h", until=until)
        rolled_up = workspace.monitor.metrics("bot", window="12h", until=until)
        assert rolled_up.requests == facts_only.requests > 0
        expected = comparable(facts_only.to_dict()) | {"target": "bot"}
        assert comparable(rolled_up.to_dict()) == expected
        assert sum(p.requests for p in rolled_up.series) == rolled_up.requests
        assert all(len(p.start) == 13 for p in rolled_up.series)  # per hour in a 12h window
    week = workspace.monitor.metrics("bot@production", window="7d", until=NOW)
    assert week.requests == 240 and week.releases == {"bot@1": 120, "bot@2": 120}
    assert [len(p.start) for p in week.series] == [10]  # one day


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
        trace = ws.traces.get(answer.trace_id)
    assert found.requests == 1 and found.releases == {"support-bot@1": 1}
    assert found.output_tokens == answer.runs[0].answer.usage.output_tokens > 0
    model_ms = sum(span.duration_ms for span in trace.root.walk() if span.name == "model_call")
    # one request: each percentile is its own duration, to the bucket's 2.5%
    assert found.latency.p50 == pytest.approx(trace.latency_ms, rel=0.026)
    assert found.steps["model_call"].p99 == pytest.approx(model_ms, rel=0.026)
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
