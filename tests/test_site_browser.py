"""The change-history site in a real browser (Debian's Chromium through Playwright).

The site is built from a store that went through eight real states (tests/site_history.py) and
served over HTTP on 127.0.0.1, as any static host would serve it. Without Chromium these tests
skip, or fail when LIFESCI_TRACKER_REQUIRE_BROWSER=1 (`.ci/run` sets it).
"""

from __future__ import annotations

import json
import shutil
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest
from bs4 import BeautifulSoup

from tests import browser as browser_module
from tests import golden
from tests.browser import ACCESSIBILITY_PROBLEMS, chromium, serve_folder
from tests.e2e import Tracker
from tests.site_history import (
    EXPERIMENTAL,
    MARKUP_NAME,
    NEW_NAME,
    OLD_NAME,
    REMOVED_DOCUMENT,
    record_history,
)
from tests.site_server import serve

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
EXPERIMENTAL_TITLE = "Experimental medicine and clinical trials"
REGULATION = "Regulation and assessment"


@dataclass
class BuiltSite:
    """The history's store, the site built from it, and where it is served."""

    tracker: Tracker
    folder: Path
    base_url: str
    govuk_url: str  # the loopback GOV.UK site the history was tracked from
    listed: list[dict[str, Any]] = field(default_factory=list)  # `orgs --format json` now

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltSite]:
    folder = tmp_path_factory.mktemp("browser")
    with serve() as govuk:
        tracker = Tracker.create(govuk, folder, extra="enabled = false")
        record_history(tracker)
        result = tracker.cli("site", "build", str(folder / "site"))
        assert result.exit_code == 0, result.output
        listed = json.loads(tracker.cli("orgs", "--format", "json").stdout)
        with serve_folder(folder / "site") as base_url:
            yield BuiltSite(tracker, folder / "site", base_url, govuk.base_url, listed)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@dataclass
class Visit:
    """What loading one page showed: the problems found, and the links it holds."""

    problems: list[str]
    links: list[str]


