"""A loopback GOV.UK-like site for the benchmark: N publications, each linking 7 HTML documents.

Pages come from `tests/govuk_site.py` (2021 markup, spliced into the fixture pages) with the
abridged chrome of the fixtures filled in (cookie banner, header with crown and search, feedback
form, full footer, stylesheets and scripts) and extra organisations, so pages weigh 30-60 KB as
GOV.UK's do. Publication i lives at `/government/publications/uk-life-sciences-support-<i>`.

`BenchServer` serves a `BenchSite` on 127.0.0.1 with, optionally:
- per-request noise outside the content (`tests.govuk_site.add_noise`): a CSRF token, a request id,
  script nonces, a timestamp comment, and visible text in the chrome (a banner sentence at the top,
  a render stamp with the request time in the footer), none of which may cost a parse;
- validators: a weak ETag of the page's stable body and a Last-Modified date, answering
  If-None-Match / If-Modified-Since with 304 (RFC 9110 §13.2.2 order);
- latency: a delay before every answer.
It counts the requests it answers, by status. `BenchSite.bump()` changes an exact, known set of
pages (an organisation's description in a document, a change note on a publication) and checks
that exactly those pages' bytes changed.

Run `python -m bench.site --check` to verify the generator (sizes, parse equivalence, bumps).
"""

from __future__ import annotations

import copy
import email.utils
import gzip
import hashlib
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.govuk_site import PUBLICATION_PATH, SiteSpec, add_noise, default_site, render_site
from tests.site_server import ROBOTS

BASE_LAST_MODIFIED = "Wed, 01 Dec 2021 11:18:04 GMT"
_REGIONS = (
    "North East", "North West", "Yorkshire", "East Midlands", "West Midlands", "East of England",
    "London", "South East", "South West", "Wales", "Scotland", "Northern Ireland",
)  # fmt: skip
_TOPICS = (
    "Genomics", "Medical Imaging", "Clinical Trials", "Diagnostics", "Digital Health",
    "Biomanufacturing", "Cell Therapy", "Antimicrobials", "Health Data", "Medical Devices",
)  # fmt: skip
_KINDS = ("Network", "Innovation Centre", "Cluster", "Accelerator", "Partnership", "Hub")
_WORDS = [
    "support",
    "advice",
    "funding",
    "research",
    "companies",
    "products",
    "patients",
    "clinical",
    "regulatory",
    "market",
    "access",
    "evidence",
    "partners",
    "universities",
    "hospitals",
    "trials",
    "manufacturing",
    "investment",
    "skills",
    "training",
    "collaboration",
    "data",
    "development",
    "translation",
    "adoption",
    "innovation",
    "services",
    "early",
    "stage",
    "growth",
    "export",
    "networks",
    "facilities",
    "expertise",
]


def publication_path(index: int) -> str:
    """Return the path of publication `index` (0-based)."""
    return f"{PUBLICATION_PATH}-{index:04d}"


# --- chrome: what the fixtures abridge ----------------------------------------------------------


def _svg_path(seed: int, points: int) -> str:
    rng = random.Random(seed)
    steps = " ".join(
        f"{rng.choice('lLcC')}{rng.uniform(-40, 40):.3f} {rng.uniform(-40, 40):.3f}"
        for _ in range(points)
    )
    start = f"M{rng.uniform(0, 99):.2f} {rng.uniform(0, 99):.2f}"
    return f'<path fill="currentColor" d="{start}{steps}z"></path>'


