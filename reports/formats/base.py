"""What every report format shares: the Format protocol and building a RenderedReport."""

from __future__ import annotations

from typing import Protocol

from reports.formats.wording import subject_line
from reports.model import RenderedReport, Report


class Format(Protocol):
    """A way to write a Report down; registered by `name` in reports.formats.FORMATS."""

    @property
    def name(self) -> str:
        """Return the registry key, equal to the config value ("markdown")."""
        ...

    @property
    def media_type(self) -> str:
        """Return the MIME type of the body ("text/markdown")."""
        ...

    @property
    def extension(self) -> str:
        """Return the file name extension, without a dot ("md")."""
        ...

    def render(self, report: Report) -> RenderedReport:
        """Return the report rendered in this format; never raises for a well-formed Report."""
        ...


def rendered(
    fmt: Format, report: Report, body: str, *, extra: dict[str, str] | None = None
) -> RenderedReport:
    """Return `body` wrapped as this format's RenderedReport, with the subject line and run."""
    return RenderedReport(
        format=fmt.name,
        subject=subject_line(report),
        body=body,
        media_type=fmt.media_type,
        extension=fmt.extension,
        run=report.changeset.to_ref.run,
        extra=dict(extra or {}),
    )
