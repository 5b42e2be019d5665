"""Tests for changes/changeset.schema.json: valid, matches every diff output, rejects wrong JSON."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from changes import ChangeSet, State, changeset_schema, changeset_to_dict, diff
from scraper.page import HtmlDocument
from tests.golden import GOLDEN_DIR
from tests.pages import OLD_AT
from tests.test_diff import CASES, GOLDEN_CASES, site, states


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = changeset_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = changeset_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _silently_edited() -> State:
    """Run 13 with a document changed and no new change note."""
    old = site(12)
    document = next(p for p in old.pages.values() if isinstance(p, HtmlDocument))
    edited = replace(document, organisations=document.organisations[1:])
    return replace(old, run=13, pages={**old.pages, document.url: edited})


def _outputs() -> dict[str, ChangeSet]:
    outputs = {case.id: diff(case.old, case.new) for case in CASES}
    outputs.update({f"{c.id}+text_diff": diff(c.old, c.new, with_text_diff=True) for c in CASES})
    for name, (old, new, with_text_diff) in GOLDEN_CASES.items():
        outputs[f"golden:{name}"] = diff(old, new, with_text_diff=with_text_diff)
    outputs["baseline"] = diff(None, site(13))
    outputs["baseline_from_empty"] = diff(State(12, OLD_AT, {}), site(13))
    outputs["no_runs"] = diff(State(None, None, site(12).pages), State(None, None, {}))
    unread = replace(_silently_edited(), checked_publications=frozenset())
    outputs["silent_change_unknown"] = diff(site(12), unread)
    return outputs


OUTPUTS = _outputs()


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_diff_output_is_valid(validator: Draft202012Validator, name: str) -> None:
    document = changeset_to_dict(OUTPUTS[name])
    assert list(validator.iter_errors(document)) == []
    # The JSON round trip is what consumers see.
    assert validator.is_valid(json.loads(json.dumps(document)))


@pytest.mark.parametrize("path", sorted(GOLDEN_DIR.glob("diff/*.json")), ids=lambda p: p.name)
def test_golden_diff_files_are_valid(validator: Draft202012Validator, path: Any) -> None:
    validator.validate(json.loads(path.read_text(encoding="utf-8")))


@settings(deadline=None, max_examples=50)
@given(states(12), states(13))
def test_random_diffs_are_valid(old: State, new: State) -> None:
    schema = changeset_schema()
    Draft202012Validator(schema).validate(changeset_to_dict(diff(old, new, with_text_diff=True)))


def _realistic() -> dict[str, Any]:
    old, new, _ = GOLDEN_CASES["realistic_2021_12_update"]
    return changeset_to_dict(diff(old, new))


def _break(mutate: Any) -> dict[str, Any]:
    document = copy.deepcopy(_realistic())
    mutate(document)
    return document


WRONG = {
    "run_as_string": lambda d: d["to"].__setitem__("run", "13"),
    "time_without_z": lambda d: d["to"].__setitem__("at", "2021-12-01T07:00:02+00:00"),
    "missing_summary": lambda d: d.pop("summary"),
    "negative_count": lambda d: d["summary"].__setitem__("updates_added", -1),
    "unknown_kind": lambda d: d["documents"][0].__setitem__("kind", "news_story"),
    "unknown_status": lambda d: d["documents"][1].__setitem__("status", "renamed"),
    "unknown_change_key": lambda d: d["documents"][2]["organisations"]["changed"][0][
        "changes"
    ].__setitem__("position", [1, 2]),
    "pair_of_three": lambda d: d["documents"][0]["metadata"].__setitem__(
        "last_updated", ["2018-03-27", "2021-12-01", "2022-01-01"]
    ),
    "silent_change_as_string": lambda d: d["documents"][1].__setitem__("silent_change", "no"),
    "date_not_iso": lambda d: d["documents"][0]["updates"]["added"][0].__setitem__(
        "date", "1 December 2021"
    ),
    "organisations_on_a_publication": lambda d: d["documents"][0].__setitem__(
        "organisations", {"added": [], "removed": [], "changed": []}
    ),
}


def test_the_realistic_document_is_valid_before_it_is_broken(
    validator: Draft202012Validator,
) -> None:
    validator.validate(_realistic())


def test_an_unknown_silent_change_is_null_and_valid(validator: Draft202012Validator) -> None:
    document = changeset_to_dict(OUTPUTS["silent_change_unknown"])
    assert [d.get("silent_change", "-") for d in document["documents"]] == [None]
    validator.validate(document)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_an_obviously_wrong_document_is_rejected(
    validator: Draft202012Validator, name: str
) -> None:
    assert not validator.is_valid(_break(WRONG[name]))


def test_first_copies_and_archive_states_are_valid(validator: Draft202012Validator) -> None:
    old = site(12)
    document = next(p for p in old.pages.values() if isinstance(p, HtmlDocument))
    without_copy = replace(
        old, pages={url: p for url, p in old.pages.items() if url != document.url}, archive=True
    )
    data = changeset_to_dict(diff(without_copy, replace(old, run=13, archive=True)))

    assert data["first_seen"][0]["url"] == document.url
    assert data["to"]["archive"] is True
    validator.validate(data)
    wrong = copy.deepcopy(data)
    wrong["to"]["archive"] = False  # present only when true
    assert list(validator.iter_errors(wrong))
