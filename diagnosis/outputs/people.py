"""Tables for people: French headers, values and numbers (screen, workbooks, people's CSV).

Whatever a person reads as a table (dashboard tables, Excel workbooks, fiches,
people's CSV) goes through :func:`for_people`, which renames the columns it
knows (:data:`~diagnosis.outputs.labels.COLUMN_LABELS`) and turns values into
French text: ``oui``/``non``, status and report labels, numbers with French
separators (``1 234 567``, ``98,1 %``, ``4,6 km``), an empty cell for a
missing value (never ``nan`` or ``None``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from diagnosis.core.cells import protect_text
from diagnosis.core.numbers import NNBSP, finite_or_none, fr_number, fr_share
from diagnosis.outputs.labels import (
    COLUMN_LABELS,
    LEVEL_LABELS,
    PROPOSAL_KIND_LABELS,
    REPORT_KIND_LABELS,
    SEVERITY_LABELS,
    VIA_LABELS,
)

__all__ = [
    "NUMBER_STYLES_ATTR",
    "NumberStyle",
    "for_people",
    "number_style",
    "people_csv",
    "with_names",
]


#: Columns shown as percentages (values are shares between 0 and 1).
SHARE_COLUMNS = frozenset(
    {
        "share_covered",
        "share_white",
        "share_included",
        "share_units_covered",
        "share_a",
        "share_under_threshold",
        "share",
    }
)
#: Decimals shown for measured columns (distances and areas, densities, lengths in metres).
DECIMAL_COLUMNS: dict[str, int] = {
    "area_km2": 1,
    "area_shared_km2": 1,
    "density_per_km2": 1,
    "distance_a_km": 1,
    "distance_b_km": 1,
    "border_m": 0,
    "compactness": 2,
    "apl_mg_mean": 2,
    "threshold": 1,  # the DREES APL threshold ("2,5 consultations")
}
#: Per-party columns of a dispute (parties A, B, C… then AA…): a share, a distance in km.
_PARTY_SHARE = re.compile(r"share_[a-z]{1,2}")
_PARTY_DISTANCE = re.compile(r"distance_[a-z]{1,2}_km")


def _is_share(column: str) -> bool:
    return column in SHARE_COLUMNS or _PARTY_SHARE.fullmatch(column) is not None


def _decimals(column: str) -> int | None:
    if column in DECIMAL_COLUMNS:
        return DECIMAL_COLUMNS[column]
    return 1 if _PARTY_DISTANCE.fullmatch(column) else None


#: Columns holding stage keys.
STATUS_COLUMNS = frozenset({"status", "status_min", "status_a", "status_b"})
#: Columns holding stage keys joined with " | " (one per perimeter of an overlap).
STATUS_LIST_COLUMNS = frozenset({"statuses"})
#: Columns holding euros.
EURO_COLUMNS = frozenset({"funding_max_eur"})


@dataclass(frozen=True)
class NumberStyle:
    """How a numeric column is shown to people: its decimals, and whether it is a share.

    A share (0 to 1) is shown as a percentage: ``digits`` are those of the
    percentage (one for "23,9 %"), so the fraction keeps ``digits + 2``.
    """

    digits: int
    percent: bool = False

    def rounded(self, value: float) -> float:
        """``value`` rounded to what is shown (a share stays a fraction)."""
        return round(value, self.digits + (2 if self.percent else 0))

    @property
    def excel_format(self) -> str | None:
        """The Excel number format showing the value as on screen (None: Excel's default)."""
        decimals = "." + "0" * self.digits if self.digits else ""
        if self.percent:
            return f"0{decimals}%"
        return f"#,##0{decimals}" if self.digits else None


#: Key of ``DataFrame.attrs`` where :func:`for_people` (``as_text=False``) leaves the
#: :class:`NumberStyle` of each numeric column, by French header, for the writers.
NUMBER_STYLES_ATTR = "atlas_number_styles"


def number_style(column: str, series: pd.Series) -> NumberStyle | None:
    """The style of a numeric column as the dashboard shows it; None for other columns."""
    if _is_share(column):
        return NumberStyle(1, percent=True)
    decimals = _decimals(column)
    if decimals is not None:
        return NumberStyle(decimals)
    if column in EURO_COLUMNS:
        return NumberStyle(0)
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        return NumberStyle(0)
    whole = series.dropna()
    return NumberStyle(0 if len(whole) and (whole == whole.round()).all() else 2)


def _yes_no(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    return "oui" if bool(value) else "non"


def _text(value: object) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return fr_number(value, 0 if value.is_integer() else 2)
    if isinstance(value, (tuple, list)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int):
        return fr_number(value)
    return str(value)


def _status_name(value: object) -> str:
    """The stage's label; the one wording of statuses.toml when missing or unknown."""
    from diagnosis.core.statuses import status_name  # noqa: PLC0415 - rules read lazily

    return status_name(value if isinstance(value, str) and value else None)


def _status_list_name(value: object) -> str:
    if not isinstance(value, str):
        return _text(value)
    return " | ".join(_status_name(part) for part in value.split(" | "))


def _named_formatter(column: str, series: pd.Series) -> Callable[[object], str] | None:
    """The formatter of a column known by its name (stages, kinds, shares, euros…)."""
    if column in STATUS_COLUMNS:
        return _status_name
    if column in STATUS_LIST_COLUMNS:
        return _status_list_name
    if column == "level":
        return lambda v: LEVEL_LABELS.get(str(v), _text(v))
    if column == "severity":
        return lambda v: SEVERITY_LABELS.get(str(v), _text(v))
    if column == "kind":
        labels = (
            REPORT_KIND_LABELS
            if series.isin(list(REPORT_KIND_LABELS)).any()
            else PROPOSAL_KIND_LABELS
        )
        return lambda v: labels.get(str(v), _text(v))
    if column == "via":
        return lambda v: VIA_LABELS.get(str(v), _text(v))
    if _is_share(column):
        return fr_share
    if column in EURO_COLUMNS:
        return lambda v: f"{fr_number(v)}{NNBSP}€" if finite_or_none(v) is not None else ""
    digits = _decimals(column)
    if digits is not None:
        return lambda v: fr_number(v, digits)
    return None


def _column_formatter(column: str, series: pd.Series) -> Callable[[object], str]:
    named = _named_formatter(column, series)
    if named is not None:
        return named
    if pd.api.types.is_bool_dtype(series):
        return _yes_no
    style = number_style(column, series)
    if style is not None:
        return lambda v: fr_number(v, style.digits)
    if series.map(lambda v: isinstance(v, bool)).any():
        return _yes_no
    return _text


def for_people(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    as_text: bool = True,
) -> pd.DataFrame:
    """A copy of ``frame`` for people: French headers and French values.

    Parameters
    ----------
    frame
        The table (English column ids).
    columns
        Columns to keep, in order (default: all).
    labels
        Extra or overriding headers, by column id.
    as_text
        Turn every value into French text (dashboard, fiches, people's CSV).
        With False, numbers stay numbers (Excel formats them) and only
        booleans, stages, kinds and missing values become text.
    """
    out = frame.loc[:, list(columns)] if columns is not None else frame.copy()
    out = out.copy()
    styles: list[NumberStyle | None] = []
    for column in out.columns:
        series = out[column]
        style = None if as_text else _kept_number_style(str(column), series)
        styles.append(style)
        if style is not None:
            values = series.astype("float64").map(style.rounded)
            out[column] = values.where(series.notna(), None)
            continue
        fmt = _column_formatter(str(column), series)
        out[column] = [fmt(v) for v in series.astype(object)]
    headers = {**COLUMN_LABELS, **(labels or {})}
    names = [headers.get(str(c), str(c).replace("_", " ")) for c in out.columns]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        # Two ids with one label in a table would make two columns of the same name.
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} ({seen[name]})"
    out.columns = names
    if not as_text:
        out.attrs[NUMBER_STYLES_ATTR] = {
            name: style for name, style in zip(names, styles, strict=True) if style is not None
        }
    return out


def _kept_number_style(column: str, series: pd.Series) -> NumberStyle | None:
    """The style of a column kept numeric for a spreadsheet (None: written as text)."""
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric or column in STATUS_COLUMNS:
        return None
    return number_style(column, series)


def _csv_cell(value: object, style: NumberStyle | None) -> object:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if style is not None:
            return f"{value:.{style.digits}f}".replace(".", ",")
        text = str(int(value)) if value.is_integer() else f"{value:.6g}"
        return text.replace(".", ",")
    return value


def people_csv(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """A CSV for people's spreadsheets: ``;``, UTF-8 with BOM, French headers and values.

    Numbers are written as French spreadsheets read them (``12345``, ``4,6``),
    without thousands separators, so that they stay numbers, with the decimals
    the dashboard shows; shares are written in percent (``23,9``) under a
    header ending in "(%)". Cells that a spreadsheet would read as a formula
    are neutralised.
    """
    shown = for_people(frame, columns=columns, labels=labels, as_text=False)
    styles: dict[str, NumberStyle] = shown.attrs.get(NUMBER_STYLES_ATTR, {})
    headers = []
    for i, column in enumerate(list(shown.columns)):
        style = styles.get(str(column))
        values = shown.iloc[:, i].astype(object).tolist()
        if style is not None and style.percent:
            values = [None if v is None else round(100 * v, style.digits) for v in values]
        shown.isetitem(i, [protect_text(_csv_cell(v, style)) for v in values])
        headers.append(f"{column} (%)" if style is not None and style.percent else str(column))
    shown.columns = headers
    buffer = io.StringIO()
    shown.to_csv(buffer, index=False, sep=";", lineterminator="\r\n")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def with_names(
    frame: pd.DataFrame,
    *,
    perimeters: Mapping[str, str] | None = None,
    communes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` with people's names next to the machine ids.

    With ``perimeters`` (id → name), ``perimeter_name`` follows
    ``perimeter_id``; with ``communes`` (code → name), ``commune`` follows
    ``code``. A column already there is left as it is; an unknown id gets an
    empty name.
    """
    out = frame.copy()
    for id_column, name_column, names in (
        ("perimeter_id", "perimeter_name", perimeters),
        ("code", "commune", communes),
    ):
        if names is None or id_column not in out.columns or name_column in out.columns:
            continue
        at = list(out.columns).index(id_column) + 1
        values = [names.get(str(v), "") if pd.notna(v) else "" for v in out[id_column]]
        out.insert(at, name_column, values)
    return out
