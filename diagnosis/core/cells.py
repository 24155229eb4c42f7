"""Cells of users' text made safe for spreadsheets (formula injection).

A text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel and LibreOffice. Every output a person may open
in a spreadsheet (CSV, XLSX, GeoPackage, GeoJSON) protects its text cells with
:func:`protect_text` (an apostrophe before the text), once, at the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import geopandas as gpd
import pandas as pd

__all__ = ["map_text_columns", "protect_frame", "protect_text"]

_Frame = TypeVar("_Frame", bound=pd.DataFrame)

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def protect_text(value: object) -> object:
    """Prefix a text that a spreadsheet would read as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def map_text_columns(frame: _Frame, func: Callable[[object], object]) -> _Frame:
    """A copy of ``frame`` with ``func`` applied to the cells of its text columns.

    Columns are taken by position: tables shown to people may repeat a label.
    """
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for i, label in enumerate(out.columns):
        values = out.iloc[:, i]
        if label == geometry:
            continue
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            out.isetitem(i, values.map(func).array)
    return out


def protect_frame(frame: _Frame) -> _Frame:
    """A copy of ``frame`` whose text cells are protected with :func:`protect_text`."""
    return map_text_columns(frame, protect_text)
