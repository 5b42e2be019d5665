"""The README is the manual: every command, option and config key in it, and the help is there."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import Config, config_to_dict

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_has_help(name: str, command: click.Command) -> None:
    assert f"`{name}" in README, f"README does not document `{name}`"
    assert command.help, f"{name} has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output or isinstance(command, click.Group)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_is_in_the_readme(name: str, command: click.Command) -> None:
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            assert any(f"{lead}{flag}" in README for flag in parameter.opts for lead in "` ["), (
                f"README does not mention {name} {parameter.opts[0]}"
            )


def test_every_config_key_is_in_the_readme() -> None:
    for section, table in config_to_dict(Config(), environ={}).items():
        for key in table:
            if key == "password":
                continue  # shown masked by check-config, never a key of the file
            assert f"[{section}] {key}" in README or (
                f"`[{section}] " in README and f"`{key}`" in README
            ), f"README does not document [{section}] {key}"


def test_config_sections_match_the_dataclasses() -> None:
    assert [f.name for f in dataclasses.fields(Config) if f.name != "path"] == [
        "source",
        "database",
        "schedule",
        "reports",
        "email",
        "notify",
        "site",
        "archive",
    ]
