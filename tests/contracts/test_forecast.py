"""Many contracts on the hand grid: size from the whole perimeter, totals per year and scope."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from diagnosis.contracts import (
    BY_YEAR_COLUMNS,
    SCHEDULE_COLUMNS,
    Contract,
    funding_by_year,
    funding_schedule,
    perimeter_facts,
)
from diagnosis.core.aci import mission_specs
from diagnosis.core.model import PerimeterImport, perimeters_from_members
from diagnosis.core.referential import Referential
from tests.grid import ISLAND, cell, grid_referential

ALL = tuple(m.key for m in mission_specs())
JAN_2023 = dt.date(2023, 1, 1)

# P: column 0 (department 01), 4 communes of 12,000 = 48,000 inhabitants → taille 2.
# Q: column 4 (department 38) and the island (department 2A): 4 × 1,000 + 1,000 → taille 1,
#    main department 38 (4,000 of 5,000 inhabitants), main region 84.
POPULATIONS = {cell(0, r): 12_000 for r in range(4)}
MEMBERS = {"P": [cell(0, r) for r in range(4)], "Q": [*[cell(4, r) for r in range(4)], ISLAND]}


@pytest.fixture(scope="module")
def grid() -> Referential:
    return grid_referential(POPULATIONS)


@pytest.fixture(scope="module")
def perimeters() -> PerimeterImport:
    return perimeters_from_members(MEMBERS, names={"P": "CPTS du Plateau", "Q": "CPTS des Quais"})


def every_mission(perimeter: str, signature: dt.date, **options: object) -> Contract:
    return Contract(perimeter, signature, dict.fromkeys(ALL, signature), **options)  # type: ignore[arg-type]


def test_size_class_and_main_zones_of_whole_perimeters(grid, perimeters) -> None:
    facts = perimeter_facts(perimeters, grid).set_index("perimeter_id")
    assert facts.loc["P", ["population", "size_class", "department", "region"]].tolist() == [
        48_000,
        2,
        "01",
        "84",
    ]
    assert facts.loc["Q", ["population", "size_class", "department", "region"]].tolist() == [
        5_000,
        1,
        "38",
        "84",
    ]


def test_contracts_are_matched_by_identifier_or_name(grid, perimeters) -> None:
    contracts = [
        every_mission("P", JAN_2023),
        every_mission("cpts des QUAIS", JAN_2023),
        every_mission("Ailleurs", JAN_2023, row=4),
    ]
    forecast = funding_schedule(contracts, perimeters, grid)
    assert forecast.contracts["perimeter_id"].tolist() == ["P", "Q"]
    assert list(forecast.schedule.columns[: len(SCHEDULE_COLUMNS)]) == SCHEDULE_COLUMNS
    year1 = forecast.schedule[forecast.schedule["contract_year"] == 1]
    assert year1.groupby("perimeter_id")["amount_max_eur"].sum().to_dict() == {
        "P": 330_000,
        "Q": 250_000,
    }
    rejected = forecast.report[forecast.report["severity"] == "rejected"]
    assert rejected[["kind", "row", "perimeter"]].values.tolist() == [
        ["unknown_perimeter", 4, "Ailleurs"]
    ]


def test_by_year_on_the_period_basis(grid, perimeters) -> None:
    forecast = funding_schedule(
        [every_mission("P", JAN_2023), every_mission("Q", JAN_2023)], perimeters, grid
    )
    by_year = funding_by_year(forecast.schedule, from_year=2023, to_year=2028, basis="periode")
    assert list(by_year.columns) == BY_YEAR_COLUMNS
    fr = by_year[by_year["scope"] == "FR"].set_index("year")
    # 2023 = year 1 of both; 2024 = year 2 (plan update); 2028: contracts over.
    assert fr.loc[2023, "total_max_eur"] == 330_000 + 250_000
    assert fr.loc[2024, "total_max_eur"] == (330_000 - 17_500) + (250_000 - 12_500)
    assert fr.loc[2028, "total_max_eur"] == 0 and fr.loc[2028, "n_contracts"] == 0
    assert fr.loc[2023, "one_off_eur"] == 0
    assert fr.loc[2023, "fixed_eur"] + fr.loc[2023, "variable_eur"] == fr.loc[2023, "total_max_eur"]
    scopes = by_year[by_year["year"] == 2023].set_index("scope")
    assert scopes.index.tolist() == ["FR", "REG-84", "DEP-01", "DEP-38"]
    assert scopes.loc["DEP-01", "total_max_eur"] == 330_000
    assert scopes.loc["DEP-38", "total_max_eur"] == 250_000  # the island's euros stay with Q
    assert scopes.loc["REG-84", "n_contracts"] == 2


def test_by_year_on_the_payment_basis(grid, perimeters) -> None:
    # Q (taille 1) from 1 January 2023: 2023 = operating in full + 75 % of the fixed parts of
    # the missions; 2024 = balance of year 1 (25 % of the fixed parts, the variable parts)
    # + advances of year 2 (75 % of operating and of the fixed parts, plan updated).
    forecast = funding_schedule([every_mission("Q", JAN_2023)], perimeters, grid)
    by_year = funding_by_year(forecast.schedule, from_year=2023, to_year=2024, levels=("france",))
    fixed1 = 55_000 + 25_000 + 10_000 + 25_000 + 7_500 + 5_000
    fixed2 = fixed1 - 25_000 + 12_500
    variable = 25_000 + 25_000 + 10_000 + 7_500 + 5_000
    totals = by_year.set_index("year")["total_max_eur"].to_dict()
    assert totals == {
        2023: 50_000 + 0.75 * fixed1,
        2024: 0.25 * fixed1 + variable + 0.75 * 50_000 + 0.75 * fixed2,
    }


def test_expected_amounts_and_one_offs_per_year(grid, perimeters) -> None:
    early = every_mission(
        "P",
        dt.date(2022, 1, 1),
        attainment={"acces_aux_soins": (0.5,)},
        crises=(dt.date(2022, 6, 1),),
    )
    forecast = funding_schedule([early], perimeters, grid)
    by_year = funding_by_year(forecast.schedule, from_year=2022, to_year=2022, basis="periode")
    row = by_year[by_year["scope"] == "FR"].iloc[0]
    assert row["one_off_eur"] == 45_000  # supplement of taille 2, signed before 30/09/2022
    assert row["total_max_eur"] == 382_500 + 45_000
    assert row["total_expected_eur"] == 382_500 + 45_000 - 15_000  # half of 30,000


def test_scope_filter_keeps_contracts_by_main_zone(grid, perimeters) -> None:
    contracts = [every_mission("P", JAN_2023), every_mission("Q", JAN_2023)]
    forecast = funding_schedule(contracts, perimeters, grid, department="38")
    assert forecast.contracts["perimeter_id"].tolist() == ["Q"]
    assert "outside_scope" in set(forecast.report["kind"])
    by_year = funding_by_year(
        forecast.schedule, from_year=2023, to_year=2023, levels=("department",)
    )
    assert by_year["scope"].tolist() == ["DEP-38"]
    with pytest.raises(ValueError, match="région ou un département"):
        funding_schedule(contracts, perimeters, grid, region="84", department="38")


def test_inputs_are_not_mutated(grid, perimeters) -> None:
    before = perimeters.perimeters.copy()
    forecast = funding_schedule([every_mission("P", JAN_2023)], perimeters, grid)
    schedule = forecast.schedule.copy()
    funding_by_year(forecast.schedule, from_year=2023, to_year=2025)
    pd.testing.assert_frame_equal(perimeters.perimeters, before)
    pd.testing.assert_frame_equal(forecast.schedule, schedule)
