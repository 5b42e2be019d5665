"""`lifesci-tracker run`: one tracking run, with a one-screen summary or `--json`.

`locked_run` is the locked tracking run itself; `schedule` runs the same function on its cron.
The pipeline is imported when the command runs, not with the module: `run --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from changes.changeset import summary_to_dict
from tracker.cli_options import Context, pass_context, tracker_command
from tracker.terminal import progress_display

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.pipeline import RunResult


def run_to_dict(result: RunResult) -> dict[str, object]:
    """Return the `run --json` structure of DESIGN §4."""
    return {
        "run": result.run_id,
        "status": result.status,
        "pages": result.page_counts(),
        "summary": summary_to_dict(result.changeset.summary),
        "stored": {
            "organisations": result.organisations_stored,
            "updates": result.updates_stored,
        },
        "problems": [
            {"url": p.url, "outcome": p.outcome, "reason": p.reason} for p in result.problems
        ],
    }


@tracker_command("run")
@click.option("--json", "as_json", is_flag=True, help="Print the run's outcome as JSON.")
@click.option("--no-report", is_flag=True, help="Do not write or send reports for this run.")
@click.option(
    "--accept-anomalies",
    is_flag=True,
    help="Store documents held back as anomalies (when a large removal is real).",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Wait up to this many seconds for another run's lock instead of exiting 3.",
)
@pass_context
def run_command(
    context: Context, as_json: bool, no_report: bool, accept_anomalies: bool, wait_s: float
) -> None:
    """Fetch the publication and its documents, store new versions, and report changes.

    Off a terminal (cron), the summary is printed only when the run found changes or problems.

    Exit status: 0 all pages tracked; 1 some pages failed or were held back (stored data kept);
    2 configuration error; 3 another run holds the lock; 4 an internal error (a bug).

    \b
    Example:
        lifesci-tracker run
        lifesci-tracker run --json
    """
    from tracker.summary import describe_run

    result = run_with_progress(
        context.config,
        verbosity=context.verbosity,
        progress=sys.stderr.isatty() and not as_json,
        wait_s=wait_s,
        accept_anomalies=accept_anomalies,
        report=not no_report,
    )
    if as_json:
        click.echo(json.dumps(run_to_dict(result), indent=2, ensure_ascii=False))
    elif sys.stdout.isatty() or worth_mentioning(result):
        click.echo(describe_run(result))
    sys.exit(result.exit_code)


def run_with_progress(
    config: Config,
    *,
    verbosity: int,
    progress: bool,
    wait_s: float = 0.0,
    accept_anomalies: bool = False,
    report: bool = True,
    direct: bool = False,
) -> RunResult:
    """One locked tracking run (`tracker.runner.locked_run`), showing its live page count on
    stderr when `progress` (on a terminal), with log records above it at `verbosity`."""
    from tracker.runner import locked_run

    with progress_display(enabled=progress, verbosity=verbosity) as on_page:
        return locked_run(
            config,
            wait_s=wait_s,
            accept_anomalies=accept_anomalies,
            report=report,
            on_page=on_page,
            direct=direct,
        )


def worth_mentioning(result: RunResult) -> bool:
    """Return True when a run's summary matters off a terminal: changes or problems.

    Under cron, stdout is mailed: an unchanged, healthy run prints nothing, so no daily mail.
    """
    return result.status != "ok" or result.changeset.has_changes or result.changeset.is_baseline
