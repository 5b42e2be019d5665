"""Helpers for end-to-end tests: a config pointing at a loopback site, and CLI invocation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.govuk_site import PUBLICATION_PATH, SiteSpec, render_site
from tests.site_server import SiteServer
from tracker.cli import cli


def config_text(
    server: SiteServer,
    database_url: str,
    *,
    reports_dir: Path,
    extra: str = "",
    timeout_s: float = 5,
) -> str:
    """The config.toml text that tracks the loopback site politely but fast."""
    return f"""
[source]
urls = ["{server.url(PUBLICATION_PATH)}"]
allowed_hosts = ["127.0.0.1"]
timeout_s = {timeout_s:g}
requests_per_second = 1000
retries = 1
backoff_s = 0.01

[database]
url = "{database_url}"

[reports]
dir = "{reports_dir}"
{extra}
"""


def write_config(
    path: Path, server: SiteServer, database_url: str, *, extra: str = "", reports_dir: Path
) -> Path:
    """Write a config.toml that tracks the loopback site politely but fast."""
    path.write_text(
        config_text(server, database_url, reports_dir=reports_dir, extra=extra), encoding="utf-8"
    )
    return path


@dataclass
class Tracker:
    """A configured tracker against a site server, driven through the real CLI."""

    server: SiteServer
    config: Path

    @classmethod
    def create(
        cls, server: SiteServer, folder: Path, *, database_url: str | None = None, extra: str = ""
    ) -> Tracker:
        """Write a config in `folder` (SQLite there unless `database_url`) and return a Tracker."""
        url = database_url or f"sqlite:///{folder}/tracker.db"
        config = write_config(
            folder / "config.toml", server, url, reports_dir=folder / "reports", extra=extra
        )
        return cls(server, config)

    def publish(self, spec: SiteSpec, *, noise_seed: int | None = None) -> None:
        """Serve the site as `spec` describes it from now on."""
        self.server.pages = render_site(spec, self.server.base_url, noise_seed=noise_seed)

    def cli(self, *args: str) -> Result:
        """Invoke `lifesci-tracker --config <config> ARGS` in-process."""
        return CliRunner().invoke(
            cli, ["--config", str(self.config), *args], env={"LIFESCI_TRACKER_DATABASE_URL": ""}
        )

    def run_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run a tracking run with --json; return the exit code and the parsed output."""
        result = self.cli("run", "--json", *args)
        assert result.stdout.strip().startswith("{"), result.output
        return result.exit_code, json.loads(result.stdout)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the URL of every page the pipeline parses from now on (in-process runs)."""
    import tracker.pipeline

    parsed: list[str] = []

    def counting(parse: Any) -> Any:
        def wrapper(source: Any, url: str) -> Any:
            parsed.append(url)
            return parse(source, url)

        return wrapper

    parsers = {kind: counting(parse) for kind, parse in tracker.pipeline.PARSERS.items()}
    monkeypatch.setattr(tracker.pipeline, "PARSERS", parsers)
    return parsed
