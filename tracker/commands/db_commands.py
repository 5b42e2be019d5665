"""`lifesci-tracker db ...`: schema upgrades and maintenance."""

from __future__ import annotations

import click

from storage.db import create_db_engine, upgrade
from tracker.cli import Context, cli, handle_errors, pass_context


@cli.group("db")
def db_group() -> None:
    """Manage the snapshot database."""


@db_group.command("upgrade")
@pass_context
@handle_errors
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
