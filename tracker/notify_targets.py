"""Notify targets of a configuration: Apprise URLs from the environment and [notify] config_file.

The URLs hold tokens, so they are never in config.toml nor in the outbox: `[notify] urls_env` names
the environment variable that holds them. Read when a command that delivers starts (a bad URL is a
config error, exit 2, before anything is fetched) and again when a delivery is sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reports.channels.notify import NotifyTarget, NotifyTargetError, read_targets
from tracker.config import Config
from tracker.errors import ConfigError


def notify_targets(
    config: Config, environ: Mapping[str, str] | None = None
) -> tuple[NotifyTarget, ...]:
    """Return the notify targets, or none when [notify] is not enabled.

    Raises:
        ConfigError: a URL Apprise cannot use (shown masked), an unreadable config file, or
            notify enabled with no target at all.
    """
    notify = config.notify
    if not notify.enabled:
        return ()
    env = os.environ if environ is None else environ
    config_file = Path(notify.config_file) if notify.config_file else None
    try:
        targets = read_targets(
            env.get(notify.urls_env, ""), variable=notify.urls_env, config_file=config_file
        )
    except NotifyTargetError as exc:
        raise ConfigError(f"[notify] {exc}") from None
    if not targets:
        raise ConfigError(
            f"[notify] is enabled but has no targets: set ${notify.urls_env} to Apprise URLs"
            " (separated by spaces or commas) or [notify] config_file to an Apprise config file"
        )
    return targets


def check_config_lines(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the lines `check-config` adds: each notify target, masked, and its service.

    Raises:
        ConfigError: as `notify_targets`.
    """
    targets = notify_targets(config, environ)
    if not targets:
        return []
    lines = ["", f"# notify targets ({len(targets)}, masked):"]
    width = max(len(target.masked) for target in targets)
    lines += [f"#   {target.masked:<{width}}  {target.service}" for target in targets]
    return lines
