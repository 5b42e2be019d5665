"""Stage 4: pure diff of two stored states into a ChangeSet, and its JSON contract (DESIGN §8).

`diff(old, new)` builds the ChangeSet; `changeset_to_dict` gives the JSON form that
`changeset_schema()` (JSON Schema draft 2020-12, `changes/changeset.schema.json`) describes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from changes.changeset import (
    ORGANISATION_FIELDS,
    ChangeSet,
    DocumentChange,
    DocumentStatus,
    OrganisationChange,
    OrganisationChanges,
    State,
    StateRef,
    Summary,
    UpdateChanges,
    changeset_to_dict,
    document_change_to_dict,
    organisation_to_dict,
    summary_to_dict,
)
from changes.diff import diff, filter_documents, summarise
from changes.match import OrganisationMatch, match_organisations, normalise_name


def changeset_schema() -> dict[str, Any]:
    """Return the JSON Schema of `changeset_to_dict` output."""
    text = resources.files("changes").joinpath("changeset.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "ORGANISATION_FIELDS",
    "ChangeSet",
    "DocumentChange",
    "DocumentStatus",
    "OrganisationChange",
    "OrganisationChanges",
    "OrganisationMatch",
    "State",
    "StateRef",
    "Summary",
    "UpdateChanges",
    "changeset_schema",
    "changeset_to_dict",
    "diff",
    "document_change_to_dict",
    "filter_documents",
    "match_organisations",
    "normalise_name",
    "organisation_to_dict",
    "summarise",
    "summary_to_dict",
]
