"""`steerwise policy ...` and `steerwise guard check|decisions|fit-classifier`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.evals import progress_bar
from steerwise.cli.output import emit_json, emit_table
from steerwise.cli.versioned import add_versioned_commands
from steerwise.core.guardrails import Decision
from steerwise.guardrails.context import load_context_file
from steerwise.guardrails.fitting import (
    CLASSIFIER_KINDS,
    ClassifierKind,
    FitReport,
    FitRequest,
    fit_injection_classifier,
)
from steerwise.guardrails.injection_encoder import EncoderRecipe

EXIT_NOT_ALLOWED = 1


@click.group()
def policy() -> None:
    """Push, list, show, diff, label and roll back guardrail policies."""


add_versioned_commands(policy, "policy", lambda workspace: workspace.policies)


@click.group()
def guard() -> None:
    """Check texts against a guardrail policy."""


@guard.command()
@click.option("--policy", "policy_ref", required=True, metavar="NAME[@REF]", help="The policy.")
@click.option("--input", "input_text", metavar="TEXT", help="Check TEXT with the input rails.")
@click.option("--output", "output_text", metavar="TEXT", help="Check TEXT with the output rails.")
@click.option(
    "--context",
    "context_file",
    type=click.Path(dir_okay=False),
    help="JSON list of retrieved passages ({id, text, valid_until}) for output rails.",
)
@json_option
@pass_state
def check(
    state: CliState,
    *,
    policy_ref: str,
    input_text: str | None,
    output_text: str | None,
    context_file: str | None,
    as_json: bool,
) -> None:
    """Run one direction of a policy on a text ('-' reads stdin); exit 1 unless allowed."""
    if (input_text is None) == (output_text is None):
        raise click.UsageError("give exactly one of --input TEXT and --output TEXT")
    loaded = state.workspace().policies.load(policy_ref)
    context = load_context_file(context_file) if context_file else None
    if input_text is not None:
        decision = loaded.check_input(_text(input_text), context)
    else:
        decision = loaded.check_output(_text(output_text or ""), context)
    if as_json:
        emit_json(decision.to_dict())
    else:
        _print_decision(decision)
    if not decision.allowed:
        sys.exit(EXIT_NOT_ALLOWED)


@guard.command()
@click.option("--policy", "policy_name", metavar="NAME[@VERSION]", help="Only this policy.")
@click.option(
    "--outcome",
    type=click.Choice(["allow", "block", "redact", "reask", "fallback", "flag"]),
    help="Only decisions with this outcome.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def decisions(
    state: CliState, policy_name: str | None, outcome: str | None, limit: int, as_json: bool
) -> None:
    """Stored guardrail decisions with their reasons, newest first."""
    log = state.workspace().policies.decisions
    found = log.items(policy=policy_name, outcome=outcome, limit=limit)
    if as_json:
        emit_json([item.to_dict() for item in found])
        return
    emit_table(
        ["ID", "CREATED", "POLICY", "DIRECTION", "OUTCOME", "REASON", "US"],
        [
            (
                d.id,
                d.created_at[:19],
                d.policy,
                d.direction,
                d.outcome,
                d.reason_code or "-",
                f"{d.elapsed_us:.0f}",
            )
            for d in found
        ],
    )


@guard.command(name="fit-classifier")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option(
    "--out", required=True, type=click.Path(), help="Where to write it (a folder or a JSON file)."
)
@click.option("--kind", type=click.Choice(CLASSIFIER_KINDS), default="encoder", show_default=True)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--lr",
    "learning_rate",
    default=5e-5,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True),
    help="The encoder's learning rate.",
)
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 1024))
@click.option("--seed", default=0, show_default=True, help="Seed of the shuffle and the head.")
@json_option
@pass_state
def fit_classifier(
    state: CliState,
    *,
    data: str,
    out: str,
    kind: ClassifierKind,
    epochs: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    as_json: bool,
) -> None:
    """Fit the prompt-injection detector's trained classifier on labelled JSONL texts
    ({"text", "label"}, 1 = attack); a policy's rail then names it with `classifier: OUT`."""
    recipe = EncoderRecipe(
        epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed
    )
    request = FitRequest(Path(data), Path(out), kind, recipe)
    embedder = state.workspace().policies.services.embedder()
    with progress_bar("fine-tune") as update:
        report = fit_injection_classifier(
            request, embedder, lambda step, total, _loss: update(step, total)
        )
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_fit(report)


def _print_fit(report: FitReport) -> None:
    click.echo(
        f"fitted {_article(report.kind)} {report.kind} classifier on {report.texts} texts"
        f" ({report.attacks} attacks)"
        f" in {report.seconds:.0f} s; training accuracy {report.training_accuracy:.3f}"
    )
    click.echo(f"wrote {report.out}; name it in a prompt_injection rail's settings:")
    click.echo(f"  {report.setting}")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _print_decision(decision: Decision) -> None:
    click.echo(f"{decision.policy} {decision.direction}: {decision.outcome.upper()}")
    if decision.reason_code:
        click.echo(f"reason: {decision.reason_code}")
    for rail in decision.rails:
        state = "error" if rail.error else "hit" if rail.triggered else "ok"
        click.echo(f"  {rail.rail:<18} {state:<5} {rail.action:<8} {rail.elapsed_us:8.0f} us")
        for finding in rail.findings:
            where = f" [{finding.start}:{finding.end}]" if finding.start is not None else ""
            click.echo(f"    - {finding.type}{where} {finding.score:.2f}: {finding.reason}")
        if rail.error:
            click.echo(f"    ! {rail.error}")
    if decision.message:
        click.echo(f"message: {decision.message}")
    if decision.text:
        click.echo(f"text: {decision.text}")
