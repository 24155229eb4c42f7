"""The perimeter data model and the vocabulary of import reports.

Everything the analysis needs from an import: :class:`PerimeterImport`, the
column lists and the report's event kinds. The importer
(:mod:`diagnosis.importer.perimeters`) builds these objects; the analysis
(membership, rates, checks) only reads them and never imports the importer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from diagnosis.core.numbers import fr_share
from diagnosis.core.statuses import status_name

__all__ = [
    "EVENT_KINDS",
    "MEMBER_COLUMNS",
    "PERIMETER_COLUMNS",
    "REPORT_COLUMNS",
    "SHARE_COLUMNS",
    "SPLIT_COLUMNS",
    "PerimeterImport",
    "Report",
    "Severity",
    "perimeters_from_members",
    "share_frame",
    "share_text",
]

Severity = Literal["info", "warning", "rejected"]

#: Kinds of report events: severity and the default action, in French.
EVENT_KINDS: dict[str, tuple[Severity, str]] = {
    "file_read": ("info", "fichier lu"),
    "columns_detected": ("info", "colonnes utilisées"),
    "blank_rows": ("info", "lignes vides ignorées"),
    "single_perimeter": ("info", "un seul périmètre"),
    "code_cleaned": ("info", "code corrigé"),
    "leading_zero_restored": ("info", "code corrigé"),
    "corsica_code": ("warning", "code corrigé"),
    "former_code": ("warning", "remplacé par la commune actuelle"),
    "plm_parent_expanded": ("info", "remplacé par ses arrondissements"),
    "name_resolved": ("info", "code retrouvé d'après le nom"),
    "name_mismatch": ("warning", "code conservé"),
    "name_ambiguous": ("rejected", "rejeté"),
    "unknown_code": ("rejected", "rejeté"),
    "non_integer_code": ("rejected", "rejeté"),
    "unbalanced_quote": ("warning", "ligne lue seule, guillemets ignorés"),
    "mixed_encoding": ("warning", "lignes décodées une à une"),
    "multiline_cell": ("info", "lues comme une seule ligne"),
    "unknown_name": ("rejected", "rejeté"),
    # Context, not a rejection: the commune stays in its perimeter, evaluated whole.
    "outside_scope": ("info", "conservées pour évaluer les périmètres entiers"),
    "missing_perimeter": ("rejected", "rejeté"),
    "missing_code": ("warning", "ligne sans commune ignorée"),
    "duplicate_merged": ("warning", "doublon fusionné"),
    "empty_perimeter": ("warning", "périmètre conservé, vide"),
    "in_several_perimeters": ("info", "conservée dans chaque périmètre"),
    "infra_split": ("info", "découpage infra-communal déclaré : pas un chevauchement"),
    "split_single": ("warning", "découpage déclaré par un seul périmètre"),
    "unknown_status": ("warning", "statut laissé vide"),
    "missing_status": ("info", "statut laissé vide"),
    "status_conflict": ("warning", "statut le plus fréquent retenu"),
    "deemed_validated": ("info", "projet de santé réputé validé"),
    "validation_pending": ("info", "stade lettre d'intention retenu"),
    "perimeter_name_variants": ("info", "graphies regroupées"),
    "perimeter_name_conflict": ("warning", "premier nom retenu"),
    "crs_guessed": ("warning", "système de coordonnées supposé"),
    "encoding_repaired": ("warning", "textes réencodés"),
    "geometry_repaired": ("warning", "géométrie corrigée"),
    "empty_geometry": ("rejected", "objet ignoré"),
    "polygon_partial": ("info", "commune partiellement incluse"),
    "polygon_edge_slivers": ("info", "recouvrements de bordure ignorés"),
    "share_declared": ("info", "parts utilisées pour la population"),
    "share_invalid": ("rejected", "part ignorée"),
    "share_over_total": ("rejected", "parts refusées : commune comptée entière"),
    "share_completed": ("info", "parts complétées"),
}

REPORT_COLUMNS = ["kind", "severity", "row", "perimeter", "code", "message", "action"]

PERIMETER_COLUMNS = [
    "perimeter_id",
    "name",
    "status",
    "status_label",
    "date",
    "n_units",
    "unit_codes",
    "source_rows",
    "deemed_validated",
]
MEMBER_COLUMNS = ["perimeter_id", "code", "source_rows", "via"]
SPLIT_COLUMNS = ["perimeter_id", "code", "declared_code"]
#: Declared shares of a commune claimed by several perimeters: the part of its
#: inhabitants (0 < share <= 1) each perimeter serves.
SHARE_COLUMNS = ["perimeter_id", "code", "share"]


def _no_shares() -> pd.DataFrame:
    """An empty share table (:data:`SHARE_COLUMNS`)."""
    return pd.DataFrame(
        {
            "perimeter_id": pd.Series(dtype=object),
            "code": pd.Series(dtype=object),
            "share": pd.Series(dtype="float64"),
        }
    )


@dataclass
class PerimeterImport:
    """The result of an import: perimeters, their members, splits and the report.

    Attributes
    ----------
    perimeters
        One row per perimeter: perimeter_id, name, status (a stage key or
        missing), status_label (as written in the file), date, n_units,
        unit_codes (sorted tuple of unit codes), source_rows (tuple of row
        numbers in the file), deemed_validated (a health project filed more
        than two months before the listing's date, read at the health-project
        stage: "réputé validé").
    members
        One row per (perimeter, unit): perimeter_id, code, source_rows, via
        (``code``, ``former_code``, ``plm_parent``, ``name``, ``polygon``: ``VIA_ORDER`` of
        :mod:`diagnosis.core.communes`).
    splits
        Units under a declared infra-communal split: perimeter_id, code,
        declared_code (the commune as written, e.g. a PLM parent).
    report
        Every event: kind, severity (info, warning, rejected), row, perimeter,
        code, message (French), action (French).
    source
        What was read and detected (format, encoding, separator, sheet,
        header row, columns used, CRS).
    shares
        Declared shares (:data:`SHARE_COLUMNS`): the part of a shared commune's
        inhabitants each perimeter serves, from the file or set by a user.
    """

    perimeters: pd.DataFrame
    members: pd.DataFrame
    splits: pd.DataFrame
    report: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)
    shares: pd.DataFrame = field(default_factory=_no_shares)

    def report_counts(self) -> pd.DataFrame:
        """Number of report events by kind and severity."""
        if self.report.empty:
            return pd.DataFrame({"kind": [], "severity": [], "n": []})
        counts = self.report.groupby(["severity", "kind"], sort=True).size()
        return counts.rename("n").reset_index()[["kind", "severity", "n"]]

    def outside_note(self) -> str | None:
        """The neutral line saying which communes lie outside the view (None when none do)."""
        rows = self.report.loc[self.report["kind"] == "outside_scope", "message"]
        return str(rows.iloc[0]) if len(rows) else None

    @property
    def n_rejected(self) -> int:
        """Number of rejected values (rows or list items)."""
        return int((self.report["severity"] == "rejected").sum())

    def summary_fr(self) -> str:
        """One French sentence saying what was kept and what was not."""
        n_per = len(self.perimeters)
        n_units = self.members["code"].nunique() if not self.members.empty else 0
        n_warn = int((self.report["severity"] == "warning").sum())
        empty = int((self.perimeters["n_units"] == 0).sum()) if n_per else 0
        text = (
            f"{n_per} périmètre(s) importé(s), {n_units} commune(s) distincte(s) ; "
            f"{self.n_rejected} valeur(s) rejetée(s), {n_warn} avertissement(s)"
        )
        if empty:
            text += f", {empty} périmètre(s) vide(s)"
        return text + "."


class Report:
    """Collects report events.

    ``kinds`` are the kinds of events it accepts, with their severity and
    default action (default: the perimeter import's :data:`EVENT_KINDS`;
    another reader, such as the contracts file's, brings its own).
    """

    def __init__(self, kinds: Mapping[str, tuple[Severity, str]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.kinds = EVENT_KINDS if kinds is None else kinds

    def add(
        self,
        kind: str,
        message: str,
        *,
        row: int | None = None,
        perimeter: str | None = None,
        code: str | None = None,
        action: str | None = None,
    ) -> None:
        """Record one event of ``kind`` (severity and default action from EVENT_KINDS)."""
        severity, default_action = self.kinds[kind]
        self.rows.append(
            {
                "kind": kind,
                "severity": severity,
                "row": row,
                "perimeter": perimeter,
                "code": code,
                "message": message,
                "action": action or default_action,
            }
        )

    def frame(self) -> pd.DataFrame:
        """The events as a frame with :data:`REPORT_COLUMNS`."""
        frame = pd.DataFrame(self.rows, columns=REPORT_COLUMNS)
        frame["row"] = frame["row"].astype("Int64")
        return frame


def perimeters_from_members(
    members: Mapping[str, Iterable[str]],
    *,
    statuses: Mapping[str, str | None] | None = None,
    names: Mapping[str, str] | None = None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
) -> PerimeterImport:
    """A :class:`PerimeterImport` built in code (perimeter id → unit codes).

    Codes are taken as valid unit codes; useful for notebooks, tests and the
    app's own territories. ``shares`` gives declared shares, perimeter id →
    {unit code: share (0 < share <= 1)}.
    """
    perimeter_rows = []
    member_rows = []
    for pid, codes in members.items():
        unique = tuple(sorted(set(codes)))
        status = (statuses or {}).get(pid)
        perimeter_rows.append(
            {
                "perimeter_id": pid,
                "name": (names or {}).get(pid, pid),
                "status": status,
                "status_label": status_name(status) if status else None,
                "date": None,
                "n_units": len(unique),
                "unit_codes": unique,
                "source_rows": (),
                "deemed_validated": False,
            }
        )
        member_rows += [
            {"perimeter_id": pid, "code": c, "source_rows": (), "via": "code"} for c in unique
        ]
    share_rows = [
        (pid, code, float(value))
        for pid, by_code in (shares or {}).items()
        for code, value in by_code.items()
    ]
    return PerimeterImport(
        perimeters=pd.DataFrame(perimeter_rows, columns=PERIMETER_COLUMNS),
        members=pd.DataFrame(member_rows, columns=MEMBER_COLUMNS),
        splits=pd.DataFrame(columns=SPLIT_COLUMNS),
        report=pd.DataFrame(columns=REPORT_COLUMNS),
        shares=share_frame(share_rows),
    )


def share_frame(rows: Iterable[tuple[str, str, float]] = ()) -> pd.DataFrame:
    """Declared shares as a frame with :data:`SHARE_COLUMNS` (perimeter_id, code, share)."""
    frame = _no_shares()
    listed = list(rows)
    if not listed:
        return frame
    return pd.DataFrame(listed, columns=SHARE_COLUMNS).astype(
        {"perimeter_id": object, "code": object, "share": "float64"}
    )


def share_text(share: float) -> str:
    """A share as people write it ("40 %", "33,3 %").

    >>> share_text(0.4), share_text(1 / 3)
    ('40\u202f%', '33,3\u202f%')
    """
    return fr_share(share, 0 if abs(100 * share - round(100 * share)) < 1e-9 else 1)


#: Shares summing above 1 by less than this are rounding, not an excess.
SHARE_TOLERANCE = 1e-9  # as diagnosis.analysis.dispute_shares.SHARE_TOLERANCE