def _head_assets() -> str:
    sheets = "".join(
        f'  <link rel="stylesheet" media="{media}" href="https://www.gov.uk/assets/{app}/{name}-'
        f'{hashlib.sha256(name.encode()).hexdigest()}.css" />\n'
        for app, name, media in (
            ("static", "application", "all"),
            ("static", "print", "print"),
            ("government-frontend", "application", "screen"),
            ("government-frontend", "print", "print"),
        )
    )
    icons = "".join(
        f'  <link rel="apple-touch-icon" sizes="{size}x{size}" href="https://www.gov.uk/assets/'
        f'static/govuk-apple-touch-icon-{size}x{size}-{hashlib.sha256(str(size).encode()).hexdigest()[:32]}.png">\n'
        for size in (180, 167, 152)
    )
    return (
        sheets
        + icons
        + '  <link rel="icon" sizes="48x48" href="https://www.gov.uk/assets/static/favicon.ico">\n'
        + '  <meta name="theme-color" content="#0b0c0c" />\n'
        + '  <meta property="og:image" content="https://www.gov.uk/assets/static/'
        + 'govuk-opengraph-image.png">\n'
        + '  <meta property="og:site_name" content="GOV.UK" />\n'
        + '  <meta property="og:type" content="article" />\n'
        + '  <meta name="twitter:card" content="summary" />\n'
        + "  <script>window.GOVUK = window.GOVUK || {}; window.GOVUK.analyticsVars = "
        + '{"gaProperty":"UA-26179049-1","gaPropertyCrossDomain":"UA-145652997-1",'
        + '"linkedDomains":["www.gov.uk","account.gov.uk","www.tax.service.gov.uk"]};</script>\n'
        + "  <script>(function(){var c=document.cookie.match(/cookies_policy=([^;]*)/);"
        + "window.GOVUK.cookieConsent=c?decodeURIComponent(c[1]):null;})();</script>\n"
    )


def _cookie_banner() -> str:
    return """
  <div id="global-cookie-message" class="gem-c-cookie-banner govuk-clearfix" data-module="cookie-banner" data-nosnippet role="region" aria-label="Cookies on GOV.UK">
    <div class="gem-c-cookie-banner__message govuk-width-container">
      <div class="govuk-grid-row">
        <div class="govuk-grid-column-two-thirds">
          <h2 class="govuk-heading-m">Cookies on GOV.UK</h2>
          <div class="govuk-body" tabindex="-1">
            <p>We use some essential cookies to make this website work.</p>
            <p>We’d like to set additional cookies to understand how you use GOV.UK, remember your settings and improve government services.</p>
            <p>We also use cookies set by other sites to help us deliver content from their services.</p>
          </div>
        </div>
      </div>
      <div class="govuk-button-group">
        <button class="govuk-button" type="submit" data-module="gem-track-click" data-accept-cookies="true" data-track-category="cookieBanner" data-track-action="Cookie banner accepted" data-cookie-types="all">Accept additional cookies</button>
        <button class="govuk-button" type="submit" data-module="gem-track-click" data-reject-cookies="true" data-track-category="cookieBanner" data-track-action="Cookie banner rejected">Reject additional cookies</button>
        <a class="govuk-link" href="/help/cookies">View cookies</a>
      </div>
    </div>
    <div class="gem-c-cookie-banner__confirmation govuk-width-container" tabindex="-1" hidden>
      <p class="gem-c-cookie-banner__confirmation-message" role="alert">You can <a class="govuk-link" href="/help/cookies" data-module="gem-track-click" data-track-category="cookieBanner" data-track-action="Cookie banner settings clicked from confirmation">change your cookie settings</a> at any time.</p>
      <div class="govuk-button-group">
        <button class="gem-c-cookie-banner__hide-button govuk-button" data-hide-cookie-banner="true" data-module="gem-track-click" data-track-category="cookieBanner" data-track-action="Hide cookie banner">Hide this message</button>
      </div>
    </div>
  </div>
"""  # noqa: E501


