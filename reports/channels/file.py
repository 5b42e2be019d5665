"""File channel: write rendered reports atomically into `[reports] dir`.

Per run `<run>-<YYYYMMDDTHHMMSSZ>.<ext>` plus `latest.<ext>`; the Atom feed is `feed.atom`; a
range (`report FROM TO`) is `<from>-<to>-<YYYYMMDDTHHMMSSZ>.<ext>` (`baseline-<to>-...` from no
earlier state), so it never replaces a run's own files. `latest.<ext>` and `feed.atom` only move
forward in time: `.latest.json` in the directory says which run each one shows, read and written
under a lock, so a late retry of an older run's report never replaces a newer one. File names
come only from run ids, times, fixed names and an allow-listed extension.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, ClassVar, Final, TypeAlias

from reports.channels.base import DeliveryError, Outgoing
from reports.errors import UnknownFormatError
from reports.formats import get_format
from reports.formats.atom import entry_updated, feed_id_for, render_feed
from reports.model import RenderedReport, Report

logger = logging.getLogger(__name__)

ALLOWED_EXTENSIONS: Final = frozenset({"txt", "md", "html", "json", "atom", "chat.md"})
FEED_NAME: Final = "feed.atom"
SHOWN_NAME: Final = ".latest.json"  # which run latest.<ext> and feed.atom show
NEW_FILE_MODE: Final = 0o644
_CHUNK_BYTES: Final = 1 << 16
_SAFE_NAME: Final = re.compile(
    r"(?:(?:(?:[0-9]+|baseline)-)?[0-9]+-[0-9]{8}T[0-9]{6}Z|latest|feed)\.[a-z]+(?:\.[a-z]+)?"
)
_NO_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Where a report stands in time: its run's time, then its id (runs are ordered by time, DESIGN §4).
Position: TypeAlias = tuple[datetime, int]
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

    def deliver(self, outgoing: Outgoing) -> None:
        """Render the delivery's report in its format and write it (see the module docstring).

        Raises:
            DeliveryError: an alert (not for files), an unknown format, or a failed write.
        """
        if outgoing.alert is not None:
            raise DeliveryError("the file channel writes reports, not alerts")
        try:
            fmt = get_format(outgoing.format)
        except UnknownFormatError as exc:
            raise DeliveryError(f"cannot write {self.options.dir}: {exc}") from None
        if outgoing.is_range:
            if outgoing.run is None:
                raise DeliveryError(f"cannot write {self.options.dir}: a range with no run")
            self.write_range(
                fmt.render(outgoing.load_report()),
                from_run=outgoing.range_from,
                run=outgoing.run,
                at=outgoing.created_at,
            )
        elif fmt.extension == "atom":
            self.write_feed_of(outgoing.load_feed(), fallback=outgoing.load_report)
        else:
            if outgoing.run is None or outgoing.run_at is None:
                raise DeliveryError(f"cannot write {self.options.dir}: a report with no run")
            self.write(fmt.render(outgoing.load_report()), run=outgoing.run, at=outgoing.run_at)

    def write(self, report: RenderedReport, *, run: int, at: datetime) -> list[Path]:
        """Write one run's rendered report and return the paths written.

        text/markdown/html/json give `<run>-<at in UTC>.<ext>`, and `latest.<ext>` unless it
        already shows a later run; an atom report is the whole feed (the caller renders the last
        50 entries) and gives `feed.atom`, unless that already shows a later run.

        Raises:
            DeliveryError: a bad extension, run or time, or the file system said no.
        """
        extension = self._check_extension(report.extension)
        position = (self._check_time(at), self._check_run(run))
        data = report.body.encode("utf-8")
        if extension == "atom":
            written = self._write_if_newer(FEED_NAME, data, position)
            return [written] if written else []
        paths = [self._write_file(f"{run}-{self._timestamp(at)}.{extension}", data)]
        latest = self._write_if_newer(f"latest.{extension}", data, position)
        return paths + ([latest] if latest else [])

    def write_range(
        self, report: RenderedReport, *, from_run: int | None, run: int, at: datetime
    ) -> Path:
        """Write a range's report as `<from>-<run>-<at in UTC>.<ext>` and return its path.

        Raises:
            DeliveryError: a bad extension, run or time, or the file system said no.
        """
        extension = self._check_extension(report.extension)
        start = "baseline" if from_run is None else str(self._check_run(from_run))
        name = f"{start}-{self._check_run(run)}-{self._timestamp(at)}.{extension}"
        return self._write_file(name, report.body.encode("utf-8"))

    def write_feed_of(
        self, entries: Sequence[Report], *, fallback: Callable[[], Report]
    ) -> Path | None:
        """Render `entries` (reports of changed runs) as feed.atom and write it, unless the feed
        there already shows a later run; return the path written.

        The feed's title is its newest entry's (`fallback()`'s when there are none yet).

        Raises:
            DeliveryError: the file system said no.
        """
        title = entries[0].title if entries else fallback().title
        newest = max((_position(entry) for entry in entries), default=(_NO_TIME, 0))
        xml = render_feed(entries, feed_id=feed_id_for(title), title=title, updated=newest[0])
        return self._write_if_newer(FEED_NAME, xml.encode("utf-8"), newest)

    def write_feed(self, feed_xml: str) -> Path:
        """Replace `feed.atom` with `feed_xml` and return its path.

        Raises:
            DeliveryError: the file system said no.
        """
        return self._write_file(FEED_NAME, feed_xml.encode("utf-8"))

    def _write_if_newer(self, name: str, data: bytes, position: Position) -> Path | None:
        """Replace `name` unless it shows a later report than `position`; None when kept."""
        directory = self._directory()
        try:
            with _shown_reports(directory) as shown:
                current = shown.get(name)
                if current is not None and current > position:
                    logger.info(
                        "kept %s: it shows run %d, newer than run %d", name, current[1], position[1]
                    )
                    return None
                path = self._write_file(name, data)
                shown[name] = position
        except OSError as exc:
            raise DeliveryError(
                f"cannot write {self.options.dir / SHOWN_NAME}: {_reason(exc)}"
            ) from exc
        return path

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

    def _check_time(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise DeliveryError(f"cannot write {self.options.dir}: time {at!r} has no time zone")
        return at.astimezone(UTC)

    def _timestamp(self, at: datetime) -> str:
        return self._check_time(at).strftime("%Y%m%dT%H%M%SZ")

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


def _position(report: Report) -> Position:
    return entry_updated(report), report.changeset.to_ref.run or 0


@contextlib.contextmanager
def _shown_reports(directory: Path) -> Iterator[dict[str, Position]]:
    """The runs latest.* and feed.atom show, locked against other writers for the block.

    Read from SHOWN_NAME (a missing or unreadable file shows nothing) and written back after
    the block. The lock belongs to the open file: the kernel drops it when its holder dies.
    """
    descriptor = os.open(
        directory / SHOWN_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, NEW_FILE_MODE
    )
    with os.fdopen(descriptor, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        shown = _read_shown(handle.read())
        yield shown
        handle.seek(0)
        handle.truncate()
        stored = {name: [at.isoformat(), run] for name, (at, run) in sorted(shown.items())}
        handle.write(json.dumps(stored, indent=1) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_shown(text: str) -> dict[str, Position]:
    try:
        stored = json.loads(text) if text.strip() else {}
        return {
            str(name): (datetime.fromisoformat(at).astimezone(UTC), int(run))
            for name, (at, run) in dict(stored).items()
        }
    except (ValueError, TypeError):
        logger.warning("ignoring an unreadable %s: the next report replaces latest.*", SHOWN_NAME)
        return {}


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
