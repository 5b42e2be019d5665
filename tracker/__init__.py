"""Composition root of lifesci-tracker: command line, configuration and the tracking pipeline."""

# The one place the version is written (pyproject.toml reads it from here). A literal, not
# importlib.metadata: that import alone costs ~0.1 s on every run.
__version__ = "0.1.0"

PROJECT_URL = "https://github.com/lifesci-tracker/lifesci-tracker"
USER_AGENT = f"lifesci-tracker/{__version__} (+{PROJECT_URL})"
