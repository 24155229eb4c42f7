"""Reading users' files: tables (CSV, XLSX, ODS) and polygon layers.

This module is the entry of reading: it detects the format and reads
workbooks; text tables are read by :mod:`diagnosis.io.text`, polygon layers
by :mod:`diagnosis.io.polygons`, column roles found by
:mod:`diagnosis.io.columns`. A new file format is one entry in
:mod:`diagnosis.io.formats` and one reader here.

Encodings (UTF-8, UTF-8 with BOM, UTF-16, Windows-1252/Latin-1), separators
(``,`` ``;`` tab ``|``), header rows that are not the first row, and sheets are
detected; what was detected is returned so that the import report can say it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import python_calamine

from diagnosis.core.textnorm import clean_code_token, looks_like_code
from diagnosis.errors import PerimeterFileError
from diagnosis.io.archives import check_workbook
from diagnosis.io.columns import ROLE_LABELS_FR, find_columns, header_score
from diagnosis.io.formats import (
    EXPECTED_FORMATS_FR,
    POLYGON_EXTENSIONS,
    TABLE_EXTENSIONS,
    FileFormat,
)
from diagnosis.io.limits import (
    MIB,
    check_cells,
    check_upload_size,
)
from diagnosis.io.polygons import PolygonLayer, read_polygons
from diagnosis.io.text import (
    HeaderScore,
    RawTable,
    decode_text,
    detect_separator,
    read_csv_table,
    rows_to_table,
)

# The public face of reading: the parts live in formats, columns, read_text and read_polygons.
__all__ = [
    "EXPECTED_FORMATS_FR",
    "ROLE_LABELS_FR",
    "FileFormat",
    "PerimeterFileError",
    "PolygonLayer",
    "RawTable",
    "decode_text",
    "detect_format",
    "detect_separator",
    "find_columns",
    "read_polygons",
    "read_table",
    "split_list_cell",
]


logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


def detect_format(filename: str) -> FileFormat:
    """Format of a file from its extension (case-insensitive)."""
    suffix = Path(filename).suffix.lower()
    if suffix in TABLE_EXTENSIONS:
        return TABLE_EXTENSIONS[suffix]  # type: ignore[return-value]
    if suffix in POLYGON_EXTENSIONS:
        return POLYGON_EXTENSIONS[suffix]  # type: ignore[return-value]
    raise PerimeterFileError(
        f"Format de fichier non reconnu ({suffix or 'sans extension'}) : attendu "
        + EXPECTED_FORMATS_FR
        + " (extensions .csv, .txt, .xlsx, .xls, .ods, .geojson, .gpkg, .zip)."
    )


#: Workbooks larger than this once uncompressed get their sheets measured before reading.
_WORKBOOK_CHECKED_MB = 20


def _check_workbook_cells(data: bytes) -> None:
    """Refuse a workbook whose sheets hold too many cells, before turning them into Python."""
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            check_cells(sheet.total_height, sheet.total_width)
    except PerimeterFileError:
        raise
    except Exception as exc:  # calamine's own errors: the reader below refuses the file
        logger.info("workbook not measured: %s", exc)


def _read_excel(
    data: bytes,
    *,
    sheet: str | int | None,
    wanted: Sequence[str] = (),
    rate: HeaderScore | None = None,
) -> RawTable:
    if check_workbook(data) > _WORKBOOK_CHECKED_MB * MIB:
        _check_workbook_cells(data)
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine raises its own error types
        raise PerimeterFileError(
            "Classeur illisible (fichier abîmé, protégé ou d'un autre format). Attendu : un "
            "classeur Excel (.xlsx, .xls) ou OpenDocument (.ods) non protégé par mot de passe.",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    if not sheets:
        raise PerimeterFileError("Le classeur ne contient aucune feuille.")
    names = list(sheets)
    if sheet is not None:
        chosen = names[sheet] if isinstance(sheet, int) and sheet < len(names) else sheet
        if chosen not in sheets:
            raise PerimeterFileError(
                f"Feuille {sheet!r} introuvable. Feuilles du classeur : " + ", ".join(names)
            )
        candidates = [str(chosen)]
    else:
        candidates = names

    def score(name: str) -> int:
        frame = sheets[name]
        head = frame.head(30).to_numpy(dtype=object).tolist()
        return max((rate(r) if rate else header_score(r, wanted) for r in head), default=0)

    best = max(candidates, key=score)
    frame = sheets[best]
    rows = [
        [None if (isinstance(v, float) and np.isnan(v)) else v for v in r]
        for r in frame.to_numpy(dtype=object).tolist()
    ]
    return rows_to_table(
        rows,
        info={"format": "excel", "sheet": str(best), "sheets": names},
        wanted=wanted,
        score=rate,
    )


def read_table(
    data: bytes,
    *,
    file_format: FileFormat,
    sheet: str | int | None = None,
    wanted: Sequence[str] = (),
    header_score: HeaderScore | None = None,
) -> RawTable:
    """Read a CSV or spreadsheet into a :class:`RawTable`.

    ``wanted`` are column names given by the user: the header is the row that
    holds them all. ``header_score`` rates a row as the header of another kind
    of table than a perimeter file (a contracts file, say); by default the
    header is the row naming the most columns a perimeter file has.
    """
    check_upload_size(len(data))
    if file_format == "csv":
        return read_csv_table(data, wanted=wanted, score=header_score)
    return _read_excel(data, sheet=sheet, wanted=wanted, rate=header_score)


_LIST_SEPARATORS = re.compile(r"[,;|\n\r\t]+")
#: A code followed by one or two decimals ("13004,5"): a number, never a list of codes.
_DECIMAL_NUMBER = re.compile(r"^\s*\d{4,5}[,.]\d{1,2}\s*$")


def split_list_cell(value: object) -> list[str]:
    """Split a cell listing several communes, by codes or by names.

    Pieces are separated by ``,`` ``;`` ``|`` or new lines; a piece made only
    of code-like tokens separated by spaces is split on spaces too (names
    keep their spaces).

    Examples
    --------
    >>> split_list_cell("13001, 13002;13003")
    ['13001', '13002', '13003']
    >>> split_list_cell("13001 13002 13003")
    ['13001', '13002', '13003']
    >>> split_list_cell("Aix-en-Provence; Saint Rémy de Provence")
    ['Aix-en-Provence', 'Saint Rémy de Provence']
    """
    if value is None:
        return []
    if isinstance(value, float):
        if np.isnan(value):
            return []
        return [str(int(value))] if value.is_integer() else [str(value)]
    if isinstance(value, int):
        return [str(value)]
    if _DECIMAL_NUMBER.match(str(value)):
        return [str(value).strip()]  # a number with a decimal comma, not a list (reported later)
    out: list[str] = []
    for raw_piece in _LIST_SEPARATORS.split(str(value)):
        piece = raw_piece.strip()
        if not piece:
            continue
        tokens = piece.split()
        if len(tokens) > 1 and all(looks_like_code(clean_code_token(t)) for t in tokens):
            out.extend(tokens)
        else:
            out.append(piece)
    return out
