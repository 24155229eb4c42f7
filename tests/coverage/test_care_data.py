"""Care data, one way: the care loader registry, the travel-time loader and the factory.

Hand-made files on the hand grid (``tests/grid.py``): every figure below is
computed by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest

from coverage import care_data
from coverage.care import CareData, computed_gp_access, gp_demand
from coverage.loaders import travel
from coverage.loaders.apl import AplData, AplVintage
from coverage.loaders.registry import (
    care_loader,
    care_loaders,
    care_source_label,
    load_care_file,
)
from coverage.loaders.supply import SupplyTable
from coverage.loaders.travel import TravelFileError, TravelTable, load_travel_times
from diagnosis.errors import DataError
from tests.grid import cell, grid_referential

A, B, C, D = cell(0, 0), cell(0, 1), cell(0, 2), cell(0, 3)

#: 1001 is 01001 without its leading zero; a duplicate pair, an unknown code, two bad times.
TRAVEL = (
    "origine;destination;minutes\n"
    "1001;1002;5\n"
    f"{B};{A};5,0\n"
    f"{A};{B};6\n"
    f"{C};99999;4\n"
    f"{C};{D};\n"
    f"{C};{D};-1\n"
).encode()


def _rpps(codes_gps: dict[str, float]) -> SupplyTable:
    return SupplyTable(
        by_unit=pd.DataFrame({"medecin_generaliste": codes_gps}),
        report=pd.DataFrame(),
        source="Annuaire santé (test)",
        rows_read=len(codes_gps),
        rows_used=len(codes_gps),
    )


def test_the_registry_lists_every_kind_once() -> None:
    kinds = [spec.kind for spec in care_loaders()]
    assert kinds == ["apl", "rpps", "bpe", "ages", "finess", "travel"]
    assert care_loader("travel").yields is TravelTable
    assert [s.kind for s in care_loaders() if s.many] == ["apl"]
    assert all(s.label and s.extensions and s.cli_help for s in care_loaders())
    with pytest.raises(DataError, match="apl, rpps, bpe, ages, finess, travel"):
        care_loader("nope")


def test_travel_times_read_normalised_and_reported() -> None:
    table = load_travel_times(TRAVEL, referential=grid_referential())
    assert table.pairs.to_dict("records") == [
        {"origin": A, "destination": B, "minutes": 5.0},
        {"origin": B, "destination": A, "minutes": 5.0},
    ]
    report = dict(zip(table.report["kind"], table.report["rows"], strict=True))
    assert report == {"bad_minutes": 2, "unknown_code": 1, "duplicate_pair": 1}
    assert (table.rows_read, table.rows_used) == (6, 2)


def test_travel_times_by_position_when_the_header_says_nothing() -> None:
    text = f"a,b,c\n{A},{B},3\n{B},{A},3.5\n".encode()
    table = load_travel_times(text, referential=grid_referential())
    assert table.pairs["minutes"].tolist() == [3.0, 3.5]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "vide"),
        (b"\x00\x01\x02\x00" * 10, "binaires"),
        (b"code;nom\n01001;Alpha\n", "introuvables"),
        (b"origine;destination;minutes\n99999;88888;5\n", "Aucune paire"),
    ],
)
def test_a_file_that_is_not_a_travel_table_is_refused_in_french(data: bytes, why: str) -> None:
    with pytest.raises(TravelFileError, match=why) as caught:
        load_travel_times(data, referential=grid_referential())
    assert "origine;destination;minutes" in str(caught.value)  # what was expected


def test_travel_file_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(travel, "MAX_UPLOAD_MB", 0)
    with pytest.raises(TravelFileError, match="trop volumineux"):
        load_travel_times(TRAVEL, referential=grid_referential())


def test_load_care_file_reads_through_the_registry_and_names_the_file() -> None:
    ref = grid_referential()
    table = load_care_file("travel", TRAVEL, referential=ref, filename="temps.csv")
    assert isinstance(table, TravelTable)
    assert care_source_label(table).endswith("(temps.csv)")
    with pytest.raises(TravelFileError, match=r"^temps\.csv : "):
        load_care_file("travel", b"", referential=ref, filename="temps.csv")


def test_gp_access_with_the_users_travel_times_by_hand() -> None:
    # One GP in A; A and B 5 minutes apart (weight 1), 1,000 inhabitants each, no one else
    # in reach: R_A = 1 / 2,000, so A and B get 1 / 2,000 GP per inhabitant = 5 per 10,000.
    ref = grid_referential()
    table = load_travel_times(TRAVEL, referential=ref)
    access, method = computed_gp_access(ref, _rpps({A: 1.0}), travel=table)
    assert access[A] == pytest.approx(5.0) and access[B] == pytest.approx(5.0)
    assert access[C] == 0.0
    assert "table de temps de trajet fournie par l'utilisateur" in method
    # A frame whose first three columns are origin, destination, minutes gives the same.
    frame = table.pairs.set_axis(list("xyz"), axis=1)
    same, _ = computed_gp_access(ref, _rpps({A: 1.0}), travel=frame)
    pd.testing.assert_series_equal(access, same)


def test_gp_demand_is_the_legal_population_without_ages() -> None:
    demand, note = gp_demand(grid_referential())
    assert demand[A] == 1000.0 and "population légale non standardisée" in note


def _apl(vintage: int) -> AplData:
    by_unit = pd.DataFrame({"apl": [3.0]}, index=pd.Index([A], name="code"))
    return AplData(
        profession="medecin_generaliste",
        profession_label="médecins généralistes",
        vintages={vintage: AplVintage(vintage, pd.DataFrame(), by_unit, pd.DataFrame(), "s")},
    )


def test_the_factory_assembles_the_layers_and_computes_the_gp_access() -> None:
    ref = grid_referential()
    rpps = _rpps({A: 1.0})
    table = load_travel_times(TRAVEL, referential=ref)
    calls: list[tuple] = []

    def memoised(referential, supply, **options):  # type: ignore[no-untyped-def]
        calls.append((supply, options["travel"]))
        return computed_gp_access(referential, supply, **options)

    embedded = (_apl(2022),)
    care = care_data(
        {"rpps": rpps, "travel": table, "apl": [_apl(2023)]},
        referential=ref,
        apl_layers=embedded,
        gp_access=memoised,
    )
    assert isinstance(care, CareData)
    assert care.rpps is rpps and care.bpe is None and care.finess is None
    assert calls == [(rpps, table)]
    assert care.access is not None and care.access[A] == pytest.approx(5.0)
    assert sorted(care.apl_by_profession()["medecin_generaliste"].vintages) == [2022, 2023]
    assert embedded[0].vintages.keys() == {2022}  # the embedded layer is not modified
    # Without the Annuaire santé, or with gp_access=None, no accessibility.
    assert care_data({}, referential=ref).access is None
    assert care_data({"rpps": rpps}, referential=ref, gp_access=None).access is None


def test_the_factory_refuses_a_wrong_layer_or_a_missing_vintage() -> None:
    ref = grid_referential()
    with pytest.raises(DataError, match="rpps"):
        care_data({"rpps": "not a table"}, referential=ref)
    with pytest.raises(DataError, match=r"inconnu.*dentistes"):
        care_data({"dentistes": _rpps({A: 1.0})}, referential=ref)
    with pytest.raises(DataError, match=r"Millésime 2015 absent.*2022"):
        care_data({}, referential=ref, apl_layers=(_apl(2022),), apl_vintage=2015)
