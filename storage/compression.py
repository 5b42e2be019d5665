"""How the store compresses what it keeps: raw bodies and parsed content, with zstd.

A raw body is compressed with a dictionary: GOV.UK page markup shipped in `storage/dictionaries/`
(built by `bench/build_dictionary.py`), followed by a *base*: an earlier stored body of the same
kind of page. The base brings the chrome GOV.UK serves today (header, footer, banners, scripts),
which every page repeats; so a 50 KB page keeps in about 2.5 KB (zlib level 1: 12.7 KB). A base
is itself compressed with the shipped dictionary alone, so reading a body needs at most one
other. The blob's `compression` value names the codec and the shipped dictionary
(`zstd:govuk1`) and its `base_sha256` the base, so blobs written by earlier versions (`zlib`)
and with earlier dictionaries still read. Parsed content (canonical JSON) is a plain zstd frame.
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
# Level 3 with a prepared dictionary: half level 5's CPU per page (0.03 ms against 0.06 ms on the
# sample pages) for 4% more bytes there and 1% more on the bench store (bench/RESULTS.md).
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


@cache
def _dictionary_content(name: str) -> bytes:
    return _dictionary(name).as_bytes()


def _with_base(name: str, base: bytes | None) -> zstandard.ZstdCompressionDict:
    if base is None:
        return _dictionary(name)
    return zstandard.ZstdCompressionDict(
        _dictionary_content(name) + base, dict_type=zstandard.DICT_TYPE_RAWCONTENT
    )


class BodyCompressor:
    """Compresses raw bodies; keeps each base's prepared dictionary (one per run: preparing one
    costs several times more than compressing a page with it)."""

    def __init__(self) -> None:
        self._prepared: dict[str | None, zstandard.ZstdCompressionDict] = {}

    def compress(
        self, body: bytes, *, base_key: str | None = None, base: bytes | None = None
    ) -> tuple[str, bytes]:
        """Return a raw body's `compression` value and its compressed bytes, against the base
        body `base` (stored under `base_key`) when given."""
        dictionary = self._prepared.get(base_key)
        if dictionary is None:
            dictionary = _with_base(BODY_DICTIONARY, base if base_key else None)
            dictionary.precompute_compress(level=BODY_LEVEL)
            self._prepared[base_key] = dictionary
        compressor = zstandard.ZstdCompressor(level=BODY_LEVEL, dict_data=dictionary)
        return _ZSTD_PREFIX + BODY_DICTIONARY, compressor.compress(body)


def decompress_body(compression: str, data: bytes, *, base: bytes | None = None) -> bytes:
    """Return the raw body a blob holds, whatever version of the tracker wrote it; `base` is
    the raw body of the blob's base, if it has one."""
    if compression == "zlib":
        return zlib.decompress(data)
    if compression == "none":
        return bytes(data)
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(data)
    if compression.startswith(_ZSTD_PREFIX):
        dictionary = _with_base(compression.removeprefix(_ZSTD_PREFIX), base)
        return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)
    raise StorageError(f"unknown blob compression {compression!r} (written by a newer version?)")


def compress_content(content_json: str) -> bytes:
    """Return a version's canonical JSON as stored in `page_version.content`."""
    return zstandard.ZstdCompressor(level=CONTENT_LEVEL).compress(content_json.encode("utf-8"))


def decompress_content(data: bytes) -> str:
    """Return the canonical JSON stored in `page_version.content`."""
    return zstandard.ZstdDecompressor().decompress(data).decode("utf-8")
