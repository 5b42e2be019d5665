"""Read and validate config.toml (DESIGN §3) into frozen settings.

Lookup: --config PATH, else $LIFESCI_TRACKER_CONFIG, else ./config.toml, else built-in defaults.
Unknown keys, wrong types and unknown names fail at start with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from scheduler import ScheduleSettings, validate_schedule
from tracker.errors import ConfigError

DEFAULT_URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"
CONFIG_ENV = "LIFESCI_TRACKER_CONFIG"
DATABASE_URL_ENV = "LIFESCI_TRACKER_DATABASE_URL"
REPORT_FORMATS = ("text", "markdown", "html", "json", "atom")
EMAIL_BODY_FORMATS = ("html", "text", "markdown")


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """[source]: what to fetch and how politely."""

    urls: tuple[str, ...] = (DEFAULT_URL,)
    allowed_hosts: tuple[str, ...] = ("www.gov.uk",)
    timeout_s: float = 30.0
    max_bytes: int = 10_000_000
    requests_per_second: float = 5.0
    retries: int = 3
    backoff_s: float = 1.0
    max_removed_fraction: float = 0.5
    obey_robots: bool = True


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """[database]: where snapshots are stored."""

    url: str = "sqlite:///lifesci-tracker.db"


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """[schedule]: when `schedule` runs."""

    cron: str = "0 7 * * 1-5"
    timezone: str = "Europe/London"
    jitter_s: float = 300.0
    misfire_grace_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """[reports]: the file channel and when reports are made."""

    dir: str = "reports"
    formats: tuple[str, ...] = ("markdown", "html", "json", "atom")
    when: Literal["changes", "always"] = "changes"
    max_attempts: int = 5
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """[email]: the email channel."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "LIFESCI_TRACKER_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
    sender: str = "lifesci-tracker@localhost"
    to: tuple[str, ...] = ()
    format: Literal["html", "text", "markdown"] = "html"
    problems_after: int = 3
    timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """[notify]: chat, push and webhook targets through Apprise (DESIGN §9)."""

    enabled: bool = False
    urls_env: str = "LIFESCI_TRACKER_NOTIFY_URLS"
    config_file: str = ""
    format: Literal["markdown", "text", "html"] = "markdown"


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """[site]: the browsable change-history site (DESIGN §13)."""

    enabled: bool = False
    dir: str = "lifesci-tracker-site"
    base_url: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """[archive]: the web archive `backfill` replays (DESIGN §12)."""

    cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    replay_url: str = "https://web.archive.org/web/{timestamp}id_/{url}"
    allowed_hosts: tuple[str, ...] = ("web.archive.org",)
    requests_per_second: float = 1.0


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; `source` is the path it was read from (None: built-in defaults)."""

    source: SourceConfig = field(default_factory=SourceConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    site: SiteConfig = field(default_factory=SiteConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    path: Path | None = None


_SECTIONS: dict[str, type[Any]] = {
    "source": SourceConfig,
    "database": DatabaseConfig,
    "schedule": ScheduleConfig,
    "reports": ReportsConfig,
    "email": EmailConfig,
    "notify": NotifyConfig,
    "site": SiteConfig,
    "archive": ArchiveConfig,
}
# TOML keys that are Python keywords or clash with builtins get another attribute name.
_KEY_ALIASES: dict[tuple[str, str], str] = {("email", "from"): "sender"}


def find_config_path(explicit: str | None, environ: typing.Mapping[str, str]) -> Path | None:
    """Return the config file to read, following the DESIGN §3 lookup order."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path("config.toml")
    return default if default.is_file() else None


def load_config(
    explicit: str | None = None, *, environ: typing.Mapping[str, str] | None = None
) -> Config:
    """Find, read and validate the configuration; raise ConfigError with one line on any problem."""
    env = os.environ if environ is None else environ
    path = find_config_path(explicit, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    config = parse_config(raw, path=path)
    if env.get(DATABASE_URL_ENV):
        config = dataclasses.replace(config, database=DatabaseConfig(url=env[DATABASE_URL_ENV]))
    return config


def parse_config(raw: dict[str, Any], *, path: Path | None = None) -> Config:
    """Validate parsed TOML against the settings dataclasses."""
    where = str(path) if path else "config"
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}]")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(name, _SECTIONS[name], value, where)
    config = Config(**sections, path=path)
    _check_values(config, where)
    return config


