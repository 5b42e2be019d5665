"""A store that went through several real states, for the site and `timeline` tests.

`record_history(tracker)` serves the loopback GOV.UK site in eight states and runs the tracker
after each: a baseline, additions (one organisation named like markup), a rename, a move between
stages, a re-description and relink, a removed document, a silent change, and a run with problems.
"""

from __future__ import annotations

import copy
import tomllib
from datetime import UTC, datetime

from sqlalchemy import create_engine, update

from storage.tables import Run
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import Reply

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
REMOVED_DOCUMENT = "medicines-manufacturing"
ADDED = "Northern Trials Accelerator"
MARKUP_NAME = '<script>alert("boo")</script> Ventures & Co'
OLD_NAME = "Association of Medical Research Charities (AMRC)"
NEW_NAME = "Association of Medical Research Charities"
MOVED = "Health Research Authority (HRA)"
REDESCRIBED = "Clinical Practice Research Datalink (CPRD)"
SILENT = "Experimental Cancer Medicine Centres (ECMC)"
RUNS = 8
# (run, what happened), oldest first: the change sets the site lists.
STEPS = (
    "baseline",
    "additions",
    "rename",
    "move",
    "re-description",
    "removed document",
    "silent change",
    "problems",
)


def run_time(step: int) -> datetime:
    """Return when the run of state `step` (1 to 8) is recorded as started: 10:00 UTC on that
    day of March 2026.

    Each change note is dated 09:00 the same day, so the runs read like a daily schedule.
    """
    return datetime(2026, 3, step, 10, 0, tzinfo=UTC)


def _backdate(tracker: Tracker, run: int, step: int) -> None:
    config = tomllib.loads(tracker.config.read_text(encoding="utf-8"))
    engine = create_engine(config["database"]["url"])
    with engine.begin() as connection:
        when = run_time(step)
        connection.execute(
            update(Run).where(Run.id == run).values(started_at=when, finished_at=when)
        )
    engine.dispose()


def _note(site: SiteSpec, day: int, text: str) -> None:
    site.add_change_note(datetime(2026, 3, day, 9, 0, tzinfo=UTC), text)


def record_history(tracker: Tracker) -> list[SiteSpec]:
    """Run the tracker through the eight states; return the site as served at each."""
    site = default_site("current")
    served: list[SiteSpec] = []

    def run(expected_exit: int = 0) -> None:
        tracker.publish(site)
        code, output = tracker.run_json()
        assert code == expected_exit, output
        _backdate(tracker, output["run"], len(served) + 1)
        served.append(copy.deepcopy(site))

    run()
    document = site.doc(EXPERIMENTAL)
    document.stages[0].orgs.append(
        OrgSpec(
            ADDED,
            "https://trials-north.example/",
            '<p>The <a rel="external" href="https://trials-north.example/">accelerator</a> '
            "helps companies start clinical trials in northern NHS trusts.</p>",
        )
    )
    document.stages[1].orgs.append(
        OrgSpec(MARKUP_NAME, None, "<p>An organisation whose name looks like markup.</p>")
    )
    _note(site, 2, f"Added {ADDED} and one more organisation.")
    run()
    _, amrc = document.find(OLD_NAME)
    amrc.name = NEW_NAME
    _note(site, 3, "Renamed the Association of Medical Research Charities.")
    run()
    document.move_org(MOVED, document.stages[1].heading)
    _note(site, 4, "Moved the Health Research Authority to development and translation.")
    run()
    _, cprd = document.find(REDESCRIBED)
    cprd.description_html = cprd.description_html.replace("</p>", " It now covers devices.</p>", 1)
    _note(site, 5, "Updated the description of CPRD.")
    run()
    site.docs = [d for d in site.docs if d.slug != REMOVED_DOCUMENT]
    _note(site, 6, "Withdrew the medicines manufacturing document.")
    run()
    _, ecmc = document.find(SILENT)
    ecmc.description_html = ecmc.description_html.replace("</p>", " Now in 20 centres.</p>", 1)
    run()
    path = f"{document.path}"
    tracker.server.faults[path] = Reply(500, b"<html><body>Server error</body></html>")
    run(expected_exit=1)
    del tracker.server.faults[path]
    return served
