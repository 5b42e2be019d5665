"""Honest flags, titles, baselines and feed links end to end: the real CLI on the loopback site.

- A silent change is flagged only when the publication was read in the same run; when its fetch
  failed the flag is unknown (null), never true.
- A change note GOV.UK publishes a run late clears the flag of the change it explains, in `diff`,
  in `history` (stored summaries are refreshed) and in the feed written afterwards.
- Several `[source] urls`: each publication is named by its own stored title.
- The first report lists what is tracked; feed entries link to the publication and site page.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.e2e import Tracker
from tests.govuk_site import (
    PUBLICATION_PATH,
    OrgSpec,
    SiteSpec,
    default_site,
    render_document,
    render_publication,
    render_site,
)
from tests.site_server import Reply, SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
CPRD = "Clinical Practice Research Datalink (CPRD)"
UNKNOWN = "Changed; the publication could not be checked for a change note"
SILENT = "Changed without a change note"


def redescribed(site: SiteSpec) -> SiteSpec:
    """CPRD gets a new sentence; the publication's change history does not."""
    new = copy.deepcopy(site)
    _, cprd = new.doc(EXPERIMENTAL).find(CPRD)
    cprd.description_html = cprd.description_html.replace("</p>", " It now covers devices.</p>", 1)
    return new


def document_entry(tracker: Tracker, *refs: str) -> dict[str, Any]:
    changes = json.loads(tracker.cli("diff", *refs, "--format", "json").stdout)
    return next(d for d in changes["documents"] if d["kind"] == "html_document")


def history_summary(tracker: Tracker, run: int) -> dict[str, int]:
    rows = json.loads(tracker.cli("history", "--format", "json").stdout)
    summary: dict[str, int] = next(row["summary"] for row in rows if row["run"] == run)
    return summary


def run_baseline_then_silent_edit(tracker: Tracker) -> SiteSpec:
    """Run 1 on the site as it stands; run 2 after CPRD's silent edit. Returns the edited site."""
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    edited = redescribed(site)
    tracker.publish(edited)
    tracker.run_json()
    return edited


@pytest.fixture
def tracker(server: SiteServer, tmp_path: Path) -> Tracker:
    return Tracker.create(server, tmp_path, extra="enabled = false")


@pytest.mark.parametrize(
    ("publication_fault", "flag"),
    [(None, True), (Reply(status=503), None)],
    ids=["publication_not_modified", "publication_failed"],
)
def test_a_silent_change_is_flagged_only_when_the_publication_was_read(
    tracker: Tracker, publication_fault: Reply | None, flag: bool | None
) -> None:
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    tracker.publish(redescribed(site))
    if publication_fault is not None:
        tracker.server.faults[PUBLICATION_PATH] = publication_fault
    code, result = tracker.run_json()
    assert result["pages"]["changed"] == 1
    assert code == (0 if publication_fault is None else 1)
    assert document_entry(tracker)["silent_change"] is flag
    text = tracker.cli("diff").stdout
    assert (UNKNOWN in text, SILENT in text) == (flag is None, flag is True)
    assert history_summary(tracker, 2)["silent_changes"] == (1 if flag else 0)


def test_a_change_note_published_a_run_late_clears_the_flag_everywhere(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)  # reports on: the feed is rewritten each run
    edited = run_baseline_then_silent_edit(tracker)
    assert document_entry(tracker, "1", "2")["silent_change"] is True
    assert history_summary(tracker, 2)["silent_changes"] == 1
    feed = feedparser.parse(tmp_path / "reports" / "feed.atom")
    assert feed.entries[0].title.endswith("no change note")

    # The next run sees the note, dated the day of run 2 (GOV.UK's cache served it late).
    rows = json.loads(tracker.cli("history", "--format", "json").stdout)
    run_2_day = datetime.fromisoformat(rows[0]["started_at"]).date()
    edited.add_change_note(datetime.combine(run_2_day, time(0, 5), UTC), "Updated CPRD.")
    tracker.publish(edited)
    code, result = tracker.run_json()
    assert (code, result["summary"]["updates_added"]) == (0, 1)

    assert document_entry(tracker, "1", "2")["silent_change"] is False
    assert SILENT not in tracker.cli("diff", "1", "2").stdout
    assert history_summary(tracker, 2)["silent_changes"] == 0
    feed = feedparser.parse(tmp_path / "reports" / "feed.atom")
    run_2_entry = next(e for e in feed.entries if e.id.endswith(":run:2"))
    assert run_2_entry.title.endswith("1 organisation changed")


