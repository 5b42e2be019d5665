"""`lifesci-tracker check-config`: validate the configuration and print the effective settings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping

import click

from tracker.cli_options import Context, pass_context, tracker_command
from tracker.config import Config, config_to_dict


def describe_config(config: Config, environ: Mapping[str, str]) -> Iterator[str]:
    """The lines `check-config` prints: where the settings come from, then every section."""
    source = str(config.path) if config.path else "built-in defaults"
    yield f"# configuration from {source}: OK"
    for section, table in config_to_dict(config, environ=environ).items():
        yield ""
        yield f"[{section}]"
        for key, value in table.items():
            yield f"{key} = {json.dumps(value, ensure_ascii=False)}"


@tracker_command("check-config")
@pass_context
def check_config(context: Context) -> None:
    """Validate the configuration and print the effective settings (secrets masked).

    Exit status 2 when a setting is invalid (one line names the key). Relative paths are shown
    resolved against the config file's folder.

    \b
    Example:
        lifesci-tracker check-config --config config.toml
    """
    from tracker.notify_targets import check_config_lines  # imports Apprise only when enabled

    notify_lines = check_config_lines(context.config)  # a notify URL Apprise cannot use: exit 2
    for line in describe_config(context.config, os.environ):
        click.echo(line)
    for line in notify_lines:
        click.echo(line)
