"""`lifesci-tracker outbox` and `report`: the delivery outbox, and reports for any range."""

from __future__ import annotations

import json
from typing import Any

import click

from changes.changeset import json_time
from reports.formats import FORMATS
from reports.model import Report
from storage import outbox
from storage.tables import Delivery
from tracker.app import open_database
from tracker.cli import Context, cli, handle_errors, pass_context
from tracker.commands.query_commands import table_text
from tracker.delivery import plan_deliveries, problems_of_run, send_due
from tracker.states import count_stored, diff_refs, load_state


def delivery_to_dict(delivery: Delivery) -> dict[str, Any]:
    """Return one outbox row as in DESIGN §4 (`outbox --format json`)."""
    return {
        "id": delivery.id,
        "run": delivery.run_id,
        "channel": delivery.channel,
        "format": delivery.format,
        "target": delivery.target,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "created_at": json_time(delivery.created_at),
        "sent_at": json_time(delivery.sent_at),
    }


@cli.group("outbox", invoke_without_command=True)
@click.option("--all", "include_sent", is_flag=True, help="List sent deliveries too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def outbox_group(ctx: click.Context, include_sent: bool, fmt: str) -> None:
    """List report deliveries that are pending or failed (`outbox retry` sends them now).

    \b
    Example:
        lifesci-tracker outbox
        lifesci-tracker outbox --all --format json
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(outbox_list, include_sent=include_sent, fmt=fmt)


@pass_context
@handle_errors
def outbox_list(context: Context, include_sent: bool, fmt: str) -> None:
    """Print the outbox."""
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        rows = [
            delivery_to_dict(d) for d in outbox.list_deliveries(session, include_sent=include_sent)
        ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("outbox is empty: every report was delivered")
        return
    headers = ["id", "run", "channel", "format", "status", "attempts", "last error"]
    keys = ["id", "run", "channel", "format", "status", "attempts", "last_error"]
    click.echo(table_text(headers, [[row[k] for k in keys] for row in rows]))


@outbox_group.command("retry")
@pass_context
@handle_errors
def outbox_retry(context: Context) -> None:
    """Send every pending and failed delivery now.

    Exit status 1 when some still fail (they stay in the outbox).

    \b
    Example:
        lifesci-tracker outbox retry
    """
    from tracker.pipeline import utc_now  # not for listing: it loads the HTTP stack

    database = open_database(context.config, create=False)
    stats = send_due(database.sessions, context.config, clock=utc_now, include_failed=True)
    click.echo(f"sent {stats.sent}, failed {stats.failed}")
    if stats.failed:
        raise SystemExit(1)


@cli.command("report")
@click.argument("from_ref", default="latest~1", required=False)
@click.argument("to_ref", default="latest", required=False)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(sorted(FORMATS)),
    help="Write these formats (repeatable; default: [reports] formats).",
)
@click.option("--email", "to_email", is_flag=True, help="Also send the report by email.")
@click.option("--no-files", is_flag=True, help="Do not write report files.")
@pass_context
@handle_errors
def report_command(
    context: Context,
    from_ref: str,
    to_ref: str,
    formats: tuple[str, ...],
    to_email: bool,
    no_files: bool,
) -> None:
    """Render and deliver a report for any range again (files, and email with --email).

    \b
    Example:
        lifesci-tracker report latest~5 latest --format html
        lifesci-tracker report 2021-11-01 2021-12-02 --email
    """
    from tracker.pipeline import DEFAULT_TITLE, utc_now  # not for listing: it loads the HTTP stack

    config = context.config
    database = open_database(config, create=False)
    now = utc_now()
    with database.sessions.begin() as session:
        changeset = diff_refs(session, from_ref, to_ref)
        target = load_state(session, to_ref)
        report = Report(
            changeset=changeset,
            title=DEFAULT_TITLE,
            problems=problems_of_run(session, target.run.id),
            generated_at=now,
            organisation_count=count_stored(target.state.pages)[0],
            page_count=len(target.state.pages),
        )
        planned = plan_deliveries(
            session,
            config,
            report,
            run_id=target.run.id,
            now=now,
            formats=formats or None,
            to_files=not no_files,
            to_email=to_email,
        )
        ids = [d.id for d in planned]
    stats = send_due(database.sessions, config, clock=utc_now, only=ids)
    click.echo(
        f"report {from_ref}..{to_ref}: {len(ids)} deliveries, "
        f"sent {stats.sent}, failed {stats.failed}"
    )
    if stats.failed:
        raise SystemExit(1)
