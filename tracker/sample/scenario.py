"""The demo's story: the sample publication in four states, each a step `lifesci-tracker demo`
serves and tracks.

1. As it stands (the 2021 page templates): the first run is a baseline.
2. The same guidance in today's page templates: GOV.UK's new markup, with fresh per-request noise
   (the server adds it), is not a change.
3. GOV.UK edits "Experimental medicine and clinical trials" and says so in a change note: an
   organisation added, one removed, one renamed, one moved to another stage, one re-described.
4. A silent change: an organisation's web address edited in "Digital health and care", no note.

The names are constants so a test can check that the demo's output names each of them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from tracker.sample.content import default_site
from tracker.sample.spec import OrgSpec, SiteSpec

EDITED_DOCUMENT = "experimental-medicine-and-clinical-trials"
ADDED = "Bioindustry Catalyst North"
ADDED_DESCRIPTION = "Funds early clinical studies in the north of England."
REMOVED = "The Farr Institute of Health Informatics Research"
REDESCRIBED = "Clinical Practice Research Datalink (CPRD)"
REDESCRIBED_SENTENCE = "It now covers devices."
MOVED = "Health Research Authority (HRA)"
RENAMED_FROM = "Association of Medical Research Charities (AMRC)"
RENAMED_TO = "Association of Medical Research Charities"
CHANGE_NOTE = "Added Bioindustry Catalyst North; removed The Farr Institute."
SILENT_DOCUMENT = "digital-health-and-care"
SILENT = "DigitalHealth.London"
SILENT_URL = "https://digitalhealth.london/programmes/"


@dataclass(frozen=True, slots=True)
class Step:
    """One state of the sample publication, how the demo introduces it, and the commands it
    shows after the run (`run`'s summary is always shown)."""

    heading: str
    explanation: str
    site: SiteSpec
    then: tuple[tuple[str, ...], ...] = ()


def edited(site: SiteSpec, when: datetime) -> SiteSpec:
    """Return `site` after GOV.UK's edit of step 3, its change note dated `when`: one organisation
    added, one removed, one re-described, one moved between stages and one renamed."""
    new = copy.deepcopy(site)
    document = new.doc(EDITED_DOCUMENT)
    document.stages[0].orgs.append(OrgSpec(ADDED, None, f"<p>{ADDED_DESCRIPTION}</p>"))
    document.remove_org(REMOVED)
    _, redescribed = document.find(REDESCRIBED)
    redescribed.description_html = redescribed.description_html.replace(
        "</p>", f" {REDESCRIBED_SENTENCE}</p>", 1
    )
    document.move_org(MOVED, document.stages[1].heading)
    _, renamed = document.find(RENAMED_FROM)
    renamed.name = RENAMED_TO
    new.add_change_note(when, CHANGE_NOTE)
    return new


def silently_edited(site: SiteSpec) -> SiteSpec:
    """Return `site` with one organisation's web address changed and no change note (step 4)."""
    new = copy.deepcopy(site)
    stage, organisation = new.doc(SILENT_DOCUMENT).find(SILENT)
    stage.orgs[stage.orgs.index(organisation)] = organisation.relinked(SILENT_URL)
    return new


def demo_steps(now: datetime) -> tuple[Step, ...]:
    """Return the demo's four states, oldest first; step 3's change note is dated `now`."""
    baseline = default_site("2021")
    redesigned = copy.deepcopy(baseline)
    redesigned.era = "current"
    changed = edited(redesigned, now)
    return (
        Step(
            "The first run: a baseline",
            "The tracker reads the publication page and every document its Documents list "
            "links, and stores the organisations each one lists.",
            baseline,
        ),
        Step(
            "GOV.UK moves the page to new templates: no change",
            "Same guidance, new page markup, and a new security token, banner and timestamp "
            "on every page. A page monitor would cry wolf; the tracker compares the content.",
            redesigned,
        ),
        Step(
            "GOV.UK edits a document and adds a change note",
            "Organisations are added, removed, renamed, moved to another stage and "
            "re-described. The tracker names each change.",
            changed,
            then=(("diff",),),
        ),
        Step(
            "A silent change: a document edited without a change note",
            "An organisation's web address changes and the change history says nothing. "
            "The tracker flags it, since change notes are the official record.",
            silently_edited(changed),
            then=(("diff",),),
        ),
    )
