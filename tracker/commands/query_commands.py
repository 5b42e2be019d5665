"""The read-only commands: diff, history, orgs, updates and show."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from changes.changeset import ChangeSet, json_time
from reports.formats import get_format
from reports.formats.text import render_text
from reports.model import Report
from scraper.page import HtmlDocument, Page, Publication, page_to_dict
from storage import queries
from storage.snapshots import load_blob
from tracker.app import open_database
from tracker.cli_options import Context, pass_context, tracker_command
from tracker.errors import UsageError
from tracker.states import diff_refs, load_state


def _write_output(text: str, output: str | None, *, bom: bool = False) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    path = Path(output)
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    click.echo(f"wrote {path}", err=True)


def render_changeset(changeset: ChangeSet, fmt: str, *, color: bool) -> str:
    """Render a ChangeSet in one of the diff formats, titled by its publications' stored titles."""
    report = Report(changeset=changeset)
    if fmt == "text":
        return render_text(report, color=color)
    return get_format(fmt).render(report).body


@tracker_command("diff")
@click.argument("from_ref", default="latest~1", required=False)
@click.argument("to_ref", default="latest", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
    help="How to write the changes.",
)
@click.option("--document", help="Only documents whose title or URL contains this text.")
@click.option("--text", "with_text", is_flag=True, help="Add a line diff of each document's text.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes, 0 when none.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@pass_context
def diff_command(
    context: Context,
    from_ref: str,
    to_ref: str,
    fmt: str,
    document: str | None,
    with_text: bool,
    exit_code: bool,
    output: str | None,
) -> None:
    """Show what changed between two states (default: latest~1 latest).

    A ref is a run id, `latest`, `latest~N` or an ISO date/time (the state as of then).

    \b
    Example:
        lifesci-tracker diff
        lifesci-tracker diff 2021-11-20 2021-12-02 --format markdown
        lifesci-tracker diff latest~3 latest --document "trade organisations" --text
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        changeset = diff_refs(
            session, from_ref, to_ref, document=document, with_text_diff=with_text
        )
    color = output is None and sys.stdout.isatty()
    _write_output(render_changeset(changeset, fmt, color=color), output)
    if exit_code and changeset.has_changes:
        sys.exit(1)


def history_rows(session: Any, limit: int) -> list[dict[str, Any]]:
    """Return the `history --format json` items, newest first."""
    rows = []
    for run in queries.all_runs(session, limit=limit):
        pages = {
            key: getattr(run, f"pages_{key}")
            for key in (
                "fetched",
                "new",
                "changed",
                "unchanged",
                "not_modified",
                "gone",
                "errors",
                "anomalies",
            )
        }
        rows.append(
            {
                "run": run.id,
                "started_at": json_time(run.started_at),
                "finished_at": json_time(run.finished_at),
                "status": run.status,
                "trigger": run.trigger,
                "pages": pages,
                "summary": json.loads(run.summary_json) if run.summary_json else None,
                "error": run.error,
            }
        )
    return rows


def table_text(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@tracker_command("history")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_context
def history_command(context: Context, limit: int, fmt: str) -> None:
    """List runs, newest first, with what each found.

    Runs are in time order: an archive run (`backfill`) stands at the time of the archived
    copies it replays, before the live runs. Its trigger is "archive".

    \b
    Example:
        lifesci-tracker history --limit 5
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        rows = history_rows(session, limit)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = []
    for row in rows:
        summary = row["summary"] or {}
        table.append(
            [
                row["run"],
                row["started_at"],
                row["trigger"],
                row["status"],
                row["pages"]["fetched"],
                row["pages"]["new"] + row["pages"]["changed"],
                f"+{summary.get('organisations_added', 0)} "
                f"-{summary.get('organisations_removed', 0)} "
                f"~{summary.get('organisations_changed', 0)}",
                summary.get("updates_added", 0),
            ]
        )
    headers = ["run", "started (UTC)", "trigger", "status", "fetched", "changed", "orgs", "notes"]
    click.echo(table_text(headers, table) if table else "no runs stored yet")


def documents_in_listed_order(pages: Mapping[str, Page]) -> list[HtmlDocument]:
    """Return the HTML documents of a state in their publications' Documents-list order."""
    listed = [
        link.url
        for page in pages.values()
        if isinstance(page, Publication)
        for link in page.documents
    ]
    position = {url: index for index, url in reversed(list(enumerate(listed)))}
    documents = [page for page in pages.values() if isinstance(page, HtmlDocument)]
    return sorted(documents, key=lambda d: (position.get(d.url, len(listed)), d.url))


def organisation_rows(
    pages: Mapping[str, Page], *, document: str | None, stage: str | None
) -> list[dict[str, Any]]:
    """Return the `orgs --format json` items for a state, filtered."""
    rows = []
    for page in documents_in_listed_order(pages):
        url = page.url
        if document and document.casefold() not in (page.title + " " + url).casefold():
            continue
        for organisation in page.organisations:
            label = organisation.stage + " " + organisation.stage_heading
            if stage and stage.casefold() not in label.casefold():
                continue
            rows.append(
                {
                    "document": page.title,
                    "document_url": url,
                    "stage": organisation.stage,
                    "stage_heading": organisation.stage_heading,
                    "name": organisation.name,
                    "url": organisation.url,
                    "description": organisation.description,
                    "links": list(organisation.links),
                    "position": organisation.position,
                }
            )
    return rows


@tracker_command("orgs")
@click.argument("ref", default="latest", required=False)
@click.option("--document", help="Only documents whose title or URL contains this text.")
@click.option("--stage", help="Only organisations whose stage or section contains this text.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@pass_context
def orgs_command(
    context: Context,
    ref: str,
    document: str | None,
    stage: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """List the organisations at a state (default: latest).

    \b
    Example:
        lifesci-tracker orgs --stage "Discovery" --format csv -o orgs.csv
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        resolved = load_state(session, ref)
    rows = organisation_rows(dict(resolved.state.pages), document=document, stage=stage)
    if fmt == "json":
        _write_output(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "csv":
        buffer = io.StringIO()
        columns = ["document", "stage", "name", "url", "description", "links", "document_url"]
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "links": " ".join(row["links"])})
        _write_output(buffer.getvalue(), output, bom=output is not None)
    else:
        table = [[r["document"][:40], r["stage"][:40], r["name"], r["url"]] for r in rows]
        _write_output(table_text(["document", "stage", "name", "url"], table) + "\n", output)


@tracker_command("updates")
@click.argument("ref", default="latest", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_context
def updates_command(context: Context, ref: str, fmt: str) -> None:
    """List the publication's change notes and each document's "Updated" date.

    \b
    Example:
        lifesci-tracker updates
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        state = load_state(session, ref).state
    publications = [p for p in state.pages.values() if isinstance(p, Publication)]
    documents = documents_in_listed_order(state.pages)
    data: dict[str, list[dict[str, str | None]]] = {
        "updates": [
            {"publication": p.title, "date": u.date, "note": u.note}
            for p in publications
            for u in sorted(p.updates, key=lambda u: u.date, reverse=True)
        ],
        "documents": [{"url": d.url, "title": d.title, "updated": d.updated} for d in documents],
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(table_text(["date", "note"], [[u["date"], u["note"]] for u in data["updates"]]))
    click.echo()
    rows = [[d["updated"], d["title"]] for d in data["documents"]]
    click.echo(table_text(["updated", "document"], rows))


@tracker_command("show")
@click.argument("url")
@click.argument("ref", default="latest", required=False)
@click.option("--raw", is_flag=True, help="Print the stored raw body instead of parsed content.")
@pass_context
def show_command(context: Context, url: str, ref: str, raw: bool) -> None:
    """Print one stored page at a state: its parsed content as JSON, or --raw its body.

    \b
    Example:
        lifesci-tracker show https://www.gov.uk/government/publications/uk-life-sciences-support
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        run = queries.resolve_ref(session, ref)
        found = queries.version_raw_body(session, url, run)
        if found is None:
            raise UsageError(f"no stored version of {url} at run {run.id}")
        page, blob_key = found
        body = load_blob(session, blob_key) if raw and blob_key else None
    if not raw:
        click.echo(json.dumps(page_to_dict(page), indent=2, ensure_ascii=False))
    elif body is None:
        raise UsageError(f"the raw body of {url} at run {run.id} is not stored (pruned?)")
    else:
        sys.stdout.buffer.write(body)
