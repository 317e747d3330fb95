"""`steerwise finetune ...`: training sets, fine-tune jobs (run, resume, list, show)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table, short_hash
from steerwise.cli.versioned import add_versioned_commands
from steerwise.core.finetune import FinetuneJob, StepLog, TrainingConfig
from steerwise.core.models import DEFAULT_MODEL
from steerwise.finetune.building import BuildOptions
from steerwise.finetune.datasets import EXPORT_FORMATS, export
from steerwise.finetune.jobs import JobRequest
from steerwise.finetune.training import Progress


@click.group()
def finetune() -> None:
    """Fine-tuning: versioned training sets, LoRA jobs on this machine, registered models."""


@finetune.group(name="dataset")
def training_set() -> None:
    """Versioned fine-tuning datasets built from datasets and reviews."""


add_versioned_commands(
    training_set,
    "training-set",
    lambda workspace: workspace.training_sets,
    only=("list", "diff", "label", "history"),
)


@training_set.command()
@click.argument("name")
@click.option("--from", "datasets", multiple=True, metavar="DATASET[@V]", help="Repeatable.")
@click.option(
    "--from-reviews", "queues", multiple=True, metavar="QUEUE", help="Settled reviews ('*': all)."
)
@click.option("--prompt", metavar="NAME[@REF]", help="Render each item with this prompt.")
@click.option(
    "--release",
    metavar="RELEASE|DEPLOYMENT",
    help="Render each item as this release would, with the context it retrieves; answers"
    " cite their passage, or say the context does not have them.",
)
@click.option("--unknown-answer", help="With --release: the answer when the context lacks it.")
@click.option("--validation-share", default=0.1, show_default=True, type=click.FloatRange(0, 0.9))
@click.option("--seed", default=0, show_default=True, help="Seed of the train/validation split.")
@click.option("--redact-pii", is_flag=True, help="Redact personal data instead of refusing.")
@click.option(
    "--allow-pii",
    "allowed_pii",
    multiple=True,
    metavar="VALUE",
    help="A published value that is not personal data (repeatable).",
)
@click.option("--description", default="", help="What the training set is for.")
@json_option
@pass_state
def build(
    state: CliState,
    *,
    name: str,
    datasets: tuple[str, ...],
    queues: tuple[str, ...],
    prompt: str | None,
    release: str | None,
    unknown_answer: str | None,
    validation_share: float,
    seed: int,
    redact_pii: bool,
    allowed_pii: tuple[str, ...],
    description: str,
    as_json: bool,
) -> None:
    """Build a new version of training set NAME: de-duplicated, scanned for personal data,
    split, with a data card."""
    workspace = state.workspace()
    options = BuildOptions(
        validation_share, seed, "redact" if redact_pii else "refuse", allowed_pii=allowed_pii
    )
    if unknown_answer:
        options = replace(options, unknown_answer=unknown_answer)
    result = workspace.build_training_set(
        name,
        datasets=datasets,
        queues=queues,
        prompt=prompt,
        release=release,
        options=options,
        description=description,
    )
    card = workspace.training_sets.get(result.ref).spec.card
    if as_json:
        emit_json({"result": result, "card": card.model_dump(mode="json")})
        return
    click.echo(f"{result.ref}  {result.status}  ({card.train} train, {card.validation} validation)")
    for note in card.filters:
        click.echo(f"  {note}")


@training_set.command()
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@click.option("--rows", "shown", default=3, show_default=True, type=click.IntRange(0))
@json_option
@pass_state
def show(state: CliState, ref: str, shown: int, as_json: bool) -> None:
    """One version: its data card and its first rows."""
    registry = state.workspace().training_sets
    found = registry.find(ref)
    if as_json:
        emit_json(registry.describe(ref))
        return
    card = found.spec.card
    click.echo(f"{found.ref}  hash {short_hash(found.hash)}  from {found.source}")
    click.echo(f"  rows: {card.train} train, {card.validation} validation (seed {card.seed})")
    click.echo(f"  read {card.rows_in} items; {card.duplicates_removed} duplicates removed")
    click.echo(f"  personal data: {card.pii_rows} rows ({card.pii_action}) {card.pii_types or ''}")
    if card.prompt:
        click.echo(f"  rendered with {card.prompt}")
    for row in found.spec.train[:shown]:
        click.echo(f"- {row.id} ({row.origin})")
        for message in row.messages:
            click.echo(f"    {message.role}: {' '.join(message.content.split())[:90]}")


@training_set.command(name="export")
@click.argument("ref", metavar="NAME[@VERSION|@LABEL]")
@click.option("--format", "form", type=click.Choice(EXPORT_FORMATS), default="openai")
@click.option("--out", required=True, type=click.Path(), help="File prefix or folder.")
@pass_state
def export_set(state: CliState, ref: str, form: str, out: str) -> None:
    """Write a version as OpenAI chat JSONL (OUT.train.jsonl, OUT.validation.jsonl) or as a
    Hugging Face datasets folder."""
    found = state.workspace().training_sets.find(ref)
    for path in export(found, form, Path(out)):
        click.echo(str(path))


@finetune.command()
@click.option("--base", default=DEFAULT_MODEL, show_default=True, metavar="MODEL")
@click.option("--dataset", required=True, metavar="TRAINING_SET[@V]")
@click.option("--name", help="Register the result as a version of this model (default: SET-ft).")
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1, 1000))
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many steps.")
@click.option("--lr", default=2e-4, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1, 1024))
@click.option("--lora-r", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--lora-alpha", default=16, show_default=True, type=click.IntRange(1, 1024))
@click.option("--max-length", default=512, show_default=True, type=click.IntRange(16, 8192))
@click.option(
    "--top-layers", type=click.IntRange(1), help="LoRA on the last N layers only (faster)."
)
@click.option(
    "--precision",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "float32", "bfloat16"]),
    help="bfloat16 autocast where the CPU has it (auto), or force one.",
)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--eval-every", type=click.IntRange(1), help="Validate every N steps (default: epoch)."
)
@click.option("--patience", type=click.IntRange(1), help="Early stop after N worse validations.")
@click.option("--checkpoint-every", default=50, show_default=True, type=click.IntRange(1))
@json_option
@pass_state
def run(
    state: CliState, /, base: str, dataset: str, name: str | None, as_json: bool, **settings: Any
) -> None:
    """Fine-tune BASE on a training set (LoRA, on this machine) and register the model."""
    settings["learning_rate"] = settings.pop("lr")
    config = TrainingConfig(**settings)
    workspace = state.workspace()
    model_name = name or f"{workspace.training_sets.parse(dataset).name}-ft"
    with _progress(as_json) as progress:
        job = workspace.finetune.run(
            JobRequest(base, dataset, model_name, config), progress=progress
        )
    _report(job, as_json)


@finetune.command()
@click.argument("job_id", metavar="JOB")
@click.option("--force", is_flag=True, help="Resume a job left `running` by a killed process.")
@json_option
@pass_state
def resume(state: CliState, job_id: str, force: bool, as_json: bool) -> None:
    """Carry on a failed or interrupted job from its last checkpoint."""
    with _progress(as_json) as progress:
        job = state.workspace().finetune.resume(job_id, progress=progress, force=force)
    _report(job, as_json)


@finetune.command(name="jobs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_state
def list_jobs(state: CliState, limit: int, as_json: bool) -> None:
    """Fine-tune jobs, newest first."""
    jobs = state.workspace().finetune.jobs(limit=limit)
    if as_json:
        emit_json([job.to_dict() for job in jobs])
        return
    emit_table(
        ["JOB", "CREATED", "STATUS", "STEP", "BASE", "DATASET", "MODEL"],
        [
            (
                job.id[:12],
                job.created_at[:19],
                job.status,
                f"{job.step}/{job.total_steps}",
                job.base,
                job.dataset,
                job.model or "-",
            )
            for job in jobs
        ],
    )


@finetune.command(name="show")
@click.argument("job_id", metavar="JOB")
@json_option
@pass_state
def show_job(state: CliState, job_id: str, as_json: bool) -> None:
    """One job: its settings, where it got to, its loss per step."""
    job = state.workspace().finetune.job(job_id)
    if as_json:
        emit_json(job.to_dict())
        return
    click.echo(f"job {job.id}  {job.status}  step {job.step}/{job.total_steps}")
    click.echo(f"  base {job.base}, dataset {job.dataset}, model {job.model or '-'}")
    if job.error:
        click.echo(f"  error: {job.error}")
    emit_table(
        ["STEP", "EPOCH", "LOSS", "VALIDATION", "TOKENS"],
        [(e.step, e.epoch, _loss(e.loss), _loss(e.validation_loss), e.tokens) for e in job.log],
    )


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _report(job: FinetuneJob, as_json: bool) -> None:
    if as_json:
        emit_json(job.to_dict())
        return
    last = [entry for entry in job.log if entry.validation_loss is not None]
    validation = f", validation loss {last[-1].validation_loss:.4f}" if last else ""
    click.echo(f"job {job.id[:12]} {job.status}: {job.step} steps{validation}")
    click.echo(f"registered {job.model}   (steerwise models show {job.model})")


@contextmanager
def _progress(quiet: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr with the latest loss; none with --json."""
    if quiet:
        yield None
        return
    bar: Any = None

    def update(entry: StepLog, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="finetune", file=sys.stderr, show_pos=True)
            bar.__enter__()
            bar.update(entry.step - 1)
        if entry.loss is not None:
            bar.label = f"finetune loss {entry.loss:.3f}"
            bar.update(1)
        else:
            click.echo(
                f"\n  step {entry.step}: validation loss {entry.validation_loss:.4f}", err=True
            )

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@finetune.command(name="export-gguf")
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--name", help="Register the GGUF under this model name (default: the same).")
@json_option
@pass_state
def export_gguf(state: CliState, ref: str, name: str | None, as_json: bool) -> None:
    """Merge a LoRA version into its base GGUF and register it for llama.cpp serving."""
    result = state.workspace().finetune.export_gguf(ref, name=name)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"{result.ref}  {result.status}  (served by the local provider: --model {result.ref})"
    )
