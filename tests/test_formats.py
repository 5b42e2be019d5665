"""Report formats: the contract every format keeps, golden files, escaping, wording and the feed.

Golden files live in tests/golden/reports/<case>.<ext>; rewrite them with `--update-golden` (or
UPDATE_GOLDEN=1) and read the diff in review.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from changes.changeset import (
    ChangeSet,
    DocumentChange,
    OrganisationChange,
    OrganisationChanges,
    StateRef,
    Summary,
    UpdateChanges,
    changeset_to_dict,
)
from changes.inventory import TrackedDocument, TrackedPublication, TrackedStage
from changes.worddiff import Segment
from reports import FORMATS, Report, UnknownFormatError, get_format, render, render_feed
from reports.formats import wording
from reports.formats.atom import entry_id, entry_links
from reports.formats.markdown import escape_markdown, fenced, markdown_words
from reports.formats.text import render_text
from reports.model import Problem
from scraper.page import Organisation, UpdateEntry
from tests.golden import updating

GOLDEN = Path(__file__).parent / "golden" / "reports"
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLICATION = "https://www.gov.uk/government/publications/uk-life-sciences-support"
TRADE = (
    f"{PUBLICATION}/uk-life-sciences-trade-organisations-membership-associations-clusters-and-"
    "research-and-innovation-networks"
)
TRADE_TITLE = (
    "UK life sciences trade organisations, membership associations, clusters, and research and "
    "innovation networks"
)
MEDICINE = f"{PUBLICATION}/experimental-medicine-and-clinical-trials"
GENOMICS = f"{PUBLICATION}/genomics-and-data"
LEAFLET = "https://assets.publishing.service.gov.uk/media/uk-life-sciences-support.pdf"
# The publication as diff() attaches it to every ChangeSet: its stored title and Documents list.
PUBLICATIONS = (
    TrackedPublication(
        PUBLICATION, "UK life sciences support", (TRADE, MEDICINE, GENOMICS, LEAFLET)
    ),
)
WALES_NOTE = f"Updated information for Life Sciences Hub Wales in document {TRADE_TITLE}."
SCRIPT = "<script>alert(1)</script>"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def org(name: str, stage: str, url: str | None = None, description: str = "") -> Organisation:
    return Organisation(name, url, description, stage, f"{stage} development stage")


def changed(
    org_name: str, org_stage: str = "Clusters", /, *, renamed_from: str | None = None, **fields: Any
) -> OrganisationChange:
    """Return an OrganisationChange; `fields` maps a changed field to (old, new)."""
    return OrganisationChange(org_name, org_stage, fields, renamed_from)


def publication(*notes: UpdateEntry, metadata: dict[str, Any] | None = None) -> DocumentChange:
    return DocumentChange(
        PUBLICATION,
        "UK life sciences support",
        "publication",
        "changed",
        metadata=metadata or {},
        updates=UpdateChanges(added=notes),
    )


def december_2021() -> Report:
    """The real change of 1 December 2021: one note, Life Sciences Hub Wales re-described."""
    wales = changed(
        "Life Sciences Hub Wales",
        "Clusters",
        url=("https://lshubwales.com/", "https://lifescienceshubwales.com/"),
        description=(
            "Life Sciences Hub Wales helps industry and the NHS in Wales work together.",
            "Life Sciences Hub Wales helps industry, the NHS and social care in Wales work "
            "together on health and care innovation.",
        ),
    )
    trade = DocumentChange(
        TRADE,
        TRADE_TITLE,
        "html_document",
        "changed",
        metadata={"updated": ("2018-03-27", "2021-12-01")},
        organisations=OrganisationChanges(changed=(wales,)),
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(12, at("2021-11-20T07:00:03")),
        StateRef(13, at("2021-12-01T07:00:02")),
        (
            publication(
                UpdateEntry("2021-12-01", WALES_NOTE),
                metadata={"last_updated": ("2018-03-27", "2021-12-01")},
            ),
            trade,
        ),
        Summary(documents_changed=1, organisations_changed=1, updates_added=1),
        publications=PUBLICATIONS,
    )
    return Report(changeset, generated_at=at("2021-12-01T07:02:10"))


def reorganisation() -> Report:
    """A silent edit of two documents, a new document, a gone attachment and one anomaly."""
    trade = DocumentChange(
        TRADE,
        TRADE_TITLE,
        "html_document",
        "changed",
        metadata={"organisation_order": (("MedCity", "One Nucleus"), ("One Nucleus", "MedCity"))},
        organisations=OrganisationChanges(
            added=(
                org(
                    "Health Innovation Network",
                    "Research and innovation networks",
                    "https://healthinnovationnetwork.com/",
                    "Health Innovation Network is the health innovation network for south London.",
                ),
            ),
            removed=(org("Bionow", "Clusters", "https://www.bionow.co.uk/"),),
            changed=(
                changed(
                    "MedCity",
                    "Membership associations",
                    stage=("Clusters", "Membership associations"),
                    description=("MedCity promotes the cluster.", "MedCity is a membership body."),
                ),
                changed(
                    "MediWales",
                    links=(("https://www.mediwales.com/",), ("https://mediwales.com/events/",)),
                ),
            ),
        ),
        silent_change=True,
        text_diff="--- before\n+++ after\n@@ -3 +3 @@\n-Bionow\n+Health Innovation Network\n",
        counted=True,
    )
    medicine = DocumentChange(
        MEDICINE,
        "Experimental medicine and clinical trials",
        "html_document",
        "changed",
        organisations=OrganisationChanges(
            changed=(
                changed(
                    "Cancer Research UK Commercial Partnerships Team",
                    "Discovery and deep research",
                    renamed_from="Cancer Research UK Commercial Partnerships",
                    name=(
                        "Cancer Research UK Commercial Partnerships",
                        "Cancer Research UK Commercial Partnerships Team",
                    ),
                ),
                changed(
                    "Clinical Practice Research Datalink (CPRD)",
                    "Development and translation",
                    url=("https://www.cprd.com/", "https://cprd.com/"),
                ),
            )
        ),
        silent_change=True,
        counted=True,
    )
    genomics = DocumentChange(
        GENOMICS,
        "Genomics and health data",
        "html_document",
        "added",
        organisations=OrganisationChanges(
            added=(
                org(
                    "Genomics England",
                    "Discovery and deep research",
                    "https://www.genomicsengland.co.uk/",
                ),
                org(
                    "Health Data Research UK (HDR UK)",
                    "Development and translation",
                    "https://www.hdruk.ac.uk/",
                ),
            )
        ),
        counted=True,
    )
    leaflet = DocumentChange(
        LEAFLET,
        "UK life sciences support (print version)",
        "attachment",
        "removed",
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(40, at("2025-03-03T07:01:12")),
        StateRef(41, at("2025-03-04T07:03:40")),
        (trade, medicine, genomics, leaflet),
        Summary(
            documents_changed=4,
            organisations_added=3,
            organisations_removed=1,
            organisations_changed=4,
            silent_changes=2,
        ),
        publications=PUBLICATIONS,
    )
    problems = (
        Problem(
            f"{PUBLICATION}/medical-technology",
            "anomaly",
            "lost 30 of 32 organisations (held back)",
        ),
    )
    return Report(changeset, problems=problems, generated_at=at("2025-03-04T07:04:02"))


def baseline() -> Report:
    """A first run: nothing to compare with, what is tracked listed; one document not fetched."""
    tracked = (
        TrackedDocument(
            TRADE,
            TRADE_TITLE,
            "html_document",
            (
                TrackedStage("Trade organisations", ("ABPI", "BioIndustry Association (BIA)")),
                TrackedStage("Clusters", ("MedCity", "Life Sciences Hub Wales", "Bionow")),
            ),
        ),
        TrackedDocument(
            MEDICINE,
            "Experimental medicine and clinical trials",
            "html_document",
            (
                TrackedStage(
                    "Discovery and deep research",
                    ("Cancer Research UK Commercial Partnerships", "Genomics England"),
                ),
                TrackedStage("Delivery, supplying the NHS and patients", ("NIHR",)),
            ),
        ),
        TrackedDocument(
            LEAFLET,
            "UK life sciences support (print version)",
            "attachment",
            attributes=("PDF", "1.2 MB", "12 pages"),
        ),
    )
    changeset = ChangeSet(
        None, StateRef(1, at("2025-01-06T07:00:00")), publications=PUBLICATIONS, tracked=tracked
    )
    problem = Problem(f"{PUBLICATION}/medicines-manufacturing", "error", "HTTP 503 after 3 retries")
    return Report(changeset, problems=(problem,), generated_at=at("2025-01-06T07:00:41"))


MEDTECH_PUBLICATION = "https://www.gov.uk/government/publications/medical-technology-support"
MEDTECH = f"{MEDTECH_PUBLICATION}/medtech-innovation-networks"


def two_publications() -> Report:
    """Two tracked publications; only the second changed, and it could not be re-read.

    Its Details paragraph was edited (a long field: shown word by word) and one of its documents
    changed while the publication itself failed to load in the TO run: the change note is unknown.
    The report has a page on the published site.
    """
    publications = (
        TrackedPublication(MEDTECH_PUBLICATION, "Medical technology support", (MEDTECH,)),
        *PUBLICATIONS,
    )
    details_before = (
        "This guidance lists the networks that help medical technology companies reach the NHS. "
        "It is reviewed every year by the Office for Life Sciences."
    )
    details_after = (
        "This guidance lists the networks that help medical technology and diagnostics companies "
        "reach the NHS. It is reviewed every year by the Office for Life Sciences."
    )
    medtech_publication = DocumentChange(
        MEDTECH_PUBLICATION,
        "Medical technology support",
        "publication",
        "changed",
        metadata={"details_text": (details_before, details_after)},
        updates=UpdateChanges(),
    )
    network = changed(
        "Health Innovation Manchester",
        "Delivery, supplying the NHS and patients",
        description=(
            "Health Innovation Manchester joins up research, industry and the NHS in Greater "
            "Manchester to adopt proven innovations faster.",
            "Health Innovation Manchester joins up research, industry, social care and the NHS "
            "in Greater Manchester to adopt proven innovations faster across the city region.",
        ),
    )
    medtech = DocumentChange(
        MEDTECH,
        "MedTech innovation networks",
        "html_document",
        "changed",
        organisations=OrganisationChanges(changed=(network,)),
        silent_change=None,
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(7, at("2025-02-03T07:00:00")),
        StateRef(8, at("2025-02-04T07:00:00")),
        (medtech_publication, medtech),
        Summary(documents_changed=1, organisations_changed=1),
        publications=publications,
    )
    problem = Problem(MEDTECH_PUBLICATION, "error", "HTTP 503 after 3 retries")
    return Report(
        changeset,
        problems=(problem,),
        generated_at=at("2025-02-04T07:01:30"),
        link="https://tracker.example.org/site/changes/8.html",
    )


CASES: dict[str, Callable[[], Report]] = {
    "december-2021": december_2021,
    "reorganisation": reorganisation,
    "baseline": baseline,
    "two-publications": two_publications,
}


def empty() -> Report:
    return Report(
        ChangeSet(
            StateRef(5, at("2025-01-07T07:00:00")),
            StateRef(6, at("2025-01-08T07:00:00")),
            publications=PUBLICATIONS,
        )
    )


def every_kind(name: str = "Ysbyty Gwynedd – Gofal Iechyd ✓ 日本語") -> Report:
    """One document with every kind of change, its organisation named `name`."""
    document = DocumentChange(
        TRADE,
        f"{name} document",
        "html_document",
        "changed",
        metadata={"updated": ("2018-03-27", "2021-12-01"), "organisation_order": ((), ())},
        organisations=OrganisationChanges(
            added=(org(name, "Clusters", "https://example.org/a", f"{name} helps."),),
            removed=(org(f"{name} old", "Clusters", "javascript:alert(1)"),),
            changed=(
                changed(name, renamed_from=f"{name} renamed", name=(f"{name} renamed", name)),
                changed(name, stage=("Clusters", name)),
                changed(
                    name, url=("https://a", "https://b"), links=(("https://a",), ("https://b",))
                ),
                changed(name, description=(f"{name} was", f"{name} is")),
            ),
        ),
        silent_change=True,
        text_diff=f"-{name}\n+{name} ```\n",
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(1, at("2025-01-01T07:00:00")),
        StateRef(2, at("2025-01-02T07:00:00")),
        (publication(UpdateEntry("2025-01-02", f"Updated {name}.")), document),
        Summary(1, 1, 1, 4, 1, 1),
    )
    problem = Problem(f"https://www.gov.uk/{name}", "gone", f"HTTP 410 for {name}")
    return Report(changeset, title=f"{name} support", problems=(problem,))


@pytest.mark.parametrize("name", list(FORMATS))
class TestFormatContract:
    """What every registered format does, whatever it looks like."""

    def test_describes_itself_and_the_report(self, name: str) -> None:
        fmt = FORMATS[name]
        rendered = fmt.render(december_2021())
        expected = {
            "text": ("text/plain", "txt"),
            "markdown": ("text/markdown", "md"),
            "html": ("text/html", "html"),
            "json": ("application/json", "json"),
            "atom": ("application/atom+xml", "atom"),
            "chat": ("text/markdown", "chat.md"),
        }[name]
        assert (fmt.name, rendered.format) == (name, name)
        assert (
            (rendered.media_type, rendered.extension) == expected == (fmt.media_type, fmt.extension)
        )
        assert (
            rendered.subject
            == "UK life sciences support: 1 organisation changed, 1 new update note"
        )
        assert rendered.run == 13
        assert rendered.body.endswith("\n")
        assert get_format(name) is fmt
        assert render(december_2021(), name) == rendered

    def test_empty_changeset_says_no_changes(self, name: str) -> None:
        body = render(empty(), name).body
        if name == "json":
            assert json.loads(body)["documents"] == []
        else:
            assert "No changes" in body

    def test_baseline_is_not_everything_added(self, name: str) -> None:
        body = render(baseline(), name).body
        if name == "json":
            assert json.loads(body)["from"] is None
        else:
            assert "Baseline: first snapshot" in body
            assert "Added" not in body

    def test_every_change_kind_with_unicode_names(self, name: str) -> None:
        report = every_kind()
        body = render(report, name).body
        assert "Ysbyty Gwynedd – Gofal Iechyd ✓ 日本語" in body
        if name == "chat":  # a short message: the first changes, then how many more
            assert "renamed to" in body
            assert "…and 3 more changes" in body
        elif name != "json":
            for sentence in ("moved from Clusters", "renamed to", "link changed", "links changed"):
                assert sentence in body
            assert "Changed without a change note" in body
            assert "New change note (2025-01-02)" in body

    def test_problems_are_listed(self, name: str) -> None:
        body = render(reorganisation(), name).body
        if name == "json":  # the §8 document has no place for problems
            assert "medical-technology" not in body
        else:
            assert "Problems" in body
            assert "lost 30 of 32 organisations (held back)" in body
            assert f"{PUBLICATION}/medical-technology" in body

    def test_control_characters_never_reach_the_output(self, name: str) -> None:
        body = render(every_kind("Evil\x1b[31m\x00 name"), name).body
        if name == "json":
            assert "\\u001b" in body  # the contract keeps page text as it is, JSON-escaped
        else:
            assert "\x1b" not in body
            assert "\x00" not in body


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(FORMATS))
def test_golden(case: str, name: str) -> None:
    rendered = render(CASES[case](), name)
    path = GOLDEN / f"{case}.{rendered.extension}"
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered.body, encoding="utf-8")
    assert rendered.body == path.read_text(encoding="utf-8")


def test_html_escapes_page_text_and_links_only_web_urls() -> None:
    soup = BeautifulSoup(render(every_kind(SCRIPT), "html").body, "html.parser")
    assert soup.find("script") is None
    assert SCRIPT in soup.get_text()
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs
    assert all(str(href).startswith("https://") for href in hrefs)
    assert soup.find("link") is None
    assert soup.find("style") is None


def test_atom_content_is_escaped_html_without_scripts() -> None:
    feed = ET.fromstring(render(every_kind(SCRIPT), "atom").body.encode())
    content = feed.find(f"{ATOM}entry/{ATOM}content")
    assert content is not None
    assert content.get("type") == "html"
    soup = BeautifulSoup(content.text or "", "html.parser")
    assert soup.find("script") is None
    assert SCRIPT in soup.get_text()


def test_markdown_page_text_cannot_inject_html_or_break_lists() -> None:
    names = [
        SCRIPT,
        "# Heading",
        "1. Ordered",
        "- Bullet",
        "*bold* _it_",
        "[x](https://evil)",
        "a\n\n- b",
    ]
    for name in names:
        tokens = MarkdownIt("commonmark").parse(render(every_kind(name), "markdown").body)
        kinds = {token.type for token in tokens}
        inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
        assert not (kinds | {c.type for c in inline}) & {
            "html_inline",
            "html_block",
            "em_open",
            "ordered_list_open",
        }
        # Bold only where we mark inserted words: the description change ("was" -> "is").
        strong = [i for i, c in enumerate(inline) if c.type == "strong_open"]
        assert [inline[i + 1].content for i in strong] == ["is"]
        assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1", "h2", "h2", "h2"]
        items = [t for t in tokens if t.type == "list_item_open" and t.level == 1]
        assert len(items) == 11  # 1 note, 9 lines of the document, 1 problem: none split or merged
        links = [
            t
            for t in tokens
            if t.type == "inline"
            for t in t.children or []
            if t.type == "link_open"
        ]
        # Only autolinks of URLs we print: page text never becomes a [label](target) link.
        assert all(link.markup == "autolink" for link in links)
        assert all(str(link.attrs["href"]).startswith("https://") for link in links)


def test_markdown_escaping_and_fences() -> None:
    assert escape_markdown(SCRIPT) == "\\<script\\>alert(1)\\</script\\>"
    assert escape_markdown("# Heading") == "\\# Heading"
    assert escape_markdown("1. Item") == "1\\. Item"
    assert escape_markdown("R&D &amp; more") == "R&D \\&amp; more"
    assert fenced("a ```` b") == "`````\na ```` b\n`````"


def test_json_is_exactly_the_changeset_contract() -> None:
    for make in (*CASES.values(), empty, every_kind):
        report = make()
        body = render(report, "json").body
        assert json.loads(body) == changeset_to_dict(report.changeset)
        assert (
            body
            == json.dumps(changeset_to_dict(report.changeset), indent=2, ensure_ascii=False) + "\n"
        )


def test_atom_feed_parses_back_newest_first_with_stable_ids() -> None:
    reports = [december_2021(), reorganisation(), every_kind()]
    feed_id = "tag:lifesci-tracker.example,2025:feed"
    text = render_feed(
        reports,
        feed_id=feed_id,
        title="UK life sciences support",
        updated=at("2025-03-04T08:00:00"),
    )
    parsed = feedparser.parse(text)
    assert parsed.bozo == 0
    assert parsed.feed.title == "UK life sciences support"
    assert [entry.id for entry in parsed.entries] == [f"{feed_id}:run:{run}" for run in (41, 2, 13)]
    assert parsed.entries[0].title == wording.subject_line(reorganisation())
    assert parsed.entries[2].updated == "2021-12-01T07:00:02+00:00"
    assert entry_id(feed_id, december_2021()) == parsed.entries[2].id
    assert render(december_2021(), "atom").extra["entry_id"].endswith(":run:13")


def test_text_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(reorganisation())
    assert "\x1b[" not in render(reorganisation(), "text").body
    coloured = render_text(reorganisation(), color=True)
    assert "\x1b[32m+ Added: Health Innovation Network" in coloured


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        get_format("pdf")
    assert caught.value.choices == ("atom", "chat", "html", "json", "markdown", "text")
    assert isinstance(caught.value, LookupError)
    assert (
        str(caught.value)
        == "unknown format 'pdf'; choose from atom, chat, html, json, markdown, text"
    )


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (
            changed("Life Sciences Hub Wales", description=("a", "b")),
            "Life Sciences Hub Wales: description changed",
        ),
        (
            changed("MedCity", stage=("Clusters", "Membership associations")),
            "MedCity moved from Clusters to Membership associations",
        ),
        (
            changed(
                "Cancer Research UK Commercial Partnerships Team",
                renamed_from="Cancer Research UK Commercial Partnerships",
                name=(
                    "Cancer Research UK Commercial Partnerships",
                    "Cancer Research UK Commercial Partnerships Team",
                ),
            ),
            "Cancer Research UK Commercial Partnerships renamed to"
            " Cancer Research UK Commercial Partnerships Team",
        ),
        (
            changed("CPRD", url=("https://a", "https://b")),
            "CPRD: link changed from https://a to https://b",
        ),
        (changed("CPRD", url=(None, "https://b")), "CPRD: link added: https://b"),
        (changed("CPRD", url=("https://a", None)), "CPRD: link removed: https://a"),
        (changed("X", links=(("https://a",), ("https://b",))), "X: links changed"),
        (
            changed(
                "MedCity", stage=("Clusters", "Membership associations"), description=("a", "b")
            ),
            "MedCity moved from Clusters to Membership associations; description changed",
        ),
        (
            changed(
                "B",
                renamed_from="A",
                name=("A", "B"),
                stage=("S", "T"),
                url=("https://a", "https://b"),
            ),
            "A renamed to B; moved from S to T; link changed from https://a to https://b",
        ),
        (changed("B", name=("A", "B")), "A renamed to B"),
    ],
)
def test_organisation_sentences(change: OrganisationChange, sentence: str) -> None:
    assert wording.organisation_sentence(change) == sentence


def test_other_sentences() -> None:
    medcity = org("MedCity", "Clusters", "https://www.medcityhq.com/")
    note = UpdateEntry("2021-12-01", "Updated information for Life Sciences Hub Wales.")
    assert wording.added_sentence(medcity) == "Added: MedCity (Clusters)"
    assert wording.removed_sentence(medcity) == "Removed: MedCity (Clusters)"
    assert (
        wording.note_sentence(note)
        == "New change note (2021-12-01): Updated information for Life Sciences Hub Wales."
    )
    assert wording.note_sentence(note, added=False).startswith("Change note removed (2021-12-01): ")
    assert wording.SILENT_CHANGE == "changed without a change note"
    assert wording.metadata_sentence("updated", "2018-03-27", "2021-12-01") == (
        "Updated date changed from 2018-03-27 to 2021-12-01"
    )
    assert (
        wording.metadata_sentence("organisation_order", ("a", "b"), ("b", "a"))
        == "organisations reordered"
    )
    assert wording.metadata_sentence("title", "Old", "New") == "Title changed from Old to New"
    assert wording.metadata_sentence("details_text", "x" * 100, "y") == "Details changed"
    assert (
        wording.metadata_sentence("published", None, "2015-01-10")
        == "Published date set to 2015-01-10"
    )
    added = DocumentChange(MEDICINE, "Experimental medicine", "html_document", "added")
    assert wording.document_heading(added) == "Document added: Experimental medicine"
    removed = DocumentChange(MEDICINE, "Experimental medicine", "attachment", "removed")
    assert wording.document_heading(removed) == "Document removed: Experimental medicine"


def _subject(summary: Summary, *documents: DocumentChange) -> str:
    changeset = ChangeSet(
        StateRef(1, None), StateRef(2, None), documents, summary, publications=PUBLICATIONS
    )
    return wording.subject_line(Report(changeset))


def test_subject_lines() -> None:
    title = "UK life sciences support"
    notes = DocumentChange(PUBLICATION, title, "publication", "changed")
    doc = DocumentChange(TRADE, "Trade", "html_document", "changed", counted=True)
    organisations = DocumentChange(
        TRADE,
        "Trade",
        "html_document",
        "changed",
        organisations=OrganisationChanges(removed=(org("A", "S"),)),
    )
    new = DocumentChange(MEDICINE, "Medicine", "html_document", "added", counted=True)
    assert _subject(Summary(), notes) == f"{title}: metadata changed"
    assert _subject(Summary()) == f"{title}: no changes"
    assert _subject(Summary(organisations_changed=2, updates_added=1), notes, organisations) == (
        f"{title}: 2 organisations changed, 1 new update note"
    )
    assert (
        _subject(Summary(organisations_added=1), organisations) == f"{title}: 1 organisation added"
    )
    assert _subject(Summary(organisations_added=1, organisations_removed=3), organisations) == (
        f"{title}: 1 organisation added, 3 removed"
    )
    assert _subject(Summary(documents_changed=1, organisations_added=5), new) == (
        f"{title}: 1 document added, 5 organisations added"
    )
    assert _subject(Summary(documents_changed=1, silent_changes=1), doc) == (
        f"{title}: 1 document changed, no change note"
    )
    first = ChangeSet(None, StateRef(1, None), publications=PUBLICATIONS)
    assert wording.subject_line(Report(first)) == f"{title}: baseline: 0 organisations in 1 page"
    counted = Report(first, organisation_count=42, page_count=8)
    assert wording.subject_line(counted) == f"{title}: baseline: 42 organisations in 8 pages"
    assert (
        wording.baseline_sentence(counted)
        == "Baseline: first snapshot, 42 organisations in 8 pages"
    )
    assert "Baseline: first snapshot, 42 organisations in 8 pages" in render(counted, "text").body


@given(st.text(alphabet=st.sampled_from("ab 1.)#=+-*_`[]()<>!&;|~\\:/\"'é\t\n")) | st.text())
def test_markdown_escape_renders_page_text_literally(text: str) -> None:
    expected = wording.clean(text)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        expected = expected.replace(char, entity)
    item = f"<li>{expected}</li>\n" if expected else "<li></li>\n"
    markdown = MarkdownIt("commonmark")
    assert markdown.render(f"- {escape_markdown(text)}") == f"<ul>\n{item}</ul>\n"
    assert markdown.render(f"## {escape_markdown(text)}") == f"<h2>{expected}</h2>\n"


# --- word-level changes in each format ------------------------------------------------------

REDESCRIBED = changed(
    "Clinical Practice Research Datalink (CPRD)",
    "Discovery and deep research",
    description=(
        "CPRD is supported by the Department of Health and Social Care. It has provided "
        "anonymised primary care records for over 30 years.",
        "CPRD is supported by the Department of Health and Social Care. It now covers devices. "
        "It has provided anonymised primary care records for over 30 years.",
    ),
)


def redescribed(change: OrganisationChange = REDESCRIBED) -> Report:
    """One organisation re-described: a sentence added in the middle of a long description."""
    document = DocumentChange(
        MEDICINE,
        "Experimental medicine and clinical trials",
        "html_document",
        "changed",
        organisations=OrganisationChanges(changed=(change,)),
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(1, at("2025-01-01T07:00:00")),
        StateRef(2, at("2025-01-02T07:00:00")),
        (document,),
        Summary(documents_changed=1, organisations_changed=1),
        publications=PUBLICATIONS,
    )
    return Report(changeset)


def test_text_shows_the_changed_words_in_brackets_and_colour_only_on_a_terminal() -> None:
    plain = render_text(redescribed())
    assert (
        "      … Health and Social Care. {+It now covers devices.+} It has provided"
        " anonymised …\n" in plain
    )
    assert "Before:" not in plain
    coloured = render_text(redescribed(), color=True)
    assert "\x1b[32m{+It now covers devices.+}\x1b[0m" in coloured
    deleted = render_text(redescribed(replace(REDESCRIBED, changes={"description": ("a b", "a")})))
    assert "      a [-b-]\n" in deleted


def test_markdown_marks_inserted_words_bold_and_deleted_ones_struck_through() -> None:
    swapped = replace(REDESCRIBED, changes={"description": ("It has data.", "It had *data*.")})
    body = render(redescribed(swapped), "markdown").body
    assert "  - It ~~has data.~~ **had \\*data\\*.**\n" in body
    html = MarkdownIt("commonmark").enable("strikethrough").render(body)
    assert "It <s>has data.</s> <strong>had *data*.</strong>" in html


def test_html_marks_inserted_and_deleted_words_and_escapes_them() -> None:
    swapped = replace(REDESCRIBED, changes={"description": ("Old <b>", f"New {SCRIPT}")})
    soup = BeautifulSoup(render(redescribed(swapped), "html").body, "html.parser")
    assert [tag.get_text() for tag in soup.find_all("del")] == ["Old <b>"]
    assert [tag.get_text() for tag in soup.find_all("ins")] == [f"New {SCRIPT}"]
    assert soup.find("script") is None
    assert soup.find("b") is None
    body = render(redescribed(), "html").body
    assert ">It now covers devices.</ins> It has provided anonymised …</li>" in body


segment_text = st.text(alphabet=st.sampled_from("ab1.)#=+-*_`[]()<>!&|~\\é"), min_size=1)


@given(st.lists(st.tuples(st.sampled_from(["same", "inserted", "deleted"]), segment_text)))
def test_markdown_words_render_each_segment_literally_in_its_own_markup(
    parts: list[tuple[str, str]],
) -> None:
    segments = tuple(Segment(kind, text) for kind, text in parts if text.split())  # type: ignore[arg-type]
    segments = tuple(Segment(s.kind, " ".join(s.text.split())) for s in segments)
    tokens = MarkdownIt("commonmark").enable("strikethrough").parseInline(markdown_words(segments))
    children = tokens[0].children or [] if tokens else []
    seen: list[tuple[str, str]] = []
    state = "same"
    for child in children:
        if child.type in ("strong_open", "s_open"):
            state = "inserted" if child.type == "strong_open" else "deleted"
        elif child.type in ("strong_close", "s_close"):
            state = "same"
        elif child.type == "text" and child.content.strip():
            seen.append((state, child.content))
    assert [kind for kind, _ in seen if kind != "same"] == [
        s.kind for s in segments if s.kind != "same"
    ]
    assert " ".join(text.strip() for _, text in seen) == " ".join(s.text for s in segments)


# --- the baseline lists what is tracked -----------------------------------------------------


def test_baseline_names_organisations_in_html_and_markdown_and_counts_them_in_text() -> None:
    text = render(baseline(), "text").body
    assert "  * Experimental medicine and clinical trials: 3 organisations\n" in text
    assert "      Discovery and deep research: 2\n" in text
    assert "Genomics England" not in text  # counts per stage only, a terminal screen stays short
    markdown = render(baseline(), "markdown").body
    assert (
        "  - Discovery and deep research (2): Cancer Research UK Commercial Partnerships;"
        " Genomics England\n" in markdown
    )
    soup = BeautifulSoup(render(baseline(), "html").body, "html.parser")
    details = soup.find_all("details")
    assert [d.find("summary").get_text() for d in details] == ["Organisation names"] * 2  # type: ignore[union-attr]
    assert "Genomics England" in details[1].get_text()
    assert "UK life sciences support (print version) (PDF, 1.2 MB, 12 pages)" in soup.get_text()


# --- titles come from the stored publications ------------------------------------------------


def test_titles_come_from_the_changeset_and_fall_back_to_neutral_wording() -> None:
    assert december_2021().title == "UK life sciences support"
    assert two_publications().title == "Medical technology support and UK life sciences support"
    # With several publications, the subject names the one whose pages changed.
    assert wording.subject_line(two_publications()).startswith("Medical technology support: ")
    nothing_stored = Report(ChangeSet(None, StateRef(1, None)))
    assert nothing_stored.title == "GOV.UK guidance"
    assert wording.subject_line(nothing_stored) == "GOV.UK guidance: baseline (first snapshot)"
    assert Report(december_2021().changeset, title="Chosen").title == "Chosen"


def test_a_change_whose_publication_was_not_read_says_so_in_words() -> None:
    report = two_publications()
    assert wording.subject_line(report).endswith(", change note not checked")
    text = render(report, "text").body
    assert "  ! Changed; the publication could not be checked for a change note\n" in text
    assert "without a change note" not in text
    assert json.loads(render(report, "json").body)["documents"][1]["silent_change"] is None


# --- Atom entries link to the publication, and to the site page when there is one -------------


def test_atom_entries_link_to_the_publication_and_the_site_page() -> None:
    feed = feedparser.parse(
        render_feed(
            [december_2021(), two_publications()],
            feed_id="urn:lifesci-tracker:test",
            title="Tracked",
            updated=at("2025-03-04T08:00:00"),
        )
    )
    assert feed.bozo == 0
    site_entry, govuk_entry = feed.entries
    assert [(link.rel, link.href) for link in site_entry.links] == [
        ("alternate", "https://tracker.example.org/site/changes/8.html"),
        ("related", MEDTECH_PUBLICATION),
    ]
    assert [(link.rel, link.href) for link in govuk_entry.links] == [("alternate", PUBLICATION)]
    assert govuk_entry.link == PUBLICATION


def test_atom_links_only_web_urls() -> None:
    report = replace(december_2021(), link="javascript:alert(1)")
    assert [link["href"] for link in entry_links(report)] == [PUBLICATION]


# --- web-archive states and first copies (backfill) ------------------------------------------

ARCHIVED_AT = datetime(2019, 3, 1, 10, 0, tzinfo=UTC)
COPIED_AT = datetime(2019, 9, 1, 9, 3, tzinfo=UTC)
FIRST_COPY = TrackedDocument(
    f"{PUBLICATION}/digital-health-and-care",
    "Digital health and care",
    "html_document",
    (TrackedStage("Discovery and deep research", ("AMRC", "CPRD")),),
)


def archived_changeset() -> ChangeSet:
    return ChangeSet(
        from_ref=StateRef(2, ARCHIVED_AT, archive=True),
        to_ref=StateRef(3, COPIED_AT, archive=True),
        first_seen=(FIRST_COPY,),
    )


@pytest.mark.parametrize("name", ["text", "markdown", "html"])
def test_an_archive_range_is_seen_between_two_copies(name: str) -> None:
    body = get_format(name).render(Report(archived_changeset())).body

    assert "Seen between run 2 (2019-03-01 10:00 UTC) and run 3 (2019-09-01 09:03 UTC)" in body
    assert "First copy: Digital health and care" in body
    assert "its 2 organisations are not counted as added" in body


def test_a_live_range_still_reads_from_and_to() -> None:
    changeset = replace(archived_changeset(), to_ref=StateRef(3, COPIED_AT))

    assert wording.range_sentence(changeset).startswith("From run 2 (2019-03-01 10:00 UTC) to")
