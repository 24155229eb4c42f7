"""French formatting of numbers, shares and money for the dashboard."""

from __future__ import annotations

import math

NNBSP = "\u202f"


def _finite(value: object) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def number(value: object, digits: int = 0) -> str:
    """A number with French separators ("12 345", "3,75"); "—" when missing."""
    x = _finite(value)
    if x is None:
        return "—"
    return f"{x:,.{digits}f}".replace(",", NNBSP).replace(".", ",")


def share(value: object, digits: int = 1) -> str:
    """A share as a French percentage ("83,9 %")."""
    x = _finite(value)
    return "—" if x is None else f"{number(100 * x, digits)}{NNBSP}%"


def euros(value: object) -> str:
    """An amount in euros ("287 500 €")."""
    text = number(value)
    return "—" if text == "—" else f"{text}{NNBSP}€"
