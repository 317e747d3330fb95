"""`steerwise models ...` and `steerwise run`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.cli.variables import collect_variables
from steerwise.cli.versioned import add_versioned_commands
from steerwise.core.jsonable import to_plain
from steerwise.core.models import StreamDelta
from steerwise.pipeline import RunResult
from steerwise.pipeline.guarded import GuardedResult
from steerwise.pipeline.request import Answer
from steerwise.workspace import Workspace

Final = TypeVar("Final")


@click.group()
def models() -> None:
    """The models a workspace can call."""


@models.command(name="list")
@json_option
@pass_state
def list_models(state: CliState, as_json: bool) -> None:
    """Configured models (and the default), and whether each is available here."""
    statuses = state.workspace().models.statuses()
    if as_json:
        emit_json(statuses)
        return
    emit_table(
        ["NAME", "PROVIDER", "MODEL", "AVAILABLE", "DETAIL"],
        [(s.name, s.provider, s.model, "yes" if s.available else "no", s.detail) for s in statuses],
    )


@click.command()
@click.argument("ref", metavar="DEPLOYMENT|RELEASE_ID|PROMPT[@REF]")
@click.option("--var", "pairs", multiple=True, metavar="KEY=VALUE", help="A variable (repeat).")
@click.option("--vars-file", type=click.Path(dir_okay=False), help="Variables as a JSON object.")
@click.option("--model", metavar="REF", help="Call this model instead of the prompt's.")
@click.option("--stream", is_flag=True, help="Print the answer as it is generated.")
@click.option("--policy", metavar="NAME[@REF]", help="Check input and answer with this policy.")
@json_option
@pass_state
def run(
    state: CliState,
    ref: str,
    *,
    pairs: tuple[str, ...],
    vars_file: str | None,
    model: str | None,
    stream: bool,
    policy: str | None,
    as_json: bool,
) -> None:
    """Answer through a deployment or release (the whole request path), or run a prompt."""
    workspace = state.workspace()
    release = None if ref.startswith("prompt:") else workspace.releases.target(ref)
    if release is not None:
        if model or policy:
            raise click.UsageError(
                f"{ref} is a release: it pins its model and policy (--model and --policy"
                " apply to prompts)"
            )
        schema = workspace.prompts.get(release.spec.prompt).spec.variables
        variables = collect_variables(schema, pairs, vars_file)
        _run_release(workspace, ref, variables, stream=stream, as_json=as_json)
        return
    ref = ref.removeprefix("prompt:")
    variables = collect_variables(workspace.prompts.get(ref).spec.variables, pairs, vars_file)
    if policy is not None:
        _run_guarded(workspace, ref, variables, policy, model=model, stream=stream, as_json=as_json)
        return
    if not stream:
        result = workspace.run_prompt(ref, variables, model=model)
        if as_json:
            emit_json(_summary(result))
        else:
            click.echo(result.answer.text)
        return
    for event in workspace.runner.stream(ref, variables, model=model):
        if isinstance(event, StreamDelta):
            if as_json:
                click.echo(json.dumps({"delta": event.text}, ensure_ascii=False))
            else:
                click.echo(event.text, nl=False)
        elif as_json:
            click.echo(json.dumps(_summary(event), ensure_ascii=False))
        else:
            click.echo("")


def _run_release(
    workspace: Workspace, ref: str, variables: dict[str, Any], *, stream: bool, as_json: bool
) -> None:
    """`run DEPLOYMENT|RELEASE`: the answer, its citations and confidence; exit 1 if refused."""
    if stream:
        answer = _echo_stream(workspace.stream(ref, variables).events, as_json, Answer.to_dict)
    else:
        answer = workspace.run(ref, variables)
        if as_json:
            emit_json(answer.to_dict())
        else:
            click.echo(answer.text)
    if not as_json:
        _print_sources(answer)
    if answer.outcome in ("block", "fallback"):
        sys.exit(1)


def _print_sources(answer: Answer) -> None:
    for cited in answer.citations:
        stale = "  (stale: " + "; ".join(cited.stale_reasons) + ")" if cited.stale else ""
        click.echo(f"[{cited.number}] {cited.document}  {cited.title}{stale}")
    confidence = "-" if answer.confidence is None else f"{answer.confidence:.2f}"
    reason = f" {answer.reason_code}" if answer.reason_code else ""
    click.echo(
        f"({answer.release} {answer.release_id}, {answer.outcome}{reason},"
        f" confidence {confidence})",
        err=True,
    )


def _run_guarded(
    workspace: Workspace,
    ref: str,
    variables: dict[str, Any],
    policy: str,
    *,
    model: str | None,
    stream: bool,
    as_json: bool,
) -> None:
    """`run --policy`: the guarded answer; exit 1 when the policy did not let it through."""
    loaded = workspace.policies.load(policy)
    if stream:
        events = workspace.guarded.stream(ref, variables, policy=loaded, model=model)
        result = _echo_stream(events, as_json, _guarded_summary)
    else:
        result = workspace.guarded.run(ref, variables, policy=loaded, model=model)
        click.echo(json.dumps(_guarded_summary(result), indent=2) if as_json else result.text)
    if result.outcome in ("block", "fallback"):
        sys.exit(1)


def _echo_stream(
    events: Iterable[StreamDelta | Final], as_json: bool, summary: Callable[[Final], object]
) -> Final:
    """Print deltas as they come (JSON lines with --json), then the final event's summary
    (--json) or a newline; return the final event."""
    for event in events:
        if not isinstance(event, StreamDelta):
            click.echo(json.dumps(summary(event), ensure_ascii=False) if as_json else "")
            return event
        click.echo(json.dumps({"delta": event.text}) if as_json else event.text, nl=as_json)
    raise AssertionError("a stream always ends with its result")


def _guarded_summary(result: GuardedResult) -> dict[str, object]:
    return {
        "answer": result.text,
        "outcome": result.outcome,
        "reason_code": result.reason_code,
        "input": [decision.to_dict() for decision in result.input_decisions],
        "output": [decision.to_dict() for decision in result.output_decisions],
        "runs": [_summary(run) for run in result.runs],
    }


def _summary(result: RunResult) -> dict[str, object]:
    answer = result.answer
    return {
        "answer": answer.text,
        "parsed": answer.parsed,
        "finish_reason": answer.finish_reason,
        "model": answer.model,
        "prompt": f"{result.prompt.name}@{result.prompt.version}",
        "usage": to_plain(answer.usage) | {"total_tokens": answer.usage.total_tokens},
        "latency_s": round(answer.latency_s, 4),
        "cost_usd": answer.cost_usd,
        "attempts": to_plain(answer.attempts),
    }


add_versioned_commands(
    models,
    "model",
    lambda workspace: workspace.model_versions,
    only=("diff", "label", "rollback", "history"),
)


@models.command()
@click.argument("name", required=False)
@json_option
@pass_state
def versions(state: CliState, name: str | None, as_json: bool) -> None:
    """Registered (fine-tuned) models, or with NAME every version of one with its lineage."""
    registry = state.workspace().model_versions
    if name is None:
        summaries = registry.summaries()
        if as_json:
            emit_json(summaries)
            return
        emit_table(
            ["NAME", "LATEST", "LABELS", "DESCRIPTION"],
            [(s.name, s.latest_version, _labels(s.labels), s.description) for s in summaries],
        )
        return
    history = registry.history(name)
    labels = registry.labels_of(name)
    if as_json:
        emit_json([registry.describe(v.ref) for v in history.versions])
        return
    emit_table(
        ["VERSION", "METHOD", "BASE", "DATASET", "VAL LOSS", "LABELS", "CREATED"],
        [
            (
                v.ref,
                v.spec.method,
                v.spec.base,
                v.spec.dataset or "-",
                v.spec.metrics.get("validation_loss") or "-",
                ", ".join(sorted(k for k, n in labels.items() if n == v.version)) or "-",
                v.created_at[:19],
            )
            for v in history.versions
        ],
    )


@models.command(name="show")
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@json_option
@pass_state
def show_version(state: CliState, ref: str, as_json: bool) -> None:
    """One registered version: its weights and full lineage, and the eval runs of it."""
    workspace = state.workspace()
    described = workspace.model_versions.describe(ref)
    described["eval_runs"] = workspace.model_eval_runs(ref)
    if as_json:
        emit_json(described)
        return
    spec = described["spec"]
    labels = ", ".join(described["labels"]) or "-"
    click.echo(f"{described['name']}@{described['version']}  labels: {labels}")
    click.echo(f"  registered {described['created_at'][:19]} by {described['created_by']}")
    for key in ("base", "method", "adapter", "gguf", "remote_model", "dataset", "job"):
        if spec.get(key):
            click.echo(f"  {key}: {spec[key]}")
    click.echo(f"  hyperparameters: {json.dumps(spec['hyperparameters'], sort_keys=True)}")
    click.echo(f"  metrics: {json.dumps(spec['metrics'], sort_keys=True)}")
    click.echo(f"  eval runs: {', '.join(r[:12] for r in described['eval_runs']) or '-'}")


def _labels(labels: dict[str, int]) -> str:
    return ", ".join(f"{label}@{version}" for label, version in labels.items()) or "-"
