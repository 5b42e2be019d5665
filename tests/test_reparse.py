"""Stored parses never go stale: after a parser change, `db reparse` (or the next run, by itself)
brings every stored version up to the new parser, so diffs between stored states show GOV.UK's
changes only, never the parser's.

The parser change is a test-only switch (`switch_parser`): the next version writes organisation
descriptions in another format and no longer lists organisations whose name starts with "The ".
Every expectation is what a fresh database, tracking the same sites with the new parser from the
start, reports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import scraper.parse
import tracker.pipeline
import tracker.reparse
from scraper.errors import LayoutChangedError
from scraper.page import HtmlDocument, Page
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer

CURRENT = scraper.parse.PARSER_VERSION  # the switch makes a version after it
EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
MEDTECH = "medical-technology"
FARR = "The Farr Institute of Health Informatics Research"


def switch_parser(
    monkeypatch: pytest.MonkeyPatch, *, reject: str | None = None
) -> Callable[[], None]:
    """Make the tracker's parser the next version (see the module docstring); `reject` a URL
    suffix the new parser fails on. Returns a function that switches back to the current one."""
    original = dict(tracker.pipeline.PARSERS)

    def version_2(parse: Callable[[Any, str], Page]) -> Callable[[Any, str], Page]:
        def parse_2(source: Any, url: str) -> Page:
            if reject and url.endswith(reject):
                raise LayoutChangedError(url, "rejected by the new parser")
            page = parse(source, url)
            if not isinstance(page, HtmlDocument):
                return page
            kept = [o for o in page.organisations if not o.name.startswith("The ")]
            organisations = tuple(
                replace(o, description=f"« {o.description} »", position=i)
                for i, o in enumerate(kept)
            )
            return replace(page, organisations=organisations)

        return parse_2

    parsers = {kind: version_2(parse) for kind, parse in original.items()}
    for module in (tracker.pipeline, tracker.reparse):
        monkeypatch.setattr(module, "PARSERS", parsers)
        monkeypatch.setattr(module, "PARSER_VERSION", CURRENT + 1)

    def back() -> None:
        for module in (tracker.pipeline, tracker.reparse):
            monkeypatch.setattr(module, "PARSERS", original)
            monkeypatch.setattr(module, "PARSER_VERSION", CURRENT)

    return back


def sites() -> tuple[SiteSpec, SiteSpec]:
    """The site, and the site after a real edit: an organisation added and one removed (one the
    new parser no longer lists), one re-described, a change note."""
    first = default_site("2021")
    second = copy.deepcopy(first)
    experimental = second.doc(EXPERIMENTAL)
    experimental.stages[1].orgs.append(
        OrgSpec("Life Sciences Hub Wales", "https://lshubwales.com", "<p>Wales.</p>")
    )
    experimental.remove_org(FARR)
    org = second.doc(MEDTECH).stages[0].orgs[0]
    org.description_html = org.description_html.replace("</p>", " Now also in Leeds.</p>", 1)
    second.add_change_note(
        second.change_notes[0][0].replace(year=2022), "Added Life Sciences Hub Wales."
    )
    return first, second


def changes(tracker_: Tracker, *refs: str) -> dict[str, Any]:
    """`diff --format json` without the run references."""
    result = tracker_.cli("diff", *refs, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return {"documents": data["documents"], "summary": data["summary"]}


def history_summaries(tracker_: Tracker) -> dict[int, Any]:
    result = tracker_.cli("history", "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["run"]: row["summary"] for row in json.loads(result.stdout)}


def run(tracker_: Tracker, site: SiteSpec, *, noise: int | None = None) -> dict[str, Any]:
    tracker_.publish(site, noise_seed=noise)
    code, result = tracker_.run_json()
    assert code == 0, result
    return result


@pytest.fixture
def reference(server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What the new parser reports from the start: the real edit, then nothing."""
    back = switch_parser(monkeypatch)
    (tmp_path / "reference").mkdir()
    fresh = Tracker.create(server, tmp_path / "reference")
    first, second = sites()
    run(fresh, first)
    found = {"edit": run(fresh, second)["summary"], "diff": changes(fresh, "latest~1", "latest")}
    back()
    return found


@pytest.mark.parametrize("how", ["db reparse", "the next run"])
def test_after_a_parser_change_diffs_show_only_real_changes(
    server: SiteServer,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: Any,
    how: str,
) -> None:
    tracker_ = Tracker.create(server, tmp_path, database_url=database_url)
    first, second = sites()
    run(tracker_, first, noise=1)
    run(tracker_, first, noise=2)
    old_edit = run(tracker_, second)["summary"]
    assert old_edit["organisations_removed"] == 1  # the old parser lists The Farr Institute

    switch_parser(monkeypatch)
    if how == "db reparse":
        result = tracker_.cli("db", "reparse")
        assert result.exit_code == 0, result.output
        # 8 pages, a second version of the 2 edited documents and the publication; the
        # publications' content is the same to the new parser
        assert result.stdout.startswith("11 versions re-parsed (9 changed, 2 unchanged)")
        assert "3 run summaries rebuilt" in result.stdout
        again = tracker_.cli("db", "reparse")
        assert again.stdout.startswith("0 versions re-parsed"), again.output
    latest = run(tracker_, second, noise=3)

    assert latest["summary"] == changes(tracker_, "3", "3")["summary"]  # nothing changed
    assert latest["pages"]["changed"] == 0
    assert changes(tracker_, "1", "2") == changes(tracker_, "3", "4")
    assert not changes(tracker_, "1", "2")["documents"]
    assert changes(tracker_, "2", "3") == reference["diff"]
    assert changes(tracker_, "1", "4") == reference["diff"]
    summaries = history_summaries(tracker_)
    assert summaries[3] == reference["edit"]  # history shows what the new parser finds
    assert summaries[3]["organisations_removed"] == 0


