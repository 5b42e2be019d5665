"""Stage 1 helper: robots.txt rules (RFC 9309) for `scraper.fetch`. Pure: text in, decisions out.

`urllib.robotparser` (Python 3.11) is not used: it compares rule paths as plain prefixes in file
order and ignores the `*` and `$` wildcards, so GOV.UK's `Disallow: /*/print$` would never match.
This module implements RFC 9309 §2.2: the groups naming our product token (else the `*` groups)
are merged, the longest matching rule wins, and `allow` wins a tie.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

__all__ = ["RobotsRules", "parse_robots", "product_token"]

# Characters left as they are when a path or pattern is percent-normalised (RFC 3986 unreserved
# and sub-delims, including the robots.txt specials `*` and `$`), so "/a%7Eb" equals "/a~b".
_SAFE = "/?&=;:@!$'()*+,~-._"


def product_token(user_agent: str) -> str:
    """Return the product token robots.txt groups are matched against: "lifesci-tracker"."""
    token = re.match(r"[A-Za-z0-9_-]*", user_agent.strip())
    return token.group(0).lower() if token else ""


def _normalise(text: str) -> str:
    return quote(unquote(text), safe=_SAFE)


@dataclass(frozen=True, slots=True)
class _Rule:
    allow: bool
    pattern: str  # percent-normalised, starts with "/" or "*"
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, allow: bool, raw: str) -> _Rule:
        pattern = raw if raw.startswith(("/", "*")) else "/" + raw
        pattern = _normalise(pattern)
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = ".*".join(re.escape(piece) for piece in body.split("*"))
        regex += r"\Z" if anchored else ""
        return cls(allow=allow, pattern=pattern, regex=re.compile(regex, re.DOTALL))


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The rules of one host's robots.txt that apply to one product token."""

    rules: tuple[_Rule, ...] = ()

    @classmethod
    def allow_all(cls) -> RobotsRules:
        """Return rules that allow every URL (robots.txt missing, 4xx, or empty)."""
        return cls()

    def allows(self, url: str) -> bool:
        """Return whether `url` may be fetched: the longest match decides, `allow` wins a tie."""
        parts = urlsplit(url)
        path = parts.path or "/"
        if path == "/robots.txt":
            return True
        target = _normalise(path + ("?" + parts.query if parts.query else ""))
        best: _Rule | None = None
        for rule in self.rules:
            if not rule.regex.match(target):
                continue
            if best is None or (len(rule.pattern), rule.allow) > (len(best.pattern), best.allow):
                best = rule
        return best is None or best.allow


def parse_robots(text: str, token: str) -> RobotsRules:
    """Parse robots.txt `text` and keep the rules for product `token` (else for `*`).

    Rules before any user-agent line are ignored; user-agent lines in a row open one group;
    sitemap and unknown lines are skipped.
    """
    groups: list[tuple[list[str], list[_Rule]]] = []
    agents: list[str] | None = None
    rules: list[_Rule] = []
    in_agent_run = False
    for raw_line in text.lstrip("\ufeff").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if agents is None or not in_agent_run:
                agents, rules = [], []
                groups.append((agents, rules))
            agents.append(value.split("/", 1)[0].strip().lower())
            in_agent_run = True
        elif key == "sitemap":
            continue
        else:
            in_agent_run = False
            if agents is not None and key in ("allow", "disallow") and value:
                rules.append(_Rule.compile(key == "allow", value))
    wanted = token.lower()
    chosen = [rules for agents, rules in groups if wanted and wanted in agents]
    if not chosen:
        chosen = [rules for agents, rules in groups if "*" in agents]
    return RobotsRules(tuple(rule for group in chosen for rule in group))
