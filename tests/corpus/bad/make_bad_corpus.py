"""Corpus of bad perimeter files, generated (deterministic) with the outcome each must get.

Run by hand to look at the files or at the outcome table::

    python tests/corpus/bad/make_bad_corpus.py --out /tmp/bad      # write the files
    python tests/corpus/bad/make_bad_corpus.py --run                # outcome table

The test suite (``tests/test_bad_corpus.py``) generates the files into a
temporary folder, runs every one through the library and the command line,
and checks its outcome: a French refusal (no English library text, no path),
or an import whose report has the expected kinds of lines and in which every
data row is kept or named by a report line.

Classes follow the issue "Hardening" (archives, CSV text, encodings, codes,
polygons, formats, limits, hostile names) and more. Communes are real (Arles
13004, Saint-Martin-de-Crau 13097, Tarascon 13108, Ajaccio 2A004, Bastia
2B033, L'Abergement-Clémenciat 01001).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import stat
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["refused", "imported"]

HEADER = "Nom CPTS;Code INSEE;Commune;Statut"
GOOD_ROWS = [
    "CPTS Arles;13004;Arles;ACI signé",
    "CPTS Arles;13097;Saint-Martin-de-Crau;ACI signé",
    "CPTS Tarascon;13108;Tarascon;en émergence",
]


@dataclass(frozen=True)
class BadInput:
    """One bad input and the outcome it must get."""

    name: str  # file name (its extension chooses the reader)
    klass: str  # class of problem
    data: bytes
    outcome: Outcome
    kinds: tuple[str, ...] = ()  # report kinds that must appear (imported)
    fragment: str = ""  # part of the French refusal (refused)
    data_rows: tuple[int, ...] = ()  # first line of each data row (CSV), for the invariant


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _text(lines: list[str], *, newline: str = "\n") -> tuple[str, tuple[int, ...]]:
    """A CSV text from a header and rows (rows may hold quoted newlines) and data row lines."""
    starts, line = [], 2
    for row in lines[1:]:
        if row.replace(";", "").strip():  # rows of separators only are blank rows
            starts.append(line)
        line += row.count("\n") + 1
    return newline.join(row.replace("\n", newline) for row in lines) + newline, tuple(starts)


def _csv(
    name: str,
    klass: str,
    lines: list[str],
    outcome: Outcome = "imported",
    *,
    kinds: tuple[str, ...] = (),
    fragment: str = "",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> BadInput:
    text, starts = _text(lines, newline=newline)
    return BadInput(
        name,
        klass,
        text.encode(encoding),
        outcome,
        kinds,
        fragment,
        starts if outcome == "imported" else (),
    )


def _zip(
    members: dict[str, bytes], *, modes: dict[str, int] | None = None, flags: int = 0
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, content in members.items():
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if modes and member in modes:
                info.create_system = 3
                info.external_attr = modes[member] << 16
            zf.writestr(info, content)
            if flags:
                info.flag_bits |= flags
    return buffer.getvalue()


def _box(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _geojson(features: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}).encode()


def _feature(name: str, geometry: dict[str, object] | None) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"nom": name, "statut": "ACI signé"},
        "geometry": geometry,
    }


#: A box over Arles and its neighbours (longitude, latitude).
ARLES_BOX = (4.45, 43.45, 4.85, 43.75)


def _lambert93_box() -> list[list[list[float]]]:
    from pyproj import Transformer

    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    x0, y0 = to_l93.transform(ARLES_BOX[0], ARLES_BOX[1])
    x1, y1 = to_l93.transform(ARLES_BOX[2], ARLES_BOX[3])
    return _box(round(x0), round(y0), round(x1), round(y1))


def _shapefile_zip(*, prj: bool, lambert: bool = False, folder: str = "") -> bytes:
    import geopandas as gpd
    import shapely

    geometry = shapely.Polygon(_lambert93_box()[0] if lambert else _box(*ARLES_BOX)[0])
    frame = gpd.GeoDataFrame(
        {"nom": ["CPTS Arles"], "statut": ["ACI signé"]},
        geometry=[geometry],
        crs=2154 if lambert else 4326,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "perimetres.shp"
        frame.to_file(path, engine="pyogrio")
        members = {}
        for part in sorted(Path(tmp).iterdir()):
            if part.suffix == ".prj" and not prj:
                continue
            members[f"{folder}{part.name}"] = part.read_bytes()
    return _zip(members)


def _gpkg(*, polygons: bool) -> bytes:
    import geopandas as gpd
    import pyogrio
    import shapely

    geometry = shapely.Polygon(_box(*ARLES_BOX)[0]) if polygons else shapely.Point(4.6, 43.6)
    frame = gpd.GeoDataFrame({"nom": ["CPTS Arles"]}, geometry=[geometry], crs=4326)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z"})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "couche.gpkg"
            frame.to_file(path, layer="perimetres", driver="GPKG", engine="pyogrio")
            return path.read_bytes()
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def _xlsx(rows: list[list[object]]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": True, "strings_to_numbers": False}
    )
    workbook.set_properties({"created": dt.datetime(2024, 1, 1)})  # reproducible bytes
    sheet = workbook.add_worksheet("CPTS")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------


def _archives() -> list[BadInput]:
    shp = {"a.shx": b"x", "a.dbf": b"x"}
    slips = {
        "zip_slip_parent.zip": "../../etc/perimetres.shp",
        "zip_slip_nested_parent.zip": "dossier/../../perimetres.shp",
        "zip_slip_absolute.zip": "/etc/perimetres.shp",
        "zip_slip_windows_drive.zip": "C:/Windows/perimetres.shp",
        "zip_slip_backslash.zip": "..\\..\\perimetres.shp",
    }
    out = [
        BadInput(
            name, "zip slip", _zip({member: b"x", **shp}), "refused", fragment="Archive zip refusée"
        )
        for name, member in slips.items()
    ]
    out += [
        BadInput(
            "zip_symlink.zip",
            "symlink member",
            _zip({"a.shp": b"/etc/passwd", **shp}, modes={"a.shp": stat.S_IFLNK | 0o777}),
            "refused",
            fragment="lien symbolique",
        ),
        BadInput(
            "zip_device.zip",
            "device member",
            _zip({"a.shp": b"", **shp}, modes={"a.shp": stat.S_IFCHR | 0o644}),
            "refused",
            fragment="fichier spécial",
        ),
        BadInput(
            "zip_fifo.zip",
            "device member",
            _zip({"a.shp": b"", **shp}, modes={"a.shp": stat.S_IFIFO | 0o644}),
            "refused",
            fragment="fichier spécial",
        ),
        BadInput(
            "zip_bomb.zip",
            "zip bomb",
            _zip({"a.shp": b"\0" * (30 * 2**20), **shp}),
            "refused",
            fragment="bombe zip",
        ),
        BadInput(
            "zip_bomb_dbf.zip",
            "zip bomb",
            _zip({"a.shp": b"x", "a.shx": b"x", "a.dbf": b" " * (30 * 2**20)}),
            "refused",
            fragment="bombe zip",
        ),
        BadInput(
            "zip_nested.zip",
            "nested zip",
            _zip({"interieur.zip": _zip({"a.shp": b"x", **shp})}),
            "refused",
            fragment="autre archive",
        ),
        BadInput(
            "zip_many_members.zip",
            "too many members",
            _zip({f"f{i:03}.txt": b"x" for i in range(120)}),
            "refused",
            fragment="limite est de",
        ),
        BadInput(
            "zip_encrypted.zip",
            "encrypted member",
            _zip({"a.shp": b"x", **shp}, flags=0x1),
            "refused",
            fragment="mot de passe",
        ),
        BadInput(
            "zip_no_shp.zip",
            "incomplete shapefile",
            _zip({"lisez-moi.txt": b"x"}),
            "refused",
            fragment=".shp",
        ),
        BadInput(
            "zip_missing_parts.zip",
            "incomplete shapefile",
            _zip({"a.shp": b"x"}),
            "refused",
            fragment=".shx, .dbf absent",
        ),
        BadInput(
            "zip_two_layers.zip",
            "incomplete shapefile",
            _zip({"a.shp": b"x", "b.shp": b"x", **shp}),
            "refused",
            fragment="2 couches",
        ),
        BadInput(
            "zip_not_a_zip.zip",
            "wrong content",
            b"Nom CPTS;Code INSEE\nA;13004\n",
            "refused",
            fragment="Archive zip illisible",
        ),
        BadInput("zip_empty.zip", "empty file", _zip({}), "refused", fragment=".shp"),
        BadInput(
            "zip_truncated.zip",
            "truncated file",
            _shapefile_zip(prj=True)[:300],
            "refused",
            fragment="Archive zip",
        ),
        BadInput(
            "zip_garbage_shp.zip",
            "wrong content",
            _zip({"a.shp": b"pas une forme", "a.shx": b"x", "a.dbf": b"x"}),
            "refused",
            fragment="Couche géographique illisible",
        ),
        BadInput(
            "shapefile_lambert_no_prj.zip",
            "Lambert-93 without CRS",
            _shapefile_zip(prj=False, lambert=True),
            "imported",
            kinds=("crs_guessed",),
        ),
        BadInput(
            "shapefile_in_folder_upper.zip",
            "folder inside archive",
            _shapefile_zip(prj=True, folder="Mes périmètres/"),
            "imported",
        ),
    ]
    return out


def _csv_text() -> list[BadInput]:
    rows39 = [f"CPTS B;{13001 + i:05};;en émergence" for i in range(39)]
    out = [
        _csv("line_ends_bare_cr.csv", "bare CR", [HEADER, *GOOD_ROWS], newline="\r"),
        _csv("line_ends_crlf.csv", "CRLF", [HEADER, *GOOD_ROWS], newline="\r\n"),
        BadInput(
            "line_ends_mixed.csv",
            "mixed line ends",
            (HEADER + "\r\n" + GOOD_ROWS[0] + "\r" + GOOD_ROWS[1] + "\n" + GOOD_ROWS[2]).encode(),
            "imported",
            data_rows=(2, 3, 4),
        ),
        _csv(
            "quote_unbalanced_swallow.csv",
            "unbalanced quotes",
            [HEADER, '"CPTS A;13004;Arles;ACI signé', *rows39],
            kinds=("unbalanced_quote",),
        ),
        _csv(
            "quote_unbalanced_middle.csv",
            "unbalanced quotes",
            [
                HEADER,
                GOOD_ROWS[0],
                'CPTS Arles;"13097;Saint-Martin-de-Crau;ACI signé',
                GOOD_ROWS[2],
            ],
            kinds=("unbalanced_quote",),
        ),
        _csv(
            "quote_unbalanced_last.csv",
            "unbalanced quotes",
            [HEADER, *GOOD_ROWS, '"CPTS Fin;13108;Tarascon;en émergence'],
            kinds=("unbalanced_quote",),
        ),
        _csv(
            "quote_newline_in_name.csv",
            "quoted newline",
            [
                HEADER,
                '"CPTS du\nPays d\'Arles";13004;Arles;ACI signé',
                GOOD_ROWS[2],
                "CPTS Tarascon;99999;Nulle part;en émergence",
            ],
            kinds=("unknown_code", "multiline_cell"),
        ),
        _csv(
            "quote_doubled.csv",
            "quoted cells",
            [
                HEADER,
                '"CPTS ""Rhône"" Sud";13004;Arles;ACI signé',
                '"CPTS ""Rhône"" Sud";"13097";"Saint-Martin-de-Crau";"ACI signé"',
            ],
        ),
        _csv(
            "long_list_cell.csv",
            "long cells",
            ["Nom CPTS;Communes", 'CPTS Arles;"' + ",".join(["13004"] * 40_000) + '"'],
            kinds=("duplicate_merged",),
        ),
        _csv(
            "long_cell_refused.csv",
            "long cells",
            [HEADER, "CPTS A;" + "1" * 1_100_000 + ";Arles;ACI"],
            "refused",
            fragment="Cellule trop longue",
        ),
        _csv(
            "long_name_cell.csv",
            "long cells",
            [HEADER, "CPTS " + "très long " * 20_000 + ";13004;Arles;ACI signé"],
        ),
        _csv("empty.csv", "empty file", [""], "refused", fragment="vide"),
        BadInput("empty_zero_bytes.csv", "empty file", b"", "refused", fragment="vide"),
        _csv("whitespace_only.csv", "empty file", ["   ", "\t", ""], "refused", fragment="vide"),
        _csv("header_only.csv", "header only", [HEADER]),
        _csv(
            "header_and_blank_lines.csv",
            "header only",
            [HEADER, "", "", ";;;"],
            kinds=("blank_rows",),
        ),
        _csv("no_header.csv", "no header", GOOD_ROWS, "refused", fragment="en-tête"),
        _csv(
            "separator_colon.csv",
            "wrong separator",
            ["Nom CPTS:Code INSEE", "CPTS A:13004", "CPTS A:13097"],
            kinds=("unknown_name",),
        ),
        _csv(
            "separator_mixed.csv",
            "wrong separator",
            [HEADER, "CPTS A,13004,Arles,ACI signé", GOOD_ROWS[1]],
            kinds=("missing_code",),
        ),
        _csv(
            "wide_row.csv",
            "too many columns",
            [";".join(["Nom CPTS", "Code INSEE", *[f"c{i}" for i in range(300)]]), "CPTS A;13004"],
            "refused",
            fragment="colonnes",
        ),
        BadInput(
            "nul_bytes.csv",
            "binary data",
            (HEADER + "\nCPTS A;13004\x00\x00;Arles;ACI\n").encode(),
            "refused",
            fragment="pas un texte lisible",
        ),
        _csv(
            "control_chars_name.csv",
            "control characters",
            [HEADER, "CPTS\x07A;13004;Arles;ACI signé", *GOOD_ROWS[1:]],
        ),
        _csv(
            "only_separators.csv",
            "junk rows",
            [HEADER, ";;;", ";;;", *GOOD_ROWS],
            kinds=("blank_rows",),
        ),
        _csv(
            "junk_rows.csv",
            "junk rows",
            [HEADER, "%%%;$$$;###;@@@", "!!!", *GOOD_ROWS],
            kinds=("unknown_code", "missing_code"),
        ),
        BadInput(
            "title_rows.csv",
            "header not first",
            "\n".join(
                ["Liste des CPTS de la région", "mise à jour 2024", HEADER, *GOOD_ROWS]
            ).encode(),
            "imported",
            data_rows=(4, 5, 6),
        ),
        BadInput(
            "too_many_rows.csv",
            "too many rows",
            (HEADER + "\n" + "CPTS A;13004;Arles;ACI\n" * 501_500).encode(),
            "refused",
            fragment="lignes",
        ),
    ]
    rng = random.Random(11)
    for i in range(5):
        size = (100, 2_000, 20_000, 100_000, 7)[i]
        out.append(
            BadInput(
                f"random_bytes_{i}.csv",
                "random bytes",
                bytes(rng.randrange(256) for _ in range(size)),
                "refused",
            )
        )
    out.append(
        BadInput(
            "random_bytes.txt",
            "random bytes",
            bytes(rng.randrange(256) for _ in range(5000)),
            "refused",
        )
    )
    return out


def _encodings() -> list[BadInput]:
    lines = [
        HEADER,
        "CPTS Étang de Berre;13004;Arles;ACI signé",
        "CPTS Étang de Berre;13097;Saint-Martin-de-Crau;ACI signé",
    ]
    text, starts = _text(lines)
    out = [
        BadInput(
            "bom_utf8.csv",
            "BOM variants",
            b"\xef\xbb\xbf" + text.encode(),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "bom_utf16le.csv",
            "BOM variants",
            b"\xff\xfe" + text.encode("utf-16-le"),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "bom_utf16be.csv",
            "BOM variants",
            b"\xfe\xff" + text.encode("utf-16-be"),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "bom_utf32le.csv",
            "BOM variants",
            b"\xff\xfe\x00\x00" + text.encode("utf-32-le"),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "bom_utf8_twice.csv",
            "BOM variants",
            b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode(),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "utf16le_no_bom.csv",
            "UTF-16 without BOM",
            text.encode("utf-16-le"),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "utf16be_no_bom.csv",
            "UTF-16 without BOM",
            text.encode("utf-16-be"),
            "imported",
            data_rows=starts,
        ),
        BadInput(
            "utf16_truncated.csv",
            "truncated file",
            b"\xff\xfe" + text.encode("utf-16-le")[:-1],
            "refused",
            fragment="UTF-16",
        ),
        BadInput(
            "windows1252.csv", "Windows-1252", text.encode("cp1252"), "imported", data_rows=starts
        ),
        BadInput(
            "mixed_utf8_cp1252.csv",
            "mixed encodings",
            "\n".join(lines[:2]).encode() + b"\n" + lines[2].encode("cp1252") + b"\n",
            "imported",
            kinds=("mixed_encoding",),
            data_rows=starts,
        ),
        BadInput(
            "mixed_cp1252_first.csv",
            "mixed encodings",
            lines[0].encode()
            + b"\n"
            + lines[1].encode("cp1252")
            + b"\n"
            + lines[2].encode()
            + b"\n",
            "imported",
            kinds=("mixed_encoding",),
            data_rows=starts,
        ),
        BadInput(
            "mac_roman.csv",
            "legacy encoding",
            text.encode("mac_roman"),
            "imported",
            data_rows=starts,
        ),
    ]
    return out


def _codes() -> list[BadInput]:
    out = [
        _csv(
            "float_code_text.csv",
            "float codes",
            [HEADER, "CPTS A;1002.7;L'Abergement-de-Varey;ACI signé", GOOD_ROWS[0]],
            kinds=("non_integer_code",),
        ),
        _csv(
            "float_code_comma.csv",
            "float codes",
            [HEADER, "CPTS A;13004,5;Arles;ACI signé", GOOD_ROWS[1]],
            kinds=("non_integer_code",),
        ),
        _csv(
            "float_code_excel_integer.csv",
            "float codes",
            [HEADER, "CPTS A;1001.0;L'Abergement-Clémenciat;ACI signé"],
            kinds=("leading_zero_restored",),
        ),
        BadInput(
            "float_code.xlsx",
            "float codes",
            _xlsx(
                [
                    ["Nom CPTS", "Code INSEE", "Statut"],
                    ["CPTS A", 1002.7, "ACI signé"],
                    ["CPTS A", 1001.0, "ACI signé"],
                    ["CPTS A", 13004, "ACI signé"],
                ]
            ),
            "imported",
            kinds=("non_integer_code", "leading_zero_restored"),
            data_rows=(2, 3, 4),
        ),
        _csv(
            "corsica_2a_2b.csv",
            "2A/2B",
            [
                HEADER,
                "CPTS Corse;2A004;Ajaccio;ACI signé",
                "CPTS Corse;2b033;Bastia;ACI signé",
                "CPTS Corse;20004;Ajaccio;ACI signé",
            ],
            kinds=("code_cleaned", "former_code"),
        ),
        _csv(
            "codes_noise.csv",
            "code noise",
            [
                HEADER,
                "CPTS A; 13 004 ;Arles;ACI",
                "CPTS A;'13097;Saint-Martin-de-Crau;ACI",
                "CPTS A;13-108;Tarascon;ACI",
            ],
            kinds=("code_cleaned",),
        ),
        _csv(
            "codes_negative_and_huge.csv",
            "code noise",
            [HEADER, "CPTS A;-13004;Arles;ACI", "CPTS A;1300400000;Arles;ACI", GOOD_ROWS[0]],
            kinds=("unknown_code",),
        ),
        _csv(
            "codes_scientific.csv",
            "float codes",
            [HEADER, "CPTS A;1.3004E+04;Arles;ACI", GOOD_ROWS[0]],
            kinds=("unknown_name",),
        ),
    ]
    return out


def _names() -> list[BadInput]:
    payloads = [
        "<img src=x onerror=alert(1)>",
        "<script>alert('x')</script>",
        '"><svg onload=alert(1)>',
        "javascript:alert(1)",
        "[lien](http://exemple.invalid) **gras**",
        "CPTS \u202e lanretni",  # right-to-left override
        "CPTS 🏥 Santé",
    ]
    out = [
        _csv(
            f"name_html_{i}.csv",
            "names with HTML/JS",
            [HEADER, f'"{p.replace(chr(34), chr(34) * 2)}";13004;Arles;ACI signé', GOOD_ROWS[2]],
        )
        for i, p in enumerate(payloads)
    ]
    formulas = [
        '=HYPERLINK("http://exemple.invalid";"x")',
        "+33 1 00 00 00 00",
        "-2+3",
        "@SUM(A1:A2)",
        "=1+1",
    ]
    out += [
        _csv(
            f"formula_{i}.csv",
            "formula cells",
            [HEADER, f'"{f.replace(chr(34), chr(34) * 2)}";13004;Arles;ACI signé'],
        )
        for i, f in enumerate(formulas)
    ]
    out.append(
        _csv(
            "formula_status.csv",
            "formula cells",
            [HEADER, "CPTS A;13004;Arles;=cmd|' /C calc'!A0"],
            kinds=("unknown_status",),
        )
    )
    return out


def _polygons() -> list[BadInput]:
    arles = {"type": "Polygon", "coordinates": _box(*ARLES_BOX)}
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[4.45, 43.45], [4.85, 43.75], [4.85, 43.45], [4.45, 43.75], [4.45, 43.45]]
        ],
    }
    out = [
        BadInput(
            "geojson_lambert93_no_crs.geojson",
            "GeoJSON in Lambert-93 without CRS",
            _geojson(
                [_feature("CPTS Arles", {"type": "Polygon", "coordinates": _lambert93_box()})]
            ),
            "imported",
            kinds=("crs_guessed",),
        ),
        BadInput(
            "geojson_lambert93_declared.geojson",
            "GeoJSON with declared CRS",
            _geojson(
                [_feature("CPTS Arles", {"type": "Polygon", "coordinates": _lambert93_box()})],
                crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
            ),
            "imported",
        ),
        BadInput(
            "geojson_unknown_projection.geojson",
            "coordinates out of range",
            _geojson(
                [
                    _feature(
                        "CPTS X", {"type": "Polygon", "coordinates": _box(9e6, 9e6, 9.1e6, 9.1e6)}
                    )
                ]
            ),
            "refused",
            fragment="ni en degrés WGS84 ni en Lambert-93",
        ),
        BadInput(
            "geojson_huge_coordinates.geojson",
            "coordinates out of range",
            _geojson(
                [
                    _feature(
                        "CPTS X",
                        {"type": "Polygon", "coordinates": _box(1e300, 1e300, 2e300, 2e300)},
                    )
                ]
            ),
            "refused",
        ),
        BadInput(
            "geojson_invalid_bowtie.geojson",
            "invalid geometries",
            _geojson([_feature("CPTS Arles", bowtie)]),
            "imported",
            kinds=("geometry_repaired",),
        ),
        BadInput(
            "geojson_empty_geometry.geojson",
            "empty geometries",
            _geojson([_feature("CPTS Vide", None), _feature("CPTS Arles", arles)]),
            "imported",
            kinds=("empty_geometry",),
        ),
        BadInput(
            "geojson_all_empty.geojson",
            "empty geometries",
            _geojson(
                [
                    _feature("CPTS Vide", None),
                    _feature("CPTS Vide 2", {"type": "Polygon", "coordinates": []}),
                ]
            ),
            "refused",
        ),
        BadInput(
            "geojson_points.geojson",
            "not polygons",
            _geojson(
                [
                    _feature("CPTS Point", {"type": "Point", "coordinates": [4.6, 43.6]}),
                    _feature("CPTS Arles", arles),
                ]
            ),
            "imported",
            kinds=("empty_geometry",),
        ),
        BadInput(
            "geojson_no_features.geojson",
            "empty file",
            _geojson([]),
            "refused",
            fragment="aucun objet",
        ),
        BadInput(
            "geojson_truncated.geojson",
            "truncated file",
            _geojson([_feature("CPTS Arles", arles)])[:80],
            "refused",
            fragment="illisible",
        ),
        BadInput(
            "geojson_not_geojson.json",
            "wrong content",
            b'{"cpts": "Arles", "codes": [13004]}',
            "refused",
        ),
        BadInput("geojson_array.json", "wrong content", b"[1, 2, 3]", "refused"),
        BadInput("geojson_empty_file.geojson", "empty file", b"", "refused"),
        BadInput(
            "geojson_names_html.geojson",
            "names with HTML/JS",
            _geojson([_feature("<img src=x onerror=alert(1)>", arles)]),
            "imported",
        ),
        BadInput(
            "geojson_formula_name.geojson",
            "formula cells",
            _geojson([_feature('=HYPERLINK("http://exemple.invalid")', arles)]),
            "imported",
        ),
        BadInput(
            "gpkg_points_only.gpkg",
            "not polygons",
            _gpkg(polygons=False),
            "refused",
            fragment="aucune couche de polygones",
        ),
        BadInput("gpkg_polygons.gpkg", "GeoPackage", _gpkg(polygons=True), "imported"),
        BadInput(
            "gpkg_garbage.gpkg", "wrong content", b"SQLite format 3\x00" + b"\x00" * 200, "refused"
        ),
    ]
    return out


def _formats() -> list[BadInput]:
    table = (HEADER + "\n" + "\n".join(GOOD_ROWS) + "\n").encode()
    xlsx = _xlsx([HEADER.split(";"), *[r.split(";") for r in GOOD_ROWS]])
    out = [
        BadInput(
            "wrong_extension.docx",
            "wrong extension",
            table,
            "refused",
            fragment="Format de fichier non reconnu",
        ),
        BadInput(
            "wrong_extension.pdf",
            "wrong extension",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
            "refused",
            fragment="Format de fichier non reconnu",
        ),
        BadInput("no_extension", "wrong extension", table, "refused", fragment="sans extension"),
        BadInput(
            "double_extension.csv.exe",
            "wrong extension",
            table,
            "refused",
            fragment="Format de fichier non reconnu",
        ),
        BadInput(
            "csv_named_xlsx.xlsx", "wrong content", table, "refused", fragment="Classeur illisible"
        ),
        BadInput(
            "xlsx_named_csv.csv", "wrong content", xlsx, "refused", fragment="pas un texte lisible"
        ),
        BadInput("empty.xlsx", "empty file", b"", "refused", fragment="Classeur illisible"),
        BadInput(
            "truncated.xlsx",
            "truncated file",
            xlsx[: len(xlsx) // 2],
            "refused",
            fragment="Classeur illisible",
        ),
        BadInput("header_only.xlsx", "header only", _xlsx([HEADER.split(";")]), "imported"),
        BadInput(
            "html_disguised.csv",
            "html disguised as csv",
            b"<!DOCTYPE html><html><head><title>Erreur 404</title></head>"
            b"<body>Nom CPTS;Code INSEE</body></html>",
            "refused",
            fragment="page web",
        ),
        BadInput(
            "xml_disguised.csv",
            "html disguised as csv",
            b'<?xml version="1.0"?><cpts><nom>A</nom></cpts>',
            "refused",
            fragment="page web",
        ),
        BadInput(
            "geojson_named_csv.csv",
            "wrong content",
            _geojson([_feature("A", None)]),
            "refused",
            fragment="en-tête",
        ),
        BadInput(
            "xlsx_formula_cells.xlsx",
            "formula cells",
            _xlsx(
                [
                    HEADER.split(";"),
                    ['="CPTS "&"A"', "13004", "Arles", "ACI signé"],
                    ["CPTS A", "=13000+97", "Saint-Martin-de-Crau", "ACI signé"],
                ]
            ),
            "imported",
            data_rows=(2, 3),
        ),
        BadInput(
            "xlsx_names_html.xlsx",
            "names with HTML/JS",
            _xlsx(
                [HEADER.split(";"), ["<script>alert(1)</script>", "13004", "Arles", "ACI signé"]]
            ),
            "imported",
            data_rows=(2,),
        ),
    ]
    return out


def make_corpus() -> list[BadInput]:
    """Every bad input of the corpus, in a stable order."""
    cases = (
        _archives() + _csv_text() + _encodings() + _codes() + _names() + _polygons() + _formats()
    )
    names = [c.name for c in cases]
    duplicates = [n for n, k in Counter(names).items() if k > 1]
    if duplicates:
        raise ValueError(f"duplicate names in the corpus: {duplicates}")
    return cases


def write_corpus(folder: Path) -> list[tuple[Path, BadInput]]:
    """Write the corpus into ``folder``; returns (path, case) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for case in make_corpus():
        path = folder / case.name
        path.write_bytes(case.data)
        out.append((path, case))
    return out


