"""`steerwise monitor show`."""

from __future__ import annotations

import json
import sys
import time

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.alerts import Incident
from steerwise.core.errors import BadInputError
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


@monitor.command()
@click.option(
    "--interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1, 86_400),
    help="Seconds between evaluations.",
)
@click.option("--once", is_flag=True, help="Evaluate the rules once and exit.")
@json_option
@pass_state
def watch(state: CliState, interval: float, once: bool, as_json: bool) -> None:
    """Evaluate the alert rules of steerwise.toml in a loop: open incidents, notify the
    webhooks, resolve and notify recoveries. Ctrl-C stops it."""
    alerts = state.workspace().alerts
    if not alerts.rules:
        raise BadInputError(
            "steerwise.toml has no alert rules", hint="add [[alerts.rules]]: see docs/monitoring.md"
        )
    try:
        while True:
            for incident in alerts.evaluate():
                _print_incident_change(incident, as_json=as_json)
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _print_incident_change(incident: Incident, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(incident.to_dict(), sort_keys=True))
        return
    value = "-" if incident.value is None else f"{incident.value:g}"
    click.echo(
        f"{incident.status:<8} {incident.id[:12]}  {incident.rule}  {incident.deployment}"
        f"  {incident.metric} {value} ({incident.condition})"
    )


@click.group()
def incidents() -> None:
    """Incidents opened by alert rules: figures, example traces, what was serving."""


@incidents.command(name="list")
@click.option("--status", type=click.Choice(["open", "resolved"]), help="Only these.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def list_incidents(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    """Incidents, newest first."""
    found = state.workspace().alerts.incidents(status=status, limit=limit)
    if as_json:
        emit_json([incident.to_dict() for incident in found])
        return
    emit_table(
        ["ID", "OPENED", "STATUS", "SEVERITY", "RULE", "DEPLOYMENT", "VALUE"],
        [
            (i.id[:12], i.opened_at[:19], i.status, i.severity, i.rule, i.deployment, i.value)
            for i in found
        ],
    )


@incidents.command(name="show")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_state
def show_incident(state: CliState, incident_id: str, as_json: bool) -> None:
    """One incident: the rule, figures, traces, release serving and the roll-back step."""
    incident = state.workspace().alerts.get(incident_id)
    if as_json:
        emit_json(incident.to_dict())
        return
    click.echo(f"incident {incident.id}  {incident.status}  {incident.severity}")
    click.echo(
        f"rule {incident.rule}: {incident.metric} {incident.condition} over {incident.window}"
    )
    click.echo(f"deployment {incident.deployment}, serving {incident.release or '-'}")
    click.echo(f"value {incident.value} on {incident.requests} requests")
    click.echo(f"opened {incident.opened_at}, resolved {incident.resolved_at or '-'}")
    click.echo(f"traces: {', '.join(incident.trace_ids) or '-'}")
    click.echo(f"to roll back: {incident.suggestion}")
    for sent in incident.notifications:
        click.echo(f"  {sent['event']} -> {sent['url']}: {sent['status']} ({sent['detail']})")


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
    click.echo(
        f"feedback {m.feedback_count} (mean {_score(m.feedback_mean)},"
        f" {m.feedback_negative_share:.1%} negative)"
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


@click.group()
def drift() -> None:
    """Has a deployment's traffic moved away from a reference period?"""


@drift.command(name="check")
@click.argument("deployment", metavar="DEPLOYMENT")
@click.option(
    "--reference",
    required=True,
    metavar="SPAN",
    help="START/END (ISO 8601), a duration (7d) that ends where the current window starts,"
    " or eval:RUN_ID (the traces of an evaluation run).",
)
@click.option(
    "--current",
    default="1h",
    show_default=True,
    metavar="SPAN",
    help="START/END, or a duration that ends now.",
)
@json_option
@pass_state
def check_drift(
    state: CliState, deployment: str, reference: str, current: str, as_json: bool
) -> None:
    """Compare DEPLOYMENT's current window with a reference, feature by feature.

    Exits 1 when some feature drifted, 0 when none did."""
    report = state.workspace().drift.check(deployment, reference=reference, current=current)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(
            f"{report.target}: reference {report.reference[0][:19]} to"
            f" {report.reference[1][:19]}, current {report.current[0][:19]} to"
            f" {report.current[1][:19]} (UTC)"
        )
        emit_table(
            ["FEATURE", "VERDICT", "TEST", "REFERENCE N", "CURRENT N", "WHY"],
            [
                (f.feature, f.verdict, f.test, f.reference_n, f.current_n, f.reason)
                for f in report.features
            ],
        )
        click.echo(f"drifted: {', '.join(report.drifted) or 'none'}")
    if report.drifted:
        sys.exit(1)
