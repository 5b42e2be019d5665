"""Markup-only differences are not changes: perturbed fixtures parse and diff to an empty ChangeSet.

Whitespace re-flowed, attributes reordered, and noise (csrf tokens, timestamps, chrome class
names, asset digests) changed in the HTML fixtures; then parse -> diff must report nothing.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from changes import State, diff
from scraper.page import Page, content_hash
from scraper.parse import parse_html_document, parse_publication
from tracker.sample import PAGES

_LOCAL = PAGES
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
PUBLICATION_URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"
EXPERIMENTAL_URL = f"{PUBLICATION_URL}/experimental-medicine-and-clinical-trials"
TRADE_URL = (
    f"{PUBLICATION_URL}/uk-life-sciences-trade-organisations-membership-associations-clusters-"
    "and-research-and-innovation-networks"
)
FIXTURES: dict[str, str] = {
    **{
        f"html_experimental-medicine-and-clinical-trials_{era}.html": EXPERIMENTAL_URL
        for era in ("whitehall_2015-06", "whitehall_2017-01", "static-components_2017-01")
    },
    "html_experimental-medicine-and-clinical-trials_2021-12.html": EXPERIMENTAL_URL,
    "html_experimental-medicine-and-clinical-trials_current.html": EXPERIMENTAL_URL,
    "html_uk-life-sciences-trade-organisations_2021-12.html": TRADE_URL,
    "publication_whitehall_2015-06.html": PUBLICATION_URL,
    "publication_whitehall_2017-02.html": PUBLICATION_URL,
    "publication_static-components_2017-03.html": PUBLICATION_URL,
    "publication_2021-12.html": PUBLICATION_URL,
    "publication_current.html": PUBLICATION_URL,
}
MAIN_FIXTURE = "html_experimental-medicine-and-clinical-trials_2021-12.html"

# Comments, scripts and styles pass through untouched; then tags; then text.
_TOKEN = re.compile(
    r"<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<![^>]*>|<[^>]*>|[^<]+", re.S
)
_START_TAG = re.compile(r"<([a-zA-Z][^\s/>]*)(.*?)(/?)>\Z", re.S)
_ATTRIBUTE = re.compile(r"\s+([^\s=/>\"']+)(\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_BLOCK_TAG = re.compile(r"</?(?:p|div|h[1-6]|ul|ol|li|section|header|footer|main|nav|head|body)\b")
_SPACE = re.compile(r"[ \t\r\n]+")  # never \s: a no-break space is content
_WHITESPACE = (" ", "\n", "\n    ", "  \t ", "\r\n", "\n\n  ")


def fixture_text(name: str) -> str:
    """Read a fixture from tracker/sample/pages, else from the shared set it was copied from."""
    path = _LOCAL / name if (_LOCAL / name).exists() else _SHARED / name
    return path.read_text(encoding="utf-8")


def parse(name: str, html: str) -> Page:
    parser = parse_publication if name.startswith("publication") else parse_html_document
    return parser(html.encode("utf-8"), FIXTURES[name])


def assert_no_change(name: str, old_html: str, new_html: str) -> None:
    old, new = parse(name, old_html), parse(name, new_html)
    changes = diff(State(1, None, {old.url: old}), State(2, None, {new.url: new}))
    assert changes.documents == ()
    assert changes.summary.is_empty
    assert content_hash(old) == content_hash(new)  # and storage writes no new version


def _tokens(html: str) -> list[str]:
    tokens = _TOKEN.findall(html)
    assert "".join(tokens) == html
    return tokens


def _start_tag(token: str) -> tuple[str, list[str], str] | None:
    """Split a start tag into its name, its attributes as written, and "/" if self-closing.

    None for anything else, or when the attributes do not parse cleanly (then leave it alone).
    """
    match = _START_TAG.match(token)
    if match is None or token.startswith(("<!", "<script", "<style")):
        return None
    middle, attributes, end = match.group(2), [], 0
    for found in _ATTRIBUTE.finditer(middle):
        if found.start() != end:
            return None
        attributes.append(found.group(0).strip())
        end = found.end()
    if middle[end:].strip():
        return None
    return match.group(1), attributes, match.group(3)


def reflow_whitespace(html: str, rnd: random.Random) -> str:
    """Replace each whitespace run in text and between attributes; add some around block tags."""
    out: list[str] = []
    for token in _tokens(html):
        if token.startswith(("<!", "<script", "<style")):
            out.append(token)
            continue
        if not token.startswith("<"):
            out.append(_SPACE.sub(lambda _: rnd.choice(_WHITESPACE), token))
            continue
        tag = _start_tag(token)
        if tag is not None:
            name, attributes, closing = tag
            token = f"<{name}{''.join(rnd.choice(_WHITESPACE) + a for a in attributes)}{closing}>"
        if _BLOCK_TAG.match(token) and rnd.random() < 0.3:
            token = rnd.choice(_WHITESPACE) + token + rnd.choice(_WHITESPACE)
        out.append(token)
    return "".join(out)


def reorder_attributes(html: str, rnd: random.Random) -> str:
    """Shuffle the attributes of every start tag whose attributes parse cleanly."""
    out: list[str] = []
    for token in _tokens(html):
        tag = _start_tag(token)
        if tag is not None:
            name, attributes, closing = tag
            rnd.shuffle(attributes)
            token = f"<{name}{''.join(' ' + a for a in attributes)}{closing}>"
        out.append(token)
    return "".join(out)


# A seed, not st.randoms(): a whole page of random choices is too big an example to shrink.
seeds = st.integers(min_value=0, max_value=2**32 - 1).map(random.Random)
tokens_strategy = st.text(string.ascii_letters + string.digits + "+/=", min_size=16, max_size=64)
moments_strategy = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
class_names = st.text(string.ascii_lowercase + "-_", min_size=1, max_size=20).map(lambda s: f"x{s}")


def add_noise(html: str, token: str, moment: datetime, chrome_class: str) -> str:
    """Change what differs between two fetches of an unchanged page: tokens, times, chrome."""
    stamp = moment.isoformat()
    head = (
        f'<meta name="csrf-param" content="authenticity_token">'
        f'<meta name="csrf-token" content="{token}">'
        f'<meta name="govuk:rendered-at" content="{stamp}">'
        f'<script nonce="{token}">window.GOVUK = {{renderedAt: "{stamp}"}};</script>'
    )
    html = html.replace("</head>", f"{head}</head>", 1)
    html = re.sub(r'<body class="', f'<body data-request-id="{token}" class="{chrome_class} ', html)
    html = re.sub(r'(<header role="banner"[^>]*class=")', rf"\g<1>{chrome_class} ", html)
    html = html.replace("gem-c-layout-footer govuk-footer", f"{chrome_class}-footer govuk-footer")
    html = html.replace("govuk-breadcrumbs__link", f"{chrome_class}__link")
    html = re.sub(r"licence-min-[0-9a-f]+\.png", f"licence-min-{abs(hash(token)):x}.png", html)
    return html.replace("</body>", f"<!-- rendered {stamp} by frontend-{token[:6]} --></body>", 1)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "reflow_whitespace": reflow_whitespace,
    "reorder_attributes": reorder_attributes,
}


@pytest.mark.parametrize("how", sorted(PERTURBATIONS))
@pytest.mark.parametrize("name", sorted(FIXTURES))
@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=seeds)
def test_markup_perturbation_of_each_fixture_is_no_change(
    name: str, how: str, rnd: random.Random
) -> None:
    html = fixture_text(name)
    assert_no_change(name, html, PERTURBATIONS[how](html, rnd))


@pytest.mark.parametrize("name", sorted(FIXTURES))
@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(token=tokens_strategy, moment=moments_strategy, chrome_class=class_names)
def test_noise_in_each_fixture_is_no_change(
    name: str, token: str, moment: datetime, chrome_class: str
) -> None:
    html = fixture_text(name)
    assert_no_change(name, html, add_noise(html, token, moment, chrome_class))


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    rnd=seeds,
    token=tokens_strategy,
    moment=moments_strategy,
    chrome_class=class_names,
)
def test_every_perturbation_together_is_no_change(
    rnd: random.Random, token: str, moment: datetime, chrome_class: str
) -> None:
    html = fixture_text(MAIN_FIXTURE)
    noisy = reflow_whitespace(
        reorder_attributes(add_noise(html, token, moment, chrome_class), rnd), rnd
    )
    assert_no_change(MAIN_FIXTURE, html, noisy)


def test_perturbations_really_change_the_markup() -> None:
    html = fixture_text(MAIN_FIXTURE)
    rnd = random.Random(7)
    assert reflow_whitespace(html, rnd) != html
    assert reorder_attributes(html, rnd) != html
    noisy = add_noise(html, "t0ken" * 4, datetime(2024, 5, 1, tzinfo=UTC), "xchrome")
    assert 'name="csrf-token"' in noisy
    assert "xchrome-footer" in noisy


def test_a_real_edit_under_the_noise_is_still_seen() -> None:
    html = fixture_text(MAIN_FIXTURE)
    edited = html.replace("runs early-phase cancer trials", "runs early-phase trials")
    assert edited != html
    noisy = reflow_whitespace(
        add_noise(edited, "t0ken" * 4, datetime(2024, 5, 1, tzinfo=UTC), "xc"), random.Random(3)
    )
    old, new = parse(MAIN_FIXTURE, html), parse(MAIN_FIXTURE, noisy)
    changes = diff(State(1, None, {old.url: old}), State(2, None, {new.url: new}))
    assert changes.summary.organisations_changed == 1
    organisations = changes.documents[0].organisations
    assert organisations is not None
    (change,) = organisations.changed
    assert change.name == "Experimental Cancer Medicine Centres (ECMC)"
    assert set(change.changes) == {"description"}


@pytest.mark.parametrize(
    ("old_name", "new_name"),
    [
        (
            "html_experimental-medicine-and-clinical-trials_2021-12.html",
            "html_experimental-medicine-and-clinical-trials_current.html",
        ),
        ("publication_2021-12.html", "publication_current.html"),
    ],
    ids=["html_document", "publication"],
)
def test_the_2021_and_current_markup_eras_are_no_change(old_name: str, new_name: str) -> None:
    old, new = parse(old_name, fixture_text(old_name)), parse(new_name, fixture_text(new_name))
    changes = diff(State(1, None, {old.url: old}), State(2, None, {new.url: new}))
    assert changes.documents == ()
    assert changes.summary.is_empty
    assert old == new
