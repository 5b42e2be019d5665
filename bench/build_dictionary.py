"""Build the zstd dictionary raw bodies are compressed with (storage/dictionaries/).

    .venv/bin/python -m bench.build_dictionary NAME

A raw-content dictionary: the GOV.UK pages of tracker/sample/pages/ (both markup eras: publication
and HTML document), concatenated. zstd finds in it the page chrome (header, footer, cookie banner,
scripts, stylesheets) and the govspeak markup every stored body repeats, so a 50 KB page stores
in about 7 KB instead of 12 KB (zlib level 1). Written zstd-compressed (no dictionary).

A dictionary is never changed once released: every blob compressed with it names it in its
`compression` value (`zstd:NAME`) and needs it to be read. A better one gets a new NAME and
`storage.compression.BODY_DICTIONARY` moves to it; the old file stays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tracker" / "sample" / "pages"
DICTIONARIES = ROOT / "storage" / "dictionaries"


def dictionary_bytes() -> bytes:
    """The dictionary's content: every fixture page, in name order."""
    return b"".join(path.read_bytes() for path in sorted(FIXTURES.glob("*.html")))


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m bench.build_dictionary NAME", file=sys.stderr)
        return 2
    target = DICTIONARIES / f"{sys.argv[1]}.zst"
    if target.exists():
        print(f"error: {target} exists: a released dictionary never changes", file=sys.stderr)
        return 2
    content = dictionary_bytes()
    target.write_bytes(zstandard.ZstdCompressor(level=19).compress(content))
    print(f"wrote {target}: {len(content)} bytes of pages, {target.stat().st_size} on disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
