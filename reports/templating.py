"""The Jinja2 environments reports render with: templates shipped in the package, autoescape on.

Page text is always escaped, an undefined name is an error rather than an empty string, and only
http(s) URLs may become links (`is_web_url`). Jinja2 is imported on first use: it costs ~0.1 s,
and most runs write no HTML.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from jinja2 import Environment

_WEB_URL: Final = re.compile(r"https?://[^\s\"'<>]+\Z", re.IGNORECASE)


def is_web_url(value: object) -> bool:
    """Return True for an http(s) URL, the only kind a report ever turns into a link."""
    return isinstance(value, str) and bool(_WEB_URL.match(value))


def template_environment(folder: str, *, keep_trailing_newline: bool = False) -> Environment:
    """Return an environment for the templates in `reports/<folder>` (build it once per folder)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("reports", folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    environment.tests["web_url"] = is_web_url
    return environment
