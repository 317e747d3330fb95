"""`steerwise release ...`, `steerwise deploy`, `steerwise rollback`, `steerwise canary ...`
and `steerwise promotions ...`."""

from __future__ import annotations

import sys

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.cli.variables import split_pairs
from steerwise.cli.versioned import add_versioned_commands, print_label_moves
from steerwise.core.promotions import Promotion
from steerwise.core.versioning import LabelMove
from steerwise.releases import PinRequest, release_dict, release_id
from steerwise.releases.canaries import Canary


@click.group()
def release() -> None:
    """Create, list, show, diff and trace releases (everything that shapes an answer)."""


add_versioned_commands(
    release, "release", lambda workspace: workspace.releases, only=("list", "show")
)


@release.command()
@click.argument("name")
@click.option("--prompt", "prompt_ref", required=True, metavar="NAME@REF", help="The prompt.")
@click.option("--model", metavar="REF", help="Model reference (default: the prompt's own).")
@click.option("--snapshot", metavar="ID|latest", help="Index snapshot to retrieve from.")
@click.option("--graph", "graph_ref", metavar="ID|latest", help="Knowledge graph version.")
@click.option("--policy", "policy_ref", metavar="NAME@REF", help="Guardrail policy.")
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Generation or search setting."
)
@click.option("--description", default="", help="What this release is for.")
@json_option
@pass_state
def create(
    state: CliState,
    *,
    name: str,
    prompt_ref: str,
    model: str | None,
    snapshot: str | None,
    graph_ref: str | None,
    policy_ref: str | None,
    params: tuple[str, ...],
    description: str,
    as_json: bool,
) -> None:
    """Pin every part now (labels and `latest` resolved) and print the release id."""
    request = PinRequest(
        prompt_ref, model, snapshot, graph_ref, policy_ref, split_pairs(params, "--param")
    )
    created = state.workspace().releases.create(name, request, description=description)
    if as_json:
        emit_json(release_dict(created))
        return
    click.echo(release_id(created))
    click.echo(f"  {created.ref}", err=True)


@release.command()
@click.argument("old", metavar="A")
@click.argument("new", metavar="B")
@json_option
@pass_state
def diff(state: CliState, old: str, new: str, as_json: bool) -> None:
    """The pins that differ between releases A and B (ids or NAME@VERSION|LABEL)."""
    changes = state.workspace().releases.diff_pins(old, new)
    if as_json:
        emit_json(changes)
        return
    if not changes:
        click.echo(f"{old} and {new} pin the same parts")
        return
    emit_table(["PIN", "A", "B"], [(c.pin, _shown(c.old), _shown(c.new)) for c in changes])


@release.command()
@click.argument("name")
@click.option("--at", "at", metavar="TIME", help="Say which release each label served then.")
@json_option
@pass_state
def history(state: CliState, name: str, at: str | None, as_json: bool) -> None:
    """Releases of NAME and every deploy and rollback, or what served at --at TIME."""
    releases = state.workspace().releases
    found = releases.history(name)
    if at is not None:
        labels = sorted({move.label for move in found.moves})
        serving = {label: releases.serving_at(name, label, at) for label in labels}
        if as_json:
            emit_json({label: release_dict(r) if r else None for label, r in serving.items()})
            return
        for label, served in serving.items():
            shown = f"{served.ref} ({release_id(served)})" if served else "nothing"
            click.echo(f"{name}@{label} at {at}: {shown}")
        return
    if as_json:
        emit_json({"releases": [release_dict(r) for r in found.versions], "moves": found.moves})
        return
    emit_table(
        ["VERSION", "ID", "CREATED", "BY", "PROMPT", "POLICY"],
        [
            (
                r.version,
                release_id(r),
                r.created_at[:19],
                r.created_by,
                r.spec.prompt,
                r.spec.policy or "-",
            )
            for r in found.versions
        ],
    )
    click.echo("deploys:")
    print_label_moves(found.moves)


@click.command()
@click.argument("name")
@click.argument("release_ref", metavar="RELEASE_ID")
@click.option("--label", default="production", show_default=True, help="Deployment label.")
@json_option
@pass_state
def deploy(state: CliState, name: str, release_ref: str, label: str, as_json: bool) -> None:
    """Serve a release of NAME under NAME@LABEL (audited). A label with a promotion gate in
    steerwise.toml gets a promotion request instead: the gate runs now, and approvals follow
    (`steerwise promotions`); exit 1 when the gate fails."""
    ws = state.workspace()
    if ws.promotions.gate_of(name, label) is None:
        _print_move(ws.releases.deploy(name, release_ref, label), as_json, "deployed")
        return
    promotion = ws.promotions.request(name, release_ref, label)
    _print_promotion(promotion, as_json)
    if promotion.status == "rejected":
        sys.exit(1)


@click.group()
def canary() -> None:
    """Send a share of a deployment's requests to another release; promote or abort it."""


@canary.command(name="start")
@click.argument("name")
@click.argument("release_ref", metavar="RELEASE_ID")
@click.option("--label", default="production", show_default=True, help="Deployment label.")
@click.option(
    "--percent", required=True, type=float, help="Share of the label's requests (0 to 100)."
)
@json_option
@pass_state
def start_canary(
    state: CliState, name: str, release_ref: str, *, label: str, percent: float, as_json: bool
) -> None:
    """Serve RELEASE_ID to PERCENT of NAME@LABEL's requests (audited)."""
    found = state.workspace().canaries.start(name, release_ref, label, percent=percent)
    _print_canary(found, as_json, "started")


