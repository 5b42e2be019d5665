"""How the store compresses what it keeps: raw bodies and parsed content, with zstd.

A raw body is compressed with a dictionary of GOV.UK page markup shipped in
`storage/dictionaries/` (built by `bench/build_dictionary.py`): the chrome and govspeak markup
every page repeats cost next to nothing, so a 50 KB page keeps in about 8 KB. Its blob's
`compression` value names the codec and the dictionary (`zstd:govuk1`), so blobs written by
earlier versions (`zlib`) and with earlier dictionaries still read. Parsed content (canonical
JSON) is a plain zstd frame.
"""

from __future__ import annotations

import zlib
from functools import cache
from pathlib import Path
from typing import Final

import zstandard

from storage.errors import StorageError

DICTIONARIES: Final = Path(__file__).parent / "dictionaries"
# The dictionary new bodies are compressed with. Released dictionaries never change (old blobs
# need them): a new one gets a new name.
BODY_DICTIONARY: Final = "govuk1"
# Level 3 with the dictionary: 8.6 KB for a 50 KB page in 0.2 ms (zlib level 1: 12.7 KB in 0.3 ms).
BODY_LEVEL: Final = 3
CONTENT_LEVEL: Final = 3
_ZSTD_PREFIX: Final = "zstd:"


@cache
def _dictionary(name: str) -> zstandard.ZstdCompressionDict:
    """The named dictionary, read once per process (it is immutable)."""
    path = DICTIONARIES / f"{name}.zst"
    try:
        content = zstandard.ZstdDecompressor().decompress(path.read_bytes())
    except (OSError, zstandard.ZstdError) as exc:
        raise StorageError(f"cannot read compression dictionary {name!r} ({path}): {exc}") from exc
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def compress_body(body: bytes) -> tuple[str, bytes]:
    """Return a raw body's `compression` value and its compressed bytes."""
    compressor = zstandard.ZstdCompressor(
        level=BODY_LEVEL, dict_data=_dictionary(BODY_DICTIONARY), write_content_size=True
    )
    return _ZSTD_PREFIX + BODY_DICTIONARY, compressor.compress(body)


def decompress_body(compression: str, data: bytes) -> bytes:
    """Return the raw body a blob holds, whatever version of the tracker wrote it."""
    if compression == "zlib":
        return zlib.decompress(data)
    if compression == "none":
        return bytes(data)
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(data)
    if compression.startswith(_ZSTD_PREFIX):
        dictionary = _dictionary(compression.removeprefix(_ZSTD_PREFIX))
        return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)
    raise StorageError(f"unknown blob compression {compression!r} (written by a newer version?)")


def compress_content(content_json: str) -> bytes:
    """Return a version's canonical JSON as stored in `page_version.content`."""
    return zstandard.ZstdCompressor(level=CONTENT_LEVEL).compress(content_json.encode("utf-8"))


def decompress_content(data: bytes) -> str:
    """Return the canonical JSON stored in `page_version.content`."""
    return zstandard.ZstdDecompressor().decompress(data).decode("utf-8")
