"""The real national referential built from the pinned packages (`make data`)."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from diagnosis.build.assemble import _in_scope
from diagnosis.build.fetch import load_sources, model_from_decoupage, read_decoupage
from diagnosis.core.referential import Referential, load_referential
from diagnosis.paths import DOWNLOADS_DIR

pytestmark = pytest.mark.referential

#: Areas in km² published by INSEE ("superficie", IGN) for a few communes:
#: mainland, Corsica and two overseas departments (each in its local CRS).
REFERENCE_AREAS_KM2 = {
    "13004": 758.93,  # Arles
    "31555": 118.30,  # Toulouse
    "33063": 49.36,  # Bordeaux
    "67482": 78.26,  # Strasbourg
    "44109": 65.19,  # Nantes
    "2A004": 82.03,  # Ajaccio
    "97411": 142.79,  # Saint-Denis (La Réunion)
    "97209": 44.21,  # Fort-de-France
}


@pytest.fixture(scope="module")
def npm_places() -> pd.DataFrame:
    spec = load_sources()["decoupage_administratif"]
    name = f"{spec['package'].lstrip('@').replace('/', '-')}-{spec['version']}.tgz"
    path = DOWNLOADS_DIR / name
    if not path.exists():
        pytest.skip(f"npm package file {name} not in the download cache")
    places = model_from_decoupage(read_decoupage(path)).places
    return places[_in_scope(places)]


def test_unit_counts_and_plm(real_referential: Referential) -> None:
    units = real_referential.units
    assert len(units) >= 34_800
    assert units.index.is_unique
    assert (units["kind"] == "arrondissement").sum() == 45
    for parent in ("75056", "69123", "13055"):
        assert parent not in units.index
    assert len(real_referential.parent_units("75056")) == 20
    assert len(real_referential.parent_units("69123")) == 9
    assert len(real_referential.parent_units("13055")) == 16
    assert len(real_referential.aliases) == 45
    # Mainland, Corsica and the five overseas departments, nothing else.
    assert set(units["department"].astype(str)) >= {"01", "2A", "2B", "971", "976"}
    deps = units["department"].astype(str)
    overseas = set(deps[deps.str.startswith(("97", "98"))])
    assert overseas == {"971", "972", "973", "974", "976"}
    assert len(real_referential.regions) == 18
    assert len(real_referential.departments) == 101


def test_paris_population_is_the_sum_of_its_arrondissements(
    real_referential: Referential, npm_places: pd.DataFrame
) -> None:
    arr = real_referential.parent_units("75056")
    paris = npm_places.set_index("code").loc["75056", "population"]
    assert real_referential.units.loc[arr, "population"].sum() == paris


def test_total_population_equals_the_npm_package_total(
    real_referential: Referential, npm_places: pd.DataFrame
) -> None:
    # Same units: current communes except the three PLM parents, plus arrondissements.
    same_units = npm_places[
        (npm_places["kind"] == "commune") & ~npm_places["code"].isin(["75056", "69123", "13055"])
        | (npm_places["kind"] == "arrondissement")
    ]
    assert sorted(same_units["code"]) == sorted(real_referential.units.index)
    assert real_referential.units["population"].sum() == same_units["population"].sum()
    total = real_referential.manifest["population_totals"]["france"]
    assert total == same_units["population"].sum()


def test_geometries_valid_or_listed_in_manifest(real_referential: Referential) -> None:
    units = real_referential.units
    listed = {u["code"] for u in real_referential.manifest["units_without_geometry"]}
    missing = units.geometry.isna() | units.geometry.is_empty
    assert set(units.index[missing]) == listed
    assert shapely.is_valid(units.geometry[~missing].to_numpy()).all()
    assert set(units.geometry[~missing].geom_type) <= {"Polygon", "MultiPolygon"}


@pytest.mark.parametrize(("code", "expected"), sorted(REFERENCE_AREAS_KM2.items()))
def test_areas_close_to_reference(
    real_referential: Referential, code: str, expected: float
) -> None:
    assert real_referential.units.loc[code, "area_km2"] == pytest.approx(expected, rel=0.01)


def test_plm_areas(real_referential: Referential) -> None:
    units = real_referential.units
    assert units.loc[real_referential.parent_units("75056"), "area_km2"].sum() == pytest.approx(
        105.4, rel=0.01
    )
    assert units.loc[real_referential.parent_units("69123"), "area_km2"].sum() == pytest.approx(
        47.87, rel=0.01
    )


def test_filters_and_lookup_tables(real_referential: Referential) -> None:
    paca = load_referential(region="93")
    assert set(paca.units["department"].astype(str)) == {"04", "05", "06", "13", "83", "84"}
    assert 900 < len(paca.units) < 1000
    assert paca.scope_label == "Région Provence-Alpes-Côte d'Azur"
    bdr = load_referential(department="13")
    assert set(bdr.units.index) <= set(paca.units.index)
    assert set(bdr.parent_units("13055")) <= set(bdr.units.index)
    corsica = load_referential(department="2a")
    assert (corsica.units["department"] == "2A").all()
    # Adjacency restricted to the scope.
    adj = bdr.adjacency
    assert adj["code_a"].isin(bdr.units.index).all()
    assert adj["code_b"].isin(bdr.units.index).all()
    # EPCI filter.
    epci_code = bdr.units.loc["13004", "epci_code"]
    epci = load_referential(epci=epci_code)
    assert "13004" in epci.units.index
    assert (epci.units["epci_code"] == epci_code).all()
    # Former codes point to current units or PLM parents.
    former = real_referential.former_codes
    targets = set(real_referential.units.index) | {"75056", "69123", "13055"}
    assert former["current_code"].isin(targets).all()
    assert not former["former_code"].isin(real_referential.units.index).any()


def test_unknown_scope_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Code de région inconnu : '99'"):
        load_referential(region="99")
    with pytest.raises(ValueError, match="un seul filtre"):
        load_referential(region="93", department="13")


def test_population_labels(real_referential: Referential) -> None:
    assert load_referential(region="93").population_label == "population municipale 2023"
    assert real_referential.population_label == "population municipale 2023 (Mayotte : 2017)"