@canary.command(name="list")
@json_option
@pass_state
def list_canaries(state: CliState, as_json: bool) -> None:
    """Every running canary split."""
    found = state.workspace().canaries.items()
    if as_json:
        emit_json([item.to_dict() for item in found])
        return
    emit_table(
        ["DEPLOYMENT", "CANARY", "PERCENT", "STARTED", "BY"],
        [
            (c.deployment, c.release_id, f"{c.percent:g}", c.started_at[:19], c.started_by)
            for c in found
        ],
    )


@canary.command(name="promote")
@click.argument("name")
@click.option("--label", default="production", show_default=True, help="Deployment label.")
@json_option
@pass_state
def promote_canary(state: CliState, name: str, label: str, as_json: bool) -> None:
    """Serve the canary's release to every request (a deploy) and end the split."""
    _print_canary(state.workspace().canaries.promote(name, label), as_json, "promoted")


@canary.command(name="abort")
@click.argument("name")
@click.option("--label", default="production", show_default=True, help="Deployment label.")
@json_option
@pass_state
def abort_canary(state: CliState, name: str, label: str, as_json: bool) -> None:
    """End the split: the label's release serves every request again."""
    _print_canary(state.workspace().canaries.abort(name, label), as_json, "aborted")


def _print_canary(found: Canary, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json({**found.to_dict(), "action": verb})
        return
    click.echo(f"canary {verb}: {found.deployment} -> {found.release_id} ({found.percent:g}%)")


@click.group()
def promotions() -> None:
    """Requests to serve a release under a gated label: gate results and approvals."""


@promotions.command(name="list")
@click.option(
    "--status", type=click.Choice(["awaiting_approval", "deployed", "rejected", "evaluating"])
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def list_promotions(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    """Promotion requests, newest first."""
    found = state.workspace().promotions.items(status=status, limit=limit)
    if as_json:
        emit_json([promotion.to_dict() for promotion in found])
        return
    emit_table(
        ["ID", "REQUESTED", "BY", "DEPLOYMENT", "RELEASE", "STATUS", "APPROVALS"],
        [
            (
                p.id[:12],
                p.requested_at[:19],
                p.requested_by,
                p.deployment,
                p.release,
                p.status,
                f"{len(p.approvals)}/{p.approvals_needed}",
            )
            for p in found
        ],
    )


@promotions.command(name="show")
@click.argument("promotion_id", metavar="ID")
@json_option
@pass_state
def show_promotion(state: CliState, promotion_id: str, as_json: bool) -> None:
    """One request: the gate's rules and values, approvals, what became of it."""
    _print_promotion(state.workspace().promotions.get(promotion_id), as_json)


@promotions.command()
@click.argument("promotion_id", metavar="ID")
@json_option
@pass_state
def approve(state: CliState, promotion_id: str, as_json: bool) -> None:
    """Approve a waiting request (not your own); the last approval needed deploys it."""
    _print_promotion(state.workspace().promotions.approve(promotion_id), as_json)


@promotions.command()
@click.argument("promotion_id", metavar="ID")
@click.option("--reason", default="", help="Why (kept on the request and in the audit log).")
@json_option
@pass_state
def reject(state: CliState, promotion_id: str, reason: str, as_json: bool) -> None:
    """Close a waiting request without deploying it."""
    _print_promotion(state.workspace().promotions.reject(promotion_id, reason), as_json)


def _print_promotion(promotion: Promotion, as_json: bool) -> None:
    if as_json:
        emit_json(promotion.to_dict())
        return
    click.echo(
        f"promotion {promotion.id[:12]}: {promotion.release} to {promotion.deployment}"
        f" ({promotion.status}; baseline {promotion.baseline or 'none'})"
    )
    for rule in (promotion.gate or {}).get("rules", []):
        mark = "pass" if rule["passed"] else "FAIL"
        click.echo(f"  {mark}  {rule['rule']}  (value {rule['value']:g})")
    approvals = ", ".join(a["by"] for a in promotion.approvals) or "none"
    click.echo(f"  approvals {len(promotion.approvals)}/{promotion.approvals_needed}: {approvals}")
    if promotion.reason:
        click.echo(f"  {promotion.reason}")


@click.command()
@click.argument("name")
@click.option("--label", default="production", show_default=True, help="Deployment label.")
@json_option
@pass_state
def rollback(state: CliState, name: str, label: str, as_json: bool) -> None:
    """Serve again the release NAME@LABEL served before its latest deploy (audited)."""
    move = state.workspace().releases.rollback(name, label)
    _print_move(move, as_json, "rolled back")


def _print_move(move: LabelMove, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(move)
        return
    if move.kind == "unchanged":
        click.echo(f"{move.target}@{move.label} already serves version {move.to_version}")
        return
    before = f"{move.target}@{move.from_version}" if move.from_version else "nothing"
    click.echo(f"{move.target}@{move.label} {verb}: {before} -> {move.target}@{move.to_version}")


def _shown(value: object) -> str:
    return "-" if value is None else str(value)
