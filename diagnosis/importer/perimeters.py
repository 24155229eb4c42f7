"""Import CPTS perimeters from the files users really hold, with a complete report.

A perimeter is declared as a list of communes. The importer reads

- long tables (CSV, XLSX, ODS; one row per perimeter and commune),
- wide tables (one row per perimeter, codes or names listed in one cell),
- polygons (GeoJSON, GeoPackage, zipped Shapefile), assigning a unit to a
  perimeter when the share of its area inside reaches ``min_area_share``,
- the project's own export (:func:`diagnosis.importer.perimeter_csv.export_perimeters_csv`),

and returns one validated table with an import report listing every
normalisation, every rejected value and why. Nothing is dropped silently.

The importer's steps: a claims reader per format (:data:`IMPORT_FORMATS`:
:mod:`diagnosis.importer.table`, :mod:`diagnosis.importer.polygons`) turns the
file into claims (perimeter, value as written); :mod:`diagnosis.importer.finish`
resolves them with :mod:`diagnosis.core.communes` into a
:class:`diagnosis.core.model.PerimeterImport`. A new format is one claims reader
and one entry of :data:`IMPORT_FORMATS`. The analysis never imports this
module: it reads :mod:`diagnosis.core.model` only.

Examples
--------
>>> result = import_perimeters("perimetres.xlsx")  # doctest: +SKIP
>>> result.perimeters[["perimeter_id", "name", "status", "n_units"]]  # doctest: +SKIP
>>> result.report_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from diagnosis.core.communes import commune_lookups
from diagnosis.core.model import PerimeterImport, Report
from diagnosis.core.referential import Referential, load_referential
from diagnosis.importer.finish import finish_claims
from diagnosis.importer.polygons import claims_from_polygons
from diagnosis.importer.table import claims_from_table
from diagnosis.io.limits import (
    MAX_UPLOAD_MB,
    MIB,
    check_input_path,
    check_upload_size,
    gc_paused,
)
from diagnosis.io.reading import (
    ROLE_LABELS_FR,
    FileFormat,
    detect_format,
    find_columns,
    read_polygons,
    read_table,
)

__all__ = ["IMPORT_FORMATS", "import_perimeters"]

# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def import_perimeters(
    source: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    referential: Referential | None = None,
    region: str | None = None,
    department: str | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    min_area_share: float = 0.5,
    splits: Mapping[str, Sequence[str]] | None = None,
    reference_date: dt.date | None = None,
) -> PerimeterImport:
    """Import a perimeter file into a validated table and a complete report.

    Parameters
    ----------
    source
        Path of the file, its bytes, or a binary file object.
    filename
        Name of the file (needed with bytes or file objects to know the format).
    referential
        National referential used to resolve codes (default: the embedded one).
    region, department
        Optional view: units outside it are kept (a perimeter is evaluated
        whole) and said in one neutral report line (``outside_scope``, an
        information); names are resolved preferring communes of the view.
    columns
        Column mapping that overrides detection, role → column name. Roles:
        ``code``, ``codes`` (list in one cell), ``commune_name``, ``perimeter``,
        ``perimeter_id``, ``status``, ``date``, ``split``, ``department``,
        ``share`` (the declared share of a shared commune, see
        :mod:`diagnosis.importer.shares`).
    sheet
        Sheet of a workbook (default: the sheet whose header is recognised best).
    layer
        Layer of a GeoPackage (default: the first polygon layer).
    min_area_share
        Polygons: minimum share (0 to 1) of a unit's area inside a perimeter to
        assign it (default 0.5).
    splits
        Declared infra-communal splits: commune code → perimeter names or ids
        that deliberately share it (in addition to a ``split`` column).
    reference_date
        The date the listing describes (its as-of date in the registry); today
        when None. A health project filed more than two months before it is
        deemed validated (column ``deemed_validated``).

    Returns
    -------
    PerimeterImport
        Perimeters, members, splits, report and what was detected.

    Raises
    ------
    PerimeterFileError
        When the file cannot be read at all; the message says what was expected.
    """
    if not 0 < min_area_share <= 1:
        raise ValueError(f"min_area_share doit être entre 0 et 1 (reçu {min_area_share}).")
    data, name = _read_bytes(source, filename)
    ref = referential if referential is not None else load_referential()
    lookups = commune_lookups(ref)
    scope_units = _scope_units(ref, region=region, department=department)
    report = Report()
    file_format = detect_format(name)
    source_info: dict[str, Any] = {"filename": name, "format": file_format}
    options = _ReadOptions(
        referential=ref,
        columns=columns,
        sheet=sheet,
        layer=layer,
        min_area_share=min_area_share,
        scope_units=scope_units,
        default_name=Path(name).stem,
    )
    with gc_paused():
        claims = IMPORT_FORMATS[file_format](data, file_format, options, report, source_info)
        del data
        result = finish_claims(
            claims,
            lookups,
            scope_units,
            report,
            splits=splits,
            scope_label=_scope_label(ref, region, department),
            has_id=("perimeter_id" in source_info["columns"]),
            reference_date=reference_date,
        )
    result.source = source_info
    return result


# --------------------------------------------------------------------------
# Import formats: a claims reader per file format
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReadOptions:
    """What a claims reader may need besides the bytes of the file."""

    referential: Referential
    columns: Mapping[str, str] | None
    sheet: str | int | None
    layer: str | None
    min_area_share: float
    scope_units: frozenset[str] | None
    default_name: str


#: A claims reader: (bytes, file format, options, report, source info) → claims.
#: It fills the source info (at least ``columns``, the role → column mapping,
#: and ``mode``) and returns one claim per (perimeter, value) read, with the
#: columns of :data:`diagnosis.importer.table.CLAIM_COLUMNS`.
ClaimsReader = Callable[[bytes, FileFormat, _ReadOptions, Report, dict[str, Any]], pd.DataFrame]


def _table_claims(
    data: bytes,
    file_format: FileFormat,
    options: _ReadOptions,
    report: Report,
    info: dict[str, Any],
) -> pd.DataFrame:
    wanted = list((options.columns or {}).values())
    table = read_table(data, file_format=file_format, sheet=options.sheet, wanted=wanted)
    info.update(table.info)
    info["header_row"] = table.header_row
    mapping = find_columns(list(table.frame.columns), options.columns)
    info["columns"] = mapping
    _report_file_read(report, info)
    claims = claims_from_table(table, mapping, report, default_name=options.default_name)
    info["mode"] = claims.mode
    return claims.frame


def _polygon_claims(
    data: bytes,
    file_format: FileFormat,
    options: _ReadOptions,
    report: Report,
    info: dict[str, Any],
) -> pd.DataFrame:
    layer_data = read_polygons(data, file_format=file_format, layer=options.layer)
    info.update(layer_data.info)
    attributes = [c for c in layer_data.frame.columns if c != "geometry"]
    mapping = find_columns(attributes, options.columns)
    info["columns"] = mapping
    info["mode"] = "polygons"
    _report_file_read(report, info)
    return claims_from_polygons(
        layer_data,
        mapping,
        options.referential,
        report,
        min_area_share=options.min_area_share,
        scope_units=options.scope_units,
    )


#: The import formats, by the format :func:`diagnosis.io.reading.detect_format`
#: gives a file name. A new format is one claims reader and one entry here
#: (plus its extension in ``diagnosis.io.reading``).
IMPORT_FORMATS: dict[FileFormat, ClaimsReader] = {
    "csv": _table_claims,
    "excel": _table_claims,
    "geojson": _polygon_claims,
    "gpkg": _polygon_claims,
    "shapefile-zip": _polygon_claims,
}


def _read_bytes(source: str | Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        check_input_path(path)
        detect_format(filename or path.name)  # the format is checked before reading
        return path.read_bytes(), filename or path.name
    if isinstance(source, bytes):
        if filename is None:
            raise ValueError("filename est nécessaire pour lire des octets (format du fichier).")
        return source, filename
    data = source.read(MAX_UPLOAD_MB * MIB + 1)  # never more than the limit into memory
    check_upload_size(len(data))
    name = filename or getattr(source, "name", None)
    if name is None:
        raise ValueError("filename est nécessaire pour lire un flux (format du fichier).")
    return data, str(name)


def _scope_units(
    ref: Referential, *, region: str | None, department: str | None
) -> frozenset[str] | None:
    if region and department:
        raise ValueError("Choisissez une région ou un département, pas les deux.")
    if region:
        return frozenset(load_referential(region=region, directory=ref.directory).units.index)
    if department:
        return frozenset(
            load_referential(department=department, directory=ref.directory).units.index
        )
    return None


def _scope_label(ref: Referential, region: str | None, department: str | None) -> str:
    if region:
        return load_referential(region=region, directory=ref.directory).scope_label
    if department:
        return load_referential(department=department, directory=ref.directory).scope_label
    return "France entière"


def _report_file_read(report: Report, info: Mapping[str, Any]) -> None:
    parts = [f"Format {info['format']}"]
    if info.get("encoding"):
        parts.append(f"encodage {info['encoding']}")
    if info.get("separator"):
        parts.append(f"séparateur {info['separator']}")
    if info.get("sheet"):
        parts.append(f"feuille « {info['sheet']} »")
    if info.get("layer"):
        parts.append(f"couche « {info['layer']} »")
    if info.get("header_row"):
        parts.append(f"en-tête en ligne {info['header_row']}")
    report.add("file_read", ", ".join(parts) + ".")
    cols = info.get("columns", {})
    if cols:
        report.add(
            "columns_detected",
            "Colonnes utilisées : "
            + "; ".join(f"{ROLE_LABELS_FR.get(r, r)} ← « {c} »" for r, c in cols.items())
            + ".",
        )
    if info.get("crs_guessed"):
        report.add("crs_guessed", f"{info['crs_guessed']}.")
    for event in info.get("read_events", ()):
        report.add(event["kind"], event["message"], row=event.get("row"))
    if info.get("encoding_repaired"):
        report.add(
            "encoding_repaired",
            "Textes en UTF-8 lus comme Latin-1 (pas de fichier .cpg) : réencodés pour les "
            "attributs " + ", ".join(f"« {c} »" for c in info["encoding_repaired"]) + ".",
        )
