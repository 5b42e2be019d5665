"""`lifesci-tracker outbox` and `report`: the delivery outbox, and reports for any range."""

from __future__ import annotations

import json
from typing import Any

import click

from changes.changeset import json_time
from reports.formats import FORMATS
from reports.formats.wording import plural
from storage import outbox
from storage.db import write_transaction
from storage.statuses import DeliveryKind
from storage.tables import Delivery
from tracker.app import open_database
from tracker.cli import Context, cli, pass_context
from tracker.clock import utc_now
from tracker.commands.query_commands import table_text
from tracker.delivery import Deliveries, SendStats
from tracker.errors import UsageError
from tracker.states import diff_refs


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
@click.option("--all", "include_sent", is_flag=True, help="List sent and cancelled ones too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def outbox_group(ctx: click.Context, include_sent: bool, fmt: str) -> None:
    """List report deliveries that are pending, being sent or failed.

    `outbox retry` sends them now; `outbox cancel ID` drops one that should never be sent;
    `outbox purge` removes the failed and cancelled ones.

    \b
    Example:
        lifesci-tracker outbox
        lifesci-tracker outbox --all --format json
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(outbox_list, include_sent=include_sent, fmt=fmt)


@pass_context
def outbox_list(context: Context, include_sent: bool, fmt: str) -> None:
    """Print the outbox."""
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        deliveries = outbox.list_deliveries(session, include_sent=include_sent)
        rows = [delivery_to_dict(d) for d in deliveries]
        empty = not rows and outbox.count_deliveries(session) == 0
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if empty:
        click.echo("no deliveries yet")
        return
    if not rows:
        click.echo("no deliveries pending or failed (`outbox --all` lists every delivery)")
        return
    headers = ["id", "run", "channel", "format", "target", "status", "attempts", "last error"]
    keys = ["id", "run", "channel", "format", "target", "status", "attempts", "last_error"]
    click.echo(table_text(headers, [[row[k] for k in keys] for row in rows]))


def _echo_stats(stats: SendStats, *, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps({"sent": stats.sent, "failed": stats.failed}))
    else:
        click.echo(f"sent {stats.sent}, failed {stats.failed}")
    if stats.failed:
        raise SystemExit(1)


@outbox_group.command("retry")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help='How to print what was sent: a line, or JSON {"sent", "failed"}.',
)
@pass_context
def outbox_retry(context: Context, fmt: str) -> None:
    """Send every pending and failed delivery now (backoff or not).

    Exit status 1 when some still fail (they stay in the outbox). A delivery that another
    command is sending at the same moment is left to it.

    \b
    Example:
        lifesci-tracker outbox retry
        lifesci-tracker outbox retry --format json
    """
    deliveries = Deliveries(context.config)
    database = open_database(context.config, create=False)
    stats = deliveries.send_due(database.sessions, clock=utc_now, retry_now=True)
    _echo_stats(stats, as_json=fmt == "json")


@outbox_group.command("cancel")
@click.argument("ids", nargs=-1, required=True, type=int)
@pass_context
def outbox_cancel(context: Context, ids: tuple[int, ...]) -> None:
    """Cancel deliveries that should never be sent (pending or failed ones).

    Exit status 2 when an ID names no delivery, or one already sent or being sent.

    \b
    Example:
        lifesci-tracker outbox cancel 17
    """
    database = open_database(context.config, create=False)
    refused: list[str] = []
    for delivery_id in ids:
        with write_transaction(database.sessions) as session:
            result = outbox.cancel(session, delivery_id, now=utc_now())
        if result.done:
            click.echo(f"cancelled delivery {delivery_id} (it was {result.status})")
        elif result.status is None:
            refused.append(f"no delivery {delivery_id} (`lifesci-tracker outbox --all` lists them)")
        else:
            refused.append(f"delivery {delivery_id} is {result.status}: it cannot be cancelled")
    if refused:
        raise UsageError("; ".join(refused))


@outbox_group.command("purge")
@pass_context
def outbox_purge(context: Context) -> None:
    """Remove the failed and cancelled deliveries from the outbox (sent ones are kept).

    \b
    Example:
        lifesci-tracker outbox purge
    """
    database = open_database(context.config, create=False)
    with write_transaction(database.sessions) as session:
        removed = outbox.purge(session)
    click.echo(f"removed {plural(removed, 'delivery', 'deliveries')} (failed or cancelled)")


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
@click.option("--notify", "to_notify", is_flag=True, help="Also send it to the notify targets.")
@click.option("--no-files", is_flag=True, help="Do not write report files.")
@pass_context
def report_command(
    context: Context,
    from_ref: str,
    to_ref: str,
    formats: tuple[str, ...],
    to_email: bool,
    to_notify: bool,
    no_files: bool,
) -> None:
    """Render and deliver a report for any range again (files; email and notify when asked).

    Files are named for the range (`<from>-<to>-<time>.<ext>`): a run's own report files,
    latest.* and feed.atom are never replaced. Exit status 1 when a delivery failed (it stays
    in the outbox), 2 for --email or --notify when that channel is not enabled.

    \b
    Example:
        lifesci-tracker report latest~5 latest --format html
        lifesci-tracker report 2021-11-01 2021-12-02 --email --notify
    """
    config = context.config
    channels = [] if no_files else ["file"]
    for asked, name in ((to_email, "email"), (to_notify, "notify")):
        if asked and not getattr(config, name).enabled:
            raise UsageError(
                f"--{name}: [{name}] is not enabled: set `enabled = true` in [{name}] (see the"
                " README's Configuration) to deliver reports there"
            )
        if asked:
            channels.append(name)
    if not channels:
        raise UsageError("nothing to deliver: --no-files without --email or --notify")
    deliveries = Deliveries(config)
    database = open_database(config, create=False)
    with write_transaction(database.sessions) as session:
        changeset = diff_refs(session, from_ref, to_ref)
        to_run = changeset.to_ref.run
        if to_run is None:
            raise UsageError(f"{to_ref} names no run")
        planned = deliveries.plan_report(
            session,
            run_id=to_run,
            from_run_id=changeset.from_ref.run if changeset.from_ref else None,
            kind=DeliveryKind.RANGE,
            now=utc_now(),
            channels=channels,
            formats=formats or None,
        )
        ids = [d.id for d in planned]
    stats = deliveries.send_due(database.sessions, clock=utc_now, only=ids)
    click.echo(
        f"report {from_ref}..{to_ref}: {plural(len(ids), 'delivery', 'deliveries')}, ", nl=False
    )
    _echo_stats(stats)
