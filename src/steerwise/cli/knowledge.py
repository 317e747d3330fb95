"""`steerwise sources ...`, `steerwise index ...` and `steerwise search`."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from steerwise.cli.context import CliState, json_option, pass_state
from steerwise.cli.output import emit_json, emit_table
from steerwise.core.errors import CheckFailedError
from steerwise.core.knowledge import IngestReport, parse_ttl_days


def _progress(label: str) -> Callable[..., None]:
    """A progress line on stderr, for long work (quiet when stderr is not a terminal)."""

    def report(*args: object) -> None:
        *stage, done, total = args
        if sys.stderr.isatty():
            name = stage[0] if stage else label
            click.echo(f"\r{name}: {done}/{total}", nl=bool(done == total), err=True)

    return report


@click.group()
def sources() -> None:
    """Ingest documents with provenance; list them; find stale ones."""


@sources.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--owner", metavar="TEAM", help="Who owns these documents.")
@click.option("--ttl", metavar="DURATION", help="How long they stay fresh: 12h, 90d, 2w, 1y.")
@click.option("--tag", "tags", multiple=True, metavar="T", help="A tag (repeat).")
@json_option
@pass_state
def add(
    state: CliState,
    paths: tuple[str, ...],
    *,
    owner: str | None,
    ttl: str | None,
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """Ingest files and folders (Markdown, text, HTML, PDF, DOCX); exit 1 if any were skipped."""
    ttl_days = parse_ttl_days(ttl) if ttl else None
    reports = state.workspace().sources.add(
        paths, owner=owner, ttl_days=ttl_days, tags=tags, progress=_progress("reading")
    )
    if as_json:
        emit_json(reports)
    else:
        for report in reports:
            _print_report(report)
    skipped = sum(len(report.skipped) for report in reports)
    if skipped:
        raise CheckFailedError(f"{skipped} file(s) skipped; everything else was ingested")


def _print_report(report: IngestReport) -> None:
    counts = ", ".join(
        f"{len(items)} {name}"
        for name, items in (
            ("new", report.new),
            ("changed", report.changed),
            ("unchanged", report.unchanged),
            ("removed", report.removed),
            ("skipped", report.skipped),
        )
    )
    click.echo(f"{report.source}: {counts}")
    for name in ("new", "changed", "removed"):
        for doc_id in getattr(report, name):
            click.echo(f"  {name:<8} {doc_id}")
    for path, reason in report.skipped:
        click.echo(f"  skipped  {path}: {reason}")


@sources.command(name="list")
@json_option
@pass_state
def list_sources(state: CliState, as_json: bool) -> None:
    """Sources with owner, TTL, tags and document count."""
    found = state.workspace().sources.sources()
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["SOURCE", "OWNER", "TTL (DAYS)", "TAGS", "DOCUMENTS", "UPDATED"],
        [
            (
                s.name,
                s.owner or "-",
                f"{s.ttl_days:g}" if s.ttl_days else "-",
                ",".join(s.tags) or "-",
                s.documents,
                s.updated_at[:19],
            )
            for s in found
        ],
    )


@sources.command()
@click.argument("doc_id", metavar="DOCUMENT[@VERSION]")
@json_option
@pass_state
def show(state: CliState, doc_id: str, as_json: bool) -> None:
    """One document version: provenance, metadata and text."""
    name, _, version = doc_id.partition("@")
    document = state.workspace().sources.document(name, int(version) if version.isdigit() else None)
    if as_json:
        emit_json(document)
        return
    click.echo(f"{document.ref}  {document.title}")
    click.echo(f"source {document.source}  file {document.uri}  {document.checksum}")
    click.echo(f"fetched {document.fetched_at[:19]} by {document.fetched_by}")
    for key, value in sorted(document.metadata.items()):
        click.echo(f"{key}: {value}")
    click.echo("")
    click.echo(document.text.strip())


@sources.command()
@json_option
@pass_state
def stale(state: CliState, as_json: bool) -> None:
    """Documents past valid_until, older than their TTL, or changed on disk."""
    found = state.workspace().sources.stale()
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["DOCUMENT", "OWNER", "WHY"],
        [
            (s.document.ref, s.document.metadata.get("owner", "-"), "; ".join(s.freshness.reasons))
            for s in found
        ],
    )


@click.group()
def index() -> None:
    """Build, list, show and diff index snapshots."""


@index.command()
@click.option("--embedder", metavar="REF", help="Embedder (default: [retrieval] embedder).")
@json_option
@pass_state
def build(state: CliState, embedder: str | None, as_json: bool) -> None:
    """Build a snapshot over the current document versions; print its id."""
    result = state.workspace().index.build(embedder=embedder, progress=_progress("embedding"))
    if as_json:
        emit_json(result)
        return
    info = result.snapshot
    verb = "built" if result.created else "unchanged, reused"
    click.echo(
        f"{info.id}  ({verb}: {len(info.documents)} documents, {info.chunk_count} chunks,"
        f" {info.embedder}, {info.chunker})"
    )


@index.command(name="list")
@json_option
@pass_state
def list_snapshots(state: CliState, as_json: bool) -> None:
    """Every snapshot, oldest first."""
    found = state.workspace().index.snapshots()
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["SNAPSHOT", "CREATED", "BY", "DOCUMENTS", "CHUNKS", "EMBEDDER"],
        [
            (s.id, s.created_at[:19], s.created_by, len(s.documents), s.chunk_count, s.embedder)
            for s in found
        ],
    )


@index.command(name="show")
@click.argument("snapshot", default="latest")
@json_option
@pass_state
def show_snapshot(state: CliState, snapshot: str, as_json: bool) -> None:
    """One snapshot: its inputs (document versions, chunker, embedder)."""
    info = state.workspace().index.get(snapshot)
    if as_json:
        emit_json(info)
        return
    click.echo(f"{info.id}  created {info.created_at[:19]} by {info.created_by}")
    click.echo(f"embedder {info.embedder}  chunker {info.chunker}  chunks {info.chunk_count}")
    for doc_id, version in sorted(info.documents.items()):
        click.echo(f"  {doc_id}@{version}")


@index.command()
@click.argument("old")
@click.argument("new")
@json_option
@pass_state
def diff(state: CliState, old: str, new: str, as_json: bool) -> None:
    """Documents added, removed and changed between two snapshots."""
    found = state.workspace().index.diff(old, new)
    if as_json:
        emit_json(found)
        return
    for name in ("added", "removed", "changed"):
        for doc_id in getattr(found, name):
            click.echo(f"{name:<8} {doc_id}")
    if not (found.added or found.removed or found.changed):
        click.echo("the snapshots hold the same document versions")


@click.command(name="search")
@click.argument("query")
@click.option("--snapshot", metavar="ID", help="Snapshot id or prefix (default: the newest).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "dense"]), default="hybrid")
@click.option("--tag", "tags", multiple=True, metavar="T", help="Only chunks with this tag.")
@click.option("--owner", metavar="TEAM", help="Only chunks of this owner.")
@click.option("--stale", type=click.Choice(["mark", "downweight", "exclude"]), help="Stale chunks.")
@json_option
@pass_state
def search_command(
    state: CliState,
    query: str,
    *,
    snapshot: str | None,
    k: int,
    mode: str,
    tags: tuple[str, ...],
    owner: str | None,
    stale: str | None,
    as_json: bool,
) -> None:
    """Search a snapshot; each hit shows its document version, scores and freshness."""
    workspace = state.workspace()
    overrides = {"k": k, "mode": mode, "tags": tags, "owner": owner}
    if stale:
        overrides["stale"] = stale
    hits = workspace.search(
        query, snapshot=snapshot, options=workspace.default_search_options(**overrides)
    )
    if as_json:
        emit_json(hits)
        return
    for hit in hits:
        scores = " ".join(f"{name}={value:.3f}" for name, value in hit.scores.items())
        flag = "  STALE: " + "; ".join(hit.freshness.reasons) if hit.freshness.stale else ""
        where = " > ".join(hit.heading_path) or hit.title
        fused = f"fused={hit.fused_score:.4f}"
        click.echo(f"{hit.rank:>2}. {hit.document_ref}  {where}  [{scores} {fused}]{flag}")
        click.echo(f"    {' '.join(hit.text.split())[:160]}")
