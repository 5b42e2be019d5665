"""The canonical JSON of a page is the change gate (its SHA-256 is a version's content hash).

It is written by msgspec for speed; it must stay byte for byte what `json.dumps` of
`page_to_dict` with sorted keys, no ASCII escaping and compact separators wrote when the stored
hashes were made, or every stored page would look changed after an upgrade.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.page import HtmlDocument, Organisation, Page, page_to_dict, page_to_json
from storage.content import encode_page
from tests.test_parse import CASES, parse_fixture


def reference_json(page: Page) -> str:
    return json.dumps(page_to_dict(page), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def test_every_fixture_page_encodes_as_json_dumps_did() -> None:
    for name in CASES:
        page = parse_fixture(name)
        assert page_to_json(page) == reference_json(page), name


# Any text, control characters, line separators, astral characters and quotes included.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    name=texts,
    description=texts,
    links=st.lists(texts, max_size=3),
    title=texts,
    text=texts,
    updated=st.none() | texts,
)
def test_any_document_encodes_as_json_dumps_did(
    name: str, description: str, links: list[str], title: str, text: str, updated: str | None
) -> None:
    organisation = Organisation(
        name=name,
        url=links[0] if links else None,
        description=description,
        stage="Discovery",
        stage_heading="Discovery and early stage",
        links=tuple(links),
        position=0,
    )
    page = HtmlDocument(
        url="https://www.gov.uk/x",
        title=title,
        doc_type="Guidance",
        updated=updated,
        intro_text=text,
        organisations=(organisation,),
        text=text,
    )
    assert page_to_json(page) == reference_json(page)
    data = page_to_dict(page)
    del data["organisations"]
    stored = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert encode_page(page).stored_json == stored