def _header() -> str:
    nav = "".join(
        f'          <li class="govuk-header__navigation-item"><a class="govuk-header__link" '
        f'href="/browse/{slug}">{label}</a></li>\n'
        for slug, label in (
            ("benefits", "Benefits"),
            ("births-deaths-marriages", "Births, deaths, marriages and care"),
            ("business", "Business and self-employed"),
            ("childcare-parenting", "Childcare and parenting"),
            ("citizenship", "Citizenship and living in the UK"),
            ("justice", "Crime, justice and the law"),
            ("disabilities", "Disabled people"),
            ("driving", "Driving and transport"),
            ("education", "Education and learning"),
            ("employing-people", "Employing people"),
        )
    )
    return f"""<header role="banner" id="global-header" class="gem-c-layout-header govuk-header" data-module="govuk-header">
    <div class="govuk-header__container govuk-width-container">
      <div class="govuk-header__logo gem-c-header__logo">
        <a href="/" class="govuk-header__link govuk-header__link--homepage" id="logo" data-module="gem-track-click" data-track-category="homeLinkClicked" data-track-action="homeHeader">
          <span class="govuk-header__logotype">
            <svg aria-hidden="true" focusable="false" class="govuk-header__logotype-crown" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 132 97" height="30" width="36">{_svg_path(1, 60)}</svg>
            <span class="govuk-header__logotype-text">GOV.UK</span>
          </span>
        </a>
      </div>
      <div class="govuk-header__content gem-c-header__content">
        <button type="button" class="govuk-header__menu-button gem-c-header__menu-button govuk-js-header-toggle" aria-controls="navigation" aria-label="Show or hide navigation menu" hidden>Menu</button>
        <nav aria-label="Navigation menu" class="gem-c-header__nav">
          <ul id="navigation" class="govuk-header__navigation-list">
{nav}          </ul>
        </nav>
        <form id="search" class="gem-c-header__search" action="/search" method="get" role="search" aria-label="Site-wide">
          <div class="gem-c-search govuk-!-display-none-print gem-c-search--on-govuk-blue" data-module="gem-toggle-input-class-on-focus">
            <label for="site-search-text" class="gem-c-search__label">Search on GOV.UK</label>
            <div class="gem-c-search__item-wrapper">
              <input enterkeyhint="search" class="gem-c-search__item gem-c-search__input js-class-toggle" id="site-search-text" name="q" title="Search" type="search" value="">
              <div class="gem-c-search__item gem-c-search__submit-wrapper">
                <button class="gem-c-search__submit" type="submit" data-track-category="headerClicked" data-track-action="searchSubmitted" data-track-label="/search/all" data-track-dimension="Search on GOV.UK content" data-track-dimension-index="29" data-module="gem-track-click" enterkeyhint="search">Search
                  <svg class="gem-c-search__icon" width="27" height="27" viewBox="0 0 27 27" fill="none" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false">{_svg_path(2, 30)}</svg>
                </button>
              </div>
            </div>
          </div>
        </form>
      </div>
    </div>
  </header>"""  # noqa: E501


