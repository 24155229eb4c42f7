"""Generate the corpus files that cannot be written as plain UTF-8 text.

Run once by hand from the project folder (outputs are committed)::

    .venv/bin/python tests/corpus/perimeters/make_corpus.py

Rows are written below by hand. Polygons are made from the embedded
referential's commune contours (shrunk by 30 m so that no neighbour is
touched), plus pieces of communes clipped to a chosen share of their area, so
that the expected assignment is known by construction.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))


def write_text(name: str, text: str, encoding: str) -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def make_text_variants() -> None:
    write_text(
        "long_comma_utf8bom.csv",
        "Nom CPTS,Code INSEE,Statut\r\n"
        "CPTS Côte Bleue,13078,ACI signé\r\n"
        '"CPTS Côte Bleue, Étang",13117,ACI signé\r\n',
        "utf-8-sig",
    )
    write_text(
        "long_latin1.csv",
        "Nom CPTS;Code INSEE;Commune;Statut\r\n"
        "CPTS Pays Salonais;13103;Salon-de-Provence;Lettre d'intention validée\r\n"
        "CPTS Pays Salonais;13050;Lambesc;Lettre d'intention validée\r\n"
        "CPTS Pays Salonais;13069;Pélissanne;Lettre d'intention validée\r\n",
        "cp1252",
    )
    write_text(
        "long_tab.tsv",
        "Nom CPTS\tCode INSEE\tStatut\nCPTS Tabulée\t13001\tprojet de santé validé\n"
        "CPTS Tabulée\t13032\tprojet de santé validé\n",
        "utf-8",
    )
    write_text(
        "excel_unicode_text.txt",
        "Nom CPTS\tCode INSEE\tStatut\r\nCPTS Unicode\t2A004\tACI signé\r\n"
        "CPTS Unicode\t2B033\tACI signé\r\n",
        "utf-16",
    )
    write_text(
        "own_export.csv",
        "perimeter_id;perimeter_name;status;date;code;commune_name;infra_split\r\n"
        "cpts-aix-nord;CPTS Aix Nord;aci_signe;2024-03-01;13001;Aix-en-Provence;oui\r\n"
        "cpts-aix-nord;CPTS Aix Nord;aci_signe;2024-03-01;13032;Éguilles;\r\n"
        "cpts-aix-sud;CPTS Aix Sud;projet_sante;;13001;Aix-en-Provence;oui\r\n"
        "cpts-vide;CPTS Vide;;;;;\r\n",
        "utf-8-sig",
    )


def make_workbooks() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CPTS"
    ws.append(["Nom CPTS", "Code INSEE", "Commune", "Statut"])
    ws.append(["CPTS Ain Sud", 1004, "Ambérieu-en-Bugey", "ACI signé"])
    ws.append(["CPTS Ain Sud", 1001, "L'Abergement-Clémenciat", "ACI signé"])
    wb.save(HERE / "long_basic.xlsx")

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Ce classeur liste les CPTS de la région."])
    notes.append(["Mise à jour : septembre 2026"])
    ws = wb.create_sheet("Périmètres")
    ws.append(["Agence régionale de santé"])
    ws.append(["Liste des périmètres"])
    ws.append([])
    ws.append(["CPTS", "code commune", "stade"])
    ws.append(["CPTS Lubéron", 13024, "en émergence"])
    ws.append(["CPTS Lubéron", 13053, "en émergence"])
    wb.save(HERE / "long_sheet_header_row4.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nom CPTS", "Code INSEE", "Commune"])
    ws.append(["CPTS Nombres", 1001, "L'Abergement-Clémenciat"])
    ws.append(["CPTS Nombres", 1004.0, "Ambérieu-en-Bugey"])
    ws.append(["CPTS Nombres", "2A004", "Ajaccio"])
    ws.append(["CPTS Nombres", 13004, "Arles"])
    wb.save(HERE / "pitfall_excel_numbers.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nom CPTS", "Codes INSEE", "Statut"])
    ws.append(["CPTS Espaces", "13004 13096 13097", "ACI signé"])
    ws.append(["CPTS Barres", "13027|13089 | 13094", "projet de santé validé"])
    wb.save(HERE / "wide_codes_spaces.xlsx")


def _shrunk(ref_units: gpd.GeoDataFrame, codes: list[str]) -> shapely.Geometry:
    geoms = ref_units.loc[codes].geometry.to_crs(2154)
    return shapely.union_all(geoms.to_numpy()).buffer(-30)


def _piece(ref_units: gpd.GeoDataFrame, code: str, share: float) -> shapely.Geometry:
    """A piece of a commune (west part) with ``share`` of its area, shrunk by 1 m."""
    geom = ref_units.loc[[code]].geometry.to_crs(2154).iloc[0]
    minx, miny, maxx, maxy = geom.bounds
    lo, hi = minx, maxx
    for _ in range(60):
        mid = (lo + hi) / 2
        part = geom.intersection(shapely.box(minx - 1, miny - 1, mid, maxy + 1)).buffer(-1)
        if part.area / geom.area < share:
            lo = mid
        else:
            hi = mid
    return geom.intersection(shapely.box(minx - 1, miny - 1, hi, maxy + 1)).buffer(-1)


def make_polygons() -> None:
    from diagnosis.core.referential import load_referential

    units = load_referential(department="13").units
    alpilles = shapely.union_all(
        [
            _shrunk(units, ["13038", "13011"]),
            _piece(units, "13058", 0.70),
            _piece(units, "13065", 0.30),
        ]
    )
    camargue = _shrunk(units, ["13096"])
    frame = gpd.GeoDataFrame(
        {
            "nom_cpts": ["CPTS Alpilles Ouest", "CPTS Camargue"],
            "statut": ["ACI signé", "projet de santé"],
        },
        geometry=[alpilles, camargue],
        crs=2154,
    )
    wgs = frame.to_crs(4326)
    wgs.to_file(HERE / "polygons.geojson", driver="GeoJSON")
    frame.to_file(HERE / "polygons_lambert93.gpkg", driver="GPKG", layer="perimetres")
    for name, data, keep_prj in (
        ("polygons_shp_noprj.zip", frame, False),
        ("polygons_shp_wgs84.zip", wgs, True),
    ):
        tmp = HERE / "_shp"
        tmp.mkdir(exist_ok=True)
        data.to_file(tmp / "perimetres.shp", driver="ESRI Shapefile")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for part in sorted(tmp.iterdir()):
                if part.suffix == ".prj" and not keep_prj:
                    continue
                if part.suffix == ".cpg" and not keep_prj:
                    continue  # no .cpg either: the reader must cope with the encoding
                zf.write(part, arcname=f"perimetres/{part.name}")
        (HERE / name).write_bytes(buffer.getvalue())
        for part in tmp.iterdir():
            part.unlink()
        tmp.rmdir()

    # A self-intersecting ring (two vertices swapped) and a feature without geometry.
    ring = list(camargue.exterior.coords)
    ring[5], ring[6] = ring[6], ring[5]
    bowtie = shapely.Polygon(ring)
    assert not bowtie.is_valid
    invalid = gpd.GeoDataFrame(
        {"cpts": ["CPTS Nœud", "CPTS Sans Forme"]}, geometry=[bowtie, None], crs=2154
    ).to_crs(4326)
    invalid.to_file(HERE / "pitfall_polygon_invalid.geojson", driver="GeoJSON")


if __name__ == "__main__":
    make_text_variants()
    make_workbooks()
    make_polygons()
