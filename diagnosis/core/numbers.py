"""French numbers: the one formatter of counts, decimals, shares and plurals.

Every figure a person reads goes through these functions (the dashboard, the
workbooks, the fiches and the French messages of the analysis), so that a
number is written the same way everywhere: narrow no-break space between
thousands, decimal comma, "%" after a narrow no-break space. A missing value
is written as an empty string; the dashboard shows it as "—"
(:data:`MISSING`).
"""

from __future__ import annotations

import math

__all__ = [
    "MISSING",
    "NNBSP",
    "finite_or_none",
    "fr_count",
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
