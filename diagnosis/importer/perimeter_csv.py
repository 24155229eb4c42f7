"""The project's own perimeter file (CSV), which :func:`import_perimeters` reads back."""

from __future__ import annotations

import io
from collections import defaultdict

import pandas as pd

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential, load_referential

__all__ = ["EXPORT_COLUMNS", "export_perimeters_csv"]

EXPORT_COLUMNS = [
    "perimeter_id",
    "perimeter_name",
    "status",
    "date",
    "code",
    "commune_name",
    "infra_split",
]


def export_perimeters_csv(
    result: PerimeterImport, *, referential: Referential | None = None
) -> bytes:
    """The project's own perimeter file: one row per (perimeter, unit), UTF-8 with BOM.

    Re-importing it gives the same perimeters, statuses, members and splits.
    Empty perimeters are written as one row without a code.
    """
    ref = referential if referential is not None else load_referential()
    names = ref.units["name"]
    split_keys = set(
        zip(result.splits["perimeter_id"].tolist(), result.splits["code"].tolist(), strict=True)
    )
    rows = []
    by_pid: dict[str, list[str]] = defaultdict(list)
    for pid, code in zip(
        result.members["perimeter_id"].tolist(), result.members["code"].tolist(), strict=True
    ):
        by_pid[str(pid)].append(str(code))
    for per in result.perimeters.itertuples(index=False):
        member_codes = by_pid.get(str(per.perimeter_id), [])
        base = {
            "perimeter_id": per.perimeter_id,
            "perimeter_name": per.name,
            "status": per.status if isinstance(per.status, str) else "",
            "date": per.date if isinstance(per.date, str) else "",
        }
        if not member_codes:
            rows.append({**base, "code": "", "commune_name": "", "infra_split": ""})
            continue
        for code in sorted(member_codes):
            rows.append(
                {
                    **base,
                    "code": code,
                    "commune_name": names.get(code, ""),
                    "infra_split": "oui" if (per.perimeter_id, code) in split_keys else "",
                }
            )
    frame = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=";", index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