def test_the_run_says_it_re_parsed(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_ = Tracker.create(server, tmp_path)
    first, _ = sites()
    run(tracker_, first)
    switch_parser(monkeypatch)
    tracker_.publish(first)
    result = tracker_.cli("run")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, result.stderr
    assert "8 stored versions come from an older parser" in warnings[0]
    assert "8 versions re-parsed (7 changed, 1 unchanged)" in warnings[1]
    quiet = tracker_.cli("run")
    assert "WARNING" not in quiet.stderr


def test_a_page_whose_body_was_pruned_is_re_baselined_without_reporting_the_parser(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_ = Tracker.create(server, tmp_path)
    first, _ = sites()
    run(tracker_, first)
    engine = create_engine(f"sqlite:///{tmp_path}/tracker.db")
    with engine.begin() as connection:  # as if its raw body had been pruned
        connection.execute(
            text(
                "UPDATE page_version SET blob_sha256 = NULL WHERE page_id IN "
                "(SELECT id FROM page WHERE url LIKE :url)"
            ),
            {"url": f"%{EXPERIMENTAL}"},
        )
    engine.dispose()
    edited = copy.deepcopy(first)
    org = edited.doc(MEDTECH).stages[0].orgs[0]
    org.description_html = org.description_html.replace("</p>", " Now also in Leeds.</p>", 1)

    switch_parser(monkeypatch)
    tracker_.publish(edited)
    tracker_.server.etags = False  # a 304 would keep the old version
    result = tracker_.cli("run", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert "new baseline" in result.stderr
    assert found["pages"]["changed"] == 2  # the edited document, and the re-baselined one
    assert found["summary"]["documents_changed"] == 1
    documents = changes(tracker_, "latest~1", "latest")["documents"]
    assert [d["url"].rpartition("/")[2] for d in documents] == [MEDTECH]
    assert list(documents[0]["organisations"]["changed"][0]["changes"]) == ["description"]
    code, later = tracker_.run_json()
    assert (code, later["summary"]["documents_changed"]) == (0, 0)
    # The site tells the same story: the re-baselined document has no change set of its own.
    built = tracker_.cli("site", "build", str(tmp_path / "site"))
    assert built.exit_code == 0, built.output
    change_page = (tmp_path / "site" / "changes" / f"{found['run']}.html").read_text("utf-8")
    assert "Now also in Leeds." in change_page
    assert "Experimental medicine and clinical trials" not in change_page


def test_a_version_the_new_parser_rejects_keeps_its_content_and_is_not_retried(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_ = Tracker.create(server, tmp_path)
    first, _ = sites()
    run(tracker_, first)
    before = tracker_.cli("orgs", "--format", "json").stdout
    switch_parser(monkeypatch, reject=MEDTECH)
    result = tracker_.cli("db", "reparse")
    assert result.exit_code == 0, result.output
    assert "7 versions re-parsed" in result.stdout
    assert "1 rejected by the current parser" in result.stdout
    again = tracker_.cli("db", "reparse").stdout
    assert again.startswith("0 versions re-parsed"), again  # not tried again
    assert "1 rejected by the current parser" in again
    medtech = [o for o in json.loads(before) if o["document_url"].endswith(MEDTECH)]
    after = json.loads(tracker_.cli("orgs", "--format", "json").stdout)
    assert [o for o in after if o["document_url"].endswith(MEDTECH)] == medtech


def test_a_re_parse_stopped_midway_leaves_each_page_consistent_and_finishes_next_time(
    server: SiteServer,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: Any,
) -> None:
    tracker_ = Tracker.create(server, tmp_path, database_url=database_url)
    first, second = sites()
    run(tracker_, first)
    run(tracker_, second)
    switch_parser(monkeypatch)
    real = tracker.reparse._reparse_version
    calls: list[int] = []

    def dies_on_the_sixth(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt  # killed in the middle of a page's versions
        real(*args)

    monkeypatch.setattr(tracker.reparse, "_reparse_version", dies_on_the_sixth)
    assert tracker_.cli("db", "reparse").exit_code != 0
    engine = create_engine(database_url)
    with engine.connect() as connection:
        versions = connection.execute(
            text("SELECT page_id, parser_version FROM page_version ORDER BY id")
        ).all()
        missing = connection.execute(
            text("SELECT count(*) FROM run WHERE summary_json IS NULL")
        ).scalar_one()
    engine.dispose()
    by_page: dict[int, set[int]] = {}
    for page_id, parser_version in versions:
        by_page.setdefault(page_id, set()).add(parser_version)
    assert all(len(found) == 1 for found in by_page.values()), by_page  # all old or all new
    assert {CURRENT + 1} in by_page.values()  # some pages were done
    assert {CURRENT} in by_page.values()  # others not yet
    assert missing > 0  # summaries to rebuild are marked, not lost

    monkeypatch.setattr(tracker.reparse, "_reparse_version", real)
    finished = tracker_.cli("db", "reparse")
    assert finished.exit_code == 0, finished.output
    assert "0 rejected" in finished.stdout
    assert changes(tracker_, "1", "2") == reference["diff"]
    assert history_summaries(tracker_)[2] == reference["edit"]
