"""File channel: names, atomic replacement, crash safety and path containment."""

from __future__ import annotations

import errno
import os
import re
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import pytest

import reports.channels.file as file_module
from reports.channels import (
    CHANNELS,
    EmailChannel,
    FileChannel,
    NotifyChannel,
    SiteChannel,
    UnknownChannelError,
    get_channel,
)
from reports.channels.base import DeliveryError
from reports.channels.file import FileOptions
from reports.model import RenderedReport

REPO_ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2021, 12, 1, 7, 0, 2, tzinfo=UTC)
TEMP_NAME = re.compile(r"\..+\.tmp")
MEDIA = {
    "txt": ("text", "text/plain"),
    "md": ("markdown", "text/markdown"),
    "html": ("html", "text/html"),
    "json": ("json", "application/json"),
    "atom": ("atom", "application/atom+xml"),
}


def make_report(extension: str, body: str = "Life Sciences Hub Wales – café\n") -> RenderedReport:
    format_name, media_type = MEDIA.get(extension, ("text", "text/plain"))
    return RenderedReport(
        format=format_name,
        subject="UK life sciences support: 1 change",
        body=body,
        media_type=media_type,
        extension=extension,
        run=13,
    )


def visible(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if not p.name.startswith(".")}


def temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if TEMP_NAME.fullmatch(p.name)]


@pytest.fixture
def channel(tmp_path: Path) -> FileChannel:
    return FileChannel(FileOptions(dir=tmp_path / "reports"))


def test_registry_names_every_channel() -> None:
    assert dict(CHANNELS) == {
        "file": FileChannel,
        "site": SiteChannel,
        "email": EmailChannel,
        "notify": NotifyChannel,
    }
    assert get_channel("file") is FileChannel
    with pytest.raises(
        UnknownChannelError, match="unknown channel 'slack'; choose from email, file, notify, site"
    ):
        get_channel("slack")


@pytest.mark.parametrize("extension", ["txt", "md", "html", "json"])
def test_report_is_written_as_run_file_and_latest(channel: FileChannel, extension: str) -> None:
    report = make_report(extension)

    paths = channel.write(report, run=13, at=AT)

    directory = channel.options.dir.resolve()
    assert paths == [
        directory / f"13-20211201T070002Z.{extension}",
        directory / f"latest.{extension}",
    ]
    for path in paths:
        assert path.read_bytes() == report.body.encode("utf-8")
    assert visible(directory) == {p.name for p in paths}
    assert temporaries(directory) == []


def test_time_is_written_in_utc(channel: FileChannel) -> None:
    london_summer = timezone(timedelta(hours=1))
    at = datetime(2021, 6, 1, 8, 0, 0, tzinfo=london_summer)

    paths = channel.write(make_report("md"), run=7, at=at)

    assert paths[0].name == "7-20210601T070000Z.md"


def test_naive_time_is_refused(channel: FileChannel) -> None:
    with pytest.raises(DeliveryError, match="has no time zone"):
        channel.write(make_report("md"), run=7, at=datetime(2021, 6, 1, 8, 0))


def test_a_later_run_replaces_latest_and_keeps_earlier_run_files(channel: FileChannel) -> None:
    channel.write(make_report("json", '{"run": 1}'), run=1, at=AT)
    channel.write(make_report("json", '{"run": 2}'), run=2, at=AT + timedelta(days=1))

    directory = channel.options.dir
    assert visible(directory) == {
        "1-20211201T070002Z.json",
        "2-20211202T070002Z.json",
        "latest.json",
    }
    assert (directory / "latest.json").read_text() == '{"run": 2}'
    assert (directory / "1-20211201T070002Z.json").read_text() == '{"run": 1}'


def test_body_bytes_are_written_exactly(channel: FileChannel) -> None:
    body = "line one\r\nline two\nÄrzte – “quoted” ✓\n"

    [run_file, latest] = channel.write(make_report("txt", body), run=3, at=AT)

    assert run_file.read_bytes() == body.encode("utf-8")
    assert latest.read_bytes() == body.encode("utf-8")


def test_atom_report_is_the_whole_feed(channel: FileChannel) -> None:
    channel.write(make_report("atom", "<feed>old</feed>"), run=1, at=AT)

    paths = channel.write(make_report("atom", "<feed>new</feed>"), run=2, at=AT)

    assert paths == [channel.options.dir.resolve() / "feed.atom"]
    assert paths[0].read_text() == "<feed>new</feed>"
    assert visible(channel.options.dir) == {"feed.atom"}


def test_write_feed_creates_missing_directories(tmp_path: Path) -> None:
    channel = FileChannel(FileOptions(dir=tmp_path / "a" / "b" / "reports"))

    path = channel.write_feed("<feed/>")

    assert path == (tmp_path / "a" / "b" / "reports" / "feed.atom").resolve()
    assert path.read_text() == "<feed/>"


def test_new_files_are_readable_and_replaced_files_keep_their_mode(channel: FileChannel) -> None:
    [run_file, latest] = channel.write(make_report("md"), run=1, at=AT)
    assert stat.S_IMODE(run_file.stat().st_mode) == 0o644
    latest.chmod(0o600)

    channel.write(make_report("md"), run=2, at=AT)

    assert stat.S_IMODE(latest.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "extension",
    ["../../x", "x/../../y", "/etc/passwd", "md/../../md", "..", "", "TXT", "exe", "md\n"],
)
def test_extension_outside_the_allow_list_is_refused(tmp_path: Path, extension: str) -> None:
    channel = FileChannel(FileOptions(dir=tmp_path / "reports"))

    with pytest.raises(DeliveryError, match=r"^cannot write .*extension") as caught:
        channel.write(make_report(extension), run=1, at=AT)

    assert "\n" not in str(caught.value)
    assert {p.name for p in tmp_path.iterdir()} <= {"reports"}
    assert not (tmp_path / "reports").exists() or visible(tmp_path / "reports") == set()


