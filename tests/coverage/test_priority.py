"""Priority white zones and APL map classes, on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.loaders.apl import AplData, AplVintage
from coverage.priority import (
    APL_CLASS_COLUMNS,
    PRIORITY_COLUMNS,
    apl_classes,
    apl_map_classes,
    priority_white_zones,
)
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError


def apl_data(
    rows: dict[str, tuple[float, float]],
    *,
    profession: str = "medecin_generaliste",
    label: str = "médecins généralistes",
) -> AplData:
    """APL (value, standardised population) by code, as the embedded data holds it."""
    by_unit = pd.DataFrame(
        {
            "apl": {c: v[0] for c, v in rows.items()},
            "population_standardised": {c: v[1] for c, v in rows.items()},
        }
    )
    by_unit["population"] = by_unit["population_standardised"]
    vintage = AplVintage(
        vintage=2023, rows=pd.DataFrame(), by_unit=by_unit, report=pd.DataFrame(), sheet="APL 2023"
    )
    return AplData(profession=profession, profession_label=label, vintages={2023: vintage})


APL = apl_data(
    {
        "A": (2.0, 1200.0),
        "B": (4.0, 2800.0),
        "C": (1.0, 600.0),
        "D": (2.4, 700.0),
        "F": (2.5, 1000.0),
        "G": (3.0, 40.0),
    }
)
UNITS = pd.DataFrame(
    {
        "code": ["A", "B", "C", "D", "E", "F", "G"],
        "population": [1000, 3000, 500, 700, 100, 1200, 50],
        "cluster_id": [1, 1, 2, 2, 2, 3, 4],
    }
)


def test_ranking_by_hand() -> None:
    before = UNITS.copy()
    table = priority_white_zones(UNITS, APL)
    pd.testing.assert_frame_equal(UNITS, before)
    assert list(table.columns) == PRIORITY_COLUMNS
    # Group 2: C and D under 2.5 (1,200 inhabitants), E without APL.
    # Group 1: A under 2.5 (1,000). Groups 3 and 4: none under (2.5 itself is not under).
    assert table["cluster_id"].tolist() == [2, 1, 3, 4]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    row = table.set_index("cluster_id")
    assert row.loc[2, "population"] == 1300
    assert row.loc[2, "population_under_threshold"] == 1200
    assert row.loc[2, "share_under_threshold"] == pytest.approx(1200 / 1300)
    assert row.loc[2, "n_units_without_apl"] == 1
    assert row.loc[2, "n_units_under_threshold"] == 2
    # Mean weighted by the standardised population: (1·600 + 2.4·700) / 1300.
    assert row.loc[2, "apl_mg_mean"] == pytest.approx(2280 / 1300)
    assert row.loc[1, "apl_mg_mean"] == pytest.approx((2 * 1200 + 4 * 2800) / 4000)
    assert row.loc[1, "share_under_threshold"] == pytest.approx(0.25)
    assert row.loc[3, "population_under_threshold"] == 0
    assert (table["source"] == "DREES, APL aux médecins généralistes, millésime 2023").all()
    assert (table["vintage"] == 2023).all() and (table["threshold"] == 2.5).all()


def test_ties_go_to_the_lower_mean_apl() -> None:
    apl = apl_data({"A": (2.0, 100.0), "B": (1.0, 100.0)})
    units = pd.DataFrame({"code": ["A", "B"], "population": [100, 100], "cluster_id": [1, 2]})
    assert priority_white_zones(units, apl)["cluster_id"].tolist() == [2, 1]


def test_threshold_can_be_set() -> None:
    table = priority_white_zones(UNITS, APL, threshold=3.5)
    row = table.set_index("cluster_id")
    assert row.loc[3, "population_under_threshold"] == 1200
    assert row.loc[4, "population_under_threshold"] == 50


def test_no_white_unit_gives_an_empty_table() -> None:
    empty = priority_white_zones(UNITS.iloc[0:0], APL)
    assert empty.empty and list(empty.columns) == PRIORITY_COLUMNS


def test_refusals() -> None:
    nurses = apl_data({"A": (150.0, 10.0)}, profession="infirmier", label="infirmières")
    with pytest.raises(DataError, match="médecins généralistes attendue"):
        priority_white_zones(UNITS, nurses)
    with pytest.raises(DataError, match="cluster_id"):
        priority_white_zones(UNITS.drop(columns="cluster_id"), APL)
    with pytest.raises(DataError, match="2022"):
        priority_white_zones(UNITS, APL, vintage=2022)


def test_map_classes_around_the_threshold() -> None:
    apl = apl_data({f"C{k}": (v, 1.0) for k, v in enumerate([1.0, 2.5, 2.99, 3.0, 4.5, 5.0, 7.0])})
    codes = [*(f"C{k}" for k in range(7)), "NONE"]
    frame = apl_map_classes(apl, codes)
    assert list(frame.columns) == APL_CLASS_COLUMNS
    assert frame["code"].tolist() == codes
    assert frame["apl_class"].tolist() == [0, 1, 1, 2, 3, 4, 4, -1]
    assert frame["label"].iloc[0] == "moins de 2,5 (sous le seuil)"
    assert frame["label"].iloc[1] == "2,5 à moins de 3"
    assert frame["label"].iloc[-1] == "APL non disponible"
    assert np.isnan(frame["apl"].iloc[-1])
    classes = apl_classes()
    assert [c.colour for c in classes] == frame["colour"].iloc[[0, 1, 3, 4, 5]].tolist()


def test_classes_for_another_threshold_keep_the_extremes() -> None:
    classes = apl_classes(4.0)
    assert [c.label for c in classes] == [
        "moins de 4 (sous le seuil)",
        "4 à moins de 5",
        "5 ou plus",
    ]
    assert classes[0].colour == apl_classes()[0].colour
    assert classes[-1].colour == apl_classes()[-1].colour


def test_on_the_paca_example_with_the_embedded_apl(real_referential: Referential) -> None:
    from coverage.loaders.embedded import embedded_apl
    from diagnosis.analysis.pipeline import run_diagnosis
    from diagnosis.core.referential import load_referential
    from diagnosis.importer.perimeters import import_perimeters
    from diagnosis.paths import EXAMPLES_DIR

    imported = import_perimeters(
        (EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv").read_bytes(),
        filename="exemple.csv",
        referential=real_referential,
        region="93",
    )
    diag = run_diagnosis(imported, load_referential(region="93"), status_min="emergence")
    gp = embedded_apl(real_referential)["medecin_generaliste"]
    table = priority_white_zones(diag.white.units, gp)
    units = diag.white.units
    by_unit = gp.latest.by_unit.reindex(units["code"])
    under = (by_unit["apl"] < 2.5).to_numpy()
    # Every white inhabitant is counted once; those under the threshold too.
    assert table["population"].sum() == units["population"].sum()
    assert table["population_under_threshold"].sum() == units["population"][under].sum()
    assert (
        len(table) == len(diag.white.clusters)
        and table["population_under_threshold"].is_monotonic_decreasing
    )
    first = table.iloc[0]
    members = units[units["cluster_id"] == first["cluster_id"]]
    part = gp.latest.by_unit.reindex(members["code"])
    expected = (part["apl"] * part["population_standardised"]).sum() / part[
        "population_standardised"
    ].sum()
    assert first["apl_mg_mean"] == pytest.approx(expected)


def test_apl_classes_never_share_a_colour_with_stages_or_overlaps() -> None:
    """The coverage map draws APL classes with stages and overlaps: one colour, one meaning."""
    from coverage.priority import CLASS_COLOURS
    from ui import maps

    others = {*maps.STATUS_COLORS.values(), maps.OVERLAP_COLOR, maps.CONTESTED_COLOR}
    assert not {c.lower() for c in CLASS_COLOURS} & {c.lower() for c in others}
