"""JSON report: exactly the ChangeSet document of DESIGN §8, pretty-printed."""

from __future__ import annotations

import json
from typing import Final

from changes.changeset import changeset_to_dict
from reports.formats.base import rendered
from reports.model import RenderedReport, Report


def render_json(report: Report) -> str:
    """Return `changeset_to_dict` of the report's ChangeSet as indented JSON with a final newline.

    Problems are not part of the §8 contract, so they are left out: consumers validate the document.
    """
    document = changeset_to_dict(report.changeset)
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


class JsonFormat:
    """The ChangeSet as JSON (DESIGN §8), for scripts."""

    name: Final = "json"
    media_type: Final = "application/json"
    extension: Final = "json"

    def render(self, report: Report) -> RenderedReport:
        """Return the report's ChangeSet as JSON."""
        return rendered(self, report, render_json(report))
