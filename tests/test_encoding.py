"""Tests for decoding HTML bytes as a browser does: scraper/encoding.py and `decode_html`.

The order is the HTML standard's: a byte order mark, then the HTTP Content-Type charset (the
transport encoding), then a <meta> found by the standard's prescan, else UTF-8. Labels are looked
up per the Encoding Standard (`webencodings`).
"""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.encoding import decode
from scraper.text import decode_html

NAME = "King’s College London – Café"


def page(head: str = "", name: str = NAME) -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>T</title></head>"
        f"<body><h3>{name}</h3></body></html>"
    )


def body_text(text: str) -> str:
    return text.split("<h3>", 1)[1].split("</h3>", 1)[0]


def test_a_windows_1252_page_labelled_only_by_its_content_type_is_decoded_as_windows_1252() -> None:
    body = page().encode("cp1252")

    assert body_text(decode_html(body, "windows-1252")) == NAME
    assert "\ufffd" in decode_html(body)  # without the header's label: UTF-8, as before


def test_the_content_type_charset_wins_over_a_meta_charset() -> None:
    body = page('<meta charset="utf-8">').encode("cp1252")

    assert body_text(decode_html(body, "windows-1252")) == NAME


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_a_byte_order_mark_wins_over_a_wrong_content_type_and_meta(
    bom: bytes, encoding: str
) -> None:
    body = bom + page('<meta charset="windows-1252">').encode(encoding)

    text = decode_html(body, "windows-1252")

    assert body_text(text) == NAME
    assert text.startswith("<!DOCTYPE")  # the mark itself is not text


@pytest.mark.parametrize(
    ("label", "encoding"),
    [
        ("utf-16", "utf-16le"),
        ("UTF-16LE", "utf-16le"),
        ("utf-16be", "utf-16be"),
        ("unicode", "utf-16le"),
    ],
)
def test_a_utf_16_content_type_is_used_as_labelled(label: str, encoding: str) -> None:
    """The transport's label is used as it is: "utf-16" names UTF-16LE (no BOM needed)."""
    body = page().encode(encoding)

    assert decode(body, label)[1] == encoding
    assert body_text(decode_html(body, label)) == NAME


def test_a_utf_16_meta_charset_means_utf_8() -> None:
    """A page that can be prescanned as ASCII is not UTF-16, whatever its <meta> says."""
    body = page('<meta charset="utf-16">').encode("utf-8")

    assert decode(body)[1] == "utf-8"
    assert body_text(decode_html(body)) == NAME


def test_an_x_user_defined_content_type_maps_high_bytes_to_the_private_use_area() -> None:
    text, encoding = decode(b"<p>A\x80\xff</p>", "x-user-defined")

    assert encoding == "x-user-defined"
    assert text == "<p>A\uf780\uf7ff</p>"


def test_an_x_user_defined_meta_charset_means_windows_1252() -> None:
    body = page("<meta charset=x-user-defined>").encode("cp1252")

    assert decode(body)[1] == "windows-1252"
    assert body_text(decode_html(body)) == NAME


@pytest.mark.parametrize("label", ["ascii", "latin1", "ISO-8859-1", "us-ascii", " Windows-1252 "])
def test_latin_1_and_ascii_labels_mean_windows_1252(label: str) -> None:
    body = page().encode("cp1252")

    assert decode(body, label)[1] == "windows-1252"
    assert body_text(decode_html(body, label)) == NAME


@pytest.mark.parametrize("label", ["bogus", "rot13", "base64", "unicode-escape", "utf8 x", ""])
def test_an_invalid_content_type_label_is_ignored_for_the_meta_charset(label: str) -> None:
    body = page('<meta charset="windows-1252">').encode("cp1252")

    assert decode(body, label)[1] == "windows-1252"
    assert body_text(decode_html(body, label)) == NAME


@pytest.mark.parametrize("meta", ['<meta charset="rot13">', "<meta charset=base64>", ""])
def test_without_a_usable_label_a_page_is_utf_8(meta: str) -> None:
    body = page(meta).encode("utf-8")

    assert decode(body, "bogus")[1] == "utf-8"
    assert body_text(decode_html(body, "bogus")) == NAME


def test_a_replacement_label_decodes_the_page_to_one_replacement_character() -> None:
    """iso-2022-kr and friends are refused by browsers (a page then has no content at all)."""
    assert decode(page().encode(), "iso-2022-kr") == ("\ufffd", "replacement")
    assert decode(page("<meta charset=hz-gb-2312>").encode())[0] == "\ufffd"


@pytest.mark.parametrize(
    "head",
    [
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
        "<META HTTP-EQUIV=content-type CONTENT='text/html;charset=\"windows-1252\"'>",
        '<meta content="text/html; charset=windows-1252" http-equiv="content-type" />',
        "<meta\ncharset\n=\nwindows-1252\n/>",
        "<meta/charset=windows-1252>",
        "<!-- comment --><link rel=stylesheet href='/a.css'><meta charset=windows-1252>",
        "<!----><meta charset=windows-1252>",
        "<!--><meta charset=windows-1252>",  # "<!-->" is a whole comment
        '<meta charset="windows-1252"><meta charset="utf-8">',  # the first one counts
        '<meta charset="bogus"><meta charset="windows-1252">',  # an unusable one is skipped
    ],
)
def test_a_meta_declaration_found_by_the_prescan_decides(head: str) -> None:
    body = page(head).encode("cp1252")

    assert decode(body)[1] == "windows-1252"
    assert body_text(decode_html(body)) == NAME


@pytest.mark.parametrize(
    "head",
    [
        "<!-- <meta charset=windows-1252> -->",  # in a comment
        '<meta name="description" content="text/html; charset=windows-1252">',  # no http-equiv
        '<meta http-equiv="refresh" content="5; charset=windows-1252">',  # not content-type
        "<link title='<meta charset=windows-1252>'>",  # inside another tag's attribute
        "<script type='x'>1</script><meta-data charset=windows-1252>",  # not a meta element
        "<meta charset='windows-1252",  # a quote never closed: the prescan runs out of bytes
        '<?xml version="1.0" encoding="windows-1252"?>',  # not HTML
    ],
)
def test_a_charset_outside_a_meta_declaration_is_not_one(head: str) -> None:
    body = page(head).encode("utf-8")

    assert decode(body)[1] == "utf-8"
    assert body_text(decode_html(body)) == NAME


def test_a_meta_charset_beyond_the_first_4096_bytes_is_not_read() -> None:
    body = page(f"<!-- {'x' * 4096} --><meta charset=windows-1252>").encode("utf-8")

    assert decode(body)[1] == "utf-8"


def test_control_characters_are_dropped_in_every_encoding() -> None:
    assert decode_html(b"<p>a\x00b\x1bc\x7fd\te</p>") == "<p>abcd\te</p>"
    assert decode_html(b"<p>a\x00b\x92</p>", "windows-1252") == "<p>ab\u2019</p>"
    assert decode_html("<p>a\x00b</p>".encode("utf-16-le"), "utf-16") == "<p>ab</p>"


@given(
    st.binary(max_size=300),
    st.sampled_from([None, "utf-8", "utf-16", "x-user-defined", "iso-2022-kr", "gb18030", "bogus"]),
)
def test_any_bytes_under_any_label_decode_without_error(body: bytes, label: str | None) -> None:
    text = decode_html(body, label)

    assert isinstance(text, str)
    assert not any(ord(c) < 0x20 and c not in "\t\n\f\r" for c in text)
