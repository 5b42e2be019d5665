"""`lifesci-tracker demo`: the real tracker against a built-in sample of the publication, offline.

The sample (`tracker.sample`) is served on 127.0.0.1 in the four states of `sample.scenario`; after
each, a real tracking run stores it in an SQLite database in the demo's folder. Between runs the
demo shows, under a heading in plain words, what a user would type (`$ lifesci-tracker diff`) and
the command's real output: `run`'s summary, `diff`, `history`, the Markdown report file and
`site build`. Nothing is fetched from anywhere but the loopback server, and no environment
variable can point the demo at another database or through a proxy.
"""

from __future__ import annotations

import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import click

from tracker.cli_options import Context, GlobalOptions
from tracker.config import Config, load_config
from tracker.errors import TrackerError, UsageError
from tracker.sample import PUBLICATION_PATH, render_site
from tracker.sample.scenario import MOVED, demo_steps
from tracker.sample.server import SampleServer

CONFIG_NAME = "config.toml"
DATABASE_NAME = "lifesci-tracker.db"
REPORTS_DIR = "reports"
SITE_DIR = "site"
WIDTH = 88


def wrap(text: str, *, indent: str = "") -> str:
    """Fill `text` to the demo's width, never breaking a path or an address."""
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


class DemoFailed(TrackerError):
    """A step of the demo did not work (a bug: the sample never fails)."""

    exit_code = 1


def write_config(folder: Path, base_url: str) -> Path:
    """Write the demo's config.toml into `folder`: the sample's address, a database and report
    folders beside the file, a fast request rate (the server is on this machine)."""
    path = folder / CONFIG_NAME
    path.write_text(
        "# Written by `lifesci-tracker demo`: it tracked a built-in sample of the publication,\n"
        f"# served on {base_url} while the demo ran. Paths are relative to this file. With the\n"
        "# sample server gone, `run` cannot fetch; every other command works on what is stored.\n"
        "\n[source]\n"
        f'urls = ["{base_url}{PUBLICATION_PATH}"]\n'
        'allowed_hosts = ["127.0.0.1"]\n'
        "timeout_s = 10\n"
        "requests_per_second = 1000\n"
        "retries = 0\n"
        "\n[database]\n"
        f'url = "sqlite:///{DATABASE_NAME}"\n'
        "\n[reports]\n"
        f'dir = "{REPORTS_DIR}"\n'
        "\n[site]\n"
        f'dir = "{SITE_DIR}"\n',
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True, slots=True)
class Demo:
    """One demo: its folder, its configuration and how it prints."""

    folder: Path
    config_path: Path
    config: Config
    options: GlobalOptions

    def heading(self, number: int, title: str, explanation: str) -> None:
        """Print a step's number and title, and below it, indented, what it shows."""
        click.echo()
        click.secho(f"{number}. {title}", bold=True)
        click.echo(wrap(explanation, indent="   "))

    def command(self, *args: str) -> None:
        """Show `$ lifesci-tracker ARGS` and run it in this process on the demo's database."""
        from tracker.cli import cli

        click.secho(f"$ lifesci-tracker {shlex.join(args)}", dim=True)
        context = Context(self.options, config=self.config)
        try:
            code = cli.main(
                list(args), prog_name="lifesci-tracker", standalone_mode=False, obj=context
            )
        except SystemExit as exit_:
            code = exit_.code
        if code:
            raise DemoFailed(
                f"the demo's `{shlex.join(args)}` failed (see above); please report this"
            )

    def run(self) -> None:
        """Show `$ lifesci-tracker run` and make a tracking run, as `run` does on a terminal."""
        from tracker.commands.run_command import run_with_progress
        from tracker.summary import describe_run

        click.secho("$ lifesci-tracker run", dim=True)
        result = run_with_progress(
            self.config,
            verbosity=self.options.verbosity,
            progress=sys.stderr.isatty(),
            direct=True,
        )
        click.echo(describe_run(result))
        if result.status != "ok":
            raise DemoFailed(
                f"the demo's run {result.run_id} did not track every sample page "
                "(see its problems above); please report this"
            )


def prepare_folder(folder: Path) -> Path:
    """Return `folder`, absolute and created; refuse one that holds anything (exit 2)."""
    folder = folder.expanduser().absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(
            f"{folder} is not an empty folder: give --dir a new or empty folder "
            "(the demo never mixes its database with other files)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_demo(folder: Path, *, options: GlobalOptions, kept: bool) -> None:
    """Play the demo in `folder` (empty): serve each state, track it, show what the tool says."""
    from tracker.clock import utc_now

    steps = demo_steps(utc_now())
    with SampleServer() as server:
        config_path = write_config(folder, server.base_url)
        config = load_config(str(config_path), environ={})
        demo = Demo(folder, config_path, config, options)
        _introduce(demo, server.base_url + PUBLICATION_PATH, kept=kept)
        for number, step in enumerate(steps, 1):
            server.publish(render_site(step.site, server.base_url))
            demo.heading(number, step.heading, step.explanation)
            demo.run()
            for command in step.then:
                demo.command(*command)
        _conclude(demo, first=len(steps) + 1)
    _farewell(demo, kept=kept)


def _introduce(demo: Demo, sample_url: str, *, kept: bool) -> None:
    click.secho("lifesci-tracker demo", bold=True)
    click.echo(
        wrap(
            'A built-in sample of GOV.UK\'s "UK life sciences support" guidance, served on this '
            "computer only: nothing is fetched from the internet. Each step changes the sample "
            "the way GOV.UK might, then runs the real tracker on it."
        )
    )
    kept_or_not = "kept afterwards" if kept else "removed at the end; keep one with --dir DIR"
    click.echo(f"Sample:         {sample_url}")
    click.echo(f"Working folder: {demo.folder} ({kept_or_not})")
    click.echo(f"Every command below runs with --config {demo.config_path}")


def _conclude(demo: Demo, *, first: int) -> None:
    demo.heading(first, "Every run at a glance", "Newest first, with what each one found.")
    demo.command("history")
    report = Path(demo.config.reports.dir) / "latest.md"
    demo.heading(
        first + 1,
        "The report of the last run",
        "Each run with changes writes its report as files: Markdown (below), HTML, JSON and an "
        "Atom feed (latest.html, latest.json, feed.atom beside it). Email and chat "
        "notifications send the same report when they are turned on.",
    )
    click.secho(f"{report}:", dim=True)
    click.echo(report.read_text(encoding="utf-8").rstrip("\n"))
    demo.heading(
        first + 2,
        "A browsable history",
        "A static website of every change set, document and organisation, for any web server.",
    )
    demo.command("site", "build", demo.config.site.dir)


def _farewell(demo: Demo, *, kept: bool) -> None:
    click.echo()
    config = shlex.quote(str(demo.config_path))
    if kept:
        site = Path(demo.config.site.dir) / "index.html"
        click.echo(f"Everything is kept in {demo.folder}. Open {site} in a browser, or go on:")
        click.echo(f"  lifesci-tracker timeline {shlex.quote(MOVED)} --config {config}")
        click.echo(f"  lifesci-tracker diff 1 latest --config {config}")
    else:
        click.echo(
            "To keep the database, reports and site to explore: lifesci-tracker demo --dir DIR"
        )
    click.echo("To track the real publication on GOV.UK: lifesci-tracker run")
