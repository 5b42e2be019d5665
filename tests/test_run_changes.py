"""The end-of-run diff with few pages decoded (issue 8): `run_changes` equals `changes_for_run`.

`run_changes` drops pages whose version is the same in both states; its changeset and counts must
be exactly those of the full states, run after run: added, removed and re-listed documents,
changed organisations, change notes, a markup era switch, an unchanged run.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from changes import State, diff
from changes.changeset import summary_to_dict
from changes.inventory import outline
from scraper.page import HtmlDocument
from storage.db import create_db_engine, make_sessionmaker
from storage.tables import Run
from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, SiteSpec, default_site
from tests.site_server import SiteServer
from tracker.states import changes_for_run, count_stored, run_changes

EXPERIMENTAL = "experimental-medicine-and-clinical-trials"


def _sites() -> list[SiteSpec]:
    base = default_site("2021")
    base.docs.reverse()  # Documents-list order is not URL order: the diff orders by the list
    edited = copy.deepcopy(base)
    edited.doc(EXPERIMENTAL).stages[0].orgs.append(
        OrgSpec("Catalyst North", "https://catalyst-north.example/", "<p>Funds studies.</p>")
    )
    edited.add_change_note(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "Added Catalyst North.")
    delisted = copy.deepcopy(edited)
    delisted.docs.pop()  # a document no longer listed: removed from the state
    relisted = copy.deepcopy(edited)
    era = copy.deepcopy(relisted)
    era.era = "current"
    silent = copy.deepcopy(era)  # a document changed, no change note: a silent change
    for doc in (silent.doc(EXPERIMENTAL), silent.docs[0], silent.docs[-1]):
        doc.stages[0].orgs[0].description_html = "<p>Now something else.</p>"
    return [base, base, edited, delisted, relisted, era, era, silent]


def test_run_changes_equals_the_full_diff(server: SiteServer, tmp_path: Path) -> None:
    tracker = Tracker.create(server, tmp_path, extra="enabled = false")
    for site in _sites():
        tracker.publish(site)
        assert tracker.run_json()[0] == 0
    engine = create_db_engine(f"sqlite:///{tmp_path}/tracker.db")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        assert len(runs) == len(_sites())
        for run in runs:
            with sessions() as fresh:  # no versions decoded yet
                found = run_changes(fresh, fresh.get_one(Run, run.id))
            changeset, state = changes_for_run(session, run)
            assert found.changeset == changeset
            if run.id == runs[0].id:  # a baseline given the outlines its run stored
                outlines = {url: outline(page) for url, page in state.pages.items()}
                with sessions() as fresh:
                    given = run_changes(fresh, fresh.get_one(Run, run.id), outlines)
                assert given.changeset == changeset
                assert given.organisations == found.organisations
            assert run.summary_json is not None  # what the run itself recorded
            assert json.loads(run.summary_json) == summary_to_dict(changeset.summary)
            assert (found.organisations, found.updates) == count_stored(state.pages)
            assert found.page_count == len(state.pages)
            assert not diff(state, state).documents  # what run_changes leaves out
        changesets = [changes_for_run(session, run)[0] for run in runs]
        assert changesets[-1].summary.silent_changes == 3
        assert any(entry.status == "removed" for entry in changesets[3].documents)
    engine.dispose()


def test_a_document_with_duplicate_organisations_does_not_diff_itself() -> None:
    from tests.pages import make_document, make_organisation

    twin = make_organisation("Twin")
    other = make_organisation("Twin", url=None, description="Another one.")
    page = make_document("Twins", organisations=[twin, other, twin, other])
    assert isinstance(page, HtmlDocument)
    state = State(run=1, at=None, pages={page.url: page})
    assert not diff(state, State(run=2, at=None, pages={page.url: page})).documents
