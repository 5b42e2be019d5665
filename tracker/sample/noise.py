"""What differs on every request to GOV.UK but is not content: tokens, stamps, a banner.

`add_noise(body, seed)` adds it to one rendered page, reproducibly per seed. A general page monitor
sees a change in each of these; the tracker must see none.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tracker.sample.spec import splice

__all__ = ["add_noise"]

_BANNERS = (
    "Help us improve GOV.UK: take part in user research (survey {n}).",
    "This service will be unavailable on Sunday from {n}am for planned maintenance.",
    "Coronavirus (COVID-19): guidance and support, updated {n} minutes ago.",
    "Sign up for emails about this page: {n} people signed up today.",
)


def add_noise(body: bytes, seed: int) -> bytes:
    """Add what differs on every request but is not content: a CSRF token, a request id on
    <body>, script nonces, the `govuk:updated-at` value and a timestamp comment, and visible text
    in the chrome: a banner sentence at the top of the page and a render stamp in the footer."""
    rng = random.Random(seed)
    token = f"{rng.getrandbits(128):032x}"
    at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))).isoformat()
    server, elapsed = f"frontend-{rng.randrange(1, 9)}", f"{rng.randrange(900)}ms"
    text = body.decode("utf-8").replace("<script>", f'<script nonce="{token[12:28]}">')
    text = text.replace("<head>", f'<head>\n  <meta name="csrf-token" content="{token}">', 1)
    text = splice(text, r"<body[^>]*?()>", f' data-request-id="{token[:12]}"', required=False)
    text = splice(text, r'govuk:updated-at" content="([^"]*)"', at, required=False)
    banner = rng.choice(_BANNERS).format(n=rng.randrange(1, 100))
    text = splice(
        text,
        r"<body[^>]*>()",
        f'\n<div class="global-bar" role="region"><p class="global-bar-message">{banner}</p></div>',
        required=False,
    )
    stamp = f'<p class="render-stamp">Page rendered at {at} by {server} in {elapsed}</p>\n'
    end = "</footer>" if "</footer>" in text else "</body>"
    text = text.replace(end, stamp + end, 1)
    comment = f"<!-- rendered {at} by {server} in {elapsed} -->"
    return text.replace("</body>", f"{comment}\n</body>", 1).encode("utf-8")
