"""A click group that imports each command's module only when that command is used (issue 13).

The group holds a registry: command name -> `LazyCommand("module:attribute", "summary")`. `--help`
lists the names with their summaries and imports nothing; running `orgs` imports the module of
`orgs` alone. The summary repeats the first sentence of the command's own help (a test checks
that they agree), so the list stays right without loading anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from tracker.cli_options import TrackerGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives ("package.module:attribute") and its one-line summary."""

    target: str
    summary: str

    def load(self) -> click.Command:
        """Import the command's module and return the command."""
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(TrackerGroup):
    """A TrackerGroup whose commands are imported on first use; see the module docstring."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self.lazy_commands[cmd_name].load()
        return super().get_command(ctx, cmd_name)

    def command_summary(self, ctx: click.Context, name: str) -> str | None:
        if name in self.lazy_commands:
            return self.lazy_commands[name].summary
        return super().command_summary(ctx, name)
