"""Declared shares of shared communes in a listing (issue 17 §2)."""

from __future__ import annotations

import pytest

from diagnosis.core.model import SHARE_COLUMNS
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.importer.shares import parse_share
from diagnosis.io.columns import find_columns
from tests.grid import CITY, cell, grid_referential


@pytest.mark.parametrize(
    ("text", "share"),
    [
        ("33", 0.33),
        ("33 %", 0.33),
        ("33%", 0.33),
        ("33,5 %", 0.335),
        ("0,33", 0.33),
        ("0.25", 0.25),
        ("1/3", 1 / 3),
        ("2 / 5", 0.4),
        ("1", 1.0),
        ("100 %", 1.0),
        ("40\u202f%", 0.4),
    ],
)
def test_shares_are_read_as_people_write_them(text: str, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["0", "0 %", "120 %", "101", "moitié", "1/0", "-10", ""])
def test_what_is_not_a_share_is_none(text: str) -> None:
    assert parse_share(text) is None


@pytest.mark.parametrize(
    "header", ["Part", "quote-part", "Quote-part (%)", "Part de la population (%)", "PARTS"]
)
def test_the_share_column_is_recognised(header: str) -> None:
    assert find_columns(["Nom CPTS", "Code INSEE", header]) == {
        "perimeter": "Nom CPTS",
        "code": "Code INSEE",
        "share": header,
    }


def test_partage_still_means_a_declared_split() -> None:
    assert find_columns(["Nom CPTS", "Code INSEE", "Partage"])["split"] == "Partage"


def test_a_listing_with_a_share_column_on_the_grid() -> None:
    ref = grid_referential(populations={CITY: 90_001})
    text = (
        "Nom CPTS;Code INSEE;Part de la population (%)\n"
        f"P1;{CITY};50 %\nP1;{cell(2, 3)};\n"
        f"P2;{CITY};0,3\nP2;{cell(1, 2)};\n"
        f"P3;{CITY};\nP3;{cell(3, 2)};\n"
    )
    imported = import_perimeters(text.encode("utf-8"), filename="parts.csv", referential=ref)
    shares = imported.shares.sort_values("perimeter_id")
    assert list(shares.columns) == SHARE_COLUMNS
    assert shares[["perimeter_id", "code"]].to_numpy().tolist() == [["p1", CITY], ["p2", CITY]]
    assert shares["share"].tolist() == pytest.approx([0.5, 0.3])
    kinds = imported.report.set_index("kind")
    assert kinds.loc["share_declared", "severity"] == "info"
    # P3 declared nothing: the report says it gets the rest (20 %).
    assert "P3" in kinds.loc["share_completed", "message"]
    assert "20\u202f%" in kinds.loc["share_completed", "message"]


def test_shares_over_100_percent_and_unreadable_values_are_refused_and_reported() -> None:
    ref = grid_referential()
    text = (
        f"Nom CPTS;Code INSEE;Quote-part\nA;{CITY};70 %\nB;{CITY};40 %\nC;{cell(0, 0)};beaucoup\n"
    )
    imported = import_perimeters(text.encode("utf-8"), filename="x.csv", referential=ref)
    assert imported.shares.empty
    report = imported.report.set_index("kind")
    assert report.loc["share_over_total", "severity"] == "rejected"
    assert "110\u202f%" in report.loc["share_over_total", "message"]
    assert report.loc["share_invalid", "severity"] == "rejected"
    assert report.loc["share_invalid", "code"] == "beaucoup"
    assert imported.n_rejected == 2
