"""The command line itself: global options in both places, lazy commands, exit codes, pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from tests.e2e import Tracker
from tests.govuk_site import default_site
from tests.site_server import SiteServer
from tracker.cli import cli
from tracker.cli_options import GLOBAL_OPTION_NAMES, Context, GlobalOptions, first_sentence
from tracker.commands import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def all_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under `group`, groups included (loads each lazy command)."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


COMMAND_PATHS = sorted(all_commands(cli))
# What a user can run: commands, and groups that do something alone (`outbox` lists the outbox).
RUNNABLE = [
    path
    for path in COMMAND_PATHS
    if not isinstance(command_at(path), click.Group) or command_at(path).invoke_without_command
]


def required_values(command: click.Command) -> list[str]:
    """Command-line words that satisfy the command's required arguments and options."""
    words: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = "1" if isinstance(param.type, click.types._NumberParamTypeBase) else "x"
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        if isinstance(param, click.Option):
            words.append(param.opts[0])
        words.extend([value] * max(param.nargs, 1))
    return words


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[GlobalOptions]:
    """Replace every command's callback with one that records the merged global options."""
    seen: list[GlobalOptions] = []

    def record(*_args: Any, **_kwargs: Any) -> None:
        seen.append(click.get_current_context().ensure_object(Context).options)

    for path in COMMAND_PATHS:
        monkeypatch.setattr(command_at(path), "callback", record)
    return seen


@pytest.mark.parametrize("path", RUNNABLE, ids=[" ".join(p) for p in RUNNABLE])
def test_global_options_work_before_and_after_every_command(
    path: tuple[str, ...], recorded: list[GlobalOptions], tmp_path: Path
) -> None:
    log = str(tmp_path / "log.txt")
    words = [*path, *required_values(command_at(path))]
    before = ["--config", "before.toml", "-q", "--log-file", log, "--debug", *words]
    after = [*words, "--config", "after.toml", "-vv", "--log-file", log, "--debug"]
    both = ["--config", "before.toml", "-v", *words, "--config", "after.toml", "-q"]
    for argv, expected in (
        (before, GlobalOptions("before.toml", -1, log, debug=True)),
        (after, GlobalOptions("after.toml", 2, log, debug=True)),
        (both, GlobalOptions("after.toml", -1)),
    ):
        recorded.clear()
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0, (argv, result.output)
        assert recorded[-1] == expected, argv


def test_global_options_also_work_between_a_group_and_its_command(
    recorded: list[GlobalOptions],
) -> None:
    for argv in (
        ["db", "--config", "x.toml", "upgrade"],
        ["outbox", "--config", "x.toml", "retry"],
    ):
        recorded.clear()
        assert CliRunner().invoke(cli, argv).exit_code == 0
        assert recorded[-1].config_path == "x.toml"


def test_the_value_nearest_the_end_wins_and_command_callbacks_never_see_them(
    recorded: list[GlobalOptions],
) -> None:
    result = CliRunner().invoke(cli, ["-q", "db", "-v", "upgrade", "--config", "c.toml"])
    assert result.exit_code == 0
    assert recorded[-1] == GlobalOptions("c.toml", 1)


def test_a_command_run_with_a_bad_config_after_it_reads_that_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[source]\ntimeout_s = 0\n", encoding="utf-8")
    for argv in (["check-config", "--config", str(bad)], ["orgs", "--config", str(bad)]):
        result = CliRunner().invoke(cli, argv, env={"LIFESCI_TRACKER_CONFIG": ""})
        assert result.exit_code == 2
        assert (
            result.output
            == f"error: {bad}: [source] timeout_s must be a number greater than 0, got 0\n"
        )


def test_every_command_takes_the_global_options_and_shows_them_in_its_help() -> None:
    for path in COMMAND_PATHS:
        names = {param.name for param in command_at(path).params}
        assert set(GLOBAL_OPTION_NAMES) <= names, path
    shown = CliRunner().invoke(cli, ["diff", "--help"]).output
    assert "Global options" in shown
    assert "--config FILE" in shown


def test_the_help_summaries_are_the_commands_own_first_sentences() -> None:
    for name, entry in COMMANDS.items():
        command = entry.load()
        assert command.help, name
        assert entry.summary == first_sentence(command.help), name
    assert sorted(COMMANDS) == sorted(path[0] for path in COMMAND_PATHS if len(path) == 1)


def test_help_lists_every_command_with_its_summary() -> None:
    shown = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    for name, entry in COMMANDS.items():
        assert f"{name} {entry.summary}" in shown


# --- start-up cost (issue 13): which modules a command imports ------------------------------

_PROBE = """
import json, sys
sys.argv = ["lifesci-tracker", *sys.argv[1:]]
from tracker.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def loaded_packages(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages a fresh `lifesci-tracker ARGV` process has imported."""
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    line = completed.stderr.rpartition("MODULES ")[2]
    return {name.partition(".")[0] for name in json.loads(line)}


