"""National coverage figures published about the plan 100 % CPTS, with their sources.

Read from ``data/rules/reference_points.toml`` (domain.md §9): the Suivi view
draws them next to the registry's curve. A figure without a stated share is
listed, not drawn.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pandas as pd

from diagnosis.paths import RULES_DIR

__all__ = ["REFERENCE_COLUMNS", "reference_points"]

REFERENCE_COLUMNS = ["date", "status_min", "share", "label_fr", "source"]


def reference_points(path: Path | None = None) -> pd.DataFrame:
    """The published national figures: date, status_min, share (or NaN), label_fr, source."""
    with (path or RULES_DIR / "reference_points.toml").open("rb") as fh:
        data = tomllib.load(fh)
    rows = [
        {
            "date": dt.date.fromisoformat(str(p["date"])),
            "status_min": p.get("status_min"),
            "share": float(p["share"]) if "share" in p else float("nan"),
            "label_fr": str(p["label_fr"]),
            "source": str(p["source"]),
        }
        for p in data["point"]
    ]
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)