def outcome_table(cases: list[BadInput], outcomes: dict[str, str] | None = None) -> str:
    """A Markdown table: class, number of inputs, outcome (expected, or as run)."""
    rows: dict[tuple[str, str], int] = Counter()
    for case in cases:
        got = outcomes[case.name] if outcomes else case.outcome
        label = {
            "refused": "refus clair en français",
            "imported": "importé, lignes du rapport",
        }.get(got, got)
        if got == "imported" and case.kinds:
            label += " (" + ", ".join(case.kinds) + ")"
        rows[(case.klass, label)] += 1
    lines = ["| class | n | outcome |", "|---|---|---|"]
    lines += [f"| {klass} | {n} | {label} |" for (klass, label), n in sorted(rows.items())]
    lines.append(f"| **total** | **{len(cases)}** | |")
    return "\n".join(lines)


def _run(cases: list[BadInput]) -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from diagnosis.errors import AtlasError
    from diagnosis.importer.perimeters import import_perimeters

    outcomes = {}
    for case in cases:
        try:
            import_perimeters(case.data, filename=case.name)
            outcomes[case.name] = "imported"
        except AtlasError:
            outcomes[case.name] = "refused"
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the files into this folder")
    parser.add_argument("--run", action="store_true", help="run the library on each input")
    args = parser.parse_args()
    cases = make_corpus()
    if args.out:
        write_corpus(args.out)
    outcomes = _run(cases) if args.run else None
    print(outcome_table(cases, outcomes))
    if outcomes:
        wrong = [c.name for c in cases if outcomes[c.name] != c.outcome]
        print(
            f"\n{len(cases) - len(wrong)}/{len(cases)} as expected"
            + (f"; not: {wrong}" if wrong else "")
        )


if __name__ == "__main__":
    main()