def _feedback() -> str:
    return """
    <div class="gem-c-feedback govuk-!-display-none-print" data-module="feedback">
      <div class="gem-c-feedback__prompt gem-c-feedback__js-show js-prompt" tabindex="-1">
        <div class="gem-c-feedback__prompt-content">
          <div class="gem-c-feedback__prompt-questions js-prompt-questions">
            <div class="gem-c-feedback__prompt-question-answer">
              <h2 class="gem-c-feedback__prompt-question">Is this page useful?</h2>
              <ul class="gem-c-feedback__option-list">
                <li class="gem-c-feedback__option-list-item govuk-visually-hidden" hidden><a class="gem-c-feedback__prompt-link" data-track-category="yesNoFeedbackForm" data-track-action="ffMaybeClick" role="button" hidden aria-hidden="true" href="/contact/govuk">Maybe</a></li>
                <li class="gem-c-feedback__option-list-item"><button class="govuk-button gem-c-feedback__prompt-link js-page-is-useful" data-track-category="yesNoFeedbackForm" data-track-action="ffYesClick">Yes <span class="govuk-visually-hidden">this page is useful</span></button></li>
                <li class="gem-c-feedback__option-list-item"><button class="govuk-button gem-c-feedback__prompt-link js-toggle-form js-page-is-not-useful" data-track-category="yesNoFeedbackForm" data-track-action="ffNoClick" aria-controls="page-is-not-useful" aria-expanded="false">No <span class="govuk-visually-hidden">this page is not useful</span></button></li>
              </ul>
            </div>
          </div>
          <div class="gem-c-feedback__prompt-questions gem-c-feedback__prompt-success js-prompt-success" role="alert" hidden>Thank you for your feedback</div>
          <div class="gem-c-feedback__prompt-questions gem-c-feedback__prompt-questions--something-is-wrong js-prompt-questions">
            <button class="govuk-button gem-c-feedback__prompt-link js-toggle-form js-something-is-wrong" data-track-category="Onsite Feedback" data-track-action="GOV.UK Open Form" aria-controls="something-is-wrong" aria-expanded="false">Report a problem with this page</button>
          </div>
        </div>
      </div>
      <form action="/contact/govuk/problem_reports" id="something-is-wrong" class="gem-c-feedback__form js-feedback-form" data-track-category="Onsite Feedback" data-track-action="GOV.UK Send Form" method="post" hidden>
        <div class="govuk-grid-row">
          <div class="govuk-grid-column-two-thirds">
            <div class="gem-c-feedback__error-summary gem-c-feedback__js-show js-errors" tabindex="-1" hidden></div>
            <input type="hidden" name="url" value="">
            <h3 class="gem-c-feedback__form-heading">Help us improve GOV.UK</h3>
            <p id="feedback_explanation" class="gem-c-feedback__form-paragraph">Don’t include personal or financial information like your National Insurance number or credit card details.</p>
            <div class="govuk-visually-hidden" aria-hidden="true"><label for="giraffe">This field is for robots only. Please leave blank</label><input id="giraffe" name="giraffe" type="text" pattern=".{0}" tabindex="-1" autocomplete="off"></div>
            <div class="govuk-form-group"><label for="input-what-doing" class="gem-c-label govuk-label">What were you doing?</label><input aria-describedby="feedback_explanation" class="gem-c-input govuk-input" id="input-what-doing" name="what_doing" spellcheck="false" type="text"></div>
            <div class="govuk-form-group"><label for="input-what-wrong" class="gem-c-label govuk-label">What went wrong?</label><input class="gem-c-input govuk-input" id="input-what-wrong" name="what_wrong" spellcheck="false" type="text"></div>
            <button class="gem-c-button govuk-button" type="submit">Send</button>
            <button class="govuk-button govuk-button--secondary gem-c-feedback__close gem-c-feedback__js-show js-close-form" data-track-category="Onsite Feedback" data-track-action="GOV.UK Close Form" aria-controls="something-is-wrong" aria-expanded="true">Cancel</button>
          </div>
        </div>
      </form>
      <form action="/contact/govuk/email-survey-signup" id="page-is-not-useful" class="gem-c-feedback__form gem-c-feedback__form--email gem-c-feedback__js-show js-feedback-form" data-track-category="yesNoFeedbackForm" data-track-action="Send Form" method="post" hidden>
        <div class="govuk-grid-row">
          <div class="govuk-grid-column-two-thirds">
            <div class="gem-c-feedback__error-summary js-errors" tabindex="-1" hidden></div>
            <input name="email_survey_signup[survey_id]" type="hidden" value="footer_satisfaction_survey">
            <input name="email_survey_signup[survey_source]" type="hidden" value="">
            <h3 class="gem-c-feedback__form-heading">Help us improve GOV.UK</h3>
            <p id="survey_explanation" class="gem-c-feedback__form-paragraph">To help us improve GOV.UK, we’d like to know more about your visit today. We’ll send you a link to a feedback form. It will take only 2 minutes to fill in. Don’t worry we won’t send you spam or share your email address with anyone.</p>
            <div class="govuk-form-group"><label for="input-email" class="gem-c-label govuk-label">Email address</label><input aria-describedby="survey_explanation" autocomplete="email" class="gem-c-input govuk-input" id="input-email" name="email_survey_signup[email_address]" spellcheck="false" type="email"></div>
            <button class="gem-c-button govuk-button" type="submit">Send me the survey</button>
            <button class="govuk-button govuk-button--secondary gem-c-feedback__close js-close-form" data-track-category="yesNoFeedbackForm" data-track-action="ffFormClose" aria-controls="page-is-not-useful" aria-expanded="true">Cancel</button>
          </div>
        </div>
      </form>
    </div>
"""  # noqa: E501


