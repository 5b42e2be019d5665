"""Composition root of lifesci-tracker: command line, configuration and the tracking pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lifesci-tracker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

PROJECT_URL = "https://github.com/lifesci-tracker/lifesci-tracker"
USER_AGENT = f"lifesci-tracker/{__version__} (+{PROJECT_URL})"