def third_party(packages: set[str]) -> set[str]:
    ours = {"tracker", "storage", "scraper", "changes", "reports", "scheduler"}
    startup = {"_distutils_hack", "sitecustomize", "usercustomize"}
    return {
        name
        for name in packages - set(sys.stdlib_module_names) - ours - startup
        if not name.startswith(("_", "__editable__"))
    }


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_but_click(argv: list[str]) -> None:
    packages = loaded_packages(*argv)
    assert third_party(packages) == {"click"}
    assert not packages & {"storage", "scraper", "changes", "reports"}


def test_run_help_loads_no_pipeline() -> None:
    assert third_party(loaded_packages("run", "--help")) == {"click"}


@pytest.fixture
def tracked(server: SiteServer, tmp_path: Path) -> Tracker:
    """A tracker with two stored runs of the loopback site."""
    tracker = Tracker.create(server, tmp_path, extra="enabled = false")
    tracker.publish(default_site("2021"))
    for _ in range(2):
        assert tracker.cli("run", "--no-report").exit_code == 0
    return tracker


def test_query_commands_import_no_http_stack_no_alembic_and_no_templates(tracked: Tracker) -> None:
    url = tracked.server.url("/government/publications/uk-life-sciences-support")
    env = {"LIFESCI_TRACKER_DATABASE_URL": ""}
    prune = ["db", "prune", "--raw-older-than", "100000"]
    for argv in (["orgs"], ["history"], ["updates"], ["show", url], ["outbox"], ["diff"], prune):
        packages = loaded_packages("--config", str(tracked.config), *argv, env=env)
        assert "sqlalchemy" in packages, argv  # the probe really ran the command
        heavy = {"requests", "urllib3", "alembic", "lxml", "bs4", "rich", "apscheduler", "jinja2"}
        assert not packages & heavy, argv


# --- errors: exit 4 for a bug, broken pipes ---------------------------------------------------


def test_an_unexpected_error_is_one_line_and_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.commands import config_command

    def broken(*_args: Any) -> Iterator[str]:
        raise KeyError("section")

    monkeypatch.setattr(config_command, "describe_config", broken)
    result = CliRunner().invoke(cli, ["check-config"], env={"LIFESCI_TRACKER_CONFIG": ""})
    assert result.exit_code == 4
    assert result.output == (
        "error: internal error: KeyError: 'section'; run with --debug for details\n"
    )
    debug = CliRunner().invoke(cli, ["check-config", "--debug"], env={"LIFESCI_TRACKER_CONFIG": ""})
    assert debug.exit_code == 4
    assert "Traceback (most recent call last)" in debug.output
    assert debug.output.endswith(
        "error: internal error: KeyError: 'section'; run with --debug for details\n"
    )


def test_expected_errors_keep_their_exit_codes_with_debug(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    plain = CliRunner().invoke(cli, ["check-config", "--config", missing])
    debug = CliRunner().invoke(cli, ["check-config", "--config", missing, "--debug"])
    assert plain.exit_code == debug.exit_code == 2
    assert plain.output == f"error: config file not found: {missing}\n"
    assert "Traceback" in debug.output
    assert debug.output.endswith(plain.output)


def run_into_closed_pipe(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run lifesci-tracker with its stdout a pipe nobody reads any more (`| head -0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "tracker", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={**os.environ, **env},
            cwd=ROOT,
        )
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_quietly_as_unix_tools_do(tracked: Tracker) -> None:
    env = {"LIFESCI_TRACKER_CONFIG": str(tracked.config), "LIFESCI_TRACKER_DATABASE_URL": ""}
    for argv in (["check-config"], ["orgs", "--format", "csv"], ["history"]):
        completed = run_into_closed_pipe(*argv, env=env)
        assert completed.stderr == "", argv
        assert completed.returncode == 141, argv  # 128 + SIGPIPE, as `yes | head -1`


def test_each_kind_of_error_has_its_exit_code() -> None:
    from alembic.util import CommandError
    from sqlalchemy.exc import OperationalError

    from storage.errors import RefError
    from storage.lock import RunLockHeld
    from tracker.cli_errors import describe_error
    from tracker.errors import ConfigError

    revision = CommandError("Can't locate revision identified by '0009'")
    assert describe_error(ConfigError("c.toml: bad")) == ("c.toml: bad", 2)
    assert describe_error(RefError("no run with id 9")) == ("no run with id 9", 2)
    assert describe_error(RunLockHeld(12))[1] == 3
    assert describe_error(OperationalError("SELECT 1", {}, Exception("server closed\nmore"))) == (
        "database error: server closed",
        2,
    )
    assert describe_error(revision) == (
        "database schema: Can't locate revision identified by '0009'",
        2,
    )
    assert describe_error(FileNotFoundError(2, "No such file or directory", "x.toml")) == (
        "No such file or directory: x.toml",
        2,
    )
    assert describe_error(ValueError("bad\nsecond line")) == (
        "internal error: ValueError: bad; run with --debug for details",
        4,
    )