def _footer() -> str:
    topics = (
        "Benefits", "Births, deaths, marriages and care", "Business and self-employed",
        "Childcare and parenting", "Citizenship and living in the UK",
        "Crime, justice and the law", "Disabled people", "Driving and transport",
        "Education and learning", "Employing people", "Environment and countryside",
        "Housing and local services", "Money and tax", "Passports, travel and living abroad",
        "Visas and immigration", "Working, jobs and pensions",
    )  # fmt: skip
    activity = (
        "Departments", "News", "Guidance and regulation", "Research and statistics",
        "Policy papers and consultations", "Transparency", "How government works",
        "Get involved",
    )  # fmt: skip
    support = (
        "Help", "Privacy", "Cookies", "Accessibility statement", "Contact",
        "Terms and conditions", "Rhestr o Wasanaethau Cymraeg", "Government Digital Service",
    )  # fmt: skip

    def links(names: tuple[str, ...], prefix: str, css: str) -> str:
        items = []
        for name in names:
            path = f"/{prefix}/{re.sub(r'[^a-z]+', '-', name.lower())}"
            items.append(
                f'            <li class="{css}"><a class="govuk-footer__link" '
                f'data-track-category="footerClicked" data-track-action="{prefix}Links" '
                f'data-track-label="{path}" href="{path}">{name}</a></li>\n'
            )
        return "".join(items)

    return f"""<footer class="gem-c-layout-footer govuk-footer" role="contentinfo">
    <div class="govuk-width-container">
      <div class="govuk-footer__navigation">
        <div class="govuk-footer__section govuk-grid-column-two-thirds">
          <h2 class="govuk-footer__heading govuk-heading-m">Topics</h2>
          <ul class="govuk-footer__list govuk-footer__list--columns-2">
{links(topics, "browse", "govuk-footer__list-item")}          </ul>
        </div>
        <div class="govuk-footer__section govuk-grid-column-one-third">
          <h2 class="govuk-footer__heading govuk-heading-m">Government activity</h2>
          <ul class="govuk-footer__list govuk-footer__list--columns-1">
{links(activity, "government", "govuk-footer__list-item")}          </ul>
        </div>
      </div>
      <hr class="govuk-footer__section-break">
      <div class="govuk-footer__meta">
        <div class="govuk-footer__meta-item govuk-footer__meta-item--grow">
          <h2 class="govuk-visually-hidden">Support links</h2>
          <ul class="govuk-footer__inline-list">
{links(support, "help", "govuk-footer__inline-list-item")}          </ul>
          <svg aria-hidden="true" focusable="false" class="govuk-footer__licence-logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 483.2 195.7" height="17" width="41">{_svg_path(3, 40)}</svg>
          <span class="govuk-footer__licence-description">All content is available under the <a class="govuk-footer__link" href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/" rel="license">Open Government Licence v3.0</a>, except where otherwise stated</span>
        </div>
        <div class="govuk-footer__meta-item">
          <a class="govuk-footer__link govuk-footer__copyright-logo" href="https://www.nationalarchives.gov.uk/information-management/re-using-public-sector-information/uk-government-licensing-framework/crown-copyright/">© Crown copyright</a>
        </div>
      </div>
    </div>
  </footer>"""  # noqa: E501


def _body_scripts() -> str:
    return "".join(
        f'  <script src="https://www.gov.uk/assets/{app}/{name}-'
        f'{hashlib.sha256((app + name).encode()).hexdigest()}.js"></script>\n'
        for app, name in (
            ("static", "libs/jquery/jquery-1.12.4"),
            ("static", "application"),
            ("government-frontend", "application"),
            ("government-frontend", "webchat"),
        )
    )


