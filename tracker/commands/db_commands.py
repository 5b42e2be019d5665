"""`lifesci-tracker db ...`: schema upgrades and maintenance."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from storage.backup import backup_database
from storage.db import create_db_engine, upgrade
from storage.maintenance import prune_raw_bodies
from tracker.app import open_database
from tracker.cli_options import Context, pass_context, tracker_group


@tracker_group("db")
def db_group() -> None:
    """Manage the snapshot database."""


@db_group.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Upgrade the database schema to the newest revision (creates it when empty).

    \b
    Example:
        lifesci-tracker db upgrade
    """
    engine = create_db_engine(context.config.database.url)
    upgrade(engine)
    engine.dispose()
    click.echo("database schema is up to date")


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def db_backup(context: Context, path: Path) -> None:
    """Write a consistent copy of the database to PATH (safe while a run is going).

    \b
    Example:
        lifesci-tracker db backup backups/lifesci-tracker-$(date +%F).db
    """
    written = backup_database(context.config.database.url, path)
    click.echo(f"backed up to {written}")


@db_group.command("prune")
@click.option(
    "--raw-older-than",
    "days",
    type=click.IntRange(min=0),
    required=True,
    help="Drop raw bodies of versions older than this many days (parsed versions are kept).",
)
@pass_context
def db_prune(context: Context, days: int) -> None:
    """Drop old raw bodies to save space; every parsed version and each page's newest body stay.

    \b
    Example:
        lifesci-tracker db prune --raw-older-than 365
    """
    database = open_database(context.config, create=False)
    with database.sessions.begin() as session:
        removed = prune_raw_bodies(session, older_than=datetime.now(UTC) - timedelta(days=days))
    click.echo(f"removed {removed} raw bodies")


@db_group.command("reparse")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Wait up to this many seconds for a run in progress to finish.")  # fmt: skip
@pass_context
def db_reparse(context: Context, wait_s: float) -> None:
    """Re-parse stored raw bodies with this version's parser and rewrite what they hold.

    Stored versions keep the output of the parser that wrote them; after an upgrade that
    changes the parser, this brings them up to date (a run also does it by itself, first), so
    that `diff` compares GOV.UK's pages, not two parsers. Safe to stop: run it again to finish.

    \b
    Example:
        lifesci-tracker db reparse
    """
    from storage.db import needs_upgrade
    from storage.lock import run_lock
    from tracker.reparse import reparse_store

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\rre-parsing: {done} of {total} pages", err=True, nl=done == total)

    with run_lock(context.config.database.url, wait_s=wait_s):
        database = open_database(context.config, create=False)
        try:
            if needs_upgrade(database.engine):
                upgrade(database.engine)
            summary = reparse_store(database.sessions, progress=progress)
        finally:
            database.engine.dispose()
    click.echo(summary.describe())
