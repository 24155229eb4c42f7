"""Attach commune-level figures of official files to the referential's units.

Codes are normalised like the perimeter importer does (leading zeros, Corsica,
former codes of merged communes, Paris/Lyon/Marseille). Figures of merged
communes are combined into the current commune; figures given for a PLM
parent are spread over its arrondissements pro rata of their population and
flagged as estimated. Unknown codes are reported, never dropped silently.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from diagnosis.communes import resolve_commune_codes
from diagnosis.reading import decode_text, detect_separator
from diagnosis.referential import Referential

__all__ = ["LOADER_REPORT_COLUMNS", "Attached", "attach_to_units"]

LOADER_REPORT_COLUMNS = ["kind", "code", "n_rows", "message", "action"]


@dataclass
class Attached:
    """Figures by unit, and what the attachment did."""

    table: pd.DataFrame  # indexed by unit code; "estimated" column flags PLM spreads
    report: pd.DataFrame


def attach_to_units(
    frame: pd.DataFrame,
    *,
    code_column: str,
    referential: Referential,
    sum_columns: Sequence[str] = (),
    mean_columns: Sequence[str] = (),
    weight_column: str | None = None,
) -> Attached:
    """Map rows keyed by commune code onto units, combining or spreading as needed.

    Parameters
    ----------
    frame
        Rows with a commune code (not modified).
    code_column
        Column holding the commune codes.
    referential
        National referential.
    sum_columns
        Extensive figures (counts, populations): summed over merged communes,
        spread pro rata of population over arrondissements.
    mean_columns
        Intensive figures (rates, APL): averaged over merged communes weighted
        by ``weight_column``, copied to each arrondissement.
    weight_column
        Weight of the means (a population column among ``sum_columns``).

    Returns
    -------
    Attached
        ``table`` indexed by unit code with the columns and ``estimated``;
        ``report`` with one line per kind of change and code.
    """
    if code_column not in frame.columns:
        raise ValueError(f"colonne {code_column!r} absente (colonnes : {list(frame.columns)})")
    resolution = resolve_commune_codes(frame[code_column].tolist(), referential=referential)
    by_written = resolution.set_index("written")
    mapped = frame[code_column].map(by_written["status"])
    report_rows: list[dict[str, object]] = []
    counts = frame[code_column].value_counts()

    for written, row in by_written.iterrows():
        n = int(counts.get(written, 0))
        if row["status"] in ("unknown", "ambiguous"):
            report_rows.append(
                {
                    "kind": "unknown_code",
                    "code": str(written),
                    "n_rows": n,
                    "message": f"Code {written} inconnu du référentiel des communes.",
                    "action": "ligne(s) écartée(s) du calcul",
                }
            )
        for message in row["events"]:
            kind = (
                "former_code" if "Ancien" in message or "ancienne" in message else "code_normalised"
            )
            report_rows.append(
                {
                    "kind": kind,
                    "code": str(written),
                    "n_rows": n,
                    "message": message,
                    "action": "rattaché à la commune actuelle"
                    if kind == "former_code"
                    else "corrigé",
                }
            )

    keep = mapped.isin(["unit", "plm_parent"]).to_numpy()
    data = frame.loc[keep].copy()
    data["_status"] = mapped[keep].to_numpy()
    data["_code"] = data[code_column].map(by_written["code"]).to_numpy()
    pop = referential.units["population"]
    columns = [*sum_columns, *mean_columns]

    units_part = data[data["_status"] == "unit"]
    if weight_column is not None:
        weights = units_part[weight_column].astype(float)
    else:
        weights = pd.Series(1.0, index=units_part.index)
    pieces = {}
    for col in sum_columns:
        pieces[col] = units_part.groupby("_code")[col].sum(min_count=1)
    for col in mean_columns:
        values = units_part[col].astype(float)
        valid = values.notna() & weights.notna()
        num = (values * weights).where(valid).groupby(units_part["_code"]).sum(min_count=1)
        den = weights.where(valid).groupby(units_part["_code"]).sum(min_count=1)
        pieces[col] = num / den.where(den > 0)
    table = pd.DataFrame(pieces, columns=columns)
    table["estimated"] = False
    merged = units_part["_code"].value_counts()
    for code, n in merged[merged > 1].items():
        report_rows.append(
            {
                "kind": "merged",
                "code": str(code),
                "n_rows": int(n),
                "message": f"{n} lignes regroupées sur la commune actuelle {code} "
                "(communes fusionnées depuis le millésime du fichier).",
                "action": "sommes additionnées, moyennes pondérées",
            }
        )

    parents = data[data["_status"] == "plm_parent"]
    if len(parents):
        lookup = referential.aliases.groupby("parent_code")["unit_code"].agg(list)
        extra = []
        for parent, group in parents.groupby("_code"):
            arrs = [a for a in lookup.get(parent, []) if a not in table.index]
            if not arrs:
                continue
            share = pop.reindex(arrs).astype(float)
            share = share / share.sum()
            for arr in arrs:
                spread: dict[str, object] = {
                    col: group[col].sum() * share[arr] for col in sum_columns
                }
                for col in mean_columns:
                    spread[col] = group[col].astype(float).mean()
                spread["estimated"] = True
                extra.append(pd.Series(spread, name=arr))
            report_rows.append(
                {
                    "kind": "plm_parent_spread",
                    "code": str(parent),
                    "n_rows": len(group),
                    "message": f"Valeurs données pour la commune parente {parent} : réparties sur "
                    f"ses {len(arrs)} arrondissements au prorata de leur population.",
                    "action": "estimation signalée",
                }
            )
        if extra:
            table = pd.concat([table, pd.DataFrame(extra)])
    table.index.name = "code"
    table = table.sort_index()
    table["estimated"] = table["estimated"].astype(bool)
    report = pd.DataFrame(report_rows, columns=LOADER_REPORT_COLUMNS)
    return Attached(table=table, report=report)


def read_delimited(data: bytes, *, expected: Sequence[str], what: str) -> pd.DataFrame:
    """Read a delimited text file (encoding and separator detected), checking columns.

    Raises a ``ValueError`` naming the expected columns when they are missing.
    """
    text, _ = decode_text(data)
    sep = detect_separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{what} : fichier illisible ({exc}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} : colonnes attendues absentes : {', '.join(missing)}. "
            f"Colonnes trouvées : {', '.join(frame.columns[:15])}"
            + ("…" if len(frame.columns) > 15 else "")
        )
    return frame


def as_float(values: pd.Series) -> pd.Series:
    """Numbers written with a comma or a point as decimal separator (NaN when empty)."""
    text = (
        values.astype(str).str.replace("\u202f", "", regex=False).str.replace(" ", "", regex=False)
    )
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype(
        np.float64
    )
