"""Put a built site in place so that a reader never sees a half-built one.

The new site is written into a fresh folder beside the target, then swapped in: on Linux with one
atomic `renameat2(RENAME_EXCHANGE)`, elsewhere with two renames a moment apart (the old site moves
aside, the new one takes its name). The previous site stays whole until the new one is complete; a
build that fails leaves it untouched and removes its own half-written folder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Final

from changes.changeset import json_time
from tracker.errors import UsageError

MARKER: Final = ".lifesci-tracker-site"  # marks a folder this tool built, so it may replace it
_AT_FDCWD: Final = -100
_RENAME_EXCHANGE: Final = 2


def check_target(target: Path) -> None:
    """Refuse a target that is a file, or a folder with other things in it than a built site."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file, not a folder: choose a folder for the site")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise UsageError(
            f"{target} already holds files that lifesci-tracker did not write; "
            "choose an empty or new folder for the site"
        )


def write_site(target: Path, files: Mapping[str, bytes], *, built_at: datetime) -> None:
    """Write `files` (site path -> bytes) as the site at `target`, replacing any earlier build."""
    check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        for name, body in files.items():
            path = building / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        (building / ".nojekyll").write_bytes(b"")  # GitHub Pages: serve the files as they are
        marker = {"generator": "lifesci-tracker", "built_at": json_time(built_at)}
        (building / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        building.chmod(0o755)  # mkdtemp makes it private; a web server must read it
        _swap_in(building, target)
    finally:
        shutil.rmtree(
            building, ignore_errors=True
        )  # the old site after a swap, else the failed build


def _swap_in(new: Path, target: Path) -> None:
    """Put `new` at `target`; afterwards `new` holds the previous site (or nothing)."""
    if not target.exists():
        os.replace(new, target)
        return
    if _exchange(new, target):
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    aside.rmdir()
    os.replace(target, aside)
    os.replace(new, target)
    os.replace(aside, new)


@cache
def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        function.argtypes += [ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths (Linux); return False where that is not possible."""
    function = _renameat2()
    if function is None:
        return False
    result = function(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return bool(result == 0)
