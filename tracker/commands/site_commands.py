"""The browsable history commands: `site build` and `timeline` (DESIGN §13)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from changes.timeline import OrganisationHistory, find_organisations
from reports.formats.wording import clean
from reports.timeline import (
    documents_named,
    event_details,
    event_sentence,
    event_when,
    other_names,
    timeline_to_dict,
)
from tracker.app import open_database
from tracker.cli import Context, cli, pass_context
from tracker.errors import UsageError
from tracker.site import load_history, rebuild_site


@cli.group("site")
def site_group() -> None:
    """Build the browsable change-history site (static files for any web server)."""


@site_group.command("build")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@pass_context
def site_build_command(context: Context, folder: Path | None) -> None:
    """Write the change-history site to FOLDER (default: [site] dir).

    The site is built beside the folder and swapped in whole, so a reader never sees it half
    built; the previous site stays until the new one is complete.

    \b
    Example:
        lifesci-tracker site build
        lifesci-tracker site build /var/www/lifesci
    """
    result = rebuild_site(context.config, target=folder)
    click.echo(
        f"wrote {result.path}: {result.pages} pages ({result.change_sets} change sets, "
        f"{result.organisations} organisations) in {result.seconds:.2f} s"
    )


class AmbiguousNameError(UsageError):
    """A name matches several organisations: the error lists them."""


def _choose(matches: tuple[OrganisationHistory, ...], query: str) -> OrganisationHistory:
    if not matches:
        raise UsageError(
            f"no organisation is or was called {query!r}: "
            "try part of its name, or its web address (see `lifesci-tracker orgs`)"
        )
    if len(matches) == 1:
        return matches[0]
    lines = [
        f"{query!r} matches {len(matches)} organisations; give the full name or its web address:"
    ]
    for history in matches:
        places = "; ".join(
            dict.fromkeys(
                f"{clean(x.document_title)}: {clean(x.organisation.stage)}"
                for x in history.last_listings
            )
        )
        status = "" if history.is_listed else "; no longer listed"
        address = f" {history.urls[-1]}" if history.urls else ""
        lines.append(f"  {clean(history.name)}{address} ({places}{status})")
    raise AmbiguousNameError("\n".join(lines))


def _place(document: str, stage: str) -> str:
    return f"{clean(document)} ({clean(stage)})"


def render_timeline_table(history: OrganisationHistory) -> str:
    """Return one organisation's timeline as text: where it is listed, then each change with its
    time, run, document and stage, and what changed (details indented under it)."""
    listings = history.listings or history.last_listings
    places = "; ".join(_place(x.document_title, x.organisation.stage) for x in listings)
    lines = [
        clean(history.name),
        f"{'Listed now in' if history.is_listed else 'Last listed in'}: {places}",
    ]
    also, former = other_names(history)
    if also:
        lines.append("Also listed as: " + "; ".join(also))
    if former:
        lines.append("Formerly listed as: " + "; ".join(former))
    lines.append("")
    runs = ["" if e.ref.run is None else f"run {e.ref.run}" for e in history.events]
    when_width = max(len(event_when(e)) for e in history.events)
    run_width = max(len(run) for run in runs)
    name_document = documents_named(history)
    for event, run in zip(history.events, runs, strict=True):
        where = _place(event.document_title, event.stage)
        lines.append(f"{event_when(event).ljust(when_width)}  {run.ljust(run_width)}  {where}")
        lines.append("    " + event_sentence(event, name_document=name_document))
        lines += ["      " + detail for detail in event_details(event)]
    return "\n".join(lines)


@cli.command("timeline")
@click.argument("organisation")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to write the timeline.",
)
@pass_context
def timeline_command(context: Context, organisation: str, fmt: str) -> None:
    """Show one organisation's history in every stored state, following renames and moves.

    ORGANISATION is a name (or part of one, any name it has had) or its web address. A name that
    matches several organisations lists them and exits 2.

    \b
    Example:
        lifesci-tracker timeline "Health Research Authority"
        lifesci-tracker timeline https://www.hra.nhs.uk/ --format json
    """
    database = open_database(context.config, create=False)
    with database.sessions() as session:
        timeline = load_history(session).timeline
    history = _choose(find_organisations(timeline, organisation), organisation)
    if fmt == "json":
        click.echo(json.dumps(timeline_to_dict(history), indent=2, ensure_ascii=False))
    else:
        click.echo(render_timeline_table(history))
