"""How the command line ends on an error: one line on stderr and the DESIGN §4 exit code.

2  a usage, configuration or database error the user can fix (`error: ...`)
3  another run holds the run lock
4  anything else: a bug. `error: internal error: <type>: <message>; run with --debug for details`
141 the reader of our output went away (`| head -1`): quiet, as Unix tools die of SIGPIPE

With `--debug` the traceback is printed first; the exit code stays the same, so cron and scripts
can tell a crash (4) from a partial run (1) either way.
"""

from __future__ import annotations

import os
import signal
import sys

import click

EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_INTERNAL = 4
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def describe_error(exc: BaseException) -> tuple[str, int]:
    """Return the one line to print for `exc` and the exit code."""
    from storage.errors import StorageError
    from tracker.errors import TrackerError

    if isinstance(exc, TrackerError):
        return str(exc), exc.exit_code
    if isinstance(exc, StorageError):
        return str(exc), EXIT_USAGE
    # An exception of a module that was never imported cannot have been raised: look them up only
    # when loaded, so that an error message never costs an import of SQLAlchemy (~0.2 s).
    if "storage.lock" in sys.modules:
        from storage.lock import RunLockHeld

        if isinstance(exc, RunLockHeld):
            return str(exc), EXIT_LOCKED
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            detail = _first_line(str(getattr(exc, "orig", None) or exc)) or type(exc).__name__
            return f"database error: {detail}", EXIT_USAGE
    if "alembic" in sys.modules:
        from alembic.util import CommandError

        if isinstance(exc, CommandError):  # e.g. a database migrated by a newer version
            return f"database schema: {_first_line(str(exc))}", EXIT_USAGE
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        if exc.filename:
            return f"{exc.strerror or exc}: {exc.filename}", EXIT_USAGE
        return str(exc), EXIT_USAGE
    detail = _first_line(str(exc))
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"internal error: {what}; run with --debug for details", EXIT_INTERNAL


def exit_for_error(exc: BaseException, *, debug: bool) -> int:
    """Print `exc` as one line (after its traceback with `debug`); return the exit code."""
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    message, code = describe_error(exc)
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"error: {message}", err=True)
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail a second time."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (tests capture output)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)
