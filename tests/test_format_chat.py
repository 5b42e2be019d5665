"""The chat format (short notify messages) and the notify channel's pure parts: masking, keys,
splitting and scrubbing Apprise URLs. Golden files: tests/golden/chat/ (UPDATE_GOLDEN=1)."""

from __future__ import annotations

import dataclasses

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from changes.changeset import ChangeSet, DocumentChange, OrganisationChanges, StateRef, Summary
from reports.channels.notify import mask_url, scrub, split_urls, target_key
from reports.formats.chat import MARKUPS, MAX_CHARS, Markup, render_chat
from reports.model import Problem, Report
from scraper.page import Organisation
from tests.golden import assert_golden
from tests.test_formats import MEDICINE, at, december_2021, every_kind, reorganisation

LINK = "https://lifesci.example.org/tracker/"


@pytest.mark.parametrize("markup", MARKUPS)
@pytest.mark.parametrize(
    "case", [december_2021, reorganisation, every_kind], ids=lambda case: case.__name__
)
def test_golden(case: object, markup: Markup) -> None:
    assert callable(case)
    message = render_chat(case(), markup=markup, link=LINK)
    extension = {"markdown": "md", "text": "txt", "html": "html"}[markup]
    assert_golden(f"chat/{case.__name__}.{extension}", f"{message.title}\n\n{message.body}")


def many_added(count: int, name_length: int = 20, problems: int = 0) -> Report:
    organisations = tuple(
        Organisation(
            name=f"Organisation {number:03d} " + "x" * name_length,
            url=f"https://example.org/{number}",
            description="",
            stage="Clusters",
            stage_heading="Clusters",
            links=(),
            position=number,
        )
        for number in range(count)
    )
    document = DocumentChange(
        MEDICINE,
        "Experimental medicine",
        "html_document",
        "changed",
        organisations=OrganisationChanges(added=organisations),
        counted=True,
    )
    changeset = ChangeSet(
        StateRef(1, at("2025-01-01T07:00:00")),
        StateRef(2, at("2025-01-02T07:00:00")),
        (document,),
        Summary(1, count, 0, 0, 0, 0),
    )
    trouble = tuple(
        Problem(f"https://www.gov.uk/page-{n}", "error", "HTTP 503 " * 40) for n in range(problems)
    )
    return Report(changeset, problems=trouble)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=120),
    name_length=st.integers(min_value=0, max_value=400),
    problems=st.integers(min_value=0, max_value=5),
    markup=st.sampled_from(MARKUPS),
)
def test_any_change_set_fits_and_says_how_many_more(
    count: int, name_length: int, problems: int, markup: Markup
) -> None:
    message = render_chat(many_added(count, name_length, problems), markup=markup, link=LINK)
    assert len(message.body) <= MAX_CHARS + 1
    shown = message.body.count("Added: Organisation")
    if shown < count:
        assert f"…and {count - shown} more change" in message.body
    else:
        assert "more change" not in message.body
    assert LINK in message.body
    if problems:
        assert "Problems: " in message.body


def test_markdown_and_html_messages_cannot_carry_markup_from_page_text() -> None:
    report = every_kind("<script>alert(1)</script> [x](javascript:evil) <b>bold</b>")
    markdown = render_chat(report, markup="markdown").body
    tokens = MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens for child in (token.children or [])]
    assert not [t for t in [*tokens, *inline] if t.type.startswith("html") or t.type == "link_open"]
    html = render_chat(report, markup="html", link=LINK).body
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None
    assert [a["href"] for a in soup.find_all("a")] == [LINK]
    assert "<script>alert(1)</script>" in soup.get_text()


def test_a_link_that_is_not_web_is_not_a_link() -> None:
    html = render_chat(december_2021(), markup="html", link="javascript:alert(1)").body
    assert "<a " not in html
    markdown = render_chat(december_2021(), markup="markdown", link="javascript:alert(1)").body
    assert "<javascript" not in markdown


def test_the_registered_format_is_the_markdown_message() -> None:
    from reports import render

    rendered = render(december_2021(), "chat")
    assert rendered.body == render_chat(december_2021()).body
    assert rendered.extension == "chat.md"
    no_problems = dataclasses.replace(reorganisation(), problems=())
    assert "Problems" not in render(no_problems, "chat").body


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack://t***/…"),
        ("https://hooks.slack.com/services/T1/B2/XXXX", "https://hooks.slack.com/…"),
        ("json://127.0.0.1:8080/hook/token", "json://127.0.0.1:8080/…"),
        ("json://localhost", "json://localhost"),
        ("mailto://user:password@gmail.com", "mailto://***@gmail.com"),
        ("ntfy://my-secret-topic", "ntfy://m***"),
        ("msteams://team@tokenA/tokenB/tokenC", "msteams://***@t***/…"),
        ("form://[::1]:99/x?token=abc", "form://::1:99/…"),
        ("json://host:notaport/x", "(not a URL)"),
    ],
)
def test_targets_are_shown_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_urls_split_on_spaces_and_commas_but_not_inside_a_query() -> None:
    text = " json://a/x, form://b/y\n\tmailto://u:p@c.org?to=a@x.org,b@y.org ,slack://T/B/C "
    assert split_urls(text) == [
        "json://a/x",
        "form://b/y",
        "mailto://u:p@c.org?to=a@x.org,b@y.org",
        "slack://T/B/C",
    ]
    assert split_urls("  ") == []


def test_a_target_key_is_stable_and_reveals_nothing() -> None:
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    key = target_key(url)
    assert key == target_key(f"  {url}\n")
    assert key != target_key(url + "x")
    assert len(key) == 32
    assert not any(part in key for part in ("T1JJ", "A1BR", "TIia"))


def test_scrub_masks_the_secret_parts_of_a_url_in_any_text() -> None:
    url = "json://user:Pa55word@127.0.0.1:8080/hooks/T0KEN-abc?sig=S1GNATURE"
    said = (
        "HTTPConnectionPool(host='127.0.0.1', port=8080): Max retries exceeded with url:"
        " /hooks/T0KEN-abc?sig=S1GNATURE (caused by user Pa55word)\n at json://x/T0KEN-abc"
    )
    scrubbed = scrub(said, url)
    for secret in ("T0KEN", "S1GNATURE", "Pa55word"):
        assert secret not in scrubbed
    assert "/hooks/***" in scrubbed  # plain words stay readable
    assert "127.0.0.1" in scrubbed
    assert "\n" not in scrubbed
