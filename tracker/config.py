"""Read and validate config.toml (DESIGN §3) into frozen settings.

Lookup: --config PATH, else $LIFESCI_TRACKER_CONFIG, else ./config.toml, else built-in defaults.
Every value that would fail later (at fetch, send or schedule time) fails here, at start, with one
line naming the key: unknown sections and keys (with "did you mean ...?"), wrong types, numbers out
of range, URLs and addresses that are not, settings that contradict each other. Relative paths
written in a file resolve against the file's folder; defaults, against the current folder.

Each key's type and bounds are written once, on its field below (`Annotated[..., Meta(...)]`),
and checked by msgspec (`msgspec.convert`). msgspec rather than pydantic 2: start-up time matters
(issue 13): importing msgspec costs ~4 ms here, pydantic 2 with one model ~140 ms. The settings
stay plain frozen dataclasses, so nothing else depends on the library.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from scheduler import ScheduleSettings, validate_schedule
from tracker.errors import ConfigError

DEFAULT_URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"
CONFIG_ENV = "LIFESCI_TRACKER_CONFIG"
DATABASE_URL_ENV = "LIFESCI_TRACKER_DATABASE_URL"
REPORT_FORMATS = ("text", "markdown", "html", "json", "atom")
EMAIL_BODY_FORMATS = ("html", "text", "markdown")

# The types of the settings: each says what it accepts, in words for the error message.
Positive = Annotated[float, Meta(gt=0, description="a number greater than 0")]
PositiveInt = Annotated[int, Meta(gt=0, description="a whole number greater than 0")]
NonNegative = Annotated[float, Meta(ge=0, description="a number, 0 or more")]
NonNegativeInt = Annotated[int, Meta(ge=0, description="a whole number, 0 or more")]
Fraction = Annotated[float, Meta(gt=0, le=1, description="a number greater than 0, at most 1")]
Port = Annotated[int, Meta(ge=1, le=65535, description="a port number from 1 to 65535")]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://[^/?#\s]+", description="an http(s) URL")]
OptionalHttpUrl = Annotated[
    str, Meta(pattern=r"^(https?://[^/?#\s]+.*)?$", description='an http(s) URL or ""')
]
ReplayUrl = Annotated[
    str,
    Meta(
        pattern=r"^(?=.*\{timestamp\})(?=.*\{url\})https?://[^/?#\s]+",
        description="an http(s) URL containing {timestamp} and {url}",
    ),
]
HostName = Annotated[
    str, Meta(pattern=r"^[^\s/:@]+$", description="a host name (no scheme, port or path)")
]
EmailAddress = Annotated[
    str,
    Meta(
        pattern=r"^(?:[^<>@\s]+@[^<>@\s]+|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$",
        description='an email address ("name@example.org" or "Name <name@example.org>")',
    ),
]
ReportFormat = Literal["text", "markdown", "html", "json", "atom"]


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """[source]: what to fetch and how politely."""

    urls: tuple[HttpUrl, ...] = (DEFAULT_URL,)
    allowed_hosts: tuple[HostName, ...] = ("www.gov.uk",)
    timeout_s: Positive = 30.0
    max_bytes: PositiveInt = 10_000_000
    requests_per_second: Positive = 5.0
    retries: NonNegativeInt = 3
    backoff_s: NonNegative = 1.0
    max_removed_fraction: Fraction = 0.5
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
    jitter_s: NonNegative = 300.0
    misfire_grace_s: NonNegative = 3600.0


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """[reports]: the file channel and when reports are made."""

    dir: str = "lifesci-tracker-reports"
    formats: tuple[ReportFormat, ...] = ("markdown", "html", "json", "atom")
    when: Literal["changes", "always"] = "changes"
    max_attempts: PositiveInt = 5
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """[email]: the email channel."""

    enabled: bool = False
    host: str = "localhost"
    port: Port = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "LIFESCI_TRACKER_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
    sender: EmailAddress = "lifesci-tracker@localhost"
    to: tuple[EmailAddress, ...] = ()
    format: Literal["html", "text", "markdown"] = "html"
    problems_after: NonNegativeInt = 3
    timeout_s: Positive = 30.0


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
    base_url: OptionalHttpUrl = ""


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """[archive]: the web archive `backfill` replays (DESIGN §12)."""

    cdx_url: HttpUrl = "https://web.archive.org/cdx/search/cdx"
    replay_url: ReplayUrl = "https://web.archive.org/web/{timestamp}id_/{url}"
    allowed_hosts: tuple[HostName, ...] = ("web.archive.org",)
    requests_per_second: Positive = 1.0
    timeout_s: Positive = 60.0
    max_bytes: PositiveInt = 10_000_000
    retries: NonNegativeInt = 3
    obey_robots: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; `path` is the file it was read from (None: built-in defaults)."""

    source: SourceConfig = field(default_factory=SourceConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    site: SiteConfig = field(default_factory=SiteConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    path: Path | None = None


_SECTIONS: Mapping[str, type[Any]] = MappingProxyType(
    {
        "source": SourceConfig,
        "database": DatabaseConfig,
        "schedule": ScheduleConfig,
        "reports": ReportsConfig,
        "email": EmailConfig,
        "notify": NotifyConfig,
        "site": SiteConfig,
        "archive": ArchiveConfig,
    }
)
# TOML keys that are Python keywords or clash with builtins get another attribute name.
_KEY_ALIASES: Mapping[tuple[str, str], str] = MappingProxyType({("email", "from"): "sender"})


def find_config_path(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """Return the config file to read, following the DESIGN §3 lookup order."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path("config.toml")
    return default if default.is_file() else None


def load_config(explicit: str | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Find, read and validate the configuration; raise ConfigError with one line on any problem."""
    env = os.environ if environ is None else environ
    path = find_config_path(explicit, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(f"{path} is a folder, not a config file") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    config = parse_config(raw, path=path)
    if path is not None:
        config = resolve_paths(config, path.resolve().parent, written=raw)
    if env.get(DATABASE_URL_ENV):
        config = dataclasses.replace(config, database=DatabaseConfig(url=env[DATABASE_URL_ENV]))
    return config


def parse_config(raw: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Validate parsed TOML against the settings dataclasses (paths are left as written)."""
    where = str(path) if path else "config"
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}]{_did_you_mean(name, _SECTIONS)}")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build_section(name, value, where)
    config = Config(**sections, path=path)
    _check_together(config, where)
    return config


def _toml_keys(section: str) -> dict[str, str]:
    """The section's TOML keys, each with its attribute name."""
    names = {item.name: item.name for item in dataclasses.fields(_SECTIONS[section])}
    for (alias_section, key), attribute in _KEY_ALIASES.items():
        if alias_section == section:
            names[key] = names.pop(attribute)
    return names


def _did_you_mean(name: str, known: typing.Iterable[str]) -> str:
    import difflib  # only on an error

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build_section(section: str, table: Mapping[str, Any], where: str) -> Any:
    cls = _SECTIONS[section]
    keys = _toml_keys(section)
    hints = typing.get_type_hints(cls, include_extras=True)
    values = {}
    for key, value in table.items():
        if key not in keys:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [{section}]{_did_you_mean(key, keys)}"
            )
        values[keys[key]] = _convert(value, hints[keys[key]], f"{where}: [{section}] {key}")
    return cls(**values)


def _convert(value: Any, expected: Any, key: str) -> Any:
    """Check `value` against its annotated type; a list is checked item by item."""
    if get_origin(expected) is tuple:
        item_type = get_args(expected)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list of {_plural(item_type)}, got {value!r}")
        return tuple(_convert_item(item, item_type, key) for item in value)
    try:
        return msgspec.convert(value, expected)
    except msgspec.ValidationError:
        raise ConfigError(f"{key} must be {_describe(expected)}, got {value!r}") from None


def _convert_item(item: Any, expected: Any, key: str) -> Any:
    try:
        return msgspec.convert(item, expected)
    except msgspec.ValidationError:
        raise ConfigError(f"{key}: {item!r} is not {_describe(expected)}") from None


_TYPE_NAMES: Mapping[Any, str] = MappingProxyType(
    {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
)


def _describe(expected: Any) -> str:
    """Say in words what a setting's type accepts."""
    origin = get_origin(expected)
    if origin is Annotated:
        meta = next((m for m in expected.__metadata__ if isinstance(m, Meta)), None)
        if meta is not None and meta.description:
            return meta.description
        return _describe(get_args(expected)[0])
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(expected))
    return _TYPE_NAMES.get(expected, str(expected))


def _plural(expected: Any) -> str:
    base = get_args(expected)[0] if get_origin(expected) is Annotated else expected
    if get_origin(base) is Literal:
        return "strings (" + ", ".join(get_args(base)) + ")"
    return {bool: "booleans", int: "whole numbers", float: "numbers"}.get(base, "strings")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _check_together(config: Config, where: str) -> None:
    """The rules that involve more than one key."""
    source = config.source
    if not source.urls:
        raise ConfigError(f"{where}: [source] urls must list at least one URL")
    allowed = {host.lower() for host in source.allowed_hosts}
    for url in source.urls:
        if _host(url) not in allowed:
            raise ConfigError(
                f"{where}: [source] urls: the host of {url} is not in [source] allowed_hosts "
                f"({', '.join(source.allowed_hosts) or 'empty'}): add {_host(url)!r} to it"
            )
    archive_hosts = {host.lower() for host in config.archive.allowed_hosts}
    for key in ("cdx_url", "replay_url"):
        url = getattr(config.archive, key)
        if _host(url) not in archive_hosts:
            raise ConfigError(
                f"{where}: [archive] {key}: the host {_host(url)!r} is not in "
                "[archive] allowed_hosts"
            )
    if not config.database.url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"{where}: [database] url must be sqlite:/// or postgresql+psycopg://")
    # The defaults are valid (tests/test_config.py checks): building a trigger imports APScheduler,
    # which every command would then pay for.
    if config.schedule != ScheduleConfig():
        _check_schedule(config.schedule, where)
    email = config.email
    if email.enabled and not email.to:
        raise ConfigError(f"{where}: [email] to must list a recipient when email is enabled")
    if email.username and email.security == "none":
        raise ConfigError(
            f'{where}: [email] username is set but security = "none" would send the password '
            'unencrypted: use security = "starttls" or "ssl", or no username'
        )


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


def resolve_paths(config: Config, folder: Path, *, written: Mapping[str, Any]) -> Config:
    """Make the relative paths written in a config file relative to the file's `folder`.

    The SQLite file of `[database] url`, `[reports] dir`, `[site] dir` and `[notify] config_file`,
    when `written` (the file's TOML) sets them, become absolute, so a command finds the same files
    from any current folder (cron). A path the file does not set keeps its default, relative to
    the current folder, as with no file at all.
    """

    def under(section: str, key: str, value: str) -> str:
        if not value or key not in written.get(section, {}):
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else folder / path)

    url = config.database.url
    if "url" in written.get("database", {}):
        url = _sqlite_url_under(url, folder)
    return dataclasses.replace(
        config,
        database=DatabaseConfig(url=url),
        reports=dataclasses.replace(
            config.reports, dir=under("reports", "dir", config.reports.dir)
        ),
        site=dataclasses.replace(config.site, dir=under("site", "dir", config.site.dir)),
        notify=dataclasses.replace(
            config.notify,
            config_file=under("notify", "config_file", config.notify.config_file),
        ),
    )


def _sqlite_url_under(url: str, folder: Path) -> str:
    """An SQLite URL whose relative file path is made relative to `folder`; others unchanged."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    path = Path(database).expanduser()
    if path.is_absolute() or database.startswith("file:"):
        return url
    return parsed.set(database=str(folder / path)).render_as_string(hide_password=False)


def config_to_dict(config: Config, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the effective settings as TOML-shaped data, with secrets masked."""
    env = os.environ if environ is None else environ
    result: dict[str, Any] = {}
    for name in _SECTIONS:
        section = getattr(config, name)
        table: dict[str, Any] = {}
        for key, attribute in _toml_keys(name).items():
            value = getattr(section, attribute)
            table[key] = list(value) if isinstance(value, tuple) else value
        result[name] = table
    result["database"]["url"] = mask_url(config.database.url)
    password_set = bool(env.get(config.email.password_env))
    result["email"]["password"] = "****** (set)" if password_set else "(not set)"
    return result


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return parsed.render_as_string(hide_password=True)