@pytest.mark.parametrize("run", [-1, -13, True, 1.5, "1", "../1", None])
def test_run_that_is_not_a_non_negative_integer_is_refused(tmp_path: Path, run: Any) -> None:
    channel = FileChannel(FileOptions(dir=tmp_path / "reports"))

    with pytest.raises(DeliveryError, match="is not a non-negative integer"):
        channel.write(make_report("md"), run=run, at=AT)

    assert {p.name for p in tmp_path.iterdir()} <= {"reports"}


def test_a_directory_that_is_a_file_is_a_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("not a directory")
    channel = FileChannel(FileOptions(dir=tmp_path / "reports"))

    with pytest.raises(DeliveryError, match=r"^cannot write .*reports: ") as caught:
        channel.write(make_report("md"), run=1, at=AT)

    assert "\n" not in str(caught.value)


def _fail_halfway(exc: BaseException) -> Any:
    def write(handle: IO[bytes], data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        handle.flush()
        raise exc

    return write


def test_error_halfway_keeps_the_old_file_and_removes_the_temporary(
    channel: FileChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel.write(make_report("md", "old report\n"), run=1, at=AT)
    monkeypatch.setattr(
        file_module, "_write_body", _fail_halfway(OSError(errno.ENOSPC, "No space left on device"))
    )

    with pytest.raises(DeliveryError) as caught:
        channel.write(make_report("md", "new report " * 10_000), run=2, at=AT)

    directory = channel.options.dir
    assert str(caught.value) == (
        f"cannot write {directory / '2-20211201T070002Z.md'}: No space left on device"
    )
    assert (directory / "latest.md").read_text() == "old report\n"
    assert visible(directory) == {"1-20211201T070002Z.md", "latest.md"}
    assert temporaries(directory) == []


@pytest.mark.parametrize("exc", [RuntimeError("bug"), KeyboardInterrupt()])
def test_any_exception_halfway_removes_the_temporary(
    channel: FileChannel, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    monkeypatch.setattr(file_module, "_write_body", _fail_halfway(exc))

    with pytest.raises(type(exc)):
        channel.write_feed("<feed/>" * 1000)

    assert list(channel.options.dir.iterdir()) == []


def test_failed_rename_removes_the_temporary(
    channel: FileChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: Any, destination: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(DeliveryError, match=r"feed\.atom: Permission denied$"):
        channel.write_feed("<feed/>")

    assert list(channel.options.dir.iterdir()) == []


def test_file_and_directory_are_fsynced(
    channel: FileChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)

    channel.write_feed("<feed/>")

    assert synced == [False, True]


def test_directory_fsync_unsupported_is_not_an_error(
    channel: FileChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)

    assert channel.write_feed("<feed/>").read_text() == "<feed/>"


_STALLING_WRITER = """
import sys, time
from pathlib import Path
import reports.channels.file as file_module

def stall(handle, data):
    handle.write(data[: len(data) // 2])
    handle.flush()
    print("halfway", flush=True)
    time.sleep(60)

file_module._write_body = stall
channel = file_module.FileChannel(file_module.FileOptions(Path(sys.argv[1])))
channel.write_feed("n" * 8_000_000)
"""

_LOOPING_WRITER = """
import sys
from pathlib import Path
import reports.channels.file as file_module

channel = file_module.FileChannel(file_module.FileOptions(Path(sys.argv[1])))
bodies = ["a" * 16_000_000, "b" * 16_000_000]
for n in range(1_000_000):
    channel.write_feed(bodies[n % 2])
"""


def _spawn(script: str, directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(directory)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _assert_complete_or_absent(directory: Path, complete: set[str]) -> None:
    names = {p.name for p in directory.iterdir()}
    assert names - {"feed.atom"} == set(temporaries(directory)), names
    if "feed.atom" in names:
        assert (directory / "feed.atom").read_text() in complete


@pytest.mark.parametrize("has_old_file", [True, False], ids=["old-file", "no-file"])
def test_sigkill_halfway_leaves_the_old_file_or_none(tmp_path: Path, has_old_file: bool) -> None:
    directory = tmp_path / "reports"
    if has_old_file:
        FileChannel(FileOptions(directory)).write_feed("<feed>old</feed>")
    process = _spawn(_STALLING_WRITER, directory)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "halfway\n"
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)

    assert temporaries(directory), "the killed writer should have left its hidden temporary"
    assert ("feed.atom" in visible(directory)) is has_old_file
    _assert_complete_or_absent(directory, {"<feed>old</feed>"})


def test_sigkill_at_any_moment_never_leaves_a_partial_file(tmp_path: Path) -> None:
    directory = tmp_path / "reports"
    process = _spawn(_LOOPING_WRITER, directory)
    try:
        deadline = time.monotonic() + 30
        while not ((directory / "feed.atom").exists() and temporaries(directory)):
            assert time.monotonic() < deadline, "the writer never got going"
            assert process.poll() is None, "the writer died on its own"
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)

    _assert_complete_or_absent(directory, {"a" * 16_000_000, "b" * 16_000_000})
    assert "feed.atom" in visible(directory)
