"""Switching markup era between two runs is never a change (issue 18), end to end.

The site is served in one era, tracked, then served with the same content in the next era (as
GOV.UK did in January/February 2017, in 2018 and in 2025, and as an archive's captures do across
those dates), tracked again: every page is "unchanged", no version is written, no change reported.
"""

from __future__ import annotations

from pathlib import Path

from storage.tables import PageVersion
from tests.e2e import Tracker
from tests.govuk_site import ERAS, default_site
from tests.site_server import SiteServer
from tests.test_tracking_run import count


def _versions(database_url: str) -> int:
    return count(database_url, PageVersion)


def test_switching_era_between_runs_is_no_change(
    server: SiteServer, database_url: str, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path, database_url=database_url)
    spec = default_site(ERAS[0])
    tracker.publish(spec)
    code, first = tracker.run_json()
    assert code == 0, first
    assert first["pages"]["new"] == 8
    versions = _versions(database_url)
    for era in ERAS[1:]:
        spec.era = era
        tracker.publish(spec, noise_seed=len(era))
        code, summary = tracker.run_json()
        assert code == 0, (era, summary)
        assert summary["pages"]["unchanged"] == 8, (era, summary["pages"])
        assert (summary["pages"]["new"], summary["pages"]["changed"]) == (0, 0)
        assert not any(summary["summary"].values()), (era, summary["summary"])
        assert summary["problems"] == []
        assert _versions(database_url) == versions


def test_switching_back_to_an_older_era_is_no_change_either(
    server: SiteServer, database_url: str, tmp_path: Path
) -> None:
    tracker = Tracker.create(server, tmp_path, database_url=database_url)
    spec = default_site("current")
    for era in ("current", "2015", "2021", "2017"):
        spec.era = era
        tracker.publish(spec)
        code, summary = tracker.run_json()
        assert code == 0, (era, summary)
        assert summary["pages"]["changed"] == 0
    assert _versions(database_url) == 8
