"""The `lifesci-tracker` command line (DESIGN §4): a lazy click group with one command per job.

Commands live in `tracker/commands/` and are listed in `tracker.commands.COMMANDS`; each is
imported only when it runs, so `--version` and `--help` load click and nothing else. Global
options work before and after the command (`tracker/cli_options.py`). Every error ends as one
line on stderr and an exit code (`tracker/cli_errors.py`); `--debug` adds the traceback.
"""

from __future__ import annotations

from typing import Any

import click

from tracker import __version__
from tracker.cli_errors import exit_for_error
from tracker.cli_options import Context, pass_context
from tracker.commands import COMMANDS
from tracker.lazy_group import LazyGroup

__all__ = ["Context", "cli", "main", "pass_context"]


class CommandLine(LazyGroup):
    """The root group: ends every failure of a command with one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            ctx.exit(exit_for_error(exc, debug=ctx.ensure_object(Context).debug))


@click.group(
    cls=CommandLine,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="lifesci-tracker", message="%(prog)s %(version)s")
def cli() -> None:
    """Track what changed in GOV.UK's "UK life sciences support" guidance.

    \b
    Example:
        lifesci-tracker run
        lifesci-tracker diff latest~1 latest
    """


def main() -> None:
    """Entry point of the `lifesci-tracker` console script."""
    cli(prog_name="lifesci-tracker")
