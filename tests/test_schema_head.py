"""The schema check at start-up (issue 8): plain SQL against `HEAD_REVISION`, no Alembic import."""

from __future__ import annotations

import subprocess
import sys

from storage.db import HEAD_REVISION, script_heads


def test_head_revision_is_the_migration_scripts_head() -> None:
    assert script_heads() == {HEAD_REVISION}


def test_the_cli_starts_without_alembic() -> None:
    code = (
        "import sys, tracker.cli; print(sorted(m for m in sys.modules if m.startswith('alembic')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"