_CHROME: dict[str, str] = {}


def expand_chrome(page: str) -> str:
    """Fill in what the fixtures abridge, outside <main> (and SVG paths inside it)."""
    if not _CHROME:
        _CHROME.update(
            head=_head_assets(),
            banner=_cookie_banner(),
            header=_header(),
            feedback=_feedback(),
            footer=_footer(),
            scripts=_body_scripts(),
            icon=_svg_path(4, 12),
        )
    page = page.replace("</head>", _CHROME["head"] + "</head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda m: m[1] + _CHROME["banner"], page, count=1)
    page = re.sub(
        r'<header role="banner".*?</header>', lambda _: _CHROME["header"], page, count=1, flags=re.S
    )
    page = page.replace("</main>", "</main>" + _CHROME["feedback"], 1)
    page = re.sub(
        r'<footer class="gem-c-layout-footer.*?</footer>',
        lambda _: _CHROME["footer"],
        page,
        count=1,
        flags=re.S,
    )
    page = page.replace("<!-- path abridged -->", _CHROME["icon"])
    return page.replace("</body>", _CHROME["scripts"] + "</body>", 1)


# --- content -------------------------------------------------------------------------------------


def _extra_organisations(spec: SiteSpec, index: int) -> None:
    """Add invented organisations so the documents weigh what GOV.UK's do (30-60 KB)."""
    from tests.govuk_site import OrgSpec

    for number, doc in enumerate(spec.docs):
        rng = random.Random(f"bench-{index}-{number}")
        stages = [stage for stage in doc.stages if stage.orgs]
        for k in range((index * 7 + number * 11) % 23):
            name = f"{rng.choice(_REGIONS)} {rng.choice(_TOPICS)} {rng.choice(_KINDS)} {k + 1}"
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            url = f"https://{slug}.example.org/"
            words = [rng.choice(_WORDS) for _ in range(rng.randrange(35, 70))]
            middle = rng.randrange(5, len(words) - 5)
            description = (
                f"<p>The {name} {' '.join(words[:middle])} "
                f'<a rel="external" href="{url}">{name}</a> {" ".join(words[middle:])}.</p>'
            )
            if rng.random() < 0.4:
                items = "".join(
                    f"  <li>{' '.join(rng.choice(_WORDS) for _ in range(6))}</li>\n"
                    for _ in range(rng.randrange(2, 5))
                )
                description += f"\n\n<p>It offers:</p>\n\n<ul>\n{items}</ul>"
            stages[k % len(stages)].orgs.append(OrgSpec(name, url, description))


def _bump_document(spec: SiteSpec, doc_index: int, change: int) -> None:
    doc = spec.docs[doc_index]
    for stage in doc.stages:
        for org in stage.orgs:
            if "</p>" in org.description_html:
                org.description_html = org.description_html.replace(
                    "</p>", f" Revised in benchmark change {change}.</p>", 1
                )
                return
    raise AssertionError(f"document {doc.slug} has no organisation paragraph to change")


def _bump_publication(spec: SiteSpec, change: int) -> None:
    when = datetime(2026, 2, 1, 9, 30, tzinfo=UTC) + timedelta(minutes=change)
    spec.add_change_note(when, f"Benchmark change {change}: updated the document list notes.")


@dataclass
class BenchPage:
    """One served page: its stable body and validators."""

    path: str
    kind: str  # publication | html_document
    publication: int
    body: bytes
    etag: str
    last_modified: str


def _etag(body: bytes) -> str:
    # Weak: with noise on, equal tags stand for semantically equal bodies (RFC 9110 §8.8.1).
    return 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'


@dataclass
class BenchSite:
    """N publications of 1 + 7 pages; `bump` changes a known set of pages, `reset` undoes it."""

    publications: int
    base_url: str
    base_specs: list[SiteSpec] = field(default_factory=list)
    specs: list[SiteSpec] = field(default_factory=list)
    pages: dict[str, BenchPage] = field(default_factory=dict)
    _base_pages: dict[str, BenchPage] = field(default_factory=dict)
    _changes: int = 0

    def __post_init__(self) -> None:
        template = default_site("2021")
        for index in range(self.publications):
            spec = copy.deepcopy(template)
            _extra_organisations(spec, index)
            self.base_specs.append(spec)
        self.specs = [copy.deepcopy(spec) for spec in self.base_specs]
        for index in range(self.publications):
            self.pages.update(self._render(index, BASE_LAST_MODIFIED))
        self._base_pages = dict(self.pages)

    def _render(self, index: int, last_modified: str) -> dict[str, BenchPage]:
        rendered = render_site(self.specs[index], self.base_url)
        new_root = publication_path(index)
        pages = {}
        for path, body in rendered.items():
            text = expand_chrome(body.decode("utf-8").replace(PUBLICATION_PATH, new_root))
            data = text.encode("utf-8")
            new_path = path.replace(PUBLICATION_PATH, new_root, 1)
            kind = "publication" if path == PUBLICATION_PATH else "html_document"
            pages[new_path] = BenchPage(new_path, kind, index, data, _etag(data), last_modified)
        return pages

    def publication_urls(self) -> list[str]:
        """Return the URLs to configure lifesci-tracker with (one per publication)."""
        return [self.base_url + publication_path(i) for i in range(self.publications)]

    def page_urls(self) -> list[str]:
        """Return every page URL (one urlwatch job each), publication first, then its documents."""
        return [self.base_url + path for path in self.pages]

    def bump(self, fraction: float, seed: int) -> set[str]:
        """Change `fraction` of the pages (chosen by `seed`); return their URLs.

        Documents get a sentence added to an organisation's description, publications a new
        change note. Verifies that exactly the chosen pages' bytes changed.
        """
        rng = random.Random(seed)
        paths = list(self.pages)
        chosen = sorted(rng.sample(paths, max(1, round(fraction * len(paths)))))
        touched: set[int] = set()
        for path in chosen:
            page = self.pages[path]
            spec = self.specs[page.publication]
            self._changes += 1
            if page.kind == "publication":
                _bump_publication(spec, self._changes)
            else:
                slug = path.rsplit("/", 1)[1]
                _bump_document(spec, [d.slug for d in spec.docs].index(slug), self._changes)
            touched.add(page.publication)
        now = email.utils.formatdate(time.time(), usegmt=True)
        changed = set()
        for index in touched:
            for path, page in self._render(index, now).items():
                if page.body != self.pages[path].body:
                    self.pages[path] = page
                    changed.add(path)
        if changed != set(chosen):
            raise AssertionError(f"bump changed {sorted(changed ^ set(chosen))[:5]} unexpectedly")
        return {self.base_url + path for path in chosen}

    def reset(self) -> None:
        """Serve the original pages again (every validator back to the original)."""
        self.specs = [copy.deepcopy(spec) for spec in self.base_specs]
        self.pages = dict(self._base_pages)


# --- the server ----------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the server answered since the last reset."""

    page_requests: int = 0
    robots_requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    bytes_sent: int = 0

    @property
    def not_modified(self) -> int:
        return self.statuses[304]


def _if_none_match_hits(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): any listed tag equal to ours, ignoring W/."""
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


class BenchServer:
    """Serve a BenchSite on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        noise: bool = True,
        validators: bool = False,
        latency_s: float = 0.0,
        gzip_bodies: bool = False,
    ) -> None:
        self.site: BenchSite | None = None
        self.noise = noise
        self.validators = validators
        self.latency_s = latency_s
        self.gzip_bodies = gzip_bodies
        self.counts = Counts()
        self._lock = threading.Lock()
        self._serial = 0
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._server = server_class(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_counts(self) -> Counts:
        """Return the counts so far and start new ones."""
        with self._lock:
            counts, self.counts = self.counts, Counts()
        return counts

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path == "/robots.txt":
            with self._lock:
                self.counts.robots_requests += 1
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        page = self.site.pages.get(path) if self.site is not None else None
        with self._lock:
            self.counts.page_requests += 1
            self._serial += 1
            serial = self._serial
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body><h1>Page not found</h1>"
        reply_headers = {"Content-Type": "text/html; charset=utf-8"}
        if self.validators:
            reply_headers |= {"ETag": page.etag, "Last-Modified": page.last_modified}
            inm, ims = headers.get("if-none-match"), headers.get("if-modified-since")
            if inm is not None:
                fresh = _if_none_match_hits(inm, page.etag)
            elif ims is not None:
                fresh = _not_modified_since(page.last_modified, ims)
            else:
                fresh = False
            if fresh:
                return 304, reply_headers, b""
        body = add_noise(page.body, serial) if self.noise else page.body
        return 200, reply_headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bench = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY on the accepted socket,
            # Nagle's algorithm and the client's delayed ACK add ~40 ms to every keep-alive
            # response (measured: 44.5 ms a request without it, 0.95 ms with it, sequential GETs).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                if bench.latency_s:
                    time.sleep(bench.latency_s)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, reply_headers, body = bench._answer(self.path, headers)
                if bench.gzip_bodies and body and "gzip" in headers.get("accept-encoding", ""):
                    body = gzip.compress(body, 6)
                    reply_headers["Content-Encoding"] = "gzip"
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                with bench._lock:
                    bench.counts.statuses[status] += 1
                    bench.counts.bytes_sent += len(body)

        return Handler


def _not_modified_since(last_modified: str, since: str) -> bool:
    try:
        ours = email.utils.parsedate_to_datetime(last_modified)
        theirs = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    return ours <= theirs


@contextmanager
def serve_site(publications: int, **options: object) -> Iterator[tuple[BenchServer, BenchSite]]:
    """Build a site of `publications` and serve it for a with-block."""
    server = BenchServer(**options)  # type: ignore[arg-type]
    site = BenchSite(publications, server.base_url)
    server.site = site
    server.start()
    try:
        yield server, site
    finally:
        server.stop()


def check(publications: int = 5) -> None:
    """Verify the generator: sizes, chrome not changing what the parser reads, bumps, noise."""
    from scraper.page import page_to_json
    from scraper.parse import content_fingerprint, parse_html_document, parse_publication

    site = BenchSite(publications, "http://127.0.0.1:1")
    sizes = sorted(len(page.body) for page in site.pages.values())
    print(
        f"{len(site.pages)} pages, {sizes[0]}..{sizes[-1]} bytes, median {sizes[len(sizes) // 2]}"
    )
    for path, page in site.pages.items():
        plain = render_site(site.specs[page.publication], site.base_url)
        original = plain[path.replace(publication_path(page.publication), PUBLICATION_PATH, 1)]
        original = original.replace(
            PUBLICATION_PATH.encode(), publication_path(page.publication).encode()
        )
        parse = parse_publication if page.kind == "publication" else parse_html_document
        url = site.base_url + path
        assert page_to_json(parse(page.body, url)) == page_to_json(parse(original, url)), path
        noisy = add_noise(page.body, 7)
        assert b'class="render-stamp"' in noisy, path
        assert b'class="global-bar"' in noisy, path
        assert page_to_json(parse(noisy, url)) == page_to_json(parse(page.body, url)), path
        # Noise is chrome: it never costs a parse (the pipeline compares these fingerprints).
        assert content_fingerprint(noisy) == content_fingerprint(page.body), path
    bumped = site.bump(0.1, seed=1)
    print(f"bump: {len(bumped)} pages changed as chosen")
    site.reset()
    print("ok")


if __name__ == "__main__":
    import sys

    check(int(sys.argv[2]) if len(sys.argv) > 2 else 5)
