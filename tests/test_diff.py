"""Tests for changes.diff: crafted state pairs give exact ChangeSets; golden JSON; properties."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changes import (
    ChangeSet,
    DocumentChange,
    DocumentStatus,
    OrganisationChange,
    OrganisationChanges,
    State,
    StateRef,
    Summary,
    UpdateChanges,
    changeset_to_dict,
    diff,
    filter_documents,
    match_organisations,
    normalise_name,
)
from changes.inventory import TrackedDocument, TrackedPublication, TrackedStage
from scraper.page import Attachment, HtmlDocument, Organisation, UpdateEntry
from tests.golden import assert_golden
from tests.pages import (
    FIRST_NOTE,
    NEW_AT,
    NOTE_2018,
    OLD_AT,
    PUBLICATION_URL,
    make_attachment,
    make_document,
    make_organisation,
    make_publication,
    make_site,
    make_state,
    render_text,
    stage_heading,
)

OLD_REF = StateRef(12, OLD_AT)
NEW_REF = StateRef(13, NEW_AT)
NOTE_2021 = UpdateEntry(
    "2021-12-01", "Updated information for Life Sciences Hub Wales and added Bionow."
)
EXPERIMENTAL = "Experimental medicine and clinical trials"
TRADE = (
    "UK life sciences trade organisations, membership associations, clusters, "
    "and research and innovation networks"
)
DELIVERY = "Delivery, supplying the NHS and patients"
NIHR = "National Institute for Health Research (NIHR)"

EXPERIMENTAL_ORGANISATIONS = (
    make_organisation(
        "Association of Medical Research Charities (AMRC)", url="https://www.amrc.org.uk/"
    ),
    make_organisation(
        "Cancer Research UK Commercial Partnerships", url="https://www.cancerresearchuk.org/"
    ),
    make_organisation(
        "Clinical Practice Research Datalink (CPRD)",
        url="https://www.cprd.com/",
        links=(
            "https://www.cprd.com/",
            "https://www.gov.uk/government/organisations/medicines-and-healthcare-products-regulatory-agency",
        ),
    ),
    make_organisation(NIHR, url="https://www.nihr.ac.uk/"),
    make_organisation(
        NIHR,
        url="https://www.nihr.ac.uk/explore-nihr/support/clinical-research-network.htm",
        stage=DELIVERY,
        description="The NIHR Clinical Research Network supports commercial studies in the NHS.",
    ),
    make_organisation(
        "Academic Health Science Networks (AHSNs)",
        url="https://www.ahsnnetwork.com/",
        stage=DELIVERY,
    ),
)
TRADE_ORGANISATIONS = (
    make_organisation(
        "Association of the British Pharmaceutical Industry (ABPI)", stage="Trade organisations"
    ),
    make_organisation("BioIndustry Association (BIA)", stage="Trade organisations"),
    make_organisation("One Nucleus", stage="Membership associations"),
    make_organisation("MediWales", stage="Membership associations"),
    make_organisation("MedCity", stage="Clusters", url="https://www.medcityhq.com/"),
    make_organisation(
        "Life Sciences Hub Wales", stage="Clusters", url="https://www.lshubwales.com/"
    ),
    make_organisation("Medicines Discovery Catapult", stage="Research and innovation networks"),
)


def experimental(
    organisations: Sequence[Organisation] = EXPERIMENTAL_ORGANISATIONS, **kw: Any
) -> HtmlDocument:
    return make_document(EXPERIMENTAL, organisations, **kw)


def trade(organisations: Sequence[Organisation] = TRADE_ORGANISATIONS, **kw: Any) -> HtmlDocument:
    return make_document(TRADE, organisations, **kw)


def site(
    run: int,
    documents: Sequence[HtmlDocument | Attachment] | None = None,
    *,
    note: bool = False,
    last_updated: str = "2018-03-27",
) -> State:
    """The tracked publication with (by default) the two documents these tests change."""
    updates = (NOTE_2021, NOTE_2018, FIRST_NOTE) if note else (NOTE_2018, FIRST_NOTE)
    chosen = [experimental(), trade()] if documents is None else documents
    return make_site(run, chosen, last_updated=last_updated, updates=updates)


def edit(
    organisations: Sequence[Organisation], target: str, occurrence: int = 0, /, **changes: Any
) -> tuple[Organisation, ...]:
    """Return the organisations with the n-th one called `target` changed (stage brings its h2)."""
    if "stage" in changes:
        changes["stage_heading"] = stage_heading(changes["stage"])
    result: list[Organisation] = []
    seen = 0
    for item in organisations:
        if item.name == target:
            if seen == occurrence:
                item = replace(item, **changes)
            seen += 1
        result.append(item)
    return tuple(result)


def organisation(document: HtmlDocument, name: str, occurrence: int = 0) -> Organisation:
    """Return the n-th organisation called `name` as the document holds it (with its position)."""
    return [o for o in document.organisations if o.name == name][occurrence]


def entry(
    document: HtmlDocument,
    *,
    status: DocumentStatus = "changed",
    metadata: Mapping[str, tuple[Any, Any]] | None = None,
    added: Sequence[Organisation] = (),
    removed: Sequence[Organisation] = (),
    changed: Sequence[OrganisationChange] = (),
    counted: bool = True,
    silent: bool = True,
    text_diff: str | None = None,
) -> DocumentChange:
    return DocumentChange(
        url=document.url,
        title=document.title,
        kind="html_document",
        status=status,
        metadata=dict(metadata or {}),
        organisations=OrganisationChanges(tuple(added), tuple(removed), tuple(changed)),
        silent_change=silent,
        text_diff=text_diff,
        counted=counted,
    )


def publication_entry(
    *,
    metadata: Mapping[str, tuple[Any, Any]],
    added: Sequence[UpdateEntry] = (),
) -> DocumentChange:
    return DocumentChange(
        url=PUBLICATION_URL,
        title="UK life sciences support",
        kind="publication",
        status="changed",
        metadata=dict(metadata),
        updates=UpdateChanges(added=tuple(added)),
    )


def documents_list(state: State) -> tuple[tuple[str, str], ...]:
    page = state.pages[PUBLICATION_URL]
    assert not isinstance(page, (HtmlDocument, Attachment))
    return tuple((link.title, link.url) for link in page.documents)


def expected(*entries: DocumentChange, **counts: int) -> ChangeSet:
    return ChangeSet(OLD_REF, NEW_REF, tuple(entries), Summary(**counts))


@dataclass(frozen=True)
class Case:
    """Two states and the exact ChangeSet diff() must give."""

    id: str
    old: State
    new: State
    expected: ChangeSet


def _organisation_cases() -> list[Case]:
    """One organisation change of each kind, in the trade-organisations or experimental document."""
    cases: list[Case] = []
    old = site(12)
    old_trade, old_experimental = trade(), experimental()

    new_trade = trade(
        (
            *TRADE_ORGANISATIONS[:4],
            make_organisation(
                "Bionow", stage="Membership associations", url="https://www.bionow.co.uk/"
            ),
            *TRADE_ORGANISATIONS[4:],
        )
    )
    cases.append(
        Case(
            "organisation_added",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(new_trade, added=[organisation(new_trade, "Bionow")]),
                documents_changed=1,
                organisations_added=1,
                silent_changes=1,
            ),
        )
    )

    new_trade = trade(tuple(o for o in TRADE_ORGANISATIONS if o.name != "MediWales"))
    cases.append(
        Case(
            "organisation_removed",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(new_trade, removed=[organisation(old_trade, "MediWales")]),
                documents_changed=1,
                organisations_removed=1,
                silent_changes=1,
            ),
        )
    )

    crp = "Cancer Research UK Commercial Partnerships"
    new_experimental = experimental(edit(EXPERIMENTAL_ORGANISATIONS, crp, name=f"{crp} Team"))
    cases.append(
        Case(
            "renamed_keeping_link",
            old,
            site(13, [new_experimental, old_trade]),
            expected(
                entry(
                    new_experimental,
                    changed=[
                        OrganisationChange(
                            f"{crp} Team",
                            "Discovery and deep research",
                            {"name": (crp, f"{crp} Team")},
                            old_name=crp,
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    ahsn, new_name = (
        "Academic Health Science Networks (AHSNs)",
        "Academic Health Science Network (AHSN)",
    )
    new_url = "https://www.healthinnovationnetwork.com/"
    new_experimental = experimental(
        edit(EXPERIMENTAL_ORGANISATIONS, ahsn, name=new_name, url=new_url, links=(new_url,))
    )
    cases.append(
        Case(
            "renamed_with_new_url_same_description",
            old,
            site(13, [new_experimental, old_trade]),
            expected(
                entry(
                    new_experimental,
                    changed=[
                        OrganisationChange(
                            new_name,
                            DELIVERY,
                            {
                                "name": (ahsn, new_name),
                                "url": ("https://www.ahsnnetwork.com/", new_url),
                                "links": (("https://www.ahsnnetwork.com/",), (new_url,)),
                            },
                            old_name=ahsn,
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    new_trade = trade(
        (
            *TRADE_ORGANISATIONS[:2],
            replace(
                TRADE_ORGANISATIONS[4],
                stage="Membership associations",
                stage_heading=stage_heading("Membership associations"),
            ),
            *TRADE_ORGANISATIONS[2:4],
            *TRADE_ORGANISATIONS[5:],
        )
    )
    cases.append(
        Case(
            "moved_between_stages",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(
                    new_trade,
                    changed=[
                        OrganisationChange(
                            "MedCity",
                            "Membership associations",
                            {"stage": ("Clusters", "Membership associations")},
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    new_url = "https://lshubwales.com/en/"
    new_trade = trade(
        edit(TRADE_ORGANISATIONS, "Life Sciences Hub Wales", url=new_url, links=(new_url,))
    )
    cases.append(
        Case(
            "relinked",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(
                    new_trade,
                    changed=[
                        OrganisationChange(
                            "Life Sciences Hub Wales",
                            "Clusters",
                            {
                                "url": ("https://www.lshubwales.com/", new_url),
                                "links": (("https://www.lshubwales.com/",), (new_url,)),
                            },
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    old_text = TRADE_ORGANISATIONS[4].description
    new_text = "MedCity promotes life sciences in London and the Greater South East."
    new_trade = trade(edit(TRADE_ORGANISATIONS, "MedCity", description=new_text))
    cases.append(
        Case(
            "re_described",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(
                    new_trade,
                    changed=[
                        OrganisationChange(
                            "MedCity", "Clusters", {"description": (old_text, new_text)}
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    cprd = "Clinical Practice Research Datalink (CPRD)"
    old_links = EXPERIMENTAL_ORGANISATIONS[2].links
    new_links = (*old_links, "https://www.nihr.ac.uk/")
    new_experimental = experimental(edit(EXPERIMENTAL_ORGANISATIONS, cprd, links=new_links))
    cases.append(
        Case(
            "links_changed",
            old,
            site(13, [new_experimental, old_trade]),
            expected(
                entry(
                    new_experimental,
                    changed=[
                        OrganisationChange(
                            cprd, "Discovery and deep research", {"links": (old_links, new_links)}
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    swapped = (TRADE_ORGANISATIONS[1], TRADE_ORGANISATIONS[0], *TRADE_ORGANISATIONS[2:])
    new_trade = trade(swapped)
    cases.append(
        Case(
            "reorder_only",
            old,
            site(13, [old_experimental, new_trade]),
            expected(
                entry(
                    new_trade,
                    metadata={
                        "organisation_order": (
                            tuple(o.name for o in TRADE_ORGANISATIONS),
                            tuple(o.name for o in swapped),
                        )
                    },
                    counted=False,
                    silent=False,
                )
            ),
        )
    )
    return cases


def _duplicate_cases() -> list[Case]:
    """The NIHR appears under two stages; each occurrence keeps its own identity."""
    cases: list[Case] = []
    same_url = tuple(
        replace(o, url="https://www.nihr.ac.uk/", links=("https://www.nihr.ac.uk/",))
        if o.name == NIHR
        else o
        for o in EXPERIMENTAL_ORGANISATIONS
    )
    old = site(12, [experimental(same_url), trade()])
    new_text = "The NIHR Clinical Research Network helps companies run studies across the NHS."
    new_experimental = experimental(edit(same_url, NIHR, 1, description=new_text))
    cases.append(
        Case(
            "duplicate_names_matched_by_occurrence",
            old,
            site(13, [new_experimental, trade()]),
            expected(
                entry(
                    new_experimental,
                    changed=[
                        OrganisationChange(
                            NIHR, DELIVERY, {"description": (same_url[4].description, new_text)}
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )
    # Both occurrences move to other stages: pairing falls back to (name, occurrence).
    moved = edit(
        edit(same_url, NIHR, 0, stage="Development and translation"),
        NIHR,
        1,
        stage="Launching global access",
    )
    new_experimental = experimental(moved)
    cases.append(
        Case(
            "duplicate_names_moved_paired_by_occurrence",
            old,
            site(13, [new_experimental, trade()]),
            expected(
                entry(
                    new_experimental,
                    changed=[
                        OrganisationChange(
                            NIHR,
                            "Development and translation",
                            {
                                "stage": (
                                    "Discovery and deep research",
                                    "Development and translation",
                                )
                            },
                        ),
                        OrganisationChange(
                            NIHR,
                            "Launching global access",
                            {"stage": (DELIVERY, "Launching global access")},
                        ),
                    ],
                ),
                documents_changed=1,
                organisations_changed=2,
                silent_changes=1,
            ),
        )
    )
    # Two research networks share a UKRI link, so the url alone is not unique: a rename
    # with an unlike name is still paired because url and description both match.
    ukri = "https://www.ukri.org/"
    ktn = make_organisation(
        "Knowledge Transfer Network (KTN)",
        url=ukri,
        stage="Research and innovation networks",
        description="Connects businesses with funding and partners.",
    )
    hdr = make_organisation(
        "Health Data Research UK (HDR UK)", url=ukri, stage="Research and innovation networks"
    )
    old = site(12, [experimental(), trade((*TRADE_ORGANISATIONS, ktn, hdr))])
    new_trade = trade((*TRADE_ORGANISATIONS, replace(ktn, name="Innovate UK KTN"), hdr))
    cases.append(
        Case(
            "renamed_by_shared_url_and_description",
            old,
            site(13, [experimental(), new_trade]),
            expected(
                entry(
                    new_trade,
                    changed=[
                        OrganisationChange(
                            "Innovate UK KTN",
                            "Research and innovation networks",
                            {"name": (ktn.name, "Innovate UK KTN")},
                            old_name=ktn.name,
                        )
                    ],
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )
    return cases


def _document_cases() -> list[Case]:
    """Documents and attachments coming and going; change notes and silent edits; metadata only."""
    cases: list[Case] = []
    old = site(12)
    old_experimental, old_trade = experimental(), trade()

    medtech = make_document(
        "Medical technology",
        [
            make_organisation("Association of British HealthTech Industries (ABHI)"),
            make_organisation("NHS Supply Chain", stage=DELIVERY),
        ],
    )
    new = site(13, [old_experimental, old_trade, medtech])
    cases.append(
        Case(
            "document_added",
            old,
            new,
            expected(
                publication_entry(
                    metadata={"documents": (documents_list(old), documents_list(new))}
                ),
                entry(medtech, status="added", added=medtech.organisations),
                documents_changed=1,
                organisations_added=2,
                silent_changes=1,
            ),
        )
    )

    new = site(13, [old_experimental])
    cases.append(
        Case(
            "document_removed",
            old,
            new,
            expected(
                publication_entry(
                    metadata={"documents": (documents_list(old), documents_list(new))}
                ),
                entry(old_trade, status="removed", removed=old_trade.organisations),
                documents_changed=1,
                organisations_removed=7,
                silent_changes=1,
            ),
        )
    )

    old_text = TRADE_ORGANISATIONS[5].description
    new_text = "Life Sciences Hub Wales helps health and care in Wales work with industry."
    new_trade = trade(
        edit(TRADE_ORGANISATIONS, "Life Sciences Hub Wales", description=new_text),
        updated="2021-12-01",
    )
    change = OrganisationChange(
        "Life Sciences Hub Wales", "Clusters", {"description": (old_text, new_text)}
    )
    new = site(13, [old_experimental, new_trade], note=True, last_updated="2021-12-01")
    cases.append(
        Case(
            "publication_note_added_clears_silent",
            old,
            new,
            expected(
                publication_entry(
                    metadata={"last_updated": ("2018-03-27", "2021-12-01")},
                    added=[NOTE_2021],
                ),
                entry(
                    new_trade,
                    metadata={"updated": ("2018-03-27", "2021-12-01")},
                    changed=[change],
                    silent=False,
                ),
                documents_changed=1,
                organisations_changed=1,
                updates_added=1,
            ),
        )
    )

    new = site(13, [old_experimental, new_trade], last_updated="2021-12-01")
    cases.append(
        Case(
            "silent_change_flagged",
            old,
            new,
            expected(
                publication_entry(metadata={"last_updated": ("2018-03-27", "2021-12-01")}),
                entry(
                    new_trade, metadata={"updated": ("2018-03-27", "2021-12-01")}, changed=[change]
                ),
                documents_changed=1,
                organisations_changed=1,
                silent_changes=1,
            ),
        )
    )

    new_experimental = experimental(updated="2021-12-01")
    cases.append(
        Case(
            "metadata_only_updated_not_counted",
            old,
            site(13, [new_experimental, old_trade]),
            expected(
                entry(
                    new_experimental,
                    metadata={"updated": ("2018-03-27", "2021-12-01")},
                    counted=False,
                    silent=False,
                )
            ),
        )
    )

    retitled = make_document(
        "Experimental medicine",
        EXPERIMENTAL_ORGANISATIONS,
        url=old_experimental.url,
        intro_text=old_experimental.intro_text,
    )
    new = site(13, [retitled, old_trade])
    cases.append(
        Case(
            "title_changed_counts",
            old,
            new,
            expected(
                publication_entry(
                    metadata={"documents": (documents_list(old), documents_list(new))}
                ),
                entry(retitled, metadata={"title": (EXPERIMENTAL, "Experimental medicine")}),
                documents_changed=1,
                silent_changes=1,
            ),
        )
    )

    intro = "The UK is a quick, cost-effective place to carry out clinical research."
    new_experimental = experimental(intro_text=intro)
    cases.append(
        Case(
            "intro_text_changed_counts",
            old,
            site(13, [new_experimental, old_trade]),
            expected(
                entry(
                    new_experimental, metadata={"intro_text": (old_experimental.intro_text, intro)}
                ),
                documents_changed=1,
                silent_changes=1,
            ),
        )
    )

    extra = render_text(old_experimental.intro_text, EXPERIMENTAL_ORGANISATIONS) + "\nContact us."
    new_experimental = experimental(text=extra)
    cases.append(
        Case(
            "text_only_change_counts",
            old,
            site(13, [new_experimental, old_trade]),
            expected(entry(new_experimental), documents_changed=1, silent_changes=1),
        )
    )

    pdf = make_attachment("UK life sciences support (print version)")
    with_pdf = site(12, [old_experimental, old_trade, pdf])
    new = site(13, [old_experimental, old_trade, pdf])
    cases.append(
        Case(
            "attachment_added",
            site(12),
            new,
            expected(
                publication_entry(
                    metadata={"documents": (documents_list(old), documents_list(new))}
                ),
                DocumentChange(pdf.url, pdf.title, "attachment", "added", counted=True),
                documents_changed=1,
            ),
        )
    )
    new = site(13, [old_experimental, old_trade])
    cases.append(
        Case(
            "attachment_removed",
            with_pdf,
            new,
            expected(
                publication_entry(
                    metadata={"documents": (documents_list(with_pdf), documents_list(new))},
                ),
                DocumentChange(pdf.url, pdf.title, "attachment", "removed", counted=True),
                documents_changed=1,
            ),
        )
    )
    bigger = make_attachment(pdf.title, attributes=("PDF", "1.4 MB", "14 pages"))
    cases.append(
        Case(
            "attachment_changed_not_counted",
            with_pdf,
            site(13, [old_experimental, old_trade, bigger]),
            expected(
                DocumentChange(
                    pdf.url,
                    pdf.title,
                    "attachment",
                    "changed",
                    metadata={
                        "attributes": (("PDF", "1.2 MB", "12 pages"), ("PDF", "1.4 MB", "14 pages"))
                    },
                )
            ),
        )
    )

    cases.append(Case("identical_states_are_empty", old, site(13), expected()))
    return cases


CASES: list[Case] = [*_organisation_cases(), *_duplicate_cases(), *_document_cases()]


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        (
            "Association of Medical Research Charities (AMRC)",
            "association of medical research charities amrc",
        ),
        ("  BioIndustry   Association\n(BIA) ", "bioindustry association bia"),
        ("King’s Health Partners", "kings health partners"),
        ("Delivery, supplying the NHS", "delivery supplying the nhs"),
        ("Cell-and-gene therapy", "cell and gene therapy"),
    ],
)
def test_names_are_normalised_for_matching(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


def test_renames_pair_greedily_by_best_similarity() -> None:
    # Every old name is similar enough to every new one; the best scores pair first.
    old = [
        make_organisation("Health Innovation Network North", url=None),
        make_organisation("Health Innovation Network South", url=None),
    ]
    new = [
        make_organisation("Health Innovation Network South East", url=None),
        make_organisation("Health Innovation Network North East", url=None),
        make_organisation("Something else entirely", url=None),
    ]
    match = match_organisations(old, new)
    assert match.pairs == ((0, 1), (1, 0))
    assert (match.removed, match.added) == ((), (2,))


def test_unlike_names_with_new_urls_are_a_removal_and_an_addition() -> None:
    old = [make_organisation("Knowledge Transfer Network (KTN)")]
    new = [make_organisation("Innovate UK Business Connect")]
    match = match_organisations(old, new)
    assert (match.pairs, match.removed, match.added) == ((), (0,), (0,))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_diff_gives_the_exact_changeset(case: Case) -> None:
    # The publications a ChangeSet carries (for titles) have tests of their own below.
    assert replace(diff(case.old, case.new), publications=()) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_summary_counts_match_the_listed_changes(case: Case) -> None:
    changes = diff(case.old, case.new)
    assert changes.summary == _recount(changes)


def _recount(changes: ChangeSet) -> Summary:
    """Count the listed changes independently of the code under test."""
    added = removed = changed = notes = 0
    for item in changes.documents:
        if item.organisations is not None:
            added += len(item.organisations.added)
            removed += len(item.organisations.removed)
            changed += len(item.organisations.changed)
        if item.updates is not None:
            notes += len(item.updates.added)
    return Summary(
        documents_changed=len([d for d in changes.documents if d.counted]),
        organisations_added=added,
        organisations_removed=removed,
        organisations_changed=changed,
        updates_added=notes,
        silent_changes=len([d for d in changes.documents if d.silent_change is True]),
    )


TRACKED_SITE = (
    TrackedDocument(
        f"{PUBLICATION_URL}/experimental-medicine-and-clinical-trials",
        EXPERIMENTAL,
        "html_document",
        (
            TrackedStage(
                "Discovery and deep research",
                (
                    "Association of Medical Research Charities (AMRC)",
                    "Cancer Research UK Commercial Partnerships",
                    "Clinical Practice Research Datalink (CPRD)",
                    NIHR,
                ),
            ),
            TrackedStage(DELIVERY, (NIHR, "Academic Health Science Networks (AHSNs)")),
        ),
    ),
    TrackedDocument(
        trade().url,
        TRADE,
        "html_document",
        (
            TrackedStage(
                "Trade organisations",
                (
                    "Association of the British Pharmaceutical Industry (ABPI)",
                    "BioIndustry Association (BIA)",
                ),
            ),
            TrackedStage("Membership associations", ("One Nucleus", "MediWales")),
            TrackedStage("Clusters", ("MedCity", "Life Sciences Hub Wales")),
            TrackedStage("Research and innovation networks", ("Medicines Discovery Catapult",)),
        ),
    ),
    TrackedDocument(
        "https://assets.publishing.service.gov.uk/media/print-version.pdf",
        "Print version",
        "attachment",
        attributes=("PDF", "1.2 MB", "12 pages"),
    ),
)


def _tracked_site(run: int) -> State:
    return site(run, [experimental(), trade(), make_attachment("Print version")])


def test_no_earlier_state_is_a_baseline_listing_what_is_tracked() -> None:
    changes = diff(None, _tracked_site(13))
    listed = tuple(d.url for d in TRACKED_SITE)
    assert changes == ChangeSet(
        from_ref=None,
        to_ref=NEW_REF,
        publications=(TrackedPublication(PUBLICATION_URL, "UK life sciences support", listed),),
        tracked=TRACKED_SITE,
    )
    assert changes.is_baseline
    assert changes.summary.is_empty
    assert changeset_to_dict(changes)["documents"] == []


def test_an_earlier_state_without_pages_is_a_baseline_too() -> None:
    changes = diff(State(run=12, at=OLD_AT, pages={}), _tracked_site(13))
    assert (changes.from_ref, changes.documents, changes.tracked) == (OLD_REF, (), TRACKED_SITE)


def test_a_baseline_lists_each_page_once_in_documents_list_order() -> None:
    medtech = make_document("Medical technology", [make_organisation("NHS Supply Chain")])
    other = make_publication(
        [medtech, experimental()], url="https://www.gov.uk/government/publications/medtech"
    )
    state = make_state(
        13,
        [make_publication([trade(), experimental()]), other, *[trade(), experimental(), medtech]],
    )
    tracked = diff(None, state).tracked
    assert [d.title for d in tracked] == ["Medical technology", EXPERIMENTAL, TRADE]
    assert [d.organisation_count for d in tracked] == [1, 6, 7]


def test_publications_carry_their_newest_titles_and_every_listed_document() -> None:
    renamed = make_publication([trade()], title="UK life sciences support organisations")
    old = site(12)
    new = make_state(13, [renamed, trade()])
    changes = diff(old, new)
    assert changes.publications == (
        TrackedPublication(
            PUBLICATION_URL,
            "UK life sciences support organisations",
            (trade().url, experimental().url),  # the removed document still names its publication
        ),
    )
    assert [d.status for d in changes.documents] == ["changed", "removed"]


def test_entries_follow_the_documents_list_then_other_pages_by_url() -> None:
    medtech = make_document("Medical technology", [make_organisation("NHS Supply Chain")])
    stray = make_document("Zebra notes", [make_organisation("Zebra")], url="https://www.gov.uk/aaa")
    old = make_state(
        12, [make_publication([trade(), experimental()]), trade(), experimental(), stray]
    )
    changed_stray = make_document("Zebra notes", [], url=stray.url)
    new_experimental = experimental(EXPERIMENTAL_ORGANISATIONS[1:])
    new_trade = trade(TRADE_ORGANISATIONS[1:])
    new = make_state(
        13,
        [
            make_publication([trade(), medtech, experimental()]),
            changed_stray,
            new_experimental,
            new_trade,
            medtech,
        ],
    )
    urls = [d.url for d in diff(old, new).documents]
    assert urls == [PUBLICATION_URL, new_trade.url, medtech.url, new_experimental.url, stray.url]


def test_a_document_listed_by_no_publication_belongs_to_the_one_there_is() -> None:
    stray = make_document("Zebra notes", [make_organisation("Zebra")], url="https://www.gov.uk/aaa")
    emptied = make_document("Zebra notes", [], url=stray.url)
    old = make_state(12, [make_publication([]), stray])
    silent = diff(old, make_state(13, [make_publication([]), emptied]))
    noted = diff(
        old, make_state(13, [make_publication([], updates=(NOTE_2021, FIRST_NOTE)), emptied])
    )
    orphan = diff(make_state(12, [stray]), make_state(13, [emptied]))
    assert [d.silent_change for d in silent.documents] == [True]
    assert [d.silent_change for d in noted.documents] == [False, False]
    assert [d.silent_change for d in orphan.documents] == [True]


def test_a_page_that_changes_kind_is_removed_then_added() -> None:
    url = f"{PUBLICATION_URL}/print-version"
    document = make_document("Print version", [make_organisation("MedCity")], url=url)
    pdf = make_attachment("Print version", url=url)
    changes = diff(make_state(12, [document]), make_state(13, [pdf]))
    assert [(d.kind, d.status) for d in changes.documents] == [
        ("html_document", "removed"),
        ("attachment", "added"),
    ]
    assert changes.summary.documents_changed == 2


def test_text_diff_is_a_unified_line_diff_only_when_asked() -> None:
    old = site(12)
    new_trade = trade(
        edit(TRADE_ORGANISATIONS, "MedCity", description="MedCity is London's cluster.")
    )
    new = site(13, [experimental(), new_trade])
    assert diff(old, new).documents[0].text_diff is None
    text_diff = diff(old, new, with_text_diff=True).documents[0].text_diff
    assert text_diff is not None
    lines = text_diff.splitlines()
    assert lines[:2] == ["--- run 12", "+++ run 13"]
    assert f"-{TRADE_ORGANISATIONS[4].description}" in lines
    assert "+MedCity is London's cluster." in lines


def test_added_document_text_diff_adds_every_line() -> None:
    medtech = make_document("Medical technology", [make_organisation("NHS Supply Chain")])
    new = site(13, [experimental(), trade(), medtech])
    entry_ = diff(site(12), new, with_text_diff=True).documents[1]
    assert entry_.text_diff is not None
    assert entry_.text_diff.splitlines()[3:] == [f"+{line}" for line in medtech.text.splitlines()]


def test_filter_documents_keeps_matching_titles_or_urls_and_recounts() -> None:
    medtech = make_document("Medical technology", [make_organisation("NHS Supply Chain")])
    new_trade = trade(TRADE_ORGANISATIONS[1:])
    changes = diff(site(12), site(13, [experimental(), new_trade, medtech], note=True))
    assert changes.summary.documents_changed == 2

    by_title = filter_documents(changes, "MEDICAL TECH")
    assert [d.url for d in by_title.documents] == [medtech.url]
    assert by_title.summary == Summary(documents_changed=1, organisations_added=1)
    assert (by_title.from_ref, by_title.to_ref) == (OLD_REF, NEW_REF)

    by_url = filter_documents(changes, "trade-organisations")
    assert [d.url for d in by_url.documents] == [new_trade.url]
    assert by_url.summary == Summary(documents_changed=1, organisations_removed=1)

    everything = filter_documents(changes, "")
    assert everything == changes
    assert filter_documents(changes, "no such thing").documents == ()


def test_diff_does_not_depend_on_the_order_pages_were_stored_in() -> None:
    case = next(c for c in CASES if c.id == "document_added")
    shuffled_old = State(case.old.run, case.old.at, dict(reversed(list(case.old.pages.items()))))
    shuffled_new = State(case.new.run, case.new.at, dict(reversed(list(case.new.pages.items()))))
    assert diff(shuffled_old, shuffled_new) == diff(case.old, case.new)


def _golden_cases() -> dict[str, tuple[State, State, bool]]:
    """Realistic multi-change transitions, kept as reviewed JSON under tests/golden/diff/."""
    crp = "Cancer Research UK Commercial Partnerships"
    new_experimental = experimental(
        edit(EXPERIMENTAL_ORGANISATIONS, crp, name=f"{crp} Team"), updated="2021-12-01"
    )
    lshw_url = "https://lshubwales.com/en/"
    organisations = edit(
        TRADE_ORGANISATIONS,
        "Life Sciences Hub Wales",
        url=lshw_url,
        links=(lshw_url,),
        description="Life Sciences Hub Wales helps health and care in Wales work with industry.",
    )
    organisations = edit(organisations, "MedCity", stage="Membership associations")
    bionow = make_organisation(
        "Bionow", stage="Membership associations", url="https://www.bionow.co.uk/"
    )
    medcity = organisations[4]
    organisations = (*organisations[:2], medcity, *organisations[2:4], bionow, *organisations[5:6])
    new_trade = trade(organisations, updated="2021-12-01")
    update = (
        site(12),
        site(13, [new_experimental, new_trade], note=True, last_updated="2021-12-01"),
    )

    silent_text = "NIHR funds, enables and delivers research that improves health and care."
    silent = experimental(edit(EXPERIMENTAL_ORGANISATIONS, NIHR, 0, description=silent_text))
    silent_edit = (site(12), site(13, [silent, trade()]))
    return {
        "realistic_2021_12_update": (*update, False),
        "silent_edit_with_text_diff": (*silent_edit, True),
    }


GOLDEN_CASES = _golden_cases()


def render_json(changes: ChangeSet) -> str:
    """Return the ChangeSet as the readable JSON kept in golden files."""
    return json.dumps(changeset_to_dict(changes), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_diff_matches_golden_json(name: str) -> None:
    old, new, with_text_diff = GOLDEN_CASES[name]
    assert_golden(f"diff/{name}.json", render_json(diff(old, new, with_text_diff=with_text_diff)))


def test_realistic_update_is_one_rename_move_relink_addition_and_removal() -> None:
    old, new, _ = GOLDEN_CASES["realistic_2021_12_update"]
    changes = diff(old, new)
    assert changes.summary == Summary(
        documents_changed=2,
        organisations_added=1,
        organisations_removed=1,
        organisations_changed=3,
        updates_added=1,
        silent_changes=0,
    )


# Property-based tests: random states drawn from small pools, so names, urls and stages collide.
NAMES = ("MedCity", "Medcity", "MedCity Ltd", "One Nucleus", NIHR, "NIHR", "Bionow", "BioNow!")
URLS = (None, "https://a.example/", "https://b.example/", "https://www.gov.uk/c")
STAGES = ("Clusters", "Membership associations", "Discovery and deep research")
DESCRIPTIONS = ("Supports companies.", "Runs trials.", "Funds research.")
TITLES = ("Alpha", "Beta", "Gamma", "Delta")

organisations_strategy = st.builds(
    make_organisation,
    st.sampled_from(NAMES),
    url=st.sampled_from(URLS),
    description=st.sampled_from(DESCRIPTIONS),
    stage=st.sampled_from(STAGES),
    links=st.lists(st.sampled_from(URLS[1:]), max_size=2).map(tuple),
)
documents_strategy = st.builds(
    make_document,
    st.sampled_from(TITLES),
    st.lists(organisations_strategy, max_size=8),
    updated=st.sampled_from((None, "2018-03-27", "2021-12-01")),
    intro_text=st.sampled_from(("", "Intro.", "Another intro.")),
)
attachments_strategy = st.builds(
    make_attachment,
    st.sampled_from(TITLES),
    attributes=st.sampled_from((("PDF",), ("CSV", "1 KB"))),
)


@st.composite
def states(draw: st.DrawFn, run: int = 12) -> State:
    """Draw a state: maybe a publication listing some of its documents and attachments."""
    documents = draw(st.lists(documents_strategy, max_size=3, unique_by=lambda d: d.url))
    attachments = draw(st.lists(attachments_strategy, max_size=2, unique_by=lambda a: a.url))
    pages: list[HtmlDocument | Attachment] = [*documents, *attachments]
    if not draw(st.booleans()):
        return make_state(run, pages)
    listed = [p for p in pages if draw(st.booleans())]
    notes = draw(st.lists(st.sampled_from((NOTE_2021, NOTE_2018, FIRST_NOTE)), max_size=3))
    publication = make_publication(
        listed, updates=notes, last_updated=draw(st.sampled_from(("2018-03-27", None)))
    )
    return make_state(run, [publication, *pages])


def _same_pages(state: State, run: int, pages: Mapping[str, Any]) -> State:
    return State(run=run, at=NEW_AT if run == 13 else OLD_AT, pages=dict(pages))


@settings(deadline=None)
@given(states())
def test_a_state_compared_with_itself_is_empty(state: State) -> None:
    changes = diff(state, _same_pages(state, 13, state.pages))
    assert changes.documents == ()
    assert changes.summary.is_empty


@settings(deadline=None)
@given(states(), st.booleans())
def test_any_new_state_against_no_earlier_one_is_a_baseline(state: State, as_empty: bool) -> None:
    old = State(run=12, at=OLD_AT, pages={}) if as_empty else None
    changes = diff(old, state)
    assert changes.documents == ()
    assert changes.summary.is_empty
    assert changes.to_ref == StateRef(state.run, state.at)


def _reordered(document: HtmlDocument, order: Sequence[int]) -> HtmlDocument:
    return make_document(
        document.title,
        [document.organisations[i] for i in order],
        url=document.url,
        updated=document.updated,
        intro_text=document.intro_text,
    )


@settings(deadline=None)
@given(states(), st.data())
def test_reordering_organisations_gives_no_organisation_changes(
    state: State, data: st.DataObject
) -> None:
    pages = dict(state.pages)
    for url, page in state.pages.items():
        if isinstance(page, HtmlDocument):
            order = data.draw(st.permutations(range(len(page.organisations))))
            pages[url] = _reordered(page, order)
    changes = diff(state, _same_pages(state, 13, pages))
    assert changes.summary.organisations_added == changes.summary.organisations_removed == 0
    assert changes.summary.organisations_changed == 0
    for item in changes.documents:
        assert set(item.metadata) <= {"organisation_order"}
        before, after = state.pages[item.url], pages[item.url]
        assert isinstance(before, HtmlDocument)
        assert isinstance(after, HtmlDocument)
        if before.organisations != tuple(
            replace(o, position=i) for i, o in enumerate(after.organisations)
        ):
            assert "organisation_order" in item.metadata


@settings(deadline=None)
@given(states(), st.data())
def test_reordering_within_stages_is_metadata_only(state: State, data: st.DataObject) -> None:
    pages = dict(state.pages)
    for url, page in state.pages.items():
        if isinstance(page, HtmlDocument):
            order = list(range(len(page.organisations)))
            for stage in STAGES:
                slots = [i for i in order if page.organisations[i].stage == stage]
                for slot, index in zip(slots, data.draw(st.permutations(slots)), strict=True):
                    order[slot] = index
            pages[url] = _reordered(page, order)
    changes = diff(state, _same_pages(state, 13, pages))
    assert changes.summary.is_empty
    assert all(
        set(d.metadata) == {"organisation_order"} and not d.counted for d in changes.documents
    )


@settings(deadline=None)
@given(states(12), states(13))
def test_summary_counts_equal_the_lengths_of_the_lists(old: State, new: State) -> None:
    changes = diff(old, new)
    if not old.pages:
        assert changes.documents == ()
    assert changes.summary == _recount(changes)
    assert diff(old, new) == changes  # deterministic
    keys = [(d.url, d.kind) for d in changes.documents]
    assert len(keys) == len(set(keys))
    for item in changes.documents:
        assert not item.silent_change or (item.kind == "html_document" and item.counted)
        if item.status == "changed" and item.organisations is not None:
            before, after = old.pages[item.url], new.pages[item.url]
            assert isinstance(before, HtmlDocument)
            assert isinstance(after, HtmlDocument)
            kept = len(before.organisations) - len(item.organisations.removed)
            assert kept == len(after.organisations) - len(item.organisations.added)


# --- honest silent-change flags: unknown when unread, cleared by a note published late ---------

SILENT_EDIT = experimental(
    edit(EXPERIMENTAL_ORGANISATIONS, NIHR, 0, description="NIHR funds research in the NHS.")
)
LATE_NOTE = UpdateEntry("2021-12-01", "Updated the description of NIHR.")


def _silent_flags(
    *,
    checked: frozenset[str] | None = None,
    newest: tuple[UpdateEntry, ...] | None = None,
    note: bool = False,
) -> list[bool | None]:
    new = replace(site(13, [SILENT_EDIT, trade()], note=note), checked_publications=checked)
    notes = None if newest is None else {PUBLICATION_URL: newest}
    changes = diff(site(12), new, newest_notes=notes)
    return [d.silent_change for d in changes.documents if d.kind == "html_document"]


def test_a_change_is_silent_only_when_its_publication_was_read_in_the_to_run() -> None:
    assert _silent_flags(checked=frozenset({PUBLICATION_URL})) == [True]
    assert _silent_flags(checked=None) == [True]  # not a stored run: every publication counts
    assert _silent_flags(checked=frozenset()) == [None]  # its fetch failed: unknown
    assert _silent_flags(checked=frozenset(), note=True) == [False]  # a note seen still clears


def test_an_unknown_flag_is_null_in_json_and_not_counted_as_silent() -> None:
    new = replace(site(13, [SILENT_EDIT, trade()]), checked_publications=frozenset())
    changes = diff(site(12), new)
    entry_ = changeset_to_dict(changes)["documents"][0]
    assert (entry_["url"], entry_["silent_change"]) == (SILENT_EDIT.url, None)
    assert changes.summary == Summary(documents_changed=1, organisations_changed=1)


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        ((LATE_NOTE, NOTE_2018, FIRST_NOTE), False),  # dated the TO run's day: explains it
        ((UpdateEntry("2021-11-20", "Edited NIHR."), NOTE_2018, FIRST_NOTE), False),  # FROM's day
        ((UpdateEntry("2021-12-02", "A later edit."), NOTE_2018, FIRST_NOTE), True),  # after TO
        ((UpdateEntry("2021-11-19", "An older edit."), NOTE_2018, FIRST_NOTE), True),  # before FROM
        ((NOTE_2018, FIRST_NOTE), True),  # no note the FROM state did not have
        ((), True),
    ],
    ids=["to_day", "from_day", "after_to", "before_from", "none_new", "no_notes"],
)
def test_a_note_published_late_clears_the_flag_when_dated_within_the_range(
    newest: tuple[UpdateEntry, ...], expected: bool
) -> None:
    assert _silent_flags(newest=newest) == [expected]


def test_a_note_published_late_also_settles_an_unknown_flag() -> None:
    assert _silent_flags(checked=frozenset(), newest=(LATE_NOTE, NOTE_2018, FIRST_NOTE)) == [False]


# --- first copies and archive states (backfill, DESIGN §12) ---------------------------------


def listed_without_copy(run: int, documents: Sequence[HtmlDocument], copied: int) -> State:
    """A state whose publication lists `documents` but holds a copy of only the first `copied`."""
    publication = make_publication(documents)
    return make_state(run, [publication, *documents[:copied]])


def test_a_document_listed_before_its_first_copy_is_first_seen_not_added() -> None:
    trials = make_document(EXPERIMENTAL, EXPERIMENTAL_ORGANISATIONS[:2])
    trade = make_document(TRADE, EXPERIMENTAL_ORGANISATIONS[2:4])
    old = listed_without_copy(12, [trials, trade], copied=1)
    new = listed_without_copy(13, [trials, trade], copied=2)

    changeset = diff(old, new)

    assert changeset.documents == ()
    assert changeset.summary == Summary()
    assert [(d.url, d.organisation_count) for d in changeset.first_seen] == [(trade.url, 2)]
    document = changeset_to_dict(changeset)
    assert document["first_seen"] == [{"url": trade.url, "title": TRADE, "organisations": 2}]


def test_a_document_the_new_list_adds_is_still_added() -> None:
    trials = make_document(EXPERIMENTAL, EXPERIMENTAL_ORGANISATIONS[:2])
    trade = make_document(TRADE, EXPERIMENTAL_ORGANISATIONS[2:4])

    changeset = diff(make_site(12, [trials]), make_site(13, [trials, trade]))

    assert [(d.url, d.status) for d in changeset.documents if d.kind != "publication"] == [
        (trade.url, "added")
    ]
    assert changeset.first_seen == ()
    assert "first_seen" not in changeset_to_dict(changeset)


def test_an_archive_state_is_marked_in_the_json_refs_only() -> None:
    trials = make_document(EXPERIMENTAL, EXPERIMENTAL_ORGANISATIONS[:2])
    old = replace(make_site(12, [trials]), archive=True)

    document = changeset_to_dict(diff(old, make_site(13, [trials])))

    assert document["from"] == {"run": 12, "at": "2021-11-20T07:00:03Z", "archive": True}
    assert document["to"] == {"run": 13, "at": "2021-12-01T07:00:02Z"}
