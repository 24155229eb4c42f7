"""The three workflows of the dashboard (AppTest), its maps without a browser, end to end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from diagnosis.analysis.pipeline import run_diagnosis
from diagnosis.core.referential import Referential, load_referential
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.paths import EXAMPLES_DIR
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_page,
    streamlit_server,
    wait_for_map,
)
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

APP = str(PROJECT_DIR / "app.py")
FIXTURES = TESTS_DIR / "fixtures" / "coverage"
CORPUS = TESTS_DIR / "corpus" / "perimeters"


def fr(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def expected_diagnosis(name: str, region: str = "93"):
    imported = import_perimeters(EXAMPLES_DIR / name, region=region)
    return run_diagnosis(imported, load_referential(region=region))


def test_coverage_workflow_shows_the_diagnosis(real_referential: Referential) -> None:
    at = app()
    diag = expected_diagnosis("exemple_fictif_paca_couverture.csv")
    shown = metrics(at)
    assert shown["Communes en zone blanche"] == fr(len(diag.white.units))
    assert shown["Communes en chevauchement"] == fr(len(diag.overlaps))
    assert shown["Périmètres"] == fr(len(diag.perimeters.summary))
    labels = [b.label for b in at.get("download_button")]
    assert {"Classeur Excel des tableaux", "Couches GeoPackage", "Périmètres (GeoJSON)"} <= set(
        labels
    )
    # A higher status threshold covers fewer people.
    covered_any = shown["Population couverte"]
    at.sidebar.selectbox(key="status_min").select("aci_signe").run()
    assert not at.exception
    assert metrics(at)["Population couverte"] != covered_any


def test_bad_upload_gives_a_french_message_and_no_crash(real_referential: Referential) -> None:
    at = app()
    at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
    at.sidebar.get("file_uploader")[0].set_value(
        ("perimetres.csv", b"\x00\x01garbage\xff", "text/csv")
    ).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Import impossible" in e and "n'est pas un texte lisible" in e for e in errors)
    assert "Importez un fichier de périmètres" in " ".join(i.value for i in at.info)


def test_upload_with_unknown_codes_reports_them(real_referential: Referential) -> None:
    at = app()
    at.sidebar.radio(key="perimeter_choice").set_value("fichier").run()
    data = (CORPUS / "pitfall_unknown_codes.csv").read_bytes()
    at.sidebar.get("file_uploader")[0].set_value(("inconnus.csv", data, "text/csv")).run()
    assert not at.exception
    # Rejected values make the outcome a warning, not a success.
    summary = [s.value for s in at.sidebar.warning]
    assert any("3 valeur(s) rejetée(s)" in s for s in summary)
    assert not at.sidebar.success
    assert metrics(at)["Périmètres"] == "1"


def test_territory_workflow(real_referential: Referential) -> None:
    at = app()
    at.radio(key="workflow").set_value("territoire").run()
    assert not at.exception
    at.button(key="territory_example").click().run()
    assert not at.exception
    example = import_perimeters(EXAMPLES_DIR / "exemple_fictif_mon_territoire.csv")
    codes = list(example.perimeters.iloc[0]["unit_codes"])
    population = int(real_referential.units.loc[codes, "population"].sum())
    shown = metrics(at)
    assert shown["Habitants"] == fr(population)
    assert shown["Communes"] == fr(len(codes))
    assert shown["Taille ACI"] == "Taille 3"  # 40,000 to 175,000 inhabitants: checked below
    assert 80_000 <= population < 175_000
    labels = [b.label for b in at.get("download_button")]
    assert "Enregistrer le territoire (CSV)" in labels
    assert "Fiche diagnostic imprimable (HTML)" in labels
    # Add a whole EPCI in one action.
    at.selectbox(key="territory_epci").select(
        real_referential.units.loc["13004", "epci_code"]
    ).run()
    at.button(key="territory_add_epci").click().run()
    assert not at.exception
    arles = real_referential.units[
        real_referential.units["epci_code"] == real_referential.units.loc["13004", "epci_code"]
    ]
    expected = set(codes) | set(arles.index)
    assert metrics(at)["Communes"] == fr(len(expected))


def test_territory_with_care_data(real_referential: Referential) -> None:
    at = app()
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    uploaders = {u.key: u for u in at.sidebar.get("file_uploader")}
    uploaders["care_apl"].set_value(
        ("apl.xlsx", (FIXTURES / "drees_apl_fixture.xlsx").read_bytes(), "application/octet-stream")
    )
    uploaders["care_rpps"].set_value(
        (
            "PS_LibreAcces_Personne_activite_202611010830.txt",
            (FIXTURES / "PS_LibreAcces_Personne_activite_202611010830.txt").read_bytes(),
            "text/plain",
        )
    )
    uploaders["care_bpe"].set_value(("bpe.csv", b"not;a;bpe\n1;2;3\n", "text/csv"))
    at.run()
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "ce n'est pas un fichier de la BPE" in errors
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "DREES, APL aux médecins généralistes, millésime 2023" in captions
    frames = [d.value for d in at.dataframe]
    indicators = next(f for f in frames if "indicateur" in f.columns)
    rows = indicators.set_index("indicateur")
    assert "Médecins généralistes : effectif" in rows.index
    # The BPE file was rejected: its indicators are not in the table, the line of what is
    # not loaded names it.
    assert "Équipements de santé libéraux (BPE, domaine D2)" not in rows.index
    not_loaded = next(c.value for c in at.caption if c.value.startswith("Non chargé"))
    assert "INSEE, BPE" in not_loaded.replace("\\", "")


def test_dispute_workflow(real_referential: Referential) -> None:
    at = app()
    at.sidebar.selectbox(key="example_kind").select("arbitrage").run()
    at.radio(key="workflow").set_value("arbitrage").run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Communes disputées"] == "3"
    contested = real_referential.units.loc[["13038", "13094", "13058"], "population"].sum()
    assert shown["Habitants en jeu"] == fr(int(contested))
    options = next(d.value for d in at.dataframe if "option" in d.value.columns)
    assert len(options) == 11  # five options, two sides each, and the merge (one side)
    assert set(options["côté"]) == {"A", "B", "A+B"}


# --------------------------------------------------------------------------
# Map-building functions, without a browser
# --------------------------------------------------------------------------


def test_coverage_map_is_offline_and_small(real_referential: Referential) -> None:
    from ui import maps
    from ui.coverage_tab import coverage_layers, coverage_map

    diag = expected_diagnosis("exemple_fictif_paca_couverture.csv")
    layers = coverage_layers(diag)
    assert len(layers["white"]) == len(diag.white.clusters)
    assert len(layers["overlaps"]) == len(diag.overlaps)
    html = maps.map_html(maps.build_map(coverage_map(layers)))
    assert "cdn.jsdelivr.net" not in html and "code.jquery.com" not in html
    assert "/app/static/vendor/leaflet/leaflet.js" in html
    assert len(html.encode()) < 5_000_000
    # Every perimeter is drawn (identifiers are ASCII, names are JSON-escaped).
    for perimeter_id in diag.perimeters.summary["perimeter_id"]:
        assert f'"perimeter_id": "{perimeter_id}"' in html
    with_tiles = maps.map_html(maps.build_map(coverage_map(layers), tiles=True))
    assert "tile.openstreetmap.org" in with_tiles and "tile.openstreetmap.org" not in html


def test_territory_and_dispute_maps(real_referential: Referential) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from ui import dispute_tab, maps, territory_tab

    frame = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["Alpha", "Bêta"], "population": [10, 20]},
        geometry=[box(5, 45, 5.1, 45.1), box(5.1, 45, 5.2, 45.1)],
        crs=4326,
    )
    outlines = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4326)
    fmap = maps.build_map(territory_tab.territory_base_map(frame, outlines))
    territory_tab.territory_layer(frame, ["A"]).add_to(fmap)
    html = maps.map_html(fmap)
    assert "Mon territoire" in html and maps.TERRITORY_COLOR in html
    frames = {"a": frame.iloc[:1], "b": frame.iloc[1:], "contested": frame.iloc[:0]}
    html = maps.map_html(
        maps.build_map(dispute_tab.dispute_map(frames, {"A": "Projet Un", "B": "Projet Deux"}))
    )
    assert "Projet Un" in html and "Projet Deux" in html
    with pytest.raises(ValueError, match="EPSG:4326"):
        maps.geojson_collection(frame.to_crs(2154), properties=["code"])


def test_fiche_is_printable_html(real_referential: Referential) -> None:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from ui.fiche import fiche_html, svg_map

    frame = gpd.GeoDataFrame(geometry=[box(5, 45, 5.1, 45.1)], crs=4326)
    svg = svg_map([(frame, "#123456", "#000")])
    assert svg.startswith("<svg") and "#123456" in svg and re.search(r'd="M[\d.,L]+Z"', svg)
    html = fiche_html(
        title="Essai <b>",
        key_figures={"habitants": "12 000"},
        map_svg=svg,
        tables={"Table": pd.DataFrame({"a": ["=1+1"]})},
        sources=["INSEE"],
    )
    assert "<title>Essai &lt;b&gt;</title>" in html and "@page" in html and "INSEE" in html


# --------------------------------------------------------------------------
# End to end, in headless Chromium
# --------------------------------------------------------------------------


@pytest.mark.browser
def test_end_to_end_upload_in_chromium(real_referential: Referential) -> None:
    executable = browser_or_skip()
    diag = expected_diagnosis("exemple_fictif_paca_couverture.csv")
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.goto(base, wait_until="domcontentloaded")
        wait_for_map(page)
        page.get_by_text("Mon fichier", exact=True).click()
        uploader = page.locator("[data-testid='stFileUploader']", has_text="Fichier de périmètres")
        uploader.wait_for(timeout=60_000)
        uploader.locator("input[type='file']").set_input_files(
            str(EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv")
        )
        page.get_by_text("Fichier : exemple_fictif_paca_couverture.csv", exact=True).wait_for(
            timeout=90_000
        )
        page.wait_for_timeout(1000)
        wait_for_map(page)

        def metric(label: str) -> str:
            box = page.locator("[data-testid='stMetric']", has_text=label)
            return box.locator("[data-testid='stMetricValue']").inner_text().strip()

        white = metric("Communes en zone blanche")
        overlaps = metric("Communes en chevauchement")
        page.screenshot(path="tests/artifacts/dashboard-upload.png", full_page=True)
    assert white == fr(len(diag.white.units))
    assert overlaps == fr(len(diag.overlaps))
    assert blocked == []


def test_dashboard_exports_read_back(real_referential: Referential, tmp_path: Path) -> None:
    import io as _io

    import geopandas as gpd
    import openpyxl
    import pandas as pd

    from diagnosis.outputs.export import (
        diagnosis_tables,
        excel_bytes,
        perimeters_geojson,
        white_zone_csv,
    )
    from diagnosis.outputs.export import geopackage_bytes as gpkg_bytes

    diag = expected_diagnosis("exemple_fictif_paca_couverture.csv")
    per = gpd.read_file(_io.BytesIO(perimeters_geojson(diag)))
    assert len(per) == len(diag.perimeters.summary) and per.crs.to_epsg() == 4326
    raw = white_zone_csv(diag)
    assert raw.startswith("\ufeff".encode())  # UTF-8 with BOM, for French spreadsheets
    white = pd.read_csv(_io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype={"code INSEE": str})
    assert sorted(white["code INSEE"]) == sorted(diag.white.units["code"])
    workbook = openpyxl.load_workbook(_io.BytesIO(excel_bytes(diagnosis_tables(diag))))
    assert "Zones blanches" in workbook.sheetnames
    gpkg = tmp_path / "export.gpkg"
    gpkg.write_bytes(gpkg_bytes(diag))
    layers = gpd.list_layers(gpkg)["name"].tolist()
    assert {"perimeters", "overlaps", "white_zone_clusters"} <= set(layers)


@pytest.mark.browser
def test_clicking_the_map_adds_a_commune_in_chromium(real_referential: Referential) -> None:
    """Mon territoire: every commune of the region is drawn; a click adds the commune clicked."""
    executable = browser_or_skip()
    paca = real_referential.units[real_referential.units["region"] == "93"]
    blocked: list[str] = []
    with streamlit_server() as base, chromium_page(executable, blocked=blocked) as page:
        page.goto(base, wait_until="domcontentloaded")
        wait_for_map(page)
        page.get_by_text("Mon territoire (CPTS)").click()
        page.get_by_text("Le territoire est vide").wait_for(timeout=60_000)
        frame = wait_for_map(page, min_paths=500)  # the territory map replaces the coverage map
        n_communes = frame.locator("path.leaflet-interactive").count()
        # Click in the middle of the map: Leaflet reports the position, the app finds the commune.
        # (A locator's bounding box is in the page's coordinates, frames included.)
        container = frame.locator(".leaflet-container")
        container.scroll_into_view_if_needed()
        box = container.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text("Diagnostic instantané").wait_for(timeout=60_000)
        value = (
            page.locator("[data-testid='stMetric']", has_text="Communes")
            .locator("[data-testid='stMetricValue']")
            .first.inner_text()
        )
        page.screenshot(path="tests/artifacts/territory-click.png")
    assert n_communes == int(paca.geometry.notna().sum())
    assert value.strip() == "1"
    assert blocked == []


def test_a_workflow_keeps_its_search_and_fiche_when_one_comes_back(
    real_referential: Referential,
) -> None:
    """Issue 17 §8: going to another workflow and back lost the search text and the fiche."""
    at = app()
    at.text_input(key="coverage_search").input("Durance").run()
    pick = at.selectbox(key="coverage_fiche_pick")
    pick.select(pick.options[0]).run()
    chosen = at.selectbox(key="coverage_fiche_pick").value
    assert chosen is not None
    at.radio(key="workflow").set_value("territoire").run()
    at.text_input(key="territory_search").input("Arles").run()
    at.radio(key="workflow").set_value("couverture").run()
    assert not at.exception
    assert at.text_input(key="coverage_search").value == "Durance"
    assert at.selectbox(key="coverage_fiche_pick").value == chosen
    at.radio(key="workflow").set_value("territoire").run()
    assert at.text_input(key="territory_search").value == "Arles"


def test_the_members_bonus_is_explained_and_offered_only_to_its_size(
    real_referential: Referential,
) -> None:
    at = app()
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    assert metrics(at)["Taille ACI"] == "Taille 3"
    members = at.number_input(key="funding_members")
    assert members.disabled  # the +10 % bonus concerns taille 4 only
    assert "taille 4" in members.help and "100 adhérents" in members.help
    missions = at.multiselect(key="funding_missions")
    assert missions.placeholder == "Aucune mission optionnelle"
