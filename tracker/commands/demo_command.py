"""`lifesci-tracker demo`: see what the tracker does, offline, on a built-in sample (issue 17)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from tracker.cli_options import Context, pass_context, tracker_command


@tracker_command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's database, reports and site in this new or empty folder "
    "(default: a temporary folder, removed at the end).",
)
@pass_context
def demo_command(context: Context, folder: Path | None) -> None:
    """See what the tracker does, offline, on a built-in sample of the publication as it changes.

    The sample is served on 127.0.0.1 in four states (a baseline; new page templates; an edit
    that adds, removes, renames, moves and re-describes organisations; a silent change), and
    the real tracker runs after each. It shows `run`, `diff`, `history`, a report and
    `site build`, in a few seconds. Nothing is fetched from the internet, and your own
    configuration and database are neither read nor changed.

    \b
    Example:
        lifesci-tracker demo
        lifesci-tracker demo --dir lifesci-demo
        lifesci-tracker history --config lifesci-demo/config.toml
    """
    from tracker.demo import prepare_folder, run_demo

    if folder is not None:
        run_demo(prepare_folder(folder), options=context.options, kept=True)
        return
    with tempfile.TemporaryDirectory(prefix="lifesci-tracker-demo-") as temporary:
        run_demo(Path(temporary), options=context.options, kept=False)
