"""The dashboard's French numbers, shares, amounts and dates: the library's formatter, shown.

One wrapper over :mod:`diagnosis.core.numbers` (the one formatter of French
numbers): the dashboard writes a figure exactly as the workbooks and fiches
do, and shows a missing one as :data:`~diagnosis.core.numbers.MISSING` ("—")
where the library writes an empty cell.
"""

from __future__ import annotations

import datetime as dt

from diagnosis.core.numbers import MISSING, NNBSP, fr_number, fr_share

__all__ = ["MISSING", "NNBSP", "date", "euros", "number", "share"]


def number(value: object, digits: int = 0) -> str:
    """A number with French separators ("12 345", "3,75"); "—" when missing."""
    return fr_number(value, digits) or MISSING


def share(value: object, digits: int = 1) -> str:
    """A share (0..1) as a French percentage ("83,9 %"); "—" when missing."""
    return fr_share(value, digits) or MISSING


def euros(value: object) -> str:
    """An amount in euros ("287 500 €"); "—" when missing."""
    text = fr_number(value)
    return f"{text}{NNBSP}€" if text else MISSING


def date(value: object) -> str:
    """A date or an ISO timestamp as people write it in France ("04/12/2026"); "—" if unreadable."""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    try:
        return dt.datetime.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return MISSING