class Checker:
    """One tab that loads pages and notes console errors, failed requests, overflow and
    accessibility problems of each."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.note(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.note(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.note(f"request failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.note(f"{r.status}: {r.url}"))

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def visit(self, url: str) -> Visit:
        self.problems = []
        response = self.page.goto(url)
        if response is None or response.status != 200:
            self.note(f"status {response.status if response else None}")
        overflow = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        if self.page.evaluate(overflow):
            self.note("overflows horizontally")
        self.problems += self.page.evaluate(ACCESSIBILITY_PROBLEMS)
        links = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        return Visit(self.problems, links)


def html_pages(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.html")}


def redirect_pages(folder: Path) -> set[str]:
    return {
        path
        for path in html_pages(folder)
        if 'http-equiv="refresh"' in (folder / path).read_text(encoding="utf-8")
    }


def test_a_crawl_from_the_index_reaches_every_page_at_phone_width_and_each_is_clean(
    built: BuiltSite, browser: Any
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    checker = Checker(context)
    found: dict[str, list[str]] = {}
    fragments: set[tuple[str, str]] = set()
    files: set[str] = set()
    queue = deque(["index.html"])
    seen = {"index.html"}
    while queue:
        path = queue.popleft()
        result = checker.visit(built.url(path))
        found[path] = result.problems
        for link in result.links:
            target, fragment = urldefrag(link)
            if not target.startswith(built.base_url):
                continue  # GOV.UK and organisations' own sites: not ours
            local = target.removeprefix(built.base_url)
            if fragment:
                fragments.add((local, fragment))
            if not local.endswith(".html"):
                files.add(local)
            elif local not in seen:
                seen.add(local)
                queue.append(local)
    context.close()
    assert {path: problems for path, problems in found.items() if problems} == {}
    assert set(found) == html_pages(built.folder) - redirect_pages(built.folder)
    assert files == {"organisations.csv", "changes.json", "feed.atom"}
    assert all((built.folder / name).is_file() for name in files)
    for path, fragment in fragments:
        soup = BeautifulSoup((built.folder / path).read_text(encoding="utf-8"), "html.parser")
        assert soup.find(id=fragment) is not None, f"{path}#{fragment} points nowhere"


def test_pages_pass_the_accessibility_checks_at_desktop_width_too(
    built: BuiltSite, browser: Any
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    samples = [
        "index.html",
        "changes/index.html",
        "changes/4.html",
        "changes/8.html",
        "states/6.html",
        f"documents/{EXPERIMENTAL}.html",
        "organisations/index.html",
        "organisations/health-research-authority-hra.html",
        "downloads.html",
    ]
    checker = Checker(context)
    problems = {path: checker.visit(built.url(path)).problems for path in samples}
    context.close()
    assert problems == {path: [] for path in samples}


def visible_names(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "section.group li:not([hidden]) a",
        "links => links.filter(a => a.offsetParent !== null).map(a => a.textContent)",
    )


def test_the_search_box_filters_by_name_stage_and_document(built: BuiltSite, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(built.url("organisations/index.html"))
    everyone = len(visible_names(page))
    page.get_by_label("Name").fill("research")
    page.get_by_label("Document").select_option(EXPERIMENTAL_TITLE)
    expected = {
        o["name"]
        for o in built.listed
        if o["document"] == EXPERIMENTAL_TITLE and "research" in o["name"].casefold()
    }
    assert set(visible_names(page)) == expected
    assert len(expected) >= 4
    status = page.locator("#search-status").text_content()
    assert status == f"{len(visible_names(page))} listings match"
    page.get_by_label("Name").fill("")
    page.get_by_label("Document").select_option("")
    page.get_by_label("Stage or section").select_option(REGULATION)
    before_removal = json.loads(built.tracker.cli("orgs", "5", "--format", "json").stdout)
    now = {o["name"] for o in built.listed}
    former = {
        o["name"]
        for o in before_removal
        if o["stage"] == REGULATION
        and o["name"] not in now
        and REMOVED_DOCUMENT in o["document_url"]
    }
    assert former  # the removed document listed regulators found nowhere else
    assert (
        set(visible_names(page))
        == {o["name"] for o in built.listed if o["stage"] == REGULATION} | former
    )
    page.get_by_label("Stage or section").select_option("")
    assert len(visible_names(page)) == everyone
    assert page.locator("#search-status").text_content() == ""
    page.goto(built.url("organisations/index.html?q=catapult"))
    assert set(visible_names(page)) == {o["name"] for o in built.listed if "Catapult" in o["name"]}
    page.close()


def test_without_javascript_every_organisation_shows_and_the_form_stays_hidden(
    built: BuiltSite, browser: Any
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(built.url("organisations/index.html"))
    assert not page.locator("#organisation-search").is_visible()
    items = page.locator("section.group li")
    assert items.count() == len(visible_names(page)) > 40
    context.close()


def test_an_organisation_timeline_shows_exactly_its_changes(built: BuiltSite, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(built.url("organisations/health-research-authority-hra.html"))
    assert page.locator("ol.timeline .event-text").all_text_contents() == [
        f"Listed in {EXPERIMENTAL_TITLE}, under Regulation and assessment",
        "Moved from Regulation and assessment to Development and translation",
    ]
    assert page.locator("ol.timeline time").all_text_contents() == [
        "2026-03-01 10:00 UTC",
        "2026-03-04 10:00 UTC",
    ]
    page.locator("ol.timeline a").nth(1).click()
    assert page.url == built.url("changes/4.html")
    assert "Health Research Authority (HRA) moved from" in page.locator("main").inner_text()
    page.close()


def test_the_renamed_organisation_is_reached_by_its_old_and_its_new_name(
    built: BuiltSite, browser: Any
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    canonical = built.url("organisations/association-of-medical-research-charities-amrc.html")
    for path in (
        "organisations/association-of-medical-research-charities-amrc.html",
        "organisations/association-of-medical-research-charities.html",
    ):
        page.goto(built.url(path))
        page.wait_for_url(canonical)
        assert page.locator("h1").inner_text() == NEW_NAME
        assert f"Formerly listed as: {OLD_NAME}" in page.locator("main").inner_text()
    page.close()


def test_markup_in_an_organisation_name_stays_text(built: BuiltSite, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(built.url("organisations/index.html"))
    page.get_by_role("link", name=MARKUP_NAME).click()
    assert page.locator("h1").inner_text() == MARKUP_NAME
    assert page.evaluate("document.scripts.length") == 0
    page.goto(built.url(f"documents/{EXPERIMENTAL}.html"))
    assert MARKUP_NAME in page.locator("main").inner_text()
    assert dialogs == []
    page.close()


def test_the_skip_link_and_focus_are_visible_from_the_keyboard(
    built: BuiltSite, browser: Any
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(built.url("index.html"))
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth,"
        " s.backgroundColor]; })()"
    )
    assert focused == ["A", "solid", "3px", "rgb(255, 221, 0)"]
    page.close()


def test_print_leaves_out_the_navigation(built: BuiltSite, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.emulate_media(media="print")
    page.goto(built.url("changes/4.html"))
    assert not page.locator("header.masthead").is_visible()
    assert not page.locator("nav.pager").first.is_visible()
    assert page.locator("h1").is_visible()
    page.close()


def test_screenshots_desktop_and_phone(built: BuiltSite, browser: Any, tmp_path: Path) -> None:
    """Take the README's screenshots; `pytest --update-golden` writes them to docs/screenshots.

    They show a copy of the site whose loopback GOV.UK addresses read www.gov.uk, as in real use.
    """
    copy = tmp_path / "site"
    shutil.copytree(built.folder, copy)
    for path in copy.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(built.govuk_url, "https://www.gov.uk"), encoding="utf-8")
    shots = {
        "desktop-index.png": (DESKTOP, "index.html"),
        "desktop-change-set.png": (DESKTOP, "changes/2.html"),
        "desktop-organisation.png": (
            DESKTOP,
            "organisations/association-of-medical-research-charities-amrc.html",
        ),
        "phone-organisations.png": (PHONE, "organisations/index.html?q=catapult"),
        "phone-change-set.png": (PHONE, "changes/7.html"),
    }
    with serve_folder(copy) as base_url:
        for name, (viewport, path) in shots.items():
            page = browser.new_page(viewport=viewport)
            page.goto(base_url + path)
            page.screenshot(path=str(tmp_path / name), full_page=viewport is PHONE)
            page.close()
            assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    if golden.updating():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in shots:
            shutil.copyfile(tmp_path / name, SCREENSHOTS / name)


def test_a_missing_browser_skips_unless_it_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_module, "chromium_path", lambda: None)
    monkeypatch.delenv("LIFESCI_TRACKER_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception), chromium():
        pass
    monkeypatch.setenv("LIFESCI_TRACKER_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="LIFESCI_TRACKER_REQUIRE_BROWSER"), chromium():
        pass