def _build_section(section: str, cls: type[Any], table: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        attribute = _KEY_ALIASES.get((section, key), key)
        if attribute not in hints or _toml_key(section, attribute) != key:
            raise ConfigError(f"{where}: unknown key '{key}' in [{section}]")
        kwargs[attribute] = _coerce(value, hints[attribute], f"[{section}] {key}", where)
    return cls(**kwargs)


def _toml_key(section: str, attribute: str) -> str:
    for (alias_section, key), alias in _KEY_ALIASES.items():
        if alias_section == section and alias == attribute:
            return key
    return attribute


def _type_name(expected: Any) -> str:
    origin = get_origin(expected)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(expected))
    if origin is tuple:
        item = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
        return f"a list of {item.get(get_args(expected)[0], 'values')}"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        expected, str(expected)
    )


def _coerce(value: Any, expected: Any, key: str, where: str) -> Any:
    origin = get_origin(expected)
    wrong = ConfigError(f"{where}: {key} must be {_type_name(expected)}, got {value!r}")
    if origin is Literal:
        if value not in get_args(expected):
            raise wrong
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise wrong
        item_type = get_args(expected)[0]
        return tuple(_coerce(item, item_type, key, where) for item in value)
    if origin in (types.UnionType, typing.Union):
        raise wrong  # no optional settings today
    if expected is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise wrong
        return value
    raise wrong


def _check_values(config: Config, where: str) -> None:
    source = config.source
    if not source.urls:
        raise ConfigError(f"{where}: [source] urls must list at least one URL")
    for url in source.urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: [source] urls: not an http(s) URL: {url!r}")
    positive = {
        "[source] timeout_s": source.timeout_s,
        "[source] max_bytes": source.max_bytes,
        "[source] requests_per_second": source.requests_per_second,
        "[reports] max_attempts": config.reports.max_attempts,
    }
    for key, number in positive.items():
        if number <= 0:
            raise ConfigError(f"{where}: {key} must be greater than 0, got {number}")
    non_negative = {
        "[source] retries": source.retries,
        "[source] backoff_s": source.backoff_s,
        "[schedule] jitter_s": config.schedule.jitter_s,
        "[schedule] misfire_grace_s": config.schedule.misfire_grace_s,
        "[email] problems_after": config.email.problems_after,
    }
    for key, number in non_negative.items():
        if number < 0:
            raise ConfigError(f"{where}: {key} must not be negative, got {number}")
    if not 0 < source.max_removed_fraction <= 1:
        raise ConfigError(f"{where}: [source] max_removed_fraction must be in (0, 1]")
    for name in config.reports.formats:
        if name not in REPORT_FORMATS:
            choices = ", ".join(REPORT_FORMATS)
            raise ConfigError(f"{where}: [reports] formats: unknown format {name!r} ({choices})")
    if not config.database.url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"{where}: [database] url must be sqlite:/// or postgresql+psycopg://")
    schedule = config.schedule
    # The defaults are valid (tests/test_config.py checks): building a trigger imports APScheduler,
    # which every command would then pay for.
    if schedule != ScheduleConfig():
        _check_schedule(schedule, where)
    if config.email.enabled and not config.email.to:
        raise ConfigError(f"{where}: [email] to must list a recipient when email is enabled")


def _check_schedule(schedule: ScheduleConfig, where: str) -> None:
    try:
        validate_schedule(
            ScheduleSettings(
                cron=schedule.cron,
                timezone=schedule.timezone,
                jitter_s=schedule.jitter_s,
                misfire_grace_s=schedule.misfire_grace_s,
            )
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: [schedule] {exc}") from None


def config_to_dict(
    config: Config, *, environ: typing.Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the effective settings as TOML-shaped data, with secrets masked."""
    env = os.environ if environ is None else environ
    result: dict[str, Any] = {}
    for name in _SECTIONS:
        section = getattr(config, name)
        table: dict[str, Any] = {}
        for item in dataclasses.fields(section):
            key = _toml_key(name, item.name)
            value = getattr(section, item.name)
            table[key] = list(value) if isinstance(value, tuple) else value
        result[name] = table
    result["database"]["url"] = mask_url(config.database.url)
    password_set = bool(env.get(config.email.password_env))
    result["email"]["password"] = "****** (set)" if password_set else "(not set)"
    return result


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return parsed.render_as_string(hide_password=True)
