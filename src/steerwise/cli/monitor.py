"""`steerwise monitor show`."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.monitor import DeploymentMetrics
from steerwise.monitor.metrics import Percentiles


@click.group()
def monitor() -> None:
    """Traffic, latency, errors, refusals, rails, cost and answer quality per deployment."""


@monitor.command()
@click.argument("deployment", metavar="DEPLOYMENT")
@click.option("--window", default="1h", show_default=True, help="90s, 15m, 1h, 7d or 2w.")
@click.option("--until", metavar="TIME", help="End of the window (ISO 8601; default: now).")
@json_option
@pass_state
def show(state: CliState, deployment: str, window: str, until: str | None, as_json: bool) -> None:
    """Metrics of DEPLOYMENT (`bot@production`, or a release name) over a window."""
    found = state.workspace().monitor.metrics(deployment, window=window, until=until)
    if as_json:
        emit_json(found.to_dict())
        return
    _print_metrics(found)


def _print_metrics(m: DeploymentMetrics) -> None:
    click.echo(f"{m.target}  {m.since[:19]} to {m.until[:19]} (UTC)")
    click.echo(
        f"requests {m.requests}  errors {m.errors} ({m.error_rate:.1%})"
        f"  refusals {m.refusals} ({m.refusal_rate:.1%})  retries {m.retries}"
    )
    if not m.requests:
        click.echo("no requests in this window")
        return
    outcomes = ", ".join(f"{name} {count}" for name, count in m.outcomes.items())
    click.echo(f"outcomes: {outcomes}")
    click.echo(
        f"tokens in {m.input_tokens} out {m.output_tokens}  cost ${m.cost_usd:.4f}"
        f" (${m.cost_per_1k_requests:.4f} per 1,000 requests)"
    )
    click.echo(
        f"confidence {_score(m.confidence_mean)}  grounding {_score(m.grounding_mean)}"
        f"  stale citations {m.stale_citations} ({m.stale_share:.1%})"
    )
    rows = [("request", *_ms(m.latency))]
    rows += [(step, *_ms(figures)) for step, figures in m.steps.items()]
    emit_table(["STEP", "P50 MS", "P95 MS", "P99 MS", "N"], rows)
    if m.rails:
        emit_table(
            ["STAGE", "RAIL", "FIRED", "RATE", "ERRORS", "IN REFUSALS"],
            [(r.stage, r.rail, r.triggered, f"{r.rate:.1%}", r.errors, r.refused) for r in m.rails],
        )


def _ms(figures: Percentiles) -> tuple[str, str, str, int]:
    def one(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    return one(figures.p50), one(figures.p95), one(figures.p99), figures.count


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
