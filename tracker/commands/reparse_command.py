"""`lifesci-tracker db reparse`: re-parse stored raw bodies with the current parser."""

from __future__ import annotations

import sys

import click

from storage.db import needs_upgrade, upgrade
from storage.lock import run_lock
from tracker.app import open_database
from tracker.cli import Context, handle_errors, pass_context
from tracker.commands.db_commands import db_group


@db_group.command("reparse")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Wait up to this many seconds for a run in progress to finish.")  # fmt: skip
@pass_context
@handle_errors
def db_reparse(context: Context, wait_s: float) -> None:
    """Re-parse stored raw bodies with this version's parser and rewrite what they hold.

    Stored versions keep the output of the parser that wrote them; after an upgrade that
    changes the parser, this brings them up to date (a run also does it by itself, first), so
    that `diff` compares GOV.UK's pages, not two parsers. Safe to stop: run it again to finish.

    \b
    Example:
        lifesci-tracker db reparse
    """
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
