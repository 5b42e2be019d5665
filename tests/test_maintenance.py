"""db backup / db prune, and that the installed packages are this repository's."""

from __future__ import annotations

import copy
import importlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import Tracker
from tests.govuk_site import OrgSpec, default_site
from tests.site_server import SiteServer
from tracker import __version__

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "package", ["scraper", "storage", "scheduler", "changes", "reports", "tracker"]
)
def test_each_package_resolves_to_this_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / package


def test_version_is_printed_by_the_console_script_and_python_m() -> None:
    script = Path(sys.executable).parent / "lifesci-tracker"
    for command in ([str(script), "--version"], [sys.executable, "-m", "tracker", "--version"]):
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        assert output.strip() == f"lifesci-tracker {__version__}"


@pytest.fixture
def tracker(server: SiteServer, tmp_path: Path) -> Tracker:
    return Tracker.create(server, tmp_path, extra="enabled = false")


def test_backup_is_a_complete_copy(tracker: Tracker, tmp_path: Path) -> None:
    tracker.publish(default_site("2021"))
    tracker.run_json()
    copy_path = tmp_path / "backup" / "copy.db"
    result = tracker.cli("db", "backup", str(copy_path))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(copy_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM page_version").fetchone() == (8,)


def test_prune_drops_old_raw_bodies_but_keeps_versions(tracker: Tracker, tmp_path: Path) -> None:
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    changed = copy.deepcopy(site)
    # The last document: the first one's body is the base the others are compressed against
    # (storage.compression), kept while they are.
    changed.docs[-1].stages[0].orgs.append(OrgSpec("New Org", None, "<p>New.</p>"))
    tracker.publish(changed)
    tracker.run_json()
    result = tracker.cli("db", "prune", "--raw-older-than", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "removed 1 raw bodies"
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        assert connection.execute("SELECT count(*) FROM page_version").fetchone() == (9,)
        assert connection.execute("SELECT count(*) FROM blob").fetchone() == (8,)
    url = tracker.server.url(site.docs[-1].path)
    old = tracker.cli("show", url, "1", "--raw")
    assert old.exit_code == 2
    assert "not stored (pruned?)" in old.output
    assert json.loads(tracker.cli("show", url, "1").stdout)["kind"] == "html_document"


def test_prune_keeps_a_body_others_are_compressed_against(tracker: Tracker) -> None:
    site = default_site("2021")
    tracker.publish(site)
    tracker.run_json()
    changed = copy.deepcopy(site)
    changed.docs[0].stages[0].orgs.append(OrgSpec("New Org", None, "<p>New.</p>"))
    tracker.publish(changed)
    tracker.run_json()
    result = tracker.cli("db", "prune", "--raw-older-than", "0")
    assert result.stdout.strip() == "removed 0 raw bodies"  # the base of the other documents
    assert (
        "not stored (pruned?)"
        in tracker.cli("show", tracker.server.url(site.docs[0].path), "1", "--raw").output
    )
    for doc in changed.docs:
        raw = tracker.cli("show", tracker.server.url(doc.path), "--raw")
        assert raw.stdout_bytes == tracker.server.pages[doc.path]


def test_pyproject_lists_every_package_of_the_tree() -> None:
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    tops = ["scraper", "storage", "scheduler", "changes", "reports", "tracker"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in tops
        for init in (ROOT / top).rglob("__init__.py")
    }
    # Folders of package data (templates, static files, dictionaries) are listed too, so that
    # setuptools ships them: every one of them is a folder of a listed package.
    data = {name for name in listed - found if (ROOT / name.replace(".", "/")).is_dir()}
    assert data == listed - found
    assert all(name.rpartition(".")[0] in found for name in data)
    assert found <= listed


def test_postgres_backup_never_puts_the_password_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from storage import backup

    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((argv, kwargs["env"]))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake_run)
    url = "postgresql+psycopg://tracker:s3cret%2Fpw@db.example:5433/tracking"
    backup.backup_database(url, tmp_path / "copy.dump")
    ((argv, env),) = calls
    assert not any("s3cret" in word for word in argv)
    assert env["PGPASSWORD"] == "s3cret/pw"
    assert "--dbname=postgresql://tracker@db.example:5433/tracking" in argv
