"""Parse CPU per page: fingerprint, parse, and both (the pipeline's path when a page changed).

Run by hand: `.venv/bin/python -m bench.parse_cpu [--repeat N]`. Prints the median process CPU
time of each step in milliseconds for every page of tracker/sample/pages/ and for two pages of the
bench site (full chrome and per-request noise, as `bench.run_bench` serves them). To compare with
another copy of the parser: `cd /tmp && PYTHONPATH=/other/copy:/this/checkout python
/this/checkout/bench/parse_cpu.py` (the pages stay this checkout's).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from scraper.errors import LayoutChangedError
from scraper.parse import HtmlSource, parse_html_document, parse_publication

FIXTURES = Path(__file__).resolve().parents[1] / "tracker" / "sample" / "pages"
URL = "https://www.gov.uk/government/publications/uk-life-sciences-support"


def _median_ms(step: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        step()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def _steps(body: bytes, publication: bool) -> dict[str, Callable[[], object]]:
    parse = parse_publication if publication else parse_html_document
    url = URL if publication else f"{URL}/document"

    def parsed(source: bytes | HtmlSource) -> object:
        try:
            return parse(source, url)
        except LayoutChangedError as error:
            return error

    def both() -> object:
        source = HtmlSource(body)
        return source.fingerprint, parsed(source)

    return {
        "fingerprint": lambda: HtmlSource(body).fingerprint,
        "parse": lambda: parsed(body),
        "fingerprint+parse": both,
    }


def _pages() -> list[tuple[str, bytes, bool]]:
    """(name, body, is a publication): the fixtures, then a bench-site publication and document."""
    pages = [
        (path.name, path.read_bytes(), path.name.startswith("publication"))
        for path in sorted(FIXTURES.glob("*.html"))
    ]
    from bench.site import BenchSite
    from tests.govuk_site import add_noise

    site = BenchSite(1, "http://127.0.0.1:1")
    for page in [site.pages[path] for path in sorted(site.pages)[:2]]:
        kind = page.kind == "publication"
        pages.append(
            (
                f"bench site {'publication' if kind else 'document'}, noisy",
                add_noise(page.body, 1),
                kind,
            )
        )
    return pages


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--repeat", type=int, default=200)
    repeat = options.parse_args().repeat
    print(f"{'page':<78} {'fingerprint':>11} {'parse':>7} {'both':>7}  (median ms CPU)")
    for name, body, publication in _pages():
        steps = _steps(body, publication)
        for step in steps.values():  # warm-up: imports, caches
            step()
        medians = [_median_ms(step, repeat) for step in steps.values()]
        print(f"{name:<78} {medians[0]:>11.2f} {medians[1]:>7.2f} {medians[2]:>7.2f}")


if __name__ == "__main__":
    main()
