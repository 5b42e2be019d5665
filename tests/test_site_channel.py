"""The `site` channel (DESIGN §13): `[site] enabled` rebuilds the site after each run with
changes, through the outbox like the other channels, and links in reports point at its pages."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, default_site
from tests.site_server import SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
ADDED = "Northern Trials Accelerator"


def site_tracker(server: SiteServer, folder: Path) -> Tracker:
    extra = f"""
[site]
enabled = true
dir = "{folder / "site"}"
base_url = "https://lifesci.example.org/tracker"
"""
    return Tracker.create(server, folder, extra=extra)


def site_rows(tracker: Tracker) -> list[dict[str, object]]:
    result = tracker.cli("outbox", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    return [row for row in json.loads(result.stdout) if row["channel"] == "site"]


def test_a_run_with_changes_rebuilds_the_site_and_an_unchanged_one_does_not(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = site_tracker(server, tmp_path)
    site = default_site("current")
    tracker.publish(site)
    assert tracker.run_json()[0] == 0
    index = tmp_path / "site" / "index.html"
    assert index.is_file()
    assert [row["status"] for row in site_rows(tracker)] == ["sent"]

    assert tracker.run_json()[0] == 0  # nothing changed: no rebuild
    assert len(site_rows(tracker)) == 1

    edited = copy.deepcopy(site)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec(ADDED, "https://trials.example.org", "<p>Runs trials.</p>")
    )
    tracker.publish(edited)
    code, outcome = tracker.run_json()
    assert code == 0
    assert [row["status"] for row in site_rows(tracker)] == ["sent", "sent"]
    change_page = tmp_path / "site" / "changes" / f"{outcome['run']}.html"
    assert ADDED in change_page.read_text(encoding="utf-8")
    # The feed links each entry to the page the site now has for that run.
    feed = (tmp_path / "reports" / "feed.atom").read_text(encoding="utf-8")
    assert f"https://lifesci.example.org/tracker/changes/{outcome['run']}.html" in feed


def test_a_site_that_cannot_be_written_stays_pending_and_the_run_still_succeeds(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = site_tracker(server, tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "notes.txt").write_text("someone else's file\n", encoding="utf-8")
    tracker.publish(default_site("current"))
    assert tracker.run_json()[0] == 0
    [row] = site_rows(tracker)
    assert row["status"] == "pending"
    assert "did not write" in str(row["last_error"]) or "not written" in str(row["last_error"])
    assert (tmp_path / "site" / "notes.txt").is_file()  # never deleted
