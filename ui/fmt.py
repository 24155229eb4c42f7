"""French formatting of numbers, shares and money for the dashboard."""

from __future__ import annotations

import math

NNBSP = "\u202f"


def number(value: object, digits: int = 0) -> str:
    """A number with French separators ("12 345", "3,75"); "—" when missing."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if math.isnan(x):
        return "—"
    text = f"{x:,.{digits}f}".replace(",", NNBSP).replace(".", ",")
    return text


def share(value: object, digits: int = 1) -> str:
    """A share as a French percentage ("83,9 %")."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if math.isnan(x):
        return "—"
    return f"{number(100 * x, digits)}{NNBSP}%"


def euros(value: object) -> str:
    """An amount in euros ("287 500 €")."""
    text = number(value)
    return "—" if text == "—" else f"{text}{NNBSP}€"
