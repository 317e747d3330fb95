"""`steerwise graph ...`: the knowledge graph."""

from __future__ import annotations

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.errors import CheckFailedError
from steerwise.core.graph import Fact, GraphInfo
from steerwise.graph import llm_extractor


@click.group()
def graph() -> None:
    """Facts that must never be wrong: import, extract, show, query, check answers."""


def _print_info(info: GraphInfo) -> None:
    click.echo(f"{info.id}  ({info.fact_count} facts, {info.entity_count} entities)")


def _print_facts(facts: list[Fact]) -> None:
    emit_table(
        ["SUBJECT", "PREDICATE", "OBJECT", "CONFIDENCE", "FROM"],
        [
            (
                f.subject,
                f.predicate,
                f.object,
                f"{f.confidence:.2f}",
                f"{f.provenance.origin}:{f.provenance.doc_id or f.provenance.source}",
            )
            for f in facts
        ],
    )


@graph.command(name="import")
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@json_option
@pass_state
def import_facts(state: CliState, paths: tuple[str, ...], as_json: bool) -> None:
    """Import facts from CSV (subject,predicate,object[,confidence]) or JSONL files."""
    info = state.workspace().graph.import_facts(paths)
    emit_json(info) if as_json else _print_info(info)


@graph.command()
@click.option("--snapshot", metavar="ID", help="Snapshot to extract from (default: newest).")
@click.option("--llm", "model", metavar="MODEL", help="Also extract with this model.")
@json_option
@pass_state
def build(state: CliState, snapshot: str | None, model: str | None, as_json: bool) -> None:
    """Extract facts from a snapshot's chunks into a new graph version."""
    workspace = state.workspace()
    extractor = llm_extractor(workspace.models, model) if model else None
    info = workspace.graph.build(snapshot=snapshot, llm=extractor)
    emit_json(info) if as_json else _print_info(info)


@graph.command(name="list")
@json_option
@pass_state
def list_versions(state: CliState, as_json: bool) -> None:
    """Every graph version, oldest first."""
    found = state.workspace().graph.versions()
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["GRAPH", "CREATED", "BY", "FACTS", "ENTITIES", "SNAPSHOT"],
        [
            (
                g.id,
                g.created_at[:19],
                g.created_by,
                g.fact_count,
                g.entity_count,
                (g.snapshot_id or "-")[:12],
            )
            for g in found
        ],
    )


@graph.command()
@click.argument("entity")
@click.option("--graph", "ref", metavar="ID", help="Graph version (default: current).")
@json_option
@pass_state
def show(state: CliState, entity: str, ref: str | None, as_json: bool) -> None:
    """Facts about one entity, with where each came from."""
    facts = state.workspace().graph.about(entity, ref=ref)
    emit_json(facts) if as_json else _print_facts(facts)


@graph.command()
@click.argument("question")
@click.option("--graph", "ref", metavar="ID", help="Graph version (default: current).")
@json_option
@pass_state
def query(state: CliState, question: str, ref: str | None, as_json: bool) -> None:
    """Facts about the entities a question mentions (what a prompt's `facts` receives)."""
    facts = state.workspace().graph.query(question, ref=ref)
    emit_json(facts) if as_json else _print_facts(facts)


@graph.command()
@click.argument("text")
@click.option("--graph", "ref", metavar="ID", help="Graph version (default: current).")
@json_option
@pass_state
def check(state: CliState, text: str, ref: str | None, as_json: bool) -> None:
    """Label each claim of TEXT supported, contradicted or unknown; exit 1 on a contradiction."""
    verdicts = state.workspace().graph.check(text, ref=ref)
    if as_json:
        emit_json(verdicts)
    else:
        for verdict in verdicts:
            click.echo(f"{verdict.label:<12} {verdict.claim}")
            if verdict.reason:
                click.echo(f"{'':<12} {verdict.reason}")
    contradicted = sum(v.label == "contradicted" for v in verdicts)
    if contradicted:
        raise CheckFailedError(f"{contradicted} claim(s) contradict the knowledge graph")
