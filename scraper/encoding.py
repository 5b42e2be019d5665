"""Stage 2 helper: which character encoding an HTML body is in, decided as a browser decides it.

The HTML standard's encoding sniffing algorithm (html.spec.whatwg.org, "determining the character
encoding"), with labels looked up per the Encoding Standard by `webencodings`:

1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins over everything;
2. then the charset of the HTTP Content-Type header (the "transport layer"), used as labelled:
   `utf-16` there means UTF-16LE and `x-user-defined` means x-user-defined;
3. then a `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">` found by
   the standard's prescan (comments and other tags skipped), where `utf-16` means UTF-8 and
   `x-user-defined` means windows-1252;
4. else UTF-8.

A label the Encoding Standard does not know (`rot13`, `base64`, a typo) is ignored and the next
step decides. Labels it maps to the "replacement" encoding (`iso-2022-kr`, `hz-gb-2312`, ...)
decode a whole page to one U+FFFD, as in a browser: the page then fails to parse and is held back
as an anomaly, never recorded as removing its organisations.

Two choices the standard leaves to the user agent. The default in step 4 is UTF-8, not a
locale's legacy encoding (windows-1252 for English): GOV.UK has served UTF-8 since it began, the
Encoding Standard requires UTF-8 for new content, and invalid bytes then show as U+FFFD instead of
silently becoming other letters. The prescan reads the first 4096 bytes, not the 1024 the standard
suggests: a browser also honours a `<meta charset>` found later in the head by re-decoding, and
GOV.UK fixture pages start with comments longer than 1 KB.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeAlias

import webencodings

__all__ = ["decode"]

# webencodings ships no type information: a `webencodings.Encoding` (`.name`, `.codec_info`).
Encoding: TypeAlias = Any

_UTF8: Final[Encoding] = webencodings.UTF8
_WINDOWS_1252: Final[Encoding] = webencodings.lookup("windows-1252")
_UTF16: Final = frozenset({"utf-16le", "utf-16be"})
_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")  # UTF-8, UTF-16LE, UTF-16BE
_PRESCAN_BYTES: Final = 4096

# The prescan's landmarks: a comment, a <meta> tag, another start or end tag, or markup
# declarations, processing instructions and bogus end tags (skipped up to their `>`).
_LANDMARK: Final = re.compile(rb"<(?:(!--)|(meta[\t\n\f\r /])|(/?[A-Za-z])|[!/?])", re.I)
_TAG_NAME_END: Final = re.compile(rb"[\t\n\f\r >]")
# One attribute, or the tag's `>`. A first `=` is part of the name and a later one ends it; a
# value is quoted (an unclosed quote runs to the end of the bytes) or runs to a space or `>`.
_ATTRIBUTE: Final = re.compile(
    rb"[\t\n\f\r /]*(?:(>)|(=?[^\t\n\f\r />=]*)"
    rb"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"([^\"]*)\"?|'([^']*)'?|([^\t\n\f\r >]+))?)?)"
)
# "charset" then "=" in a meta element's content attribute, and the value that follows.
_CONTENT_CHARSET: Final = re.compile(rb"charset[\t\n\f\r ]*=[\t\n\f\r ]*", re.I)
_CONTENT_VALUE: Final = re.compile(rb"\"([^\"]*)\"|'([^']*)'|([^\t\n\f\r ;\"'][^\t\n\f\r ;]*)")


class _EndOfInput(Exception):
    """The prescan ran out of bytes in the middle of a tag: it finds nothing."""


def decode(body: bytes, transport_encoding: str | None = None) -> tuple[str, str]:
    """Return `body` decoded, and the name of the encoding used ("utf-8", "windows-1252", ...).

    `transport_encoding` is the charset label of the HTTP Content-Type header, if any. Never
    fails: bytes that are invalid in the encoding become U+FFFD. A byte order mark is dropped.
    """
    fallback = _UTF8 if body.startswith(_BOMS) else _declared_encoding(body, transport_encoding)
    text, used = webencodings.decode(body, fallback, errors="replace")
    if used.name == "replacement":  # the standard's decoder gives one U+FFFD for any input
        text = "\ufffd" if body else ""
    return text, str(used.name)


def _declared_encoding(body: bytes, transport_encoding: str | None) -> Encoding:
    """Steps 2 to 4 above: the encoding of a body without a byte order mark."""
    if transport_encoding is not None:
        from_transport = webencodings.lookup(transport_encoding)
        if from_transport is not None:
            return from_transport
    return _prescan(body[:_PRESCAN_BYTES]) or _UTF8


def _prescan(data: bytes) -> Encoding | None:
    """The HTML standard's "prescan a byte stream to determine its encoding"."""
    position = 0
    try:
        while (landmark := _LANDMARK.search(data, position)) is not None:
            comment, meta, tag = landmark.group(1, 2, 3)
            if comment:
                end = data.find(b"-->", landmark.start() + 2)  # "<!-->" is a whole comment
                if end == -1:
                    return None
                position = end + 3
            elif meta:
                found, position = _meta_encoding(data, landmark.end() - 1)
                if found is not None:
                    return found
                position += 1
            elif tag:
                name_end = _TAG_NAME_END.search(data, landmark.end())
                if name_end is None:
                    return None
                position = name_end.start()
                while (attribute := _attribute(data, position)) is not None:
                    position = attribute[2]
                position += 1
            else:
                end = data.find(b">", landmark.end())
                if end == -1:
                    return None
                position = end + 1
    except _EndOfInput:
        return None
    return None


def _meta_encoding(data: bytes, position: int) -> tuple[Encoding | None, int]:
    """Read a <meta> tag's attributes from `position`: the encoding it declares, and the end."""
    seen: set[bytes] = set()
    got_pragma = False
    need_pragma: bool | None = None
    charset: Encoding | None = None  # None: not declared, or a label no encoding has
    charset_declared = False
    while (attribute := _attribute(data, position)) is not None:
        name, value, position = attribute
        if name in seen:
            continue
        seen.add(name)
        if name == b"http-equiv":
            got_pragma = got_pragma or value == b"content-type"
        elif name == b"content" and not charset_declared:
            label = _content_charset(value)
            if label is not None and (found := webencodings.lookup(label)) is not None:
                charset, charset_declared, need_pragma = found, True, True
        elif name == b"charset":
            charset = webencodings.lookup(value.decode("latin-1"))
            charset_declared, need_pragma = True, False
    if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
        return None, position
    if charset.name in _UTF16:
        return _UTF8, position
    if charset.name == "x-user-defined":
        return _WINDOWS_1252, position
    return charset, position


def _attribute(data: bytes, position: int) -> tuple[bytes, bytes, int] | None:
    """The standard's "get an attribute": (lowercased name, lowercased value, position after it).

    None at the tag's `>`; _EndOfInput when the bytes end first (an unclosed quote, a cut tag).
    """
    match = _ATTRIBUTE.match(data, position)
    if match is None or match.group(1):
        return None
    if match.end() >= len(data):
        raise _EndOfInput
    name, double_quoted, single_quoted, unquoted = match.group(2, 3, 4, 5)
    value = double_quoted if double_quoted is not None else single_quoted
    value = unquoted if value is None else value
    return name.lower(), (value or b"").lower(), match.end()


def _content_charset(content: bytes) -> str | None:
    """The standard's "extract a character encoding from a meta element": the label, or None."""
    declared = _CONTENT_CHARSET.search(content)
    if declared is None:
        return None
    value = _CONTENT_VALUE.match(content, declared.end())
    if value is None:  # nothing after "=", or a quote that is never closed
        return None
    return next(group for group in value.groups() if group is not None).decode("latin-1")
