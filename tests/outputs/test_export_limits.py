"""Hardening of the command line's checks and of the exports (Excel limits, formulas)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from diagnosis.core.communes import resolve_codes
from diagnosis.core.referential import Referential
from diagnosis.errors import PerimeterFileError
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.io import limits
from diagnosis.io.limits import MIB, check_input_path
from diagnosis.io.reading import _check_workbook_cells
from diagnosis.outputs import export
from diagnosis.outputs.export import excel_bytes, excel_overflow, geojson_bytes

SMALL = "Nom CPTS;Code INSEE\n=CPTS A;13004\n=CPTS A;13097\nCPTS B;13108\n"


def _diagnose(path: Path, out: Path) -> int:
    return main(
        [
            "diagnose",
            "--perimeters",
            str(path),
            "--department",
            "13",
            "--out",
            str(out),
            "--no-progress",
        ]
    )


@pytest.mark.parametrize("kind", ["missing", "directory", "device", "fifo", "extension", "size"])
def test_cli_checks_the_path_before_reading(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "secret-folder"
    folder.mkdir()
    path = {
        "missing": folder / "absent.csv",
        "directory": folder / "dossier.csv",
        "device": Path("/dev/zero"),
        "fifo": folder / "tube.csv",
        "extension": folder / "perimetres.exe",
        "size": folder / "enorme.csv",
    }[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
    elif kind == "extension":
        path.write_text(SMALL, encoding="utf-8")
    elif kind == "size":
        with path.open("wb") as handle:
            handle.truncate(50 * MIB + 1)  # sparse: nothing written
    assert _diagnose(path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : fichier de périmètres refusé.")
    assert "Traceback" not in err and str(folder) not in err
    assert {
        "missing": "introuvable",
        "directory": "dossier",
        "device": "ordinaire",
        "fifo": "ordinaire",
        "extension": "non reconnu",
        "size": "50 Mo",
    }[kind] in err
    assert not (tmp_path / "out").exists()


def test_a_file_of_49_mebibytes_passes_the_size_check(tmp_path: Path) -> None:
    path = tmp_path / "gros.csv"
    with path.open("wb") as handle:
        handle.truncate(49 * MIB + 900_000)  # "49,9 Mo" in a file explorer
    check_input_path(path)


def test_excel_row_limit_keeps_the_other_outputs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    real_referential: Referential,
) -> None:
    del real_referential
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 3)  # a sheet of 2 rows under the header
    path = tmp_path / "perimetres.csv"
    path.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "out"
    assert _diagnose(path, out) == 0
    printed = capsys.readouterr().out
    assert "Remarque : Tableau trop long pour Excel" in printed
    white = pd.read_csv(out / "white_zones.csv", dtype=str)
    assert len(white) > 2  # the CSV is whole
    assert (out / "diagnosis.gpkg").exists()
    workbook = openpyxl.load_workbook(out / "diagnosis.xlsx")
    note = workbook["Zones blanches"]["A2"].value
    assert "white_zones.csv" in note and str(len(white)) in note.replace("\u202f", "")


def test_excel_cells_longer_than_excel_are_cut_with_a_pointer() -> None:
    frame = pd.DataFrame({"codes": ["1" * 40_000, "court"]})
    assert excel_overflow({"a.csv": frame}) == []
    workbook = openpyxl.load_workbook(io.BytesIO(excel_bytes({"a.csv": frame})))
    cell = workbook["a"]["A2"].value
    assert len(cell) <= 32_767 and cell.endswith("(tronqué : texte complet dans « a.csv »)")
    assert workbook["a"]["A3"].value == "court"


def test_geojson_export_protects_text_attributes() -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["=HYPERLINK(1)", "CPTS A"], "status": ["@x", "aci_signe"]},
        geometry=[shapely.Point(4.6, 43.6), shapely.Point(4.7, 43.7)],
        crs=4326,
    )
    text = geojson_bytes(frame).decode()
    assert "'=HYPERLINK(1)" in text and "'@x" in text and '"CPTS A"' in text
    assert frame["name"].iloc[0] == "=HYPERLINK(1)"  # the input is not changed


def test_workbook_cells_are_measured_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for i in range(6):
        sheet.append(["CPTS A", f"{13001 + i}"])
    workbook.save(buffer)
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    with pytest.raises(PerimeterFileError, match="Tableau trop grand"):
        _check_workbook_cells(buffer.getvalue())


@pytest.mark.referential
def test_unbalanced_quote_through_the_importer(real_referential: Referential) -> None:
    rows = "".join(f"CPTS B;{13001 + i}\n" for i in range(39))
    result = import_perimeters(
        f'Nom CPTS;Code INSEE\n"CPTS A;13004\n{rows}'.encode(),
        filename="guillemet.csv",
        referential=real_referential,
    )
    report = result.report
    event = report[report["kind"] == "unbalanced_quote"]
    assert event["row"].tolist() == [2]
    assert event["severity"].tolist() == ["warning"]
    kept = {int(r) for rows_ in result.members["source_rows"] for r in rows_}
    reported = {int(r) for r in report["row"].dropna()}
    assert set(range(2, 42)) <= kept | reported
    assert set(result.perimeters["name"]) == {"CPTS A", "CPTS B"}


@pytest.mark.referential
def test_float_code_is_rejected_not_turned_into_another_commune(
    real_referential: Referential,
) -> None:
    result = import_perimeters(
        b"Nom CPTS;Code INSEE\nCPTS A;1002.7\nCPTS A;13004\n",
        filename="codes.csv",
        referential=real_referential,
    )
    assert "10027" not in set(result.members["code"])
    event = result.report[result.report["kind"] == "non_integer_code"]
    assert event["row"].tolist() == [2]
    assert event["severity"].tolist() == ["rejected"]
    assert "unknown_code" not in set(result.report["kind"])


# Hypothesis, through the whole importer: every data row is kept or named by a report line.

_CODES = ["13004", "13097", "13108", "2A004", "1001", "99999", "1002.7", "Arles", "", "x;y"]
_NAME = st.text(st.sampled_from([*"ab é\"';,\t", "\n", "\r"]), max_size=8)


@st.composite
def _perimeter_files(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    sep = draw(st.sampled_from([";", ",", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    codec = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    lines, expected, line_no = [f"Nom CPTS{sep}Code INSEE{sep}Statut"], set(), 2
    for _ in range(draw(st.integers(1, 20))):
        cells = [draw(_NAME), draw(st.sampled_from(_CODES)), draw(st.sampled_from(["ACI", ""]))]
        if draw(st.booleans()):  # written by a spreadsheet: quoted when needed
            buffer = io.StringIO()
            # "\r\n" as terminator: a cell holding either character gets quoted.
            csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerow(cells)
            text = buffer.getvalue().removesuffix("\r\n")
        else:  # typed by hand: no quoting at all
            text = sep.join(c.replace("\n", " ").replace("\r", " ") for c in cells)
        if text.replace(sep, "").replace('"', "").strip():
            expected.add(line_no)  # rows of separators and spaces only are blank rows
        line_no += text.count("\n") + text.count("\r") - text.count("\r\n") + 1
        lines.append(text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", newline))
    data = (newline.join(lines) + newline).encode(codec, errors="replace")
    return data, expected


@pytest.mark.referential
def test_every_data_row_is_imported_or_reported(real_referential: Referential) -> None:
    # The referential stays out of Hypothesis' examples (their repr would be huge).
    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=_perimeter_files())
    def check(case: tuple[bytes, set[int]]) -> None:
        data, expected = case
        try:
            result = import_perimeters(data, filename="liste.csv", referential=real_referential)
        except PerimeterFileError as exc:
            # Only a file whose header cannot be found may be refused; it says so.
            assert "en-tête" in str(exc) or "vide" in str(exc), str(exc)
            return
        kept = {int(r) for rows_ in result.members["source_rows"] for r in rows_}
        kept |= {int(r) for rows_ in result.perimeters["source_rows"] for r in rows_}
        reported = {int(r) for r in result.report["row"].dropna()}
        lost = expected - kept - reported
        assert not lost, (sorted(lost), result.report[["kind", "row"]].to_string())

    check()


@pytest.mark.referential
def test_float_codes_in_the_vectorised_resolution(real_referential: Referential) -> None:
    values = pd.Series(["1002.7", 1002.7, "13004,5", 1001.0, "13004"], dtype=object)
    table = resolve_codes(values, referential=real_referential).set_index("written")
    for value in ("1002.7", 1002.7, "13004,5"):
        assert table.at[value, "status"] == "unknown"
        assert [kind for kind, _ in table.at[value, "events"]] == ["non_integer_code"]
    assert table.at[1001.0, "code"] == "01001"
    assert table.at["13004", "status"] == "unit"
