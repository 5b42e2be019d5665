"""The `lifesci-tracker` command line (DESIGN §4): a click group with one command per job.

Errors become one line on stderr (`error: ...`) and an exit code; `--debug` shows the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from storage.errors import StorageError
from storage.lock import RunLockHeld
from tracker import __version__
from tracker.config import Config, config_to_dict, load_config
from tracker.errors import TrackerError

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("tracker")


@dataclass
class Context:
    """Global options, shared by every command."""

    config_path: str | None
    debug: bool
    _config: Config | None = None

    @property
    def config(self) -> Config:
        """Load the configuration once, on first use."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


def configure_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    """Log to stderr: INFO on a terminal, WARNING otherwise (cron mails only what matters)."""
    if quiet:
        level = logging.ERROR
    elif verbose:
        level = logging.DEBUG if verbose > 1 else logging.INFO
    else:
        level = logging.INFO if sys.stderr.isatty() else logging.WARNING
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def fail(message: str, code: int) -> None:
    """Print one error line on stderr and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(function: F) -> F:
    """Turn expected errors into one line on stderr and the DESIGN §4 exit code."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context = click.get_current_context().find_object(Context)
        if context is not None and context.debug:
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        except TrackerError as exc:
            fail(str(exc), exc.exit_code)
        except StorageError as exc:
            fail(str(exc), 2)
        except RunLockHeld as exc:
            fail(str(exc), 3)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            fail(f"database error: {detail}", 2)
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
        return None

    return wrapper  # type: ignore[return-value]


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lifesci-tracker", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="LIFESCI_TRACKER_CONFIG",
    help="Read settings from this TOML file (default: ./config.toml, else built-in defaults).",
)
@click.option("-v", "--verbose", count=True, help="Log more: -v for progress, -vv for debugging.")
@click.option("-q", "--quiet", is_flag=True, help="Log only errors.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Also append logs to this file.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    verbose: int,
    quiet: bool,
    log_file: str | None,
    debug: bool,
) -> None:
    """Track what changed in GOV.UK's "UK life sciences support" guidance.

    \b
    Example:
        lifesci-tracker run
        lifesci-tracker diff latest~1 latest
    """
    configure_logging(verbose, quiet, log_file)
    ctx.obj = Context(config_path=config_path, debug=debug)


@cli.command("check-config")
@pass_context
@handle_errors
def check_config(context: Context) -> None:
    """Validate the configuration and print the effective settings (secrets masked).

    \b
    Example:
        lifesci-tracker --config config.toml check-config
    """
    config = context.config
    source = str(config.path) if config.path else "built-in defaults"
    click.echo(f"# configuration from {source}: OK")
    for section, table in config_to_dict(config).items():
        click.echo(f"\n[{section}]")
        for key, value in table.items():
            click.echo(f"{key} = {json.dumps(value, ensure_ascii=False)}")


def main() -> None:
    """Entry point of the `lifesci-tracker` console script."""
    cli(prog_name="lifesci-tracker")


# The commands live in their own modules and register themselves on `cli` when imported.
from tracker.commands import (  # noqa: E402, F401
    db_commands,
    outbox_commands,
    query_commands,
    reparse_command,
    run_command,
    schedule_command,
)
