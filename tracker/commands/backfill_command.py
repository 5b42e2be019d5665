"""`lifesci-tracker backfill`: import the publication's history from a web archive (DESIGN §12).

The backfill itself is `tracker.backfill`, imported when the command runs (`--help` stays
instant); here are the lock, the options and what is printed.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

import click

from tracker.cli_options import Context, pass_context, tracker_command
from tracker.config import Config
from tracker.errors import UsageError
from tracker.terminal import capture_progress

if TYPE_CHECKING:
    from tracker.backfill import Progress
    from tracker.backfill_summary import BackfillResult


def parse_moment(text: str, *, option: str, end_of_day: bool) -> datetime:
    """Return an option's date or ISO time as an aware UTC time; a bare date is the start of
    that day (`--since`) or its end (`--until`), UTC."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(
                date.fromisoformat(value), time.max if end_of_day else time.min, tzinfo=UTC
            )
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD or an ISO time such as "
            "2019-03-01T10:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def locked_backfill(
    config: Config,
    *,
    since: datetime | None,
    until: datetime | None,
    dry_run: bool,
    report: bool,
    accept_anomalies: bool,
    progress: Progress | None,
) -> BackfillResult:
    """Run a backfill under the database's run lock (exit 3 when another run holds it)."""
    from tracker.backfill import backfill
    from tracker.runner import locked_store

    with locked_store(config) as (database, http):
        return backfill(
            config,
            sessions=database.sessions,
            http=http,
            since=since,
            until=until,
            dry_run=dry_run,
            report=report,
            accept_anomalies=accept_anomalies,
            progress=progress,
        )


@tracker_command("backfill")
@click.option("--since", help="Only archived copies from this date on (YYYY-MM-DD, UTC).")
@click.option("--until", help="Only archived copies up to this date (YYYY-MM-DD, UTC).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the archive runs and captures a backfill would fetch and store; store nothing. "
    "The publication's copies are still fetched, to read their Documents lists.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts and time span as JSON.")
@click.option("--no-report", is_flag=True, help="Do not write or send the summary report.")
@click.option(
    "--accept-anomalies",
    is_flag=True,
    help="Store archived documents held back as anomalies (when a large removal is real).",
)
@pass_context
def backfill_command(
    context: Context,
    since: str | None,
    until: str | None,
    dry_run: bool,
    as_json: bool,
    no_report: bool,
    accept_anomalies: bool,
) -> None:
    """Import the publication's history from a web archive, as archive runs before the first run.

    Lists the archive's copies of the publication and of the documents its Documents lists
    named, and replays them in time order: `history`, `diff`, `orgs DATE` and the site then
    cover the years before tracking began. Only history older than the first live run is
    imported; running it again (or after an interruption) fetches and stores only what is
    missing. One summary report is delivered for the whole import.

    Exit status: 0 done; 1 the archive could not be reached, or some copies could not be
    fetched (run it again later); 2 configuration or usage error; 3 another run holds the lock.

    \b
    Example:
        lifesci-tracker backfill --dry-run
        lifesci-tracker backfill --since 2019-01-01
    """
    start = parse_moment(since, option="--since", end_of_day=False) if since else None
    end = parse_moment(until, option="--until", end_of_day=True) if until else None
    if start is not None and end is not None and start > end:
        raise UsageError(f"--since {since} is after --until {until}")
    on_terminal = sys.stderr.isatty() and not as_json
    with capture_progress(enabled=on_terminal, verbosity=context.verbosity) as progress:
        result = locked_backfill(
            context.config,
            since=start,
            until=end,
            dry_run=dry_run,
            report=not no_report,
            accept_anomalies=accept_anomalies,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from tracker.backfill_summary import describe_backfill

        click.echo(describe_backfill(result))
    sys.exit(result.exit_code)
