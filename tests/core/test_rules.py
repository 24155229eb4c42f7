"""The stage rules come from data/rules/statuses.toml only, through one typed loader."""

from __future__ import annotations

import tomllib
from typing import get_args

import pytest

from diagnosis.core.statuses import (
    STATUS_KEYS,
    StatusKey,
    _status_spec_of,
    status_legend,
    status_name,
    status_specs,
)
from diagnosis.paths import RULES_DIR


def test_stage_keys_follow_the_file_order_and_match_the_type() -> None:
    with (RULES_DIR / "statuses.toml").open("rb") as fh:
        data = tomllib.load(fh)
    in_file = [item["key"] for item in sorted(data["stage"], key=lambda i: i["rank"])]
    assert list(STATUS_KEYS) == in_file
    assert sorted(STATUS_KEYS) == sorted(get_args(StatusKey))
    assert [s.rank for s in status_specs()] == [1, 2, 3, 4]


def test_legend_lists_stages_most_advanced_first_then_unknown() -> None:
    legend = status_legend()
    assert [key for key, _, _ in legend] == [*reversed(STATUS_KEYS), None]
    assert legend[0] == ("aci_signe", "ACI signé", "#1a9850")
    assert legend[-1] == (None, "Statut non renseigné", "#c6dbef")
    assert all(label == status_name(key) for key, label, _ in legend if key is not None)


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"key": "signe", "rank": 1, "label_fr": "x", "synonyms": [], "colour": "#000000"}, "key"),
        (
            {"key": "emergence", "rank": 1, "label_fr": "x", "synonyms": [], "colour": "red"},
            "colour",
        ),
    ],
)
def test_a_bad_stage_entry_is_refused(item: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _status_spec_of(item)
