"""Golden files: compare a test's output with `tests/golden/<name>`, or rewrite it on request.

Rewrite with `UPDATE_GOLDEN=1 pytest ...` (or `pytest --update-golden` once conftest.py calls
`enable_update()` from its `pytest_configure`), then review the rewritten files in the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"
_update_requested = False


def enable_update() -> None:
    """Make every `assert_golden` rewrite its file instead of comparing (for `--update-golden`)."""
    global _update_requested
    _update_requested = True


def updating() -> bool:
    """Return True when golden files are being rewritten rather than checked."""
    return _update_requested or os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")


def to_golden_json(data: Any) -> str:
    """Return data as golden JSON: indent 2, sorted keys, non-ASCII kept, final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def assert_golden(name: str, actual: str) -> None:
    """Assert that `actual` equals the golden file `name` (a path relative to tests/golden)."""
    path = GOLDEN_DIR / name
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run with UPDATE_GOLDEN=1 and review it")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (UPDATE_GOLDEN=1 rewrites it)"
