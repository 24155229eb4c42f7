"""French numbers and dates: the one formatter of counts, decimals, shares, plurals and dates.

Every figure a person reads goes through these functions (the dashboard, the
workbooks, the fiches and the French messages of the analysis), so that a
number is written the same way everywhere: narrow no-break space between
thousands, decimal comma, "%" after a narrow no-break space. A missing value
is written as an empty string; the dashboard shows it as "—"
(:data:`MISSING`). Dates are written "1er avril 2025" (:func:`fr_date`) and
the dates people write ("15/09/2021", "avril 2025", "2021") are read by
:func:`date_span`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re

__all__ = [
    "MISSING",
    "MONTHS_FR",
    "NNBSP",
    "add_months",
    "date_span",
    "finite_or_none",
    "fr_count",
    "fr_date",
    "fr_decimal",
    "fr_number",
    "fr_share",
    "plural",
]

#: Narrow no-break space, the French thousands separator and the space before "%".
NNBSP = "\u202f"

#: What a table shows for a missing figure.
MISSING = "—"


def finite_or_none(value: object) -> float | None:
    """``value`` as a finite float, or None (missing, not a number, infinite, a boolean)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def fr_number(value: object, digits: int = 0) -> str:
    r"""A number the French way ("1 234 567", "4,6"); empty when missing.

    >>> fr_number(1234567), fr_number(4.611373, 1), fr_number(None)
    ('1\u202f234\u202f567', '4,6', '')
    """
    x = finite_or_none(value)
    if x is None:
        return ""
    if digits == 0:
        x = round(x)
    return f"{x:,.{digits}f}".replace(",", NNBSP).replace(".", ",")


def fr_decimal(value: float, spec: str = "g") -> str:
    """A parameter written by ``format(value, spec)`` with a decimal comma (no grouping).

    >>> fr_decimal(1.3), fr_decimal(3.0), fr_decimal(0.6667, ".2g")
    ('1,3', '3', '0,67')
    """
    return format(value, spec).replace(".", ",")


def fr_share(value: object, digits: int = 1) -> str:
    """A share (0..1) as a French percentage ("98,1 %"); empty when missing."""
    x = finite_or_none(value)
    return "" if x is None else f"{fr_number(100 * x, digits)}{NNBSP}%"


def plural(n: object, one: str, many: str) -> str:
    """The noun that follows the count ``n`` in French: singular for 0 and 1.

    >>> plural(1, "partie", "parties"), plural(3, "commune disputée", "communes disputées")
    ('partie', 'communes disputées')
    """
    x = finite_or_none(n)
    return one if x is not None and abs(x) < 2 else many


def fr_count(n: object, one: str, many: str) -> str:
    r"""A count and its noun the French way.

    >>> fr_count(1, "commune", "communes"), fr_count(12345, "habitant", "habitants")
    ('1 commune', '12 345 habitants')
    """
    return f"{fr_number(n)} {plural(n, one, many)}"


#: French month names, January first.
MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def fr_date(value: object) -> str:
    """A date the French way ("21 août 2019", "1er avril 2025"); other text unchanged.

    ``value`` is a :class:`datetime.date` or an ISO date written as text
    ("2019-08-21"); anything else is returned as text, and None as "".

    >>> fr_date("2019-08-21"), fr_date(dt.date(2025, 4, 1)), fr_date("avril 2025")
    ('21 août 2019', '1er avril 2025', 'avril 2025')
    """
    if value is None:
        return ""
    if isinstance(value, dt.date):
        day, month, year = value.day, value.month, value.year
    else:
        match = _ISO_DAY.fullmatch(str(value))
        if not match or not 1 <= int(match[2]) <= 12:
            return str(value)
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    return f"{'1er' if day == 1 else day} {MONTHS_FR[month - 1]} {year}"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by a number of months, kept in the last day of a shorter month.

    A period of months ends on the same day number of the last month, or on
    that month's last day when it has none (31 December + 2 months = 28 or
    29 February).

    >>> add_months(dt.date(2024, 12, 31), 2), add_months(dt.date(2025, 1, 15), 2)
    (datetime.date(2025, 2, 28), datetime.date(2025, 3, 15))
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


_MONTH_KEYS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}  # fmt: skip
_ACCENTS = str.maketrans("éèêûôâîç", "eeeuoaic")
_NUMERIC_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")
_NUMERIC_MONTH = re.compile(r"(\d{1,2})[/.-](\d{4})")
_WORDED = re.compile(r"(?:(\d{1,2})(?:er)?\s+)?([a-z]+)\.?\s+(\d{4})")
_YEAR = re.compile(r"((?:19|20)\d{2})")


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_span(year: int, month: int) -> tuple[dt.date, dt.date] | None:
    if not 1 <= month <= 12:
        return None
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def date_span(text: object) -> tuple[dt.date, dt.date] | None:
    """The first and last day a date written by people can mean, or None.

    A day ("15/09/2021", "15-09-21", "2021-09-15", "1er avril 2025") gives the
    same day twice; a month ("09/2021", "avril 2025") its first and last day;
    a year ("2021") 1 January and 31 December. A :class:`datetime.date` (or a
    datetime, as spreadsheets give) is that day. Two-digit years are 20xx.

    >>> date_span("avril 2025")
    (datetime.date(2025, 4, 1), datetime.date(2025, 4, 30))
    >>> date_span("15/09/2021")[0], date_span("bientôt")
    (datetime.date(2021, 9, 15), None)
    """
    if isinstance(text, dt.datetime):
        return text.date(), text.date()
    if isinstance(text, dt.date):
        return text, text
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    value = str(text).strip().casefold().translate(_ACCENTS)
    if match := _ISO_DAY.fullmatch(value):
        day = _safe_date(int(match[1]), int(match[2]), int(match[3]))
        return (day, day) if day else None
    if match := _NUMERIC_DAY.fullmatch(value):
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        day = _safe_date(year, int(match[2]), int(match[1]))
        return (day, day) if day else None
    if match := _NUMERIC_MONTH.fullmatch(value):
        return _month_span(int(match[2]), int(match[1]))
    if (match := _WORDED.fullmatch(value)) and match[2] in _MONTH_KEYS:
        month, year = _MONTH_KEYS[match[2]], int(match[3])
        if match[1] is None:
            return _month_span(year, month)
        day = _safe_date(year, month, int(match[1]))
        return (day, day) if day else None
    if match := _YEAR.fullmatch(value):
        year = int(match[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    return None
