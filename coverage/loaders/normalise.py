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

from diagnosis.core.communes import CODE_EVENT_KINDS, resolve_codes, written_text
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError
from diagnosis.io.reading import decode_text, detect_separator

__all__ = [
    "CODE_EVENT_KINDS",
    "LOADER_REPORT_COLUMNS",
    "Attached",
    "attach_to_units",
    "resolve_codes",
]

#: Columns of a loader report. ``kind`` is the report's family (``unknown_code``,
#: ``former_code``, ``code_normalised``, ``merged``, ``plm_parent_spread``...);
#: ``event`` the precise change (one of :data:`CODE_EVENT_KINDS`, or the kind).
LOADER_REPORT_COLUMNS = ["kind", "code", "n_rows", "message", "action", "event"]


@dataclass
class Attached:
    """Figures by unit, and what the attachment did."""

    table: pd.DataFrame  # indexed by unit code; "estimated" column flags PLM spreads
    report: pd.DataFrame


def _report_row(
    kind: str, code: str, n_rows: int, message: str, action: str, *, event: str | None = None
) -> dict[str, object]:
    return {
        "kind": kind,
        "code": code,
        "n_rows": n_rows,
        "message": message,
        "action": action,
        "event": event or kind,
    }


def _resolution_report(resolution: pd.DataFrame, counts: pd.Series) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    flagged = resolution[(resolution["status"] == "unknown") | (resolution["events"].map(len) > 0)]
    for written, status, events in zip(
        flagged["written"], flagged["status"], flagged["events"], strict=True
    ):
        shown = written_text(written)
        n = int(counts.get(written, 0))
        if status == "unknown":
            rows.append(
                _report_row(
                    "unknown_code",
                    shown,
                    n,
                    f"Code {shown} inconnu du référentiel des communes.",
                    "ligne(s) écartée(s) du calcul",
                )
            )
        for event, message in events:
            former = event == "former_code"
            rows.append(
                _report_row(
                    "former_code" if former else "code_normalised",
                    shown,
                    n,
                    message,
                    "rattaché à la commune actuelle" if former else "corrigé",
                    event=event,
                )
            )
    return rows


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
        Weight of the means (e.g. the standardised population for an APL).

    Returns
    -------
    Attached
        ``table`` indexed by unit code with the columns and ``estimated``;
        ``report`` with one line per kind of change and code (columns
        :data:`LOADER_REPORT_COLUMNS`).
    """
    if code_column not in frame.columns:
        raise DataError(
            f"Colonne « {code_column} » absente. Colonnes trouvées : "
            + ", ".join(str(c) for c in frame.columns)
            + "."
        )
    written = frame[code_column]
    resolution = resolve_codes(written, referential=referential)
    report_rows = _resolution_report(resolution, written.value_counts())
    lookup = pd.Series(range(len(resolution)), index=pd.Index(resolution["written"], dtype=object))
    position = lookup.reindex(pd.Index(written.to_numpy(dtype=object), dtype=object)).to_numpy()
    status = resolution["status"].to_numpy()[position]
    codes = resolution["code"].to_numpy()[position]
    columns = [*sum_columns, *mean_columns]

    is_unit = status == "unit"
    units_part = frame.loc[is_unit, columns].assign(
        _code=codes[is_unit],
        _weight=1.0 if weight_column is None else frame.loc[is_unit, weight_column].astype(float),
    )
    table = _combine(units_part, sum_columns=sum_columns, mean_columns=mean_columns)
    report_rows += _merged_report(units_part.groupby("_code", sort=True).size())

    is_parent = status == "plm_parent"
    if is_parent.any():
        spread, spread_report = _spread_plm(
            frame.loc[is_parent, columns].assign(_code=codes[is_parent]),
            referential=referential,
            present=table.index,
            sum_columns=sum_columns,
            mean_columns=mean_columns,
        )
        report_rows.extend(spread_report)
        if len(spread):
            table = pd.concat([table, spread])
    table.index.name = "code"
    table = table.sort_index()
    table["estimated"] = table["estimated"].astype(bool)
    report = pd.DataFrame(report_rows, columns=LOADER_REPORT_COLUMNS)
    return Attached(table=table, report=report)


def _combine(
    units_part: pd.DataFrame, *, sum_columns: Sequence[str], mean_columns: Sequence[str]
) -> pd.DataFrame:
    """Rows of the same unit combined: sums summed, means weighted by ``_weight``."""
    columns = [*sum_columns, *mean_columns]
    grouped = units_part.groupby("_code", sort=True)
    pieces: dict[str, pd.Series] = {}
    for col in sum_columns:
        pieces[col] = grouped[col].sum(min_count=1)
    for col in mean_columns:
        values = units_part[col].astype(float)
        valid = values.notna() & units_part["_weight"].notna()
        num = (
            (values * units_part["_weight"])
            .where(valid)
            .groupby(units_part["_code"])
            .sum(min_count=1)
        )
        den = units_part["_weight"].where(valid).groupby(units_part["_code"]).sum(min_count=1)
        pieces[col] = num / den.where(den > 0)
    table = pd.DataFrame(pieces, columns=columns)
    if not pieces:
        table = pd.DataFrame(index=pd.Index(sorted(set(units_part["_code"]))), columns=columns)
    table["estimated"] = False
    return table


def _merged_report(rows_per_unit: pd.Series) -> list[dict[str, object]]:
    """One report line per unit that received several rows (communes merged since the file)."""
    return [
        _report_row(
            "merged",
            str(code),
            int(n),
            f"{n} lignes regroupées sur la commune actuelle {code} "
            "(communes fusionnées depuis le millésime du fichier).",
            "sommes additionnées, moyennes pondérées",
        )
        for code, n in rows_per_unit[rows_per_unit > 1].items()
    ]


def _spread_plm(
    parents: pd.DataFrame,
    *,
    referential: Referential,
    present: pd.Index,
    sum_columns: Sequence[str],
    mean_columns: Sequence[str],
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Figures given for Paris, Lyon or Marseille spread over arrondissements not given."""
    pop = referential.units["population"].astype(float)
    lookup = referential.aliases.groupby("parent_code")["unit_code"].agg(list)
    pieces = []
    report: list[dict[str, object]] = []
    for parent, group in parents.groupby("_code"):
        arrs = [a for a in lookup.get(parent, []) if a not in present]
        if not arrs:
            continue
        share = pop.reindex(arrs)
        share = share / share.sum()
        piece = pd.DataFrame(index=pd.Index(arrs))
        for col in sum_columns:
            piece[col] = group[col].sum() * share.to_numpy()
        for col in mean_columns:
            piece[col] = group[col].astype(float).mean()
        piece["estimated"] = True
        pieces.append(piece)
        report.append(
            _report_row(
                "plm_parent_spread",
                str(parent),
                len(group),
                f"Valeurs données pour la commune parente {parent} : réparties sur "
                f"ses {len(arrs)} arrondissements au prorata de leur population.",
                "estimation signalée",
            )
        )
    spread = pd.concat(pieces) if pieces else pd.DataFrame()
    return spread, report


def read_delimited(data: bytes, *, expected: Sequence[str], what: str) -> pd.DataFrame:
    """Read a delimited text file (encoding and separator detected), checking columns.

    Raises a ``ValueError`` naming the expected columns when they are missing.
    """
    text, _ = decode_text(data)
    sep = detect_separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{what} : fichier illisible (lignes de longueurs différentes, guillemets mal "
            "fermés ou séparateur inattendu). Attendu : un tableau délimité (; , tabulation "
            "ou |) avec une ligne d'en-tête.",
            detail=str(exc),
        ) from exc
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
