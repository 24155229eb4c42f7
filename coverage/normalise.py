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

from diagnosis.errors import DataError
from diagnosis.reading import decode_text, detect_separator
from diagnosis.referential import Referential
from diagnosis.textnorm import clean_code_token

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

#: Structured kinds of what resolving a written code did.
CODE_EVENT_KINDS = (
    "code_cleaned",
    "leading_zero_restored",
    "corsica_code",
    "former_code",
    "unknown_code",
)

_RESOLUTION_COLUMNS = ["written", "cleaned", "status", "code", "events"]


@dataclass
class Attached:
    """Figures by unit, and what the attachment did."""

    table: pd.DataFrame  # indexed by unit code; "estimated" column flags PLM spreads
    report: pd.DataFrame


@dataclass(frozen=True)
class _CodeTables:
    units: pd.Index
    unit_name: pd.Series  # by unit code
    plm_parents: pd.Index
    former_current: pd.Series  # current code by former code
    former_name: pd.Series  # name by former code


def _code_tables(referential: Referential) -> _CodeTables:
    def make() -> _CodeTables:
        former = referential.former_codes.drop_duplicates("former_code").set_index("former_code")
        return _CodeTables(
            units=pd.Index(referential.units.index.astype(str)),
            unit_name=referential.units["name"].astype(str),
            plm_parents=pd.Index(referential.aliases["parent_code"].astype(str).unique()),
            former_current=former["current_code"].astype(str),
            former_name=former["former_name"].fillna("").astype(str),
        )

    tables: _CodeTables = referential.cached("coverage_code_tables", make)
    return tables


def _written_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def resolve_codes(values: pd.Series, *, referential: Referential) -> pd.DataFrame:
    """How each distinct commune code of a file maps onto the referential (vectorised).

    The normalisation of the perimeter importer for codes: typographic noise,
    a leading zero lost (``1001``), Corsica written ``20xxx``, former codes of
    merged communes (through the referential's ``former_codes``), and the
    Paris/Lyon/Marseille parent codes (through its ``aliases``). Work is done
    once per distinct value, with table look-ups, never row by row.

    Parameters
    ----------
    values
        Written codes (strings or numbers; not modified).
    referential
        National referential.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value: ``written`` (the value), ``cleaned``,
        ``status`` (``unit``, ``plm_parent`` or ``unknown``), ``code`` (unit
        or PLM parent code; the cleaned code when unknown) and ``events``, a
        tuple of ``(kind, French message)`` with kinds from
        :data:`CODE_EVENT_KINDS`.
    """
    tables = _code_tables(referential)
    written = pd.Series(pd.unique(values.to_numpy(dtype=object)), dtype=object)
    shown = written.map(_written_text).astype(str)
    cleaned = written.map(clean_code_token).astype(str)
    code = cleaned.copy()
    events: list[list[tuple[str, str]]] = [[] for _ in range(len(written))]

    stripped = shown.str.strip()
    plain_number = stripped.str.rstrip("0").str.rstrip(".,") == cleaned.str.rstrip("0")
    noisy = (stripped != cleaned) & ~plain_number & ~(shown == cleaned)
    shown_list: list[str] = shown.tolist()
    cleaned_list: list[str] = cleaned.tolist()
    for i in np.flatnonzero(noisy.to_numpy()).tolist():
        events[i].append(("code_cleaned", f"Code « {shown_list[i]} » lu comme {cleaned_list[i]}."))

    lost_zero = (code.str.len() == 4) & code.str.isdigit()
    for i in np.flatnonzero(lost_zero.to_numpy()).tolist():
        events[i].append(
            (
                "leading_zero_restored",
                f"Code {cleaned_list[i]} complété en 0{cleaned_list[i]} "
                "(zéro initial perdu, par exemple par Excel).",
            )
        )
    code = code.where(~lost_zero, "0" + code)

    known = code.isin(tables.units) | code.isin(tables.former_current.index)
    corsica = code.str.startswith("20") & ~known
    code_list: list[str] = code.tolist()
    for i in np.flatnonzero(corsica.to_numpy()).tolist():
        tail = code_list[i][2:]
        matches = [c for c in ("2A" + tail, "2B" + tail) if c in tables.units]
        if len(matches) == 1:
            events[i].append(
                (
                    "corsica_code",
                    f"Code {code_list[i]} (ancienne numérotation de la Corse) lu comme "
                    f"{matches[0]}.",
                )
            )
            code_list[i] = matches[0]
    code = pd.Series(code_list, index=code.index, dtype=object)

    status = pd.Series("unknown", index=code.index, dtype=object)
    status[code.isin(tables.plm_parents)] = "plm_parent"
    status[code.isin(tables.units)] = "unit"
    former = (status == "unknown") & code.isin(tables.former_current.index)
    current = code[former].map(tables.former_current)
    for i, old, new in zip(
        np.flatnonzero(former.to_numpy()).tolist(), code[former], current, strict=True
    ):
        old_name = tables.former_name.get(old, "")
        label = f"{old} ({old_name})" if old_name else old
        events[i].append(
            (
                "former_code",
                f"Ancien code {label} : commune fusionnée, remplacé par {new} "
                f"({tables.unit_name.get(new, new)}).",
            )
        )
    code[former] = current
    status[former] = np.where(current.isin(tables.plm_parents), "plm_parent", "unit")
    return pd.DataFrame(
        {
            "written": written,
            "cleaned": cleaned,
            "status": status,
            "code": code,
            "events": [tuple(e) for e in events],
        },
        columns=_RESOLUTION_COLUMNS,
    )


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
        shown = _written_text(written)
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
    counts = written.value_counts()
    report_rows = _resolution_report(resolution, counts)

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
        table = pd.DataFrame(index=pd.Index(sorted(set(codes[is_unit]))), columns=columns)
    table["estimated"] = False
    merged = grouped.size()
    for code, n in merged[merged > 1].items():
        report_rows.append(
            _report_row(
                "merged",
                str(code),
                int(n),
                f"{n} lignes regroupées sur la commune actuelle {code} "
                "(communes fusionnées depuis le millésime du fichier).",
                "sommes additionnées, moyennes pondérées",
            )
        )

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
