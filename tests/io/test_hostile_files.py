"""Readers against careless and hostile files: archives, CSV text, limits, GeoJSON CRS."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diagnosis.io.polygons as polygon_reading
from diagnosis.errors import FileReadError
from diagnosis.io.archives import extract_shapefile
from diagnosis.io.limits import MAX_ARCHIVE_MEMBERS, MAX_CELL_CHARS, MIB, check_upload_size
from diagnosis.io.reading import read_polygons, read_table

HEADER = "Nom CPTS;Code INSEE"


def _table(text: str | bytes):  # type: ignore[no-untyped-def]
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_table(data, file_format="csv")


def _zip(members: dict[str, bytes], *, unix_modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if unix_modes and name in unix_modes:
                info.create_system = 3
                info.external_attr = unix_modes[name] << 16
            zf.writestr(info, content)
    return buffer.getvalue()


# --------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../../etc/x.shp", "dossier parent"),
        ("dossier/../../x.shp", "dossier parent"),
        ("/etc/x.shp", "chemin absolu"),
        ("C:/Windows/x.shp", "chemin absolu"),
        ("..\\..\\x.shp", "dossier parent"),
    ],
)
def test_archive_paths_out_of_the_folder_are_refused(
    name: str, fragment: str, tmp_path: Path
) -> None:
    data = _zip({name: b"x", "ok.shx": b"x", "ok.dbf": b"x"})
    with pytest.raises(FileReadError, match=fragment):
        extract_shapefile(data, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing extracted


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        (stat.S_IFLNK | 0o777, "lien symbolique"),
        (stat.S_IFCHR | 0o644, "fichier spécial"),
        (stat.S_IFIFO | 0o644, "fichier spécial"),
    ],
)
def test_archive_links_and_devices_are_refused(mode: int, fragment: str, tmp_path: Path) -> None:
    data = _zip({"a.shp": b"/etc/passwd", "a.shx": b"x", "a.dbf": b"x"}, unix_modes={"a.shp": mode})
    with pytest.raises(FileReadError, match=fragment):
        extract_shapefile(data, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_zip_bomb_is_refused_before_writing(tmp_path: Path) -> None:
    data = _zip({"a.shp": b"\0" * (20 * MIB), "a.shx": b"x", "a.dbf": b"x"})
    assert len(data) < MIB
    with pytest.raises(FileReadError, match="bombe zip"):
        extract_shapefile(data, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_too_many_members_and_nested_archives_are_refused(tmp_path: Path) -> None:
    many = {f"f{i}.txt": b"x" for i in range(MAX_ARCHIVE_MEMBERS + 1)}
    with pytest.raises(FileReadError, match="limite est de"):
        extract_shapefile(_zip(many), tmp_path)
    nested = _zip({"inner.zip": _zip({"a.shp": b"x"})})
    with pytest.raises(FileReadError, match="autre archive"):
        extract_shapefile(nested, tmp_path)


def test_missing_parts_message_depends_on_the_archive_only(tmp_path: Path) -> None:
    # A sibling that exists on the server must not change the answer.
    (tmp_path / "x.shx").write_bytes(b"x")
    (tmp_path / "x.dbf").write_bytes(b"x")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileReadError) as excinfo:
        extract_shapefile(_zip({"x.shp": b"x"}), out)
    message = str(excinfo.value)
    assert ".shx, .dbf absent de l'archive" in message
    assert str(tmp_path) not in message


def test_members_are_written_under_fixed_names(tmp_path: Path) -> None:
    data = _zip(
        {
            "dossier/Mes Périmètres.SHP": b"s",
            "dossier/Mes Périmètres.shx": b"x",
            "dossier/Mes Périmètres.dbf": b"d",
            "autre/readme.txt": b"r",
        }
    )
    members = extract_shapefile(data, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["couche.dbf", "couche.shp", "couche.shx"]
    assert members.shp == tmp_path / "couche.shp"
    assert (tmp_path / "couche.dbf").read_bytes() == b"d"


def test_unreadable_zip_message_is_french_without_library_text() -> None:
    with pytest.raises(FileReadError) as excinfo:
        read_polygons(b"PK\x03\x04 not really", file_format="shapefile-zip")
    message = str(excinfo.value)
    assert "Archive zip illisible" in message
    assert "File is not a zip file" not in message
    assert "/tmp" not in message


# --------------------------------------------------------------------------
# CSV text
# --------------------------------------------------------------------------


def test_unbalanced_quote_is_reported_and_loses_no_row() -> None:
    rows = "".join(f"CPTS B;{13001 + i}\n" for i in range(39))
    table = _table(f'{HEADER}\n"CPTS A;13100\n{rows}')
    assert len(table.frame) == 40
    assert table.frame.iloc[0].tolist() == ["CPTS A", "13100"]
    assert table.frame["Code INSEE"].tolist()[1:] == [str(13001 + i) for i in range(39)]
    events = table.info["read_events"]
    assert [(e["kind"], e["row"]) for e in events] == [("unbalanced_quote", 2)]


def test_quoted_newline_keeps_file_line_numbers() -> None:
    table = _table(f'{HEADER}\n"CPTS\nA";13001\nCPTS B;13002\n"x""y";13003\n')
    assert table.frame["Nom CPTS"].tolist() == ["CPTS\nA", "CPTS B", 'x"y']
    assert table.row_numbers.tolist() == [2, 4, 5]
    (event,) = table.info["read_events"]  # the continuation line is named
    assert (event["kind"], event["row"]) == ("multiline_cell", 2)
    assert "lignes 2 à 3" in event["message"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_line_ending(newline: str) -> None:
    text = newline.join([HEADER, "CPTS A;13001", '"CPTS' + newline + 'B";13002', "CPTS C;13003"])
    table = _table(text + newline)
    assert table.frame["Code INSEE"].tolist() == ["13001", "13002", "13003"]
    assert table.frame["Nom CPTS"].tolist()[1] == "CPTS\nB"
    assert table.row_numbers.tolist() == [2, 3, 5]


def test_mixed_line_endings() -> None:
    table = _table(f"{HEADER}\r\nCPTS A;13001\rCPTS B;13002\nCPTS C;13003")
    assert table.frame["Code INSEE"].tolist() == ["13001", "13002", "13003"]
    assert table.row_numbers.tolist() == [2, 3, 4]


def test_long_cells_beyond_the_csv_module_limit() -> None:
    codes = ",".join(["13001"] * 40_000)  # 240,000 characters: a whole region's list
    table = _table(f'Nom CPTS;Communes\nCPTS A;"{codes}"\n')
    assert len(table.frame.iloc[0, 1]) == len(codes)
    too_long = "1" * (MAX_CELL_CHARS + 1)
    with pytest.raises(FileReadError, match="Cellule trop longue en ligne 3"):
        _table(f"{HEADER}\nCPTS A;13001\nCPTS B;{too_long}\n")


def test_random_bytes_are_refused_in_french() -> None:
    rng = __import__("random").Random(4)
    data = bytes(rng.randrange(256) for _ in range(20_000))
    with pytest.raises(FileReadError, match="pas un texte lisible"):
        _table(data)


def test_html_disguised_as_csv() -> None:
    with pytest.raises(FileReadError, match="page web"):
        _table("<!DOCTYPE html><html><body>Nom CPTS;Code INSEE</body></html>")


def test_mixed_encodings_are_detected_with_their_lines() -> None:
    data = (
        f"{HEADER};Commune\nCPTS Étang;13001;Arles\n".encode()
        + "CPTS Étang;13002;Aubagne\n".encode("cp1252")
        + "CPTS Étang;13003;Aureille\n".encode()
    )
    table = _table(data)
    assert table.frame["Nom CPTS"].tolist() == ["CPTS Étang"] * 3
    assert table.info["encoding"] == "UTF-8 et Windows-1252 mélangés"
    (event,) = table.info["read_events"]
    assert event["kind"] == "mixed_encoding"
    assert event["rows"] == [3]


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-16-le", b"", "UTF-16 (sans BOM)"),
        ("utf-16-be", b"", "UTF-16 (sans BOM)"),
        ("utf-16-le", b"\xff\xfe", "UTF-16"),
        ("utf-8", b"\xef\xbb\xbf", "UTF-8 avec BOM"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32"),
    ],
)
def test_encodings_and_byte_order_marks(codec: str, bom: bytes, label: str) -> None:
    table = _table(bom + f"{HEADER}\nCPTS Étang;13001\n".encode(codec))
    assert table.frame.iloc[0].tolist() == ["CPTS Étang", "13001"]
    assert table.info["encoding"] == label


def test_truncated_utf16_is_refused() -> None:
    with pytest.raises(FileReadError, match="UTF-16"):
        _table(b"\xff\xfe" + f"{HEADER}\n".encode("utf-16-le") + b"\x41")


def test_upload_size_limit_is_in_mebibytes() -> None:
    check_upload_size(49 * MIB + 500_000)  # shown as 49,5 Mo by file explorers
    with pytest.raises(FileReadError, match="50 Mo"):
        check_upload_size(50 * MIB + 1)


# Hypothesis: every data row is read as a row (with its code) or named by an event.

_NAME_CHARS = st.sampled_from([*"ab éç\"'; ,\t|=<>", "\n", "€"])


@st.composite
def _csv_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, str | None]], str]:
    sep = draw(st.sampled_from([";", ",", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    codec = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    n = draw(st.integers(min_value=1, max_value=25))
    lines = [f"Nom CPTS{sep}Code INSEE"]
    expected: list[tuple[int, str | None]] = []  # (first line, code or None for junk)
    line_no = 2
    for i in range(n):
        kind = draw(st.sampled_from(["quoted", "raw", "junk", "blank"]))
        code = f"{10000 + i}"
        name = draw(st.text(_NAME_CHARS, max_size=12))
        if kind == "quoted":
            if "\n" in name and sep in name:
                # A multi-line cell holding the separator reads as an unbalanced quote
                # (tested above); here the rows must come out whole.
                name = name.replace(sep, " ")
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=sep, lineterminator="\n").writerow([name, code])
            text = buffer.getvalue().removesuffix("\n")
            expected.append((line_no, code))
        elif kind == "raw":
            raw = name.replace("\n", " ").replace(sep, " ")
            text = f"{raw}{sep}{code}"
            expected.append((line_no, code))
        elif kind == "junk":
            text = draw(st.text(st.sampled_from(list("%$#@!?*&0123456789 ")), min_size=1))
            expected.append((line_no, None))
        else:
            text = ""
        line_no += text.count("\n") + 1
        lines.append(text.replace("\n", newline))
    data = newline.join(lines) + newline
    return data.encode(codec, errors="replace"), expected, sep


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_csv_files())
def test_every_row_is_read_or_reported(
    case: tuple[bytes, list[tuple[int, str | None]], str],
) -> None:
    data, expected, _ = case
    table = _table(data)
    reported = {e["row"] for e in table.info["read_events"]}
    cells_by_line = {
        int(n): {str(v) for v in row if v is not None}
        for n, row in zip(table.row_numbers, table.frame.itertuples(index=False), strict=True)
    }
    for line, code in expected:
        if line in reported:
            continue
        assert line in cells_by_line, (line, code)
        if code is not None:
            assert code in cells_by_line[line], (line, code, cells_by_line[line])


# --------------------------------------------------------------------------
# GeoJSON CRS
# --------------------------------------------------------------------------


def _square_geojson(x: float, y: float, size: float) -> bytes:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"nom": "CPTS A"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            ],
        }
    ).encode()


def test_geojson_in_lambert93_without_crs_is_guessed() -> None:
    layer = read_polygons(_square_geojson(830_000, 6_280_000, 5_000), file_format="geojson")
    assert "Lambert-93" in layer.info["crs_guessed"]
    minx, miny, _, _ = layer.frame.total_bounds
    assert 4 < minx < 6 and 43 < miny < 44  # near Arles


def test_geojson_out_of_any_known_range_says_so() -> None:
    with pytest.raises(FileReadError, match="ni en degrés WGS84 ni en Lambert-93"):
        read_polygons(_square_geojson(9e6, 9e6, 10), file_format="geojson")


def test_geojson_in_degrees_is_not_guessed() -> None:
    layer = read_polygons(_square_geojson(4.6, 43.6, 0.05), file_format="geojson")
    assert "crs_guessed" not in layer.info


def test_broken_geojson_message_has_no_library_text(tmp_path: Path) -> None:
    with pytest.raises(FileReadError) as excinfo:
        read_polygons(b'{"type": "FeatureCollection", "features": [', file_format="geojson")
    message = str(excinfo.value)
    assert message.startswith("Couche géographique illisible")
    assert "GDAL" not in message and "/tmp" not in message and os.sep + "tmp" not in message


def test_polygon_limits_refuse_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _square_geojson(4.6, 43.6, 0.05)
    monkeypatch.setattr(polygon_reading, "MAX_VERTICES", 4)
    with pytest.raises(FileReadError, match="Couche trop détaillée : 5 sommets"):
        read_polygons(data, file_format="geojson")
    monkeypatch.setattr(polygon_reading, "MAX_VERTICES", 1000)
    monkeypatch.setattr(polygon_reading, "MAX_POLYGONS", 0)
    with pytest.raises(FileReadError, match="Couche trop grande : 1 objets"):
        read_polygons(data, file_format="geojson")
