"""Global options, accepted before the command and after it (DESIGN §4).

`lifesci-tracker --config my.toml run` and `lifesci-tracker run --config my.toml` mean the same:
every command and group made with `TrackerCommand` / `TrackerGroup` (the root group's
`@cli.command` and `@cli.group` make them, and so do `tracker_command` / `tracker_group`) carries
its own copy of `--config`, `-v/--verbose`, `-q/--quiet`, `--log-file` and `--debug`. When a
command runs, the values typed at its level are merged over those typed before it into the one
`Context` the invocation shares, so the value nearest the end of the command line wins; logging is
configured from the merged values. Callbacks never see these parameters: they read `Context`.

Importing this module imports click and the standard library only (`--version` and `--help`
must answer fast); the configuration is read on first use of `Context.config`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from tracker.config import Config

GLOBAL_OPTION_NAMES = ("config_path", "verbose", "quiet", "log_file", "debug")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """The global options of one invocation, merged from every level of the command line."""

    config_path: str | None = None
    verbosity: int = 0  # -1 with -q, 0 by default, 1 with -v, 2 with -vv
    log_file: str | None = None
    debug: bool = False


class Context:
    """What every command shares: the global options and the configuration, read once."""

    def __init__(self, options: GlobalOptions | None = None, config: Config | None = None) -> None:
        self.options = options or GlobalOptions()
        self._config = config  # None: read from the options' file on first use

    @property
    def config_path(self) -> str | None:
        return self.options.config_path

    @property
    def debug(self) -> bool:
        return self.options.debug

    @property
    def verbosity(self) -> int:
        return self.options.verbosity

    @property
    def config(self) -> Config:
        """Load the configuration once, on first use (raises ConfigError)."""
        if self._config is None:
            from tracker.config import load_config

            self._config = load_config(self.config_path)
        return self._config


pass_context = click.make_pass_decorator(Context, ensure=True)


def global_options() -> list[click.Parameter]:
    """A fresh set of the global options, for one command."""
    return [
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False),
            help="Read settings from this TOML file "
            "(default: $LIFESCI_TRACKER_CONFIG, else ./config.toml, else built-in defaults).",
        ),
        click.Option(
            ["-v", "--verbose"], count=True, help="Log more: -v for progress, -vv for debugging."
        ),
        click.Option(["-q", "--quiet"], is_flag=True, help="Log only errors."),
        click.Option(
            ["--log-file"], type=click.Path(dir_okay=False), help="Also append logs to this file."
        ),
        click.Option(["--debug"], is_flag=True, help="Show tracebacks instead of one-line errors."),
    ]


def merge_global_options(ctx: click.Context) -> Context:
    """Take this level's global options out of `ctx.params` and merge those typed into `Context`.

    A value counts only when typed at this level, so a later level overrides an earlier one and
    an option left out changes nothing. `-v` and `-q` are one setting: the later one wins.
    """
    shared = ctx.ensure_object(Context)
    values = {name: ctx.params.pop(name, None) for name in GLOBAL_OPTION_NAMES}
    typed = {
        name: value
        for name, value in values.items()
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    changes: dict[str, Any] = {}
    if typed.get("quiet"):
        changes["verbosity"] = -1
    elif typed.get("verbose"):
        changes["verbosity"] = typed["verbose"]
    for name in ("config_path", "log_file", "debug"):
        if typed.get(name) is not None:
            changes[name] = typed[name]
    if changes:
        shared.options = dataclasses.replace(shared.options, **changes)
    configure_logging(shared.options)
    return shared


def configure_logging(options: GlobalOptions) -> None:
    """Log to stderr: INFO on a terminal, WARNING otherwise (cron mails only what matters)."""
    if options.verbosity < 0:
        level = logging.ERROR
    elif options.verbosity:
        level = logging.DEBUG if options.verbosity > 1 else logging.INFO
    else:
        level = logging.INFO if sys.stderr.isatty() else logging.WARNING
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if options.log_file:
        handlers.append(logging.FileHandler(options.log_file, encoding="utf-8"))
    logging.basicConfig(level=level, format=LOG_FORMAT, handlers=handlers, force=True)


def first_sentence(help_text: str) -> str:
    """The first sentence of a help text's first paragraph, on one line."""
    paragraph = re.split(r"\n\s*\n", help_text.strip(), maxsplit=1)[0]
    words = " ".join(paragraph.split())
    match = re.search(r"\.(?:\s|$)", words)
    return words[: match.end()].strip() if match else words


def _format_options(
    command: click.Command, ctx: click.Context, formatter: click.HelpFormatter
) -> None:
    """Write the command's own options, then the global options in a section of their own."""
    own: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None and isinstance(param, click.Option):
            (shared if param.name in GLOBAL_OPTION_NAMES else own).append(record)
    for title, rows in (("Options", own), ("Global options (before or after the command)", shared)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class TrackerCommand(click.Command):
    """A command that accepts the global options after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_options())

    def invoke(self, ctx: click.Context) -> Any:
        merge_global_options(ctx)
        return super().invoke(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_options(self, ctx, formatter)


class TrackerGroup(TrackerCommand, click.Group):
    """A group of TrackerCommands and TrackerGroups that takes the global options itself too."""

    command_class = TrackerCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def command_summary(self, ctx: click.Context, name: str) -> str | None:
        """The one line `--help` shows for a command (None: hidden)."""
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return first_sentence(command.help or "")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their whole summaries, wrapped rather than cut short."""
        rows = []
        for name in self.list_commands(ctx):
            summary = self.command_summary(ctx, name)
            if summary is not None:
                rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


TrackerGroup.group_class = TrackerGroup


def tracker_command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], TrackerCommand]:
    """`@click.command` for a command of this tool (global options accepted after it)."""
    return click.command(name, cls=TrackerCommand, **kwargs)


def tracker_group(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], TrackerGroup]:
    """`@click.group` for a command group of this tool (global options accepted after it)."""
    return click.group(name, cls=TrackerGroup, **kwargs)
