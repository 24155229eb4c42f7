"""Importer step for tables (CSV, Excel): one claim per (perimeter, value) read.

A claim is a row of the file saying that a perimeter contains a commune
(code or name, not yet resolved). Long tables give one claim per row, wide
tables one per item of a list cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diagnosis.core.communes import written_text
from diagnosis.core.model import Report
from diagnosis.core.textnorm import label_key
from diagnosis.io.reading import ROLE_LABELS_FR, PerimeterFileError, RawTable, split_list_cell

_TRUE_LABELS = {"oui", "o", "yes", "y", "x", "1", "vrai", "true", "infra", "partage", "partagee"}


@dataclass
class Claims:
    """Claims of a table, the mode detected (``long`` or ``wide``) and the columns used."""

    #: row, pkey, pname, pid, status_label, date, split, dep, token, given_name, and
    #: share (the cell of the declared share) when the table has a share column.
    frame: pd.DataFrame
    mode: str
    columns: dict[str, str]


def cell_text(value: object) -> str | None:
    """A cell as stripped text (None when empty; integral floats without decimals)."""
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _is_true(value: object) -> bool:
    text = cell_text(value)
    return text is not None and label_key(text) in _TRUE_LABELS


def claims_from_table(
    table: RawTable, columns: dict[str, str], report: Report, *, default_name: str
) -> Claims:
    """Claims of a long or wide table; raises when no commune column is found."""
    frame, rows = _without_blank_rows(table, report)
    mode, code_col, name_col = _commune_columns(frame, columns, list(table.frame.columns))
    cells = _row_cells(frame, columns, report, default_name=default_name)
    given_names = (
        _column_cells(frame, columns, "commune_name")
        if mode == "long" and code_col is not None
        else None
    )
    id_col = columns.get("perimeter_id")

    records: list[tuple[Any, ...]] = []
    shares: list[str | None] = []  # the share cell of each claim (role ``share``)
    source_col = code_col if code_col is not None else name_col
    assert source_col is not None
    values = frame[source_col].tolist()
    for i, value in enumerate(values):
        row = int(rows[i])
        if mode == "wide":
            tokens: list[object] = list(split_list_cell(value))
        else:
            tokens = [value] if cell_text(value) is not None else []
        pname, pid = cells["perimeter"][i], cells["perimeter_id"][i]
        if pname is None and pid is None:
            written = ", ".join(map(written_text, tokens))
            report.add(
                "missing_perimeter",
                "Ligne sans nom ni identifiant de périmètre"
                + (f" (valeur : {written})" if tokens else "")
                + ".",
                row=row,
                code=written or None,
            )
            continue
        pkey = f"id:{pid}" if id_col is not None and pid is not None else f"name:{label_key(pname)}"
        status, date, dep = cells["status"][i], cells["date"][i], cells["department"][i]
        if not tokens:
            report.add(
                "missing_code",
                "Ligne sans commune : elle déclare le périmètre sans lui ajouter de commune.",
                row=row,
                perimeter=pname or pid,
            )
            records.append((row, pkey, pname, pid, status, date, False, dep, None, None))
            shares.append(None)
            continue
        split = cells["split"][i]
        given = given_names[i] if given_names is not None else None
        for token in tokens:
            records.append((row, pkey, pname, pid, status, date, split, dep, token, given))
            shares.append(cells["share"][i])
    frame = claims_frame(records)
    if "share" in columns:
        frame["share"] = pd.Series(shares, index=frame.index, dtype=object)
    return Claims(frame=frame, mode=mode, columns=columns)


def _without_blank_rows(table: RawTable, report: Report) -> tuple[pd.DataFrame, np.ndarray]:
    """The table's cells and row numbers without the entirely blank rows (reported)."""
    frame = table.frame
    rows = table.row_numbers
    empty = frame.isna() | frame.apply(lambda c: c.astype(str).str.strip().eq(""))
    blank = empty.all(axis=1).to_numpy()
    if blank.any():
        report.add(
            "blank_rows",
            f"{int(blank.sum())} ligne(s) entièrement vide(s) ignorée(s) "
            f"(lignes {short_list(rows[blank].tolist())}).",
        )
    return frame[~blank], rows[~blank]


def _commune_columns(
    frame: pd.DataFrame, columns: Mapping[str, str], present: Sequence[object]
) -> tuple[str, str | None, str | None]:
    """The mode (``long`` or ``wide``), the code column and the name column.

    A wide table lists several communes in one cell; a sample of the commune
    column is enough to tell it from a one-commune-per-row column.
    """
    code_col = columns.get("codes") or columns.get("code")
    name_col = columns.get("commune_name")
    if code_col is None and name_col is None:
        raise PerimeterFileError(
            "Aucune colonne de communes reconnue. Colonnes attendues : "
            f"« {ROLE_LABELS_FR['code']} » (code INSEE, codgeo, insee, code_commune, depcom), "
            "une liste de codes (communes, codes insee) ou le nom de la commune. "
            "Colonnes présentes : " + ", ".join(repr(c) for c in present)
        )
    if columns.get("codes"):
        return "wide", code_col, name_col
    list_col = code_col or name_col
    assert list_col is not None
    cells = frame[list_col].head(2000).map(cell_text).dropna()
    multi = cells.map(lambda v: len(split_list_cell(v)) > 1)
    if len(cells) and multi.mean() >= 0.2:
        if code_col is not None:
            return "wide", list_col, name_col
        return "wide", None, list_col
    return "long", code_col, name_col


def _column_cells(frame: pd.DataFrame, columns: Mapping[str, str], role: str) -> list[Any]:
    """The cells of the column playing ``role`` as text (None everywhere when absent)."""
    name = columns.get(role)
    if name is None:
        return [None] * len(frame)
    return [cell_text(v) for v in frame[name].tolist()]


def _row_cells(
    frame: pd.DataFrame, columns: Mapping[str, str], report: Report, *, default_name: str
) -> dict[str, list[Any]]:
    """Per row: perimeter, perimeter_id, status, date, split, department, share."""
    cells = {
        role: _column_cells(frame, columns, role)
        for role in ("perimeter", "perimeter_id", "status", "date", "share")
    }
    if columns.get("perimeter") is None and columns.get("perimeter_id") is None:
        report.add(
            "single_perimeter",
            f"Pas de colonne de nom de périmètre : toutes les communes forment un seul "
            f"périmètre, nommé d'après le fichier (« {default_name} »).",
        )
        cells["perimeter"] = [default_name] * len(frame)
    cells["split"] = [
        _is_true(v)
        for v in (frame[columns["split"]] if "split" in columns else [None] * len(frame))
    ]
    cells["department"] = [
        (d.upper().zfill(2) if d and len(d) <= 3 else d)
        for d in _column_cells(frame, columns, "department")
    ]
    return cells


CLAIM_COLUMNS = [
    "row",
    "pkey",
    "pname",
    "pid",
    "status_label",
    "date",
    "split",
    "dep",
    "token",
    "given_name",
]


def claims_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Claims as a frame with :data:`CLAIM_COLUMNS`."""
    # dtype=object keeps None as None (pandas would turn it into NaN in text columns).
    return pd.DataFrame(records, columns=CLAIM_COLUMNS, dtype=object)


def short_list(values: Sequence[Any], limit: int = 12) -> str:
    """The first ``limit`` values, then the total, for report messages."""
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f"… ({len(values)} au total)" if len(values) > limit else "")
