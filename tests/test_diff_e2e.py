"""The query commands end to end: run, edit the site, run, and ask what changed."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import Tracker
from tests.govuk_site import PUBLICATION_PATH, OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"
NOTE = "Added Bioindustry Catalyst North and removed The Farr Institute."
ADDED = "Bioindustry Catalyst North"
FARR = "The Farr Institute of Health Informatics Research"
CPRD = "Clinical Practice Research Datalink (CPRD)"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture
def tracker(server: SiteServer, tmp_path: Path) -> Tracker:
    return Tracker.create(server, tmp_path, extra="enabled = false")


def edited(site: SiteSpec) -> SiteSpec:
    """One organisation added, one removed, one re-described, one new change note."""
    new = copy.deepcopy(site)
    document = new.doc(EXPERIMENTAL)
    document.stages[0].orgs.append(
        OrgSpec(
            ADDED,
            "https://catalyst-north.example/",
            '<p><a rel="external" href="https://catalyst-north.example/">Catalyst North</a> '
            "funds early clinical studies in the north of England.</p>",
        )
    )
    document.remove_org(FARR)
    _, cprd = document.find(CPRD)
    cprd.description_html = cprd.description_html.replace("</p>", " It now covers devices.</p>", 1)
    new.add_change_note(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), NOTE)
    return new


def run_twice(tracker: Tracker, site: SiteSpec) -> None:
    tracker.publish(site)
    assert tracker.run_json()[0] == 0
    tracker.publish(edited(site))
    assert tracker.run_json()[0] == 0


def stored_org(tracker: Tracker, ref: str, name: str) -> dict[str, Any]:
    rows = json.loads(tracker.cli("orgs", ref, "--format", "json").stdout)
    return next(row for row in rows if row["name"] == name)


def test_diff_json_is_exactly_the_expected_document(tracker: Tracker) -> None:
    site = default_site("2021")
    run_twice(tracker, site)
    result = tracker.cli("diff", "--format", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert TIME.match(got["from"].pop("at"))
    assert TIME.match(got["to"].pop("at"))
    publication_url = tracker.server.url(PUBLICATION_PATH)
    document_url = tracker.server.url(f"{PUBLICATION_PATH}/{EXPERIMENTAL}")
    farr = stored_org(tracker, "1", FARR)
    added = stored_org(tracker, "2", ADDED)
    cprd_before = stored_org(tracker, "1", CPRD)["description"]
    cprd_after = stored_org(tracker, "2", CPRD)["description"]
    assert cprd_after != cprd_before
    assert "It now covers devices." in cprd_after
    expected = {
        "from": {"run": 1},
        "to": {"run": 2},
        "documents": [
            {
                "url": publication_url,
                "title": "UK life sciences support",
                "kind": "publication",
                "status": "changed",
                "metadata": {"last_updated": ["2021-12-01", "2026-11-20"]},
                "updates": {"added": [{"date": "2026-11-20", "note": NOTE}], "removed": []},
            },
            {
                "url": document_url,
                "title": "Experimental medicine and clinical trials",
                "kind": "html_document",
                "status": "changed",
                "metadata": {},
                "organisations": {
                    "added": [
                        {
                            "name": ADDED,
                            "url": "https://catalyst-north.example/",
                            "stage": "Discovery and deep research",
                            "description": added["description"],
                        }
                    ],
                    "removed": [
                        {
                            "name": FARR,
                            "url": farr["url"],
                            "stage": "Discovery and deep research",
                            "description": farr["description"],
                        }
                    ],
                    "changed": [
                        {"name": CPRD, "changes": {"description": [cprd_before, cprd_after]}}
                    ],
                },
                "silent_change": False,
                "text_diff": None,
            },
        ],
        "summary": {
            "documents_changed": 1,
            "organisations_added": 1,
            "organisations_removed": 1,
            "organisations_changed": 1,
            "updates_added": 1,
            "silent_changes": 0,
        },
    }
    assert got == expected


def test_refs_by_id_latest_and_date_name_the_same_states(tracker: Tracker) -> None:
    run_twice(tracker, default_site("2021"))
    by_default = json.loads(tracker.cli("diff", "--format", "json").stdout)
    by_id = json.loads(tracker.cli("diff", "1", "2", "--format", "json").stdout)
    by_latest = json.loads(tracker.cli("diff", "latest~1", "latest", "--format", "json").stdout)
    by_date = json.loads(tracker.cli("diff", "1", "2099-01-01", "--format", "json").stdout)
    assert by_default == by_id == by_latest == by_date
    same = json.loads(tracker.cli("diff", "latest", "latest", "--format", "json").stdout)
    assert same["documents"] == []


def test_orgs_and_updates_agree_with_the_stored_state(tracker: Tracker) -> None:
    run_twice(tracker, default_site("current"))
    names_then = {
        row["name"] for row in json.loads(tracker.cli("orgs", "1", "--format", "json").stdout)
    }
    names_now = {row["name"] for row in json.loads(tracker.cli("orgs", "--format", "json").stdout)}
    assert names_now - names_then == {ADDED}
    assert names_then - names_now == {FARR}
    experimental_now = json.loads(
        tracker.cli("orgs", "--document", "Experimental", "--format", "json").stdout
    )
    assert FARR not in {row["name"] for row in experimental_now}
    discovery = json.loads(
        tracker.cli(
            "orgs", "--stage", "Discovery", "--document", "Experimental", "--format", "json"
        ).stdout
    )
    assert {row["stage"] for row in discovery} == {"Discovery and deep research"}
    updates = json.loads(tracker.cli("updates", "--format", "json").stdout)
    assert updates["updates"][0] == {
        "publication": "UK life sciences support",
        "date": "2026-11-20",
        "note": NOTE,
    }
    assert len(updates["updates"]) == 4
    assert len(updates["documents"]) == 7
    csv_text = tracker.cli("orgs", "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "document,stage,name,url,description,links,document_url"


def test_text_output_names_each_change_in_words(tracker: Tracker) -> None:
    run_twice(tracker, default_site("2021"))
    result = tracker.cli("diff")
    assert result.exit_code == 0
    text = result.stdout
    assert "\x1b[" not in text  # no colour when not on a terminal
    assert f"{CPRD}: description changed" in text
    assert ADDED in text
    assert FARR in text
    assert NOTE in text
    assert tracker.cli("diff", "--exit-code").exit_code == 1
    assert tracker.cli("diff", "latest", "latest", "--exit-code").exit_code == 0


def test_switching_markup_era_with_the_same_content_gives_an_empty_diff(tracker: Tracker) -> None:
    tracker.publish(default_site("2021"))
    tracker.run_json()
    tracker.publish(default_site("current"))
    code, result = tracker.run_json()
    assert code == 0
    assert result["pages"]["changed"] == 0
    diff = json.loads(tracker.cli("diff", "--format", "json").stdout)
    assert diff["documents"] == []


def test_a_move_between_stages_is_one_change(tracker: Tracker) -> None:
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    moved = copy.deepcopy(site)
    document = moved.doc(EXPERIMENTAL)
    document.move_org("Health Research Authority (HRA)", document.stages[1].heading)
    tracker.publish(moved)
    tracker.run_json()
    text = tracker.cli("diff").stdout
    assert (
        "Health Research Authority (HRA) moved from Regulation and assessment "
        "to Development and translation" in text
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "999", "latest"], "error: no run with id 999"),
        (["diff", "2001-01-01", "latest"], "error: 2001-01-01: before the first stored run"),
        (["diff", "last week"], "error: not a ref: 'last week'"),
        (["orgs", "latest~9"], "error: latest~9: only 1 finished run(s) stored"),
    ],
)
def test_a_bad_ref_is_one_line_and_exit_2(tracker: Tracker, args: list[str], message: str) -> None:
    tracker.publish(default_site("2021"))
    tracker.run_json()
    result = tracker.cli(*args)
    assert result.exit_code == 2
    assert result.output.strip().startswith(message)
    assert len(result.output.strip().splitlines()) == 1


def test_an_empty_database_is_one_line_and_exit_2(tracker: Tracker) -> None:
    assert tracker.cli("db", "upgrade").exit_code == 0  # the schema, and no runs
    for command in (["diff"], ["orgs"], ["updates"]):
        result = tracker.cli(*command)
        assert result.exit_code == 2, command
        assert result.output == "error: no runs stored yet: run `lifesci-tracker run` first\n"
    history = tracker.cli("history")
    assert (history.exit_code, history.output) == (0, "no runs stored yet\n")


def test_history_lists_runs_newest_first(tracker: Tracker) -> None:
    run_twice(tracker, default_site("2021"))
    rows = json.loads(tracker.cli("history", "--format", "json").stdout)
    assert [row["run"] for row in rows] == [2, 1]
    assert rows[0]["status"] == "ok"
    assert rows[0]["trigger"] == "manual"
    assert rows[0]["summary"]["organisations_added"] == 1
    assert rows[0]["pages"]["changed"] == 2
    table = tracker.cli("history").stdout.splitlines()
    assert table[0].split()[:3] == ["run", "started", "(UTC)"]
    assert "+1 -1 ~1" in table[2]
