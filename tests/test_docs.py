"""The README is the manual: every command has its own section naming each of its options, the
global options and every config key are there, and each command's help has an example."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.cli_options import GLOBAL_OPTION_NAMES, global_options
from tracker.config import Config, config_to_dict

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


COMMANDS = _commands(cli)


def command_sections(readme: str) -> dict[str, str]:
    """Each command's own README text: the `### ` sections under "## Commands" naming it.

    A heading names commands in backquotes (`` ### `diff [FROM] [TO]` `` or
    `` ### `db backup PATH`, `db prune` ``): the command is the lowercase words before the first
    placeholder or option. A section may name several commands; they share its text.
    """
    commands_part = readme.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    sections: dict[str, str] = {}
    for block in re.split(r"\n(?=### )", commands_part)[1:]:
        heading, _, body = block.partition("\n")
        for quoted in re.findall(r"`([^`]+)`", heading):
            words = []
            for word in quoted.split():
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                words.append(word)
            name = " ".join(words)
            sections[name] = sections.get(name, "") + heading + "\n" + body
    return sections


SECTIONS = command_sections(README)


def mentions(text: str, option: click.Option) -> bool:
    """Whether `text` names the option as written on a command line (`--format`, `-o FILE`)."""
    return any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) for flag in option.opts)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_a_readme_section_and_help_with_an_example(
    name: str, command: click.Command
) -> None:
    assert command.help, f"{name} has no help text"
    if isinstance(command, click.Group) and not command.invoke_without_command:
        return  # a group alone does nothing: its commands are documented
    assert name in SECTIONS, f"README has no `### `{name}...`` section under ## Commands"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_is_in_its_commands_readme_section(name: str, command: click.Command) -> None:
    own = [
        param
        for param in command.params
        if isinstance(param, click.Option)
        and not param.hidden
        and param.name not in GLOBAL_OPTION_NAMES
        and "--help" not in param.opts
    ]
    if not own:
        return
    section = SECTIONS.get(name, "")
    for option in own:
        assert mentions(section, option), f"README's section on `{name}` omits {option.opts[0]}"


def test_the_section_check_is_strict() -> None:
    # The check must fail for an option documented only in another command's section.
    diff = next(command for name, command in COMMANDS if name == "diff")
    text_option = next(
        p for p in diff.params if isinstance(p, click.Option) and p.name == "with_text"
    )
    assert mentions(SECTIONS["diff"], text_option)
    assert not mentions(SECTIONS["history"], text_option)
    assert not mentions("`--text-file`", text_option)


def test_the_global_options_are_in_the_readme() -> None:
    commands_intro = README.split("\n## Commands\n", 1)[1].split("\n### ", 1)[0]
    for option in global_options():
        assert isinstance(option, click.Option)
        assert mentions(commands_intro, option), option.opts


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


def test_every_exit_code_is_in_the_readme_table() -> None:
    table = README.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    assert [row.split("|")[1].strip() for row in table.splitlines()[2:]] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_the_quick_start_is_two_commands_ci_runs_the_tests_one_and_the_demo_follows() -> None:
    quick_start = README.split("\n## Quick start\n", 1)[1].split("\n---\n", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.S)
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/lifesci-tracker run",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' "
        "&& .venv/bin/python -m pytest",
    ]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    steps = [line.strip() for line in ci.splitlines() if line.startswith(".venv/bin/")]
    assert "python3 -m venv .venv" in ci
    assert ".venv/bin/python -m pip install --quiet -e '.[test]'" in steps
    assert steps[-1] == ".venv/bin/python -m pytest"  # the README's test command, word for word
    after = quick_start.split(commands[1], 1)[1]
    assert "`.venv/bin/lifesci-tracker demo`" in after.split("\n\n", 2)[1]  # right after them