def test_a_note_dated_before_the_change_does_not_clear_it(tracker: Tracker) -> None:
    edited = run_baseline_then_silent_edit(tracker)
    edited.add_change_note(datetime(2021, 12, 20, 9, 0, tzinfo=UTC), "An edit long ago.")
    tracker.publish(edited)
    tracker.run_json()
    assert document_entry(tracker, "1", "2")["silent_change"] is True
    assert history_summary(tracker, 2)["silent_changes"] == 1


MEDTECH_PATH = "/government/publications/medical-technology-support"


def publish_two_publications(server: SiteServer, site: SiteSpec) -> None:
    """Serve the guidance without its last document, and a second publication listing only it."""
    main, medtech = copy.deepcopy(site), copy.deepcopy(site)
    main.docs = main.docs[:-1]
    medtech.title, medtech.docs = "Medical technology support", medtech.docs[-1:]
    pages = render_site(main, server.base_url)
    pages[MEDTECH_PATH] = render_publication(medtech, server.base_url)
    pages[medtech.docs[0].path] = render_document(medtech, medtech.docs[0], server.base_url)
    server.pages = pages


def test_each_publication_is_named_by_its_own_stored_title(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)
    main_url, medtech_url = server.url(PUBLICATION_PATH), server.url(MEDTECH_PATH)
    config = tracker.config.read_text().replace(
        f'urls = ["{main_url}"]', f'urls = ["{main_url}", "{medtech_url}"]'
    )
    tracker.config.write_text(config)
    site = default_site("2021")
    publish_two_publications(server, site)
    assert tracker.run_json()[0] == 0
    site.docs[-1].stages[0].orgs.append(OrgSpec("Devices North", None, "<p>Helps.</p>"))
    publish_two_publications(server, site)
    assert tracker.run_json()[0] == 0

    text = tracker.cli("diff").stdout
    assert text.startswith("Medical technology support: 1 organisation added, no change note\n")
    assert "UK life sciences support" not in text
    reports = tmp_path / "reports"
    assert (
        (reports / "latest.md")
        .read_text()
        .startswith("# Medical technology support: 1 organisation added, no change note\n")
    )
    feed = feedparser.parse(reports / "feed.atom")
    assert feed.feed.title == "Medical technology support and UK life sciences support"
    assert (
        feed.entries[0].title == "Medical technology support: 1 organisation added, no change note"
    )


def test_the_first_report_lists_the_tracked_documents_and_organisations(
    server: SiteServer, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path)
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    text = tracker.cli("diff").stdout
    document = site.doc(EXPERIMENTAL)
    count = sum(len(stage.orgs) for stage in document.stages)
    assert f"  * {document.title}: {count} organisations\n" in text
    assert "      Discovery and deep research: 5\n" in text
    markdown = (tmp_path / "reports" / "latest.md").read_text()
    assert f"- {document.title}: {count} organisations\n" in markdown
    assert "The Farr Institute of Health Informatics Research" in markdown
    assert [d.title for d in site.docs if f"- {d.title}: " in markdown] == [
        d.title for d in site.docs
    ]


def test_feed_entries_link_to_the_site_page_and_the_publication(
    server: SiteServer, tmp_path: Path
) -> None:
    site_table = '\n[site]\nbase_url = "https://tracker.example.org/lifesci/"\n'
    tracker = Tracker.create(server, tmp_path, extra=site_table)
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    tracker.publish(redescribed(site))
    tracker.run_json()
    feed = feedparser.parse(tmp_path / "reports" / "feed.atom")
    assert feed.bozo == 0
    links = {entry.id.rsplit(":", 1)[1]: entry.links for entry in feed.entries}
    assert [(link.rel, link.href) for link in links["2"]] == [
        ("alternate", "https://tracker.example.org/lifesci/changes/2.html"),
        ("related", server.url(PUBLICATION_PATH)),
    ]
