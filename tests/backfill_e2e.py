"""Helpers for end-to-end backfill tests: a tracker whose live runs track a loopback GOV.UK site
and whose `[archive]` is the fake archive (tests/fake_archive.py) holding copies of that site.

Live runs go through the real pipeline with a fixed clock (`live_run`), so the scripted history's
first live run is at its time (2022-01-10 07:00 UTC); `backfill` goes through the real CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from scraper.archive import ArchiveSettings
from storage.tables import Page as PageRow
from storage.tables import PageVersion, Run
from tests.e2e import config_text as e2e_config_text
from tests.fake_archive import FakeArchive, History
from tests.govuk_site import SiteSpec, render_site
from tests.site_server import SiteServer
from tracker.app import fetcher_factory, make_http_session, open_database
from tracker.cli import cli
from tracker.config import load_config
from tracker.pipeline import run_once


def config_text(
    site: SiteServer, archive: ArchiveSettings, database_url: str, folder: Path, extra: str = ""
) -> str:
    """A config that tracks the loopback site and backfills from the fake archive, fast."""
    archive_section = f"""formats = ["text", "json"]

[archive]
cdx_url = "{archive.cdx_url}"
replay_url = "{archive.replay_url}"
allowed_hosts = ["127.0.0.1"]
requests_per_second = {archive.requests_per_second:g}
timeout_s = 10
retries = 3
{extra}"""
    return e2e_config_text(
        site, database_url, reports_dir=folder / "reports", extra=archive_section, timeout_s=10
    )


@dataclass
class Backfiller:
    """A configured tracker, its loopback site and its fake archive."""

    site: SiteServer
    archive: FakeArchive
    history: History
    config: Path

    @classmethod
    def create(
        cls,
        site: SiteServer,
        archive: FakeArchive,
        history: History,
        folder: Path,
        database_url: str,
        extra: str = "",
    ) -> Backfiller:
        """Write the config in `folder` and install the scripted history on the archive."""
        history.install(archive)
        config = folder / "config.toml"
        config.write_text(
            config_text(site, archive.settings(), database_url, folder, extra), encoding="utf-8"
        )
        return cls(site, archive, history, config)

    def cli(self, *args: str) -> Result:
        """Invoke `lifesci-tracker --config <config> ARGS` in-process."""
        return CliRunner().invoke(
            cli, ["--config", str(self.config), *args], env={"LIFESCI_TRACKER_DATABASE_URL": ""}
        )

    def json(self, *args: str) -> Any:
        """Invoke a command that prints JSON; return what it printed (it must exit 0)."""
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def backfill(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run `backfill --json ARGS`; return its exit code and what it printed."""
        result = self.cli("backfill", "--json", *args)
        assert "Traceback" not in result.output, result.output
        assert result.stdout.strip().startswith("{"), result.output
        return result.exit_code, json.loads(result.stdout)

    def live_run(self, spec: SiteSpec, at: datetime) -> int:
        """Serve `spec` on the site and track it in a live run that starts at `at`."""
        self.site.pages = render_site(spec, self.site.base_url)
        config = load_config(str(self.config), environ={})
        database = open_database(config, create=True)
        try:
            with make_http_session() as http:
                result = run_once(
                    config,
                    sessions=database.sessions,
                    http=http,
                    fetcher_factory=fetcher_factory(config),
                    report=False,
                    clock=lambda: at,
                )
        finally:
            database.engine.dispose()
        assert result.exit_code == 0, result.pages
        return result.run_id

    def letters(self) -> dict[str, str]:
        """The scripted pages' URLs, each with its letter (P, A to D)."""
        return {self.history.publication_url: "P"} | {
            url: letter for letter, url in self.history.document_urls.items()
        }

    def versions_by_run(self) -> dict[int, list[str]]:
        """Which pages (letters) each run stored a version of."""
        config = load_config(str(self.config), environ={})
        database = open_database(config, create=False)
        letters = self.letters()
        try:
            with database.sessions() as session:
                rows = session.execute(
                    select(PageVersion.run_id, PageRow.url)
                    .join(PageRow, PageRow.id == PageVersion.page_id)
                    .order_by(PageVersion.run_id, PageVersion.id)
                ).all()
                runs = session.scalars(select(Run.id)).all()
        finally:
            database.engine.dispose()
        found: dict[int, list[str]] = {run_id: [] for run_id in runs}
        for run_id, url in rows:
            found[run_id].append(letters.get(url, url))
        return found


def readable_changes(data: dict[str, Any], letters: dict[str, str]) -> dict[str, Any]:
    """A `diff --format json` document, compact: pages as letters, organisations by name."""
    entries = []
    for entry in data["documents"]:
        item: dict[str, Any] = {"page": letters.get(entry["url"], entry["url"])}
        item["status"] = entry["status"]
        if entry["metadata"]:
            item["metadata"] = sorted(entry["metadata"])
        if "updates" in entry and (entry["updates"]["added"] or entry["updates"]["removed"]):
            item["notes_added"] = [u["note"] for u in entry["updates"]["added"]]
            item["notes_removed"] = [u["note"] for u in entry["updates"]["removed"]]
        if "organisations" in entry:
            organisations = entry["organisations"]
            for key in ("added", "removed"):
                if organisations[key]:
                    item[key] = [o["name"] for o in organisations[key]]
            if organisations["changed"]:
                changed = organisations["changed"]
                item["changed"] = {o["name"]: sorted(o["changes"]) for o in changed}
            item["silent_change"] = entry["silent_change"]
        entries.append(item)
    return {
        "from": data["from"],
        "to": data["to"],
        "documents": entries,
        "first_seen": [letters[d["url"]] for d in data.get("first_seen", [])],
        "summary": data["summary"],
    }
