"""File channel: write rendered reports atomically into `[reports] dir`.

Per run `<run>-<YYYYMMDDTHHMMSSZ>.<ext>` plus `latest.<ext>`; the Atom feed is `feed.atom`.
File names come only from the run id, the time, fixed names and an allow-listed extension.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, ClassVar, Final

from reports.channels.base import DeliveryError
from reports.model import RenderedReport

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS: Final = frozenset({"txt", "md", "html", "json", "atom"})
FEED_NAME: Final = "feed.atom"
NEW_FILE_MODE: Final = 0o644
_CHUNK_BYTES: Final = 1 << 16
_SAFE_NAME: Final = re.compile(r"(?:[0-9]+-[0-9]{8}T[0-9]{6}Z|latest|feed)\.[a-z]+")
# Errors that only mean "this file system cannot fsync a directory", not lost data.
_DIRECTORY_FSYNC_UNSUPPORTED: Final = frozenset(
    {errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES, errno.EPERM}
)


@dataclass(frozen=True)
class FileOptions:
    """The file channel's settings: `[reports] dir`."""

    dir: Path


class FileChannel:
    """Write reports atomically into a directory: one file per run, latest.<ext>, feed.atom."""

    name: ClassVar[str] = "file"

    def __init__(self, options: FileOptions) -> None:
        self.options = options

    @property
    def target(self) -> str:
        """Return the report directory, for the outbox's `target` column."""
        return str(self.options.dir)

    def write(self, report: RenderedReport, *, run: int, at: datetime) -> list[Path]:
        """Write one rendered report and return the paths written.

        text/markdown/html/json give `<run>-<at in UTC>.<ext>` and `latest.<ext>`; an atom
        report is the whole feed (the caller renders the last 50 entries) and gives `feed.atom`.

        Raises:
            DeliveryError: a bad extension, run or time, or the file system said no.
        """
        extension = self._check_extension(report.extension)
        if extension == "atom":
            return [self.write_feed(report.body)]
        run_name = f"{self._check_run(run)}-{self._timestamp(at)}.{extension}"
        data = report.body.encode("utf-8")
        return [self._write_file(run_name, data), self._write_file(f"latest.{extension}", data)]

    def write_feed(self, feed_xml: str) -> Path:
        """Replace `feed.atom` with `feed_xml` and return its path.

        Raises:
            DeliveryError: the file system said no.
        """
        return self._write_file(FEED_NAME, feed_xml.encode("utf-8"))

    def _check_extension(self, extension: str) -> str:
        if extension not in ALLOWED_EXTENSIONS:
            raise DeliveryError(
                f"cannot write {self.options.dir}: extension {extension!r} is not one of "
                f"{', '.join(sorted(ALLOWED_EXTENSIONS))}"
            )
        return extension

    def _check_run(self, run: int) -> int:
        if isinstance(run, bool) or not isinstance(run, int) or run < 0:
            raise DeliveryError(
                f"cannot write {self.options.dir}: run {run!r} is not a non-negative integer"
            )
        return run

    def _timestamp(self, at: datetime) -> str:
        if at.tzinfo is None or at.utcoffset() is None:
            raise DeliveryError(f"cannot write {self.options.dir}: time {at!r} has no time zone")
        return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def _directory(self) -> Path:
        try:
            self.options.dir.mkdir(parents=True, exist_ok=True)
            return self.options.dir.resolve(strict=True)
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.options.dir}: {_reason(exc)}") from exc

    def _write_file(self, name: str, data: bytes) -> Path:
        shown = self.options.dir / name
        directory = self._directory()
        final = Path(os.path.normpath(directory / name))
        if not _SAFE_NAME.fullmatch(name) or final.parent != directory:
            raise DeliveryError(f"cannot write {shown}: not a plain file name inside {directory}")
        temporary: Path | None = None
        try:
            mode = _mode_for(final)
            with tempfile.NamedTemporaryFile(
                dir=directory, prefix=f".{name}.", suffix=".tmp", delete=False
            ) as handle:
                temporary = Path(handle.name)
                _write_body(handle, data)
                handle.flush()
                os.chmod(handle.fileno(), mode)
                os.fsync(handle.fileno())
            os.replace(temporary, final)
            temporary = None
            _fsync_directory(directory)
        except OSError as exc:
            raise DeliveryError(f"cannot write {shown}: {_reason(exc)}") from exc
        finally:
            # Any failure, even KeyboardInterrupt, must not leave the temporary file behind.
            if temporary is not None:
                with contextlib.suppress(OSError):
                    temporary.unlink()
        logger.debug("wrote %s (%d bytes)", final, len(data))
        return final


def _write_body(handle: IO[bytes], data: bytes) -> None:
    """Write `data` in chunks (tests replace this to fail or stall halfway)."""
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK_BYTES):
        handle.write(view[start : start + _CHUNK_BYTES])


def _mode_for(final: Path) -> int:
    """Keep the permissions of the file being replaced; new files get NEW_FILE_MODE."""
    try:
        return stat.S_IMODE(os.stat(final).st_mode)
    except FileNotFoundError:
        return NEW_FILE_MODE


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform can fsync a directory."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in _DIRECTORY_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(descriptor)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
