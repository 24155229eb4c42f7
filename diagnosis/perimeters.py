"""Import CPTS perimeters from the files users really hold, with a complete report.

A perimeter is declared as a list of communes. The importer reads

- long tables (CSV, XLSX, ODS; one row per perimeter and commune),
- wide tables (one row per perimeter, codes or names listed in one cell),
- polygons (GeoJSON, GeoPackage, zipped Shapefile), assigning a unit to a
  perimeter when the share of its area inside reaches a threshold,
- the project's own export (:func:`export_perimeters_csv`),

and returns one validated table with an import report listing every
normalisation, every rejected value and why. Nothing is dropped silently.

Examples
--------
>>> result = import_perimeters("perimetres.xlsx")  # doctest: +SKIP
>>> result.perimeters[["perimeter_id", "name", "status", "n_units"]]  # doctest: +SKIP
>>> result.report_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.build import PLM_PARENTS, ZONE_CRS, zone_of
from diagnosis.reading import (
    ROLE_LABELS_FR,
    PerimeterFileError,
    PolygonLayer,
    RawTable,
    detect_format,
    find_columns,
    read_polygons,
    read_table,
    split_list_cell,
)
from diagnosis.referential import Referential, load_referential
from diagnosis.rules import STAGE_KEYS, StageKey, stage_label, stage_rank, status_from_label
from diagnosis.textnorm import clean_code_token, label_key, looks_like_code, name_key, slug

__all__ = [
    "REPORT_COLUMNS",
    "PerimeterFileError",
    "PerimeterImport",
    "export_perimeters_csv",
    "import_perimeters",
    "perimeters_from_members",
    "resolve_commune_codes",
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
    "unknown_name": ("rejected", "rejeté"),
    "outside_scope": ("rejected", "rejeté"),
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
    "perimeter_name_variants": ("info", "graphies regroupées"),
    "perimeter_name_conflict": ("warning", "premier nom retenu"),
    "crs_guessed": ("warning", "système de coordonnées supposé"),
    "encoding_repaired": ("warning", "textes réencodés"),
    "geometry_repaired": ("warning", "géométrie corrigée"),
    "empty_geometry": ("rejected", "objet ignoré"),
    "polygon_partial": ("info", "commune partiellement incluse"),
    "polygon_edge_slivers": ("info", "recouvrements de bordure ignorés"),
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
]
MEMBER_COLUMNS = ["perimeter_id", "code", "source_rows", "via"]
SPLIT_COLUMNS = ["perimeter_id", "code", "declared_code"]

_TRUE_LABELS = {"oui", "o", "yes", "y", "x", "1", "vrai", "true", "infra", "partage", "partagee"}

# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------


@dataclass
class PerimeterImport:
    """The result of an import: perimeters, their members, splits and the report.

    Attributes
    ----------
    perimeters
        One row per perimeter: perimeter_id, name, status (a stage key or
        missing), status_label (as written in the file), date, n_units,
        unit_codes (sorted tuple of unit codes), source_rows (tuple of row
        numbers in the file).
    members
        One row per (perimeter, unit): perimeter_id, code, source_rows, via
        (``code``, ``ancien_code``, ``commune_parente``, ``nom``, ``polygone``).
    splits
        Units under a declared infra-communal split: perimeter_id, code,
        declared_code (the commune as written, e.g. a PLM parent).
    report
        Every event: kind, severity (info, warning, rejected), row, perimeter,
        code, message (French), action (French).
    source
        What was read and detected (format, encoding, separator, sheet,
        header row, columns used, CRS).
    """

    perimeters: pd.DataFrame
    members: pd.DataFrame
    splits: pd.DataFrame
    report: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)

    def report_counts(self) -> pd.DataFrame:
        """Number of report events by kind and severity."""
        if self.report.empty:
            return pd.DataFrame({"kind": [], "severity": [], "n": []})
        counts = self.report.groupby(["severity", "kind"], sort=True).size()
        return counts.rename("n").reset_index()[["kind", "severity", "n"]]

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


class _Report:
    """Collects report events."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

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
        severity, default_action = EVENT_KINDS[kind]
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
        frame = pd.DataFrame(self.rows, columns=REPORT_COLUMNS)
        frame["row"] = frame["row"].astype("Int64")
        return frame


# --------------------------------------------------------------------------
# Lookups on the national referential
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lookups:
    units: frozenset[str]
    unit_name: dict[str, str]
    unit_department: dict[str, str]
    unit_region: dict[str, str]
    plm: dict[str, tuple[str, ...]]
    former: dict[str, str]
    former_name: dict[str, str]
    names: dict[str, tuple[str, ...]]  # name key -> unit or PLM parent codes
    former_names: dict[str, tuple[str, ...]]  # name key -> former codes


def _lookups(ref: Referential) -> _Lookups:
    def make() -> _Lookups:
        units = ref.units
        plm_lists: dict[str, list[str]] = defaultdict(list)
        for parent, unit in zip(
            ref.aliases["parent_code"].tolist(), ref.aliases["unit_code"].tolist(), strict=True
        ):
            plm_lists[str(parent)].append(str(unit))
        plm = {parent: tuple(sorted(units_)) for parent, units_ in plm_lists.items()}
        unit_name = dict(zip(units.index, units["name"].astype(str).tolist(), strict=True))
        unit_department = dict(
            zip(units.index, units["department"].astype(str).tolist(), strict=True)
        )
        unit_region = dict(zip(units.index, units["region"].astype(str).tolist(), strict=True))
        for parent, arrs in plm.items():
            unit_name[parent] = PLM_PARENTS.get(parent, parent)
            unit_department[parent] = unit_department[arrs[0]]
            unit_region[parent] = unit_region[arrs[0]]
        names: dict[str, list[str]] = defaultdict(list)
        for code, name in unit_name.items():
            names[name_key(name)].append(code)
        former = dict(
            zip(
                ref.former_codes["former_code"].tolist(),
                ref.former_codes["current_code"].tolist(),
                strict=True,
            )
        )
        former_name: dict[str, str] = {}
        former_names: dict[str, list[str]] = defaultdict(list)
        for old, old_name in zip(
            ref.former_codes["former_code"], ref.former_codes["former_name"], strict=True
        ):
            if isinstance(old_name, str) and old_name:
                former_name[old] = old_name
                former_names[name_key(old_name)].append(old)
        return _Lookups(
            units=frozenset(units.index),
            unit_name=unit_name,
            unit_department=unit_department,
            unit_region=unit_region,
            plm=plm,
            former=former,
            former_name=former_name,
            names={k: tuple(sorted(v)) for k, v in names.items()},
            former_names={k: tuple(sorted(v)) for k, v in former_names.items()},
        )

    lookups: _Lookups = ref.cached("perimeter_lookups", make)
    return lookups


# --------------------------------------------------------------------------
# Token resolution
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolution:
    """What a code or name token of the file means."""

    status: Literal["unit", "plm_parent", "unknown", "ambiguous"]
    code: str | None  # unit code, or PLM parent code
    via: str  # code, ancien_code, commune_parente, nom
    events: tuple[tuple[str, str], ...] = ()  # (kind, message)
    written: str = ""


_NAME_WITH_DEP = re.compile(r"^(?P<name>.*?)\s*\((?P<dep>\d[0-9AB]|\d{2,3})\)\s*$", re.IGNORECASE)


class _Resolver:
    def __init__(self, lookups: _Lookups, scope_units: frozenset[str] | None) -> None:
        self.lk = lookups
        self.scope_units = scope_units
        self._memo: dict[tuple[str, str | None], _Resolution] = {}

    def resolve(self, token: object, *, department_hint: str | None) -> _Resolution:
        key_token = token if isinstance(token, str) else repr(token)
        memo_key = (key_token, department_hint)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._resolve(token, department_hint)
        return self._memo[memo_key]

    def _resolve(self, token: object, department_hint: str | None) -> _Resolution:
        written = _display(token)
        cleaned = clean_code_token(token)
        if looks_like_code(cleaned):
            return self._resolve_code(written, cleaned)
        return self._resolve_name(written, department_hint)

    def _resolve_code(self, written: str, cleaned: str) -> _Resolution:
        lk = self.lk
        events: list[tuple[str, str]] = []
        code = cleaned
        if written.strip() != cleaned and not _is_plain_number(written, cleaned):
            events.append(("code_cleaned", f"Code « {written} » lu comme {cleaned}."))
        if len(code) == 4 and code.isdigit():
            padded = "0" + code
            events.append(
                (
                    "leading_zero_restored",
                    f"Code {code} complété en {padded} "
                    "(zéro initial perdu, par exemple par Excel).",
                )
            )
            code = padded
        if code.startswith("20") and code not in lk.units and code not in lk.former:
            matches = [c for c in ("2A" + code[2:], "2B" + code[2:]) if c in lk.units]
            if len(matches) == 1:
                events.append(
                    (
                        "corsica_code",
                        f"Code {code} (ancienne numérotation de la Corse) lu comme {matches[0]}.",
                    )
                )
                code = matches[0]
        return self._classify_code(written, code, events)

    def _classify_code(
        self, written: str, code: str, events: list[tuple[str, str]], via: str = "code"
    ) -> _Resolution:
        lk = self.lk
        if code in lk.units:
            return _Resolution("unit", code, via, tuple(events), written)
        if code in lk.plm:
            return _Resolution("plm_parent", code, "commune_parente", tuple(events), written)
        if code in lk.former:
            current = lk.former[code]
            old_name = lk.former_name.get(code)
            label = f"{code} ({old_name})" if old_name else code
            events.append(
                (
                    "former_code",
                    f"Ancien code {label} : commune fusionnée, remplacé par {current} "
                    f"({lk.unit_name.get(current, current)}).",
                )
            )
            status: Literal["unit", "plm_parent"] = "plm_parent" if current in lk.plm else "unit"
            return _Resolution(status, current, "ancien_code", tuple(events), written)
        return _Resolution("unknown", code, via, tuple(events), written)

    def _resolve_name(self, written: str, department_hint: str | None) -> _Resolution:
        lk = self.lk
        name = written.strip()
        dep = department_hint
        match = _NAME_WITH_DEP.match(name)
        if match:
            name = match.group("name")
            dep = match.group("dep").upper().zfill(2)
        key = name_key(name)
        if not key:
            return _Resolution("unknown", None, "nom", (), written)
        candidates = list(lk.names.get(key, ()))
        via = "nom"
        events: list[tuple[str, str]] = []
        if not candidates and key in lk.former_names:
            olds = lk.former_names[key]
            currents = sorted({lk.former[o] for o in olds})
            candidates = currents
            via = "ancien_code"
            events.append(
                (
                    "former_code",
                    f"« {name} » est une ancienne commune ({', '.join(olds)}), remplacée par "
                    + ", ".join(f"{c} ({lk.unit_name.get(c, c)})" for c in currents)
                    + ".",
                )
            )
        if dep and len(candidates) > 1:
            narrowed = [c for c in candidates if lk.unit_department.get(c) == dep]
            candidates = narrowed or candidates
        if len(candidates) > 1 and self.scope_units is not None:
            in_scope = [c for c in candidates if c in self.scope_units or c in lk.plm]
            candidates = in_scope or candidates
        if not candidates:
            return _Resolution("unknown", None, "nom", tuple(events), written)
        if len(candidates) > 1:
            listing = ", ".join(
                f"{c} ({lk.unit_name.get(c)}, dép. {lk.unit_department.get(c)})"
                for c in candidates[:8]
            )
            return _Resolution(
                "ambiguous",
                None,
                "nom",
                (
                    (
                        "name_ambiguous",
                        f"Nom « {name} » porté par plusieurs communes : {listing}"
                        + ("…" if len(candidates) > 8 else "")
                        + ". Indiquez le code INSEE ou le département.",
                    ),
                ),
                written,
            )
        code = candidates[0]
        events.append(("name_resolved", f"Commune « {name} » identifiée par son nom : {code}."))
        status: Literal["unit", "plm_parent"] = "plm_parent" if code in lk.plm else "unit"
        return _Resolution(status, code, via, tuple(events), written)


def _display(token: object) -> str:
    if isinstance(token, float) and token.is_integer():
        return str(int(token))
    return str(token)


def _is_plain_number(written: str, cleaned: str) -> bool:
    # Excel numbers (1001, 1001.0) are covered by the leading-zero event.
    return written.strip().rstrip("0").rstrip(".,") == cleaned.rstrip("0") or written == cleaned


@functools.lru_cache(maxsize=65536)
def names_match(given: str, expected: str) -> bool:
    """Whether a name written in a file plausibly designates the expected commune.

    Accents, case, hyphens, apostrophes and saint/st are ignored; a leading
    article, one name containing the other, or a close spelling also match.

    Examples
    --------
    >>> names_match("ST REMY DE PROVENCE", "Saint-Rémy-de-Provence")
    True
    >>> names_match("Abergement-Clémenciat", "L'Abergement-Clémenciat")
    True
    >>> names_match("Marseille 1er", "Marseille 1er Arrondissement")
    True
    >>> names_match("Arles", "Tarascon")
    False
    """
    a, b = name_key(given), name_key(expected)
    if not a:
        return True
    if a == b:
        return True
    articles = re.compile(r"^(le|la|les|l)\s+")
    a2, b2 = articles.sub("", a), articles.sub("", b)
    if a2 == b2:
        return True
    if len(a2) >= 4 and (a2 in b2 or b2 in a2):
        return True
    return difflib.SequenceMatcher(None, a2, b2).ratio() >= 0.88


# --------------------------------------------------------------------------
# Claims: one row per (perimeter, value) read from the file
# --------------------------------------------------------------------------


@dataclass
class _Claims:
    frame: pd.DataFrame  # row, pkey, pname, pid, status_label, date, split, dep, token, given_name
    mode: str
    columns: dict[str, str]


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _is_true(value: object) -> bool:
    text = _cell_text(value)
    return text is not None and label_key(text) in _TRUE_LABELS


def _claims_from_table(
    table: RawTable, columns: dict[str, str], report: _Report, *, default_name: str
) -> _Claims:
    frame = table.frame
    rows = table.row_numbers
    empty = frame.isna() | frame.apply(lambda c: c.astype(str).str.strip().eq(""))
    blank = empty.all(axis=1).to_numpy()
    if blank.any():
        report.add(
            "blank_rows",
            f"{int(blank.sum())} ligne(s) entièrement vide(s) ignorée(s) "
            f"(lignes {_short_list(rows[blank].tolist())}).",
        )
    frame = frame[~blank]
    rows = rows[~blank]

    code_col = columns.get("codes") or columns.get("code")
    name_col = columns.get("commune_name")
    if code_col is None and name_col is None:
        raise PerimeterFileError(
            "Aucune colonne de communes reconnue. Colonnes attendues : "
            f"« {ROLE_LABELS_FR['code']} » (code INSEE, codgeo, insee, code_commune, depcom), "
            "une liste de codes (communes, codes insee) ou le nom de la commune. "
            "Colonnes présentes : " + ", ".join(repr(c) for c in table.frame.columns)
        )
    mode = "long"
    if columns.get("codes"):
        mode = "wide"
    else:
        list_col = code_col or name_col
        assert list_col is not None
        # A sample is enough to tell a list column from a one-code-per-row column.
        cells = frame[list_col].head(2000).map(_cell_text).dropna()
        multi = cells.map(lambda v: len(split_list_cell(v)) > 1)
        if len(cells) and multi.mean() >= 0.2:
            mode = "wide"
            code_col = list_col if code_col is not None else None
            if code_col is None:
                name_col = list_col

    per_col = columns.get("perimeter")
    id_col = columns.get("perimeter_id")

    def col(role: str) -> list[Any]:
        name = columns.get(role)
        if name is None:
            return [None] * len(frame)
        return [_cell_text(v) for v in frame[name].tolist()]

    pnames = col("perimeter")
    pids = col("perimeter_id")
    if per_col is None and id_col is None:
        report.add(
            "single_perimeter",
            f"Pas de colonne de nom de périmètre : toutes les communes forment un seul "
            f"périmètre, nommé d'après le fichier (« {default_name} »).",
        )
        pnames = [default_name] * len(frame)
    statuses = col("status")
    dates = col("date")
    splits = [
        _is_true(v)
        for v in (frame[columns["split"]] if "split" in columns else [None] * len(frame))
    ]
    deps = [(d.upper().zfill(2) if d and len(d) <= 3 else d) for d in col("department")]
    given_names = (
        col("commune_name") if mode == "long" and code_col is not None else [None] * len(frame)
    )

    records: list[tuple[Any, ...]] = []
    source_col = code_col if code_col is not None else name_col
    assert source_col is not None
    values = frame[source_col].tolist()
    for i, value in enumerate(values):
        row = int(rows[i])
        if mode == "wide":
            tokens: list[object] = list(split_list_cell(value))
        else:
            tokens = [value] if _cell_text(value) is not None else []
        pname, pid = pnames[i], pids[i]
        if pname is None and pid is None:
            report.add(
                "missing_perimeter",
                "Ligne sans nom ni identifiant de périmètre"
                + (f" (valeur : {', '.join(map(_display, tokens))})" if tokens else "")
                + ".",
                row=row,
                code=", ".join(map(_display, tokens)) or None,
            )
            continue
        pkey = f"id:{pid}" if id_col is not None and pid is not None else f"name:{label_key(pname)}"
        if not tokens:
            report.add(
                "missing_code",
                "Ligne sans commune : elle déclare le périmètre sans lui ajouter de commune.",
                row=row,
                perimeter=pname or pid,
            )
            records.append(
                (row, pkey, pname, pid, statuses[i], dates[i], False, deps[i], None, None)
            )
            continue
        for token in tokens:
            records.append(
                (
                    row,
                    pkey,
                    pname,
                    pid,
                    statuses[i],
                    dates[i],
                    splits[i],
                    deps[i],
                    token,
                    given_names[i],
                )
            )
    return _Claims(frame=_claims_frame(records), mode=mode, columns=columns)


_CLAIM_COLUMNS = [
    "row",
    "pkey",
    "pname",
    "pid",
    "status_label",
    "date",
    "split",
    "dep",
    "token",
    "given_name",
]


def _claims_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    # dtype=object keeps None as None (pandas would turn it into NaN in text columns).
    return pd.DataFrame(records, columns=_CLAIM_COLUMNS, dtype=object)


def _short_list(values: Sequence[Any], limit: int = 12) -> str:
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f"… ({len(values)} au total)" if len(values) > limit else "")


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def import_perimeters(
    source: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    referential: Referential | None = None,
    region: str | None = None,
    department: str | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    layer: str | None = None,
    threshold: float = 0.5,
    splits: Mapping[str, Sequence[str]] | None = None,
) -> PerimeterImport:
    """Import a perimeter file into a validated table and a complete report.

    Parameters
    ----------
    source
        Path of the file, its bytes, or a binary file object.
    filename
        Name of the file (needed with bytes or file objects to know the format).
    referential
        National referential used to resolve codes (default: the embedded one).
    region, department
        Optional scope: units outside it are reported as rejected, not kept.
    columns
        Column mapping that overrides detection, role → column name. Roles:
        ``code``, ``codes`` (list in one cell), ``commune_name``, ``perimeter``,
        ``perimeter_id``, ``status``, ``date``, ``split``, ``department``.
    sheet
        Sheet of a workbook (default: the sheet whose header is recognised best).
    layer
        Layer of a GeoPackage (default: the first polygon layer).
    threshold
        Polygons: minimum share of a unit's area inside a perimeter to assign
        it (default 0.5).
    splits
        Declared infra-communal splits: commune code → perimeter names or ids
        that deliberately share it (in addition to a ``split`` column).

    Returns
    -------
    PerimeterImport
        Perimeters, members, splits, report and what was detected.

    Raises
    ------
    PerimeterFileError
        When the file cannot be read at all; the message says what was expected.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold doit être entre 0 et 1 (reçu {threshold}).")
    data, name = _read_bytes(source, filename)
    ref = referential if referential is not None else load_referential()
    lookups = _lookups(ref)
    scope_units = _scope_units(ref, region=region, department=department)
    report = _Report()
    file_format = detect_format(name)
    default_name = Path(name).stem
    source_info: dict[str, Any] = {"filename": name, "format": file_format}
    if file_format in ("csv", "excel"):
        table = read_table(
            data, file_format=file_format, sheet=sheet, wanted=list((columns or {}).values())
        )
        source_info.update(table.info)
        source_info["header_row"] = table.header_row
        mapping = find_columns(list(table.frame.columns), columns)
        source_info["columns"] = mapping
        _report_file_read(report, source_info)
        claims = _claims_from_table(table, mapping, report, default_name=default_name)
        source_info["mode"] = claims.mode
        result = _finish(
            claims.frame,
            lookups,
            scope_units,
            report,
            splits=splits,
            scope_label=_scope_label(ref, region, department),
            has_id=("perimeter_id" in mapping),
        )
    else:
        layer_data = read_polygons(data, file_format=file_format, layer=layer)
        source_info.update(layer_data.info)
        mapping = find_columns([c for c in layer_data.frame.columns if c != "geometry"], columns)
        source_info["columns"] = mapping
        source_info["mode"] = "polygons"
        _report_file_read(report, source_info)
        claims_frame = _claims_from_polygons(
            layer_data, mapping, ref, report, threshold=threshold, scope_units=scope_units
        )
        result = _finish(
            claims_frame,
            lookups,
            scope_units,
            report,
            splits=splits,
            scope_label=_scope_label(ref, region, department),
            has_id=("perimeter_id" in mapping),
        )
    result.source = source_info
    return result


def _read_bytes(source: str | Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise PerimeterFileError(f"Fichier introuvable : {path}")
        return path.read_bytes(), filename or path.name
    if isinstance(source, bytes):
        if filename is None:
            raise ValueError("filename est nécessaire pour lire des octets (format du fichier).")
        return source, filename
    data = source.read()
    name = filename or getattr(source, "name", None)
    if name is None:
        raise ValueError("filename est nécessaire pour lire un flux (format du fichier).")
    return data, str(name)


def _scope_units(
    ref: Referential, *, region: str | None, department: str | None
) -> frozenset[str] | None:
    if region and department:
        raise ValueError("Choisissez une région ou un département, pas les deux.")
    if region:
        return frozenset(load_referential(region=region, directory=ref.directory).units.index)
    if department:
        return frozenset(
            load_referential(department=department, directory=ref.directory).units.index
        )
    return None


def _scope_label(ref: Referential, region: str | None, department: str | None) -> str:
    if region:
        return load_referential(region=region, directory=ref.directory).scope_label
    if department:
        return load_referential(department=department, directory=ref.directory).scope_label
    return "France entière"


def _report_file_read(report: _Report, info: Mapping[str, Any]) -> None:
    parts = [f"Format {info['format']}"]
    if info.get("encoding"):
        parts.append(f"encodage {info['encoding']}")
    if info.get("separator"):
        parts.append(f"séparateur {info['separator']}")
    if info.get("sheet"):
        parts.append(f"feuille « {info['sheet']} »")
    if info.get("layer"):
        parts.append(f"couche « {info['layer']} »")
    if info.get("header_row"):
        parts.append(f"en-tête en ligne {info['header_row']}")
    report.add("file_read", ", ".join(parts) + ".")
    cols = info.get("columns", {})
    if cols:
        report.add(
            "columns_detected",
            "Colonnes utilisées : "
            + "; ".join(f"{ROLE_LABELS_FR.get(r, r)} ← « {c} »" for r, c in cols.items())
            + ".",
        )
    if info.get("crs_guessed"):
        report.add("crs_guessed", f"Pas de fichier .prj : {info['crs_guessed']}.")
    if info.get("encoding_repaired"):
        report.add(
            "encoding_repaired",
            "Textes en UTF-8 lus comme Latin-1 (pas de fichier .cpg) : réencodés pour les "
            "attributs " + ", ".join(f"« {c} »" for c in info["encoding_repaired"]) + ".",
        )


# --------------------------------------------------------------------------
# From claims to perimeters
# --------------------------------------------------------------------------


def _finish(
    claims: pd.DataFrame,
    lk: _Lookups,
    scope_units: frozenset[str] | None,
    report: _Report,
    *,
    splits: Mapping[str, Sequence[str]] | None,
    scope_label: str,
    has_id: bool,
) -> PerimeterImport:
    resolver = _Resolver(lk, scope_units)
    perimeters = _perimeter_table(claims, report, has_id=has_id)
    pid_of_key = dict(
        zip(perimeters["pkey"].tolist(), perimeters["perimeter_id"].tolist(), strict=True)
    )
    pname_of_id = dict(
        zip(perimeters["perimeter_id"].tolist(), perimeters["name"].tolist(), strict=True)
    )

    # Resolve every token (memoised on unique tokens).
    resolved: list[
        tuple[int, str, str, str, str, str, bool]
    ] = []  # row,pid,code,kind,via,written,split
    plm_claims: list[tuple[int, str, str, str, bool]] = []  # row, pid, parent, via, split
    valid = claims["token"].notna().to_numpy()
    sub = claims.loc[valid]
    unit_name = lk.unit_name
    for row, pkey, token, dep, given, split in zip(
        sub["row"].tolist(),
        sub["pkey"].tolist(),
        sub["token"].tolist(),
        sub["dep"].tolist(),
        sub["given_name"].tolist(),
        sub["split"].tolist(),
        strict=True,
    ):
        pid = pid_of_key[pkey]
        pname = pname_of_id[pid]
        res = (
            token
            if isinstance(token, _Resolution)
            else resolver.resolve(token, department_hint=dep)
        )
        row_i = row
        for kind, message in res.events:
            report.add(kind, message, row=row_i, perimeter=pname, code=res.written or None)
        if res.status == "unknown":
            if re.search(r"[^\W\d_]", res.written):  # letters: a name, not a code
                report.add(
                    "unknown_name",
                    f"Commune « {res.written} » introuvable dans le référentiel.",
                    row=row_i,
                    perimeter=pname,
                    code=res.written,
                )
            else:
                report.add(
                    "unknown_code",
                    f"Code {res.code or res.written} inconnu du référentiel des communes "
                    "(code erroné, commune hors de France métropolitaine et des DROM, "
                    "ou commune disparue non répertoriée).",
                    row=row_i,
                    perimeter=pname,
                    code=res.written,
                )
            continue
        if res.status == "ambiguous":
            continue
        assert res.code is not None
        if scope_units is not None:
            inside = (
                res.code in scope_units
                if res.status == "unit"
                else any(a in scope_units for a in lk.plm[res.code])
            )
            if not inside:
                report.add(
                    "outside_scope",
                    f"Commune {res.code} ({lk.unit_name.get(res.code, '')}, département "
                    f"{lk.unit_department.get(res.code, '?')}) hors du périmètre d'étude "
                    f"({scope_label}).",
                    row=row_i,
                    perimeter=pname,
                    code=res.code,
                )
                continue
        if given is not None and not names_match(given, unit_name.get(res.code, "")):
            expected = unit_name.get(res.code, "")
            if not (res.via == "ancien_code" and names_match(given, _former_name_for(lk, res))):
                report.add(
                    "name_mismatch",
                    f"Le nom « {given} » ne correspond pas au code {res.code} "
                    f"(« {expected} » dans le référentiel).",
                    row=row_i,
                    perimeter=pname,
                    code=res.code,
                )
        is_split = split is True
        if res.status == "plm_parent":
            plm_claims.append((row_i, pid, res.code, res.via, is_split))
        else:
            resolved.append((row_i, pid, res.code, "unit", res.via, res.written, is_split))

    # Paris, Lyon, Marseille given by the parent code: all arrondissements not
    # assigned explicitly to another perimeter of the same file.
    explicit_owner: dict[str, set[str]] = defaultdict(set)
    for _row, pid, code, _k, _via, _w, _s in resolved:
        explicit_owner[code].add(pid)
    for row_i, pid, parent, _via, is_split in plm_claims:
        arrs = lk.plm[parent]
        elsewhere = [a for a in arrs if explicit_owner.get(a, set()) - {pid}]
        kept = [a for a in arrs if a not in elsewhere]
        if scope_units is not None:
            kept = [a for a in kept if a in scope_units]
        name = PLM_PARENTS.get(parent, parent)
        message = f"{name} ({parent}) remplacé par ses {len(arrs)} arrondissements"
        if elsewhere:
            message += (
                f", sauf {len(elsewhere)} attribué(s) à d'autres périmètres du fichier "
                f"({_short_list(elsewhere)}) : {len(kept)} arrondissement(s) retenu(s)"
            )
        report.add(
            "plm_parent_expanded", message + ".", row=row_i, perimeter=pname_of_id[pid], code=parent
        )
        for arr in kept:
            resolved.append((row_i, pid, arr, "unit", "commune_parente", parent, is_split))

    members = _members(resolved, lk, report, pname_of_id)
    split_frame = _splits(resolved, members, splits, perimeters, lk, report, pname_of_id)
    _report_multi(members, split_frame, lk, report, pname_of_id)

    perimeters = _attach_members(perimeters, members, report)
    return PerimeterImport(
        perimeters=perimeters[PERIMETER_COLUMNS].reset_index(drop=True),
        members=members[MEMBER_COLUMNS].reset_index(drop=True),
        splits=split_frame[SPLIT_COLUMNS].reset_index(drop=True),
        report=report.frame(),
    )


def _former_name_for(lk: _Lookups, res: _Resolution) -> str:
    code = clean_code_token(res.written)
    if len(code) == 4:
        code = "0" + code
    return lk.former_name.get(code, "")


def _perimeter_table(claims: pd.DataFrame, report: _Report, *, has_id: bool) -> pd.DataFrame:
    rows = []
    used_ids: set[str] = set()
    groups: dict[str, list[int]] = {}
    for i, pkey in enumerate(claims["pkey"].tolist()):
        groups.setdefault(pkey, []).append(i)
    columns = {c: claims[c].tolist() for c in ("row", "pname", "pid", "status_label", "date")}
    for pkey, index in groups.items():
        group = {c: [values[i] for i in index] for c, values in columns.items()}
        names = [n for n in group["pname"] if n]
        ids = [i for i in group["pid"] if i]
        present_rows = [int(r) for r in group["row"] if r is not None]
        first_row = min(present_rows) if present_rows else None
        name = names[0] if names else (ids[0] if ids else "Périmètre sans nom")
        distinct = list(dict.fromkeys(names))
        if len(distinct) > 1:
            kind = "perimeter_name_conflict" if has_id else "perimeter_name_variants"
            report.add(
                kind,
                "Plusieurs graphies pour le même périmètre : "
                + " / ".join(f"« {n} »" for n in distinct)
                + f" ; « {name} » retenu.",
                row=first_row,
                perimeter=name,
            )
        if has_id and ids:
            pid = ids[0]
        else:
            base = slug(name)
            pid, k = base, 2
            while pid in used_ids:
                pid, k = f"{base}-{k}", k + 1
        used_ids.add(pid)
        status, status_label = _status_of(group, report, name, first_row)
        dates = [d for d in group["date"] if d]
        rows.append(
            {
                "pkey": pkey,
                "perimeter_id": pid,
                "name": name,
                "status": status,
                "status_label": status_label,
                "date": dates[0] if dates else None,
                "source_rows": tuple(sorted(set(present_rows))),
            }
        )
    # dtype=object keeps missing statuses and dates as None.
    return pd.DataFrame(
        rows,
        columns=["pkey", "perimeter_id", "name", "status", "status_label", "date", "source_rows"],
        dtype=object,
    )


def _status_of(
    group: Mapping[str, list[Any]], report: _Report, name: str, row: int | None
) -> tuple[StageKey | None, str | None]:
    labels = [lbl for lbl in group["status_label"] if lbl]
    if not labels:
        report.add(
            "missing_status", "Aucun statut indiqué pour ce périmètre.", row=row, perimeter=name
        )
        return None, None
    counts = Counter(labels)
    mapped = {lbl: status_from_label(lbl) for lbl in counts}
    unknown = [lbl for lbl, key in mapped.items() if key is None]
    for lbl in unknown:
        report.add(
            "unknown_status",
            f"Statut « {lbl} » non reconnu (stades possibles : "
            + ", ".join(stage_label(k) for k in STAGE_KEYS)
            + ") : non deviné.",
            row=row,
            perimeter=name,
            code=None,
        )
    known = {lbl: key for lbl, key in mapped.items() if key is not None}
    if not known:
        return None, labels[0]
    stages_found = set(known.values())
    best_label = max(known, key=lambda lbl: (counts[lbl], stage_rank(known[lbl])))
    if len(stages_found) > 1:
        report.add(
            "status_conflict",
            "Statuts différents pour le même périmètre : "
            + ", ".join(f"« {lbl} » ({counts[lbl]} ligne(s))" for lbl in known)
            + f" ; « {best_label} » retenu.",
            row=row,
            perimeter=name,
        )
    return known[best_label], best_label


def _members(
    resolved: list[tuple[Any, ...]],
    lk: _Lookups,
    report: _Report,
    pname_of_id: Mapping[str, str],
) -> pd.DataFrame:
    columns = [*MEMBER_COLUMNS, "split"]
    if not resolved:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        resolved, columns=["row", "perimeter_id", "code", "kind", "via", "written", "split"]
    )
    dup = frame.duplicated(["perimeter_id", "code"], keep=False).to_numpy()
    single = frame.loc[~dup, ["perimeter_id", "code", "row", "via", "split"]]
    records = pd.DataFrame(
        {
            "perimeter_id": single["perimeter_id"].to_numpy(),
            "code": single["code"].to_numpy(),
            "source_rows": [() if pd.isna(r) else (int(r),) for r in single["row"].tolist()],
            "via": single["via"].to_numpy(),
            "split": single["split"].to_numpy(dtype=bool),
        }
    )
    merged = []
    groups: dict[tuple[str, str], list[dict[Any, Any]]] = {}
    for item in frame.loc[dup].to_dict("records"):
        groups.setdefault((str(item["perimeter_id"]), str(item["code"])), []).append(item)
    for (pid, code), items in sorted(groups.items()):
        rows = sorted({int(it["row"]) for it in items if not pd.isna(it["row"])})
        vias = {it["via"] for it in items}
        written = sorted({str(it["written"]) for it in items})
        how = ""
        if "commune_parente" in vias:
            how = " (dont via la commune parente)"
        if "ancien_code" in vias:
            how = " (ancien code et commune actuelle listés tous deux)"
        report.add(
            "duplicate_merged",
            f"Commune {code} ({lk.unit_name.get(code, '')}) listée "
            f"{len(items)} fois dans ce périmètre{how} : lignes {_short_list(rows)} ; "
            f"valeurs {', '.join(written)}.",
            row=rows[0] if rows else None,
            perimeter=pname_of_id[pid],
            code=code,
        )
        merged.append(
            {
                "perimeter_id": pid,
                "code": code,
                "source_rows": tuple(rows),
                "via": "code" if "code" in vias else sorted(vias)[0],
                "split": any(bool(it["split"]) for it in items),
            }
        )
    out = pd.concat([records, pd.DataFrame(merged, columns=columns)], ignore_index=True)
    return out.sort_values(["perimeter_id", "code"], kind="stable").reset_index(drop=True)


def _splits(  # noqa: PLR0917 - private step of _finish
    resolved: list[tuple[Any, ...]],
    members: pd.DataFrame,
    declared: Mapping[str, Sequence[str]] | None,
    perimeters: pd.DataFrame,
    lk: _Lookups,
    report: _Report,
    pname_of_id: Mapping[str, str],
) -> pd.DataFrame:
    """Units under a declared infra-communal split (column or option)."""
    rows: list[tuple[str, str, str]] = []
    for _row, pid, code, _kind, via, written, split in resolved:
        if split:
            declared_code = str(written) if via == "commune_parente" else code
            rows.append((pid, code, declared_code))
    if declared:
        by_name = {
            label_key(n): pid
            for pid, n in zip(
                perimeters["perimeter_id"].tolist(), perimeters["name"].tolist(), strict=True
            )
        }
        ids = set(perimeters["perimeter_id"])
        for commune, owners in declared.items():
            commune_code = clean_code_token(commune)
            if len(commune_code) == 4:
                commune_code = "0" + commune_code
            units = list(lk.plm.get(commune_code, (commune_code,)))
            for owner in owners:
                pid = owner if owner in ids else by_name.get(label_key(owner))
                if pid is None:
                    report.add(
                        "split_single",
                        f"Découpage infra-communal de {commune_code} : périmètre « {owner} » "
                        "absent du fichier.",
                        code=commune_code,
                        action="déclaration ignorée",
                    )
                    continue
                for unit in units:
                    rows.append((pid, unit, commune_code))
    frame = pd.DataFrame(rows, columns=SPLIT_COLUMNS).drop_duplicates(["perimeter_id", "code"])
    if not members.empty and not frame.empty:
        keys = set(zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True))
        frame = frame[
            [
                (p, c) in keys
                for p, c in zip(frame["perimeter_id"].tolist(), frame["code"].tolist(), strict=True)
            ]
        ]
    for declared_value, group in frame.groupby("declared_code", sort=True):
        declared_code = str(declared_value)
        owners = sorted(set(group["perimeter_id"].tolist()))
        names = [pname_of_id[p] for p in owners]
        label = lk.unit_name.get(declared_code, declared_code)
        if len(owners) < 2:
            report.add(
                "split_single",
                f"Découpage infra-communal déclaré pour {declared_code} ({label}) par un seul "
                f"périmètre ({names[0]}) : sans effet.",
                perimeter=names[0],
                code=str(declared_code),
                action="déclaration conservée, sans effet",
            )
        else:
            report.add(
                "infra_split",
                f"{declared_code} ({label}) partagée volontairement entre "
                + ", ".join(names)
                + " (découpage infra-communal déclaré).",
                code=str(declared_code),
            )
    return frame.reset_index(drop=True)


def _report_multi(
    members: pd.DataFrame,
    splits: pd.DataFrame,
    lk: _Lookups,
    report: _Report,
    pname_of_id: Mapping[str, str],
) -> None:
    if members.empty:
        return
    split_keys = set(zip(splits["perimeter_id"].tolist(), splits["code"].tolist(), strict=True))
    owners: dict[str, list[str]] = {}
    for pid, code in zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True):
        if (pid, code) not in split_keys:
            owners.setdefault(code, []).append(pid)
    for code, claimed in sorted(owners.items()):
        if len(claimed) < 2:
            continue
        report.add(
            "in_several_perimeters",
            f"Commune {code} ({lk.unit_name.get(str(code), '')}) présente dans "
            f"{len(claimed)} périmètres : " + ", ".join(pname_of_id[p] for p in claimed) + ".",
            code=str(code),
        )


def _attach_members(
    perimeters: pd.DataFrame, members: pd.DataFrame, report: _Report
) -> pd.DataFrame:
    grouped: dict[str, list[str]] = {}
    for pid, code in zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True):
        grouped.setdefault(pid, []).append(code)
    codes = {pid: tuple(sorted(c)) for pid, c in grouped.items()}
    out = perimeters.copy()
    out["unit_codes"] = [codes.get(pid, ()) for pid in out["perimeter_id"]]
    out["n_units"] = np.array([len(c) for c in out["unit_codes"]], dtype=np.int64)
    for name, n, rows in zip(
        out["name"].tolist(), out["n_units"].tolist(), out["source_rows"].tolist(), strict=True
    ):
        if n == 0:
            report.add(
                "empty_perimeter",
                "Aucune commune valide dans ce périmètre.",
                row=rows[0] if rows else None,
                perimeter=name,
            )
    return out


# --------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------

#: Shares of a unit's area below this are border slivers (summarised in one
#: event); above ``1 - _EDGE_SHARE`` the unit counts as wholly inside. Hand-drawn
#: or differently simplified polygons never follow commune borders exactly.
_EDGE_SHARE = 0.05


def _claims_from_polygons(
    layer: PolygonLayer,
    columns: Mapping[str, str],
    ref: Referential,
    report: _Report,
    *,
    threshold: float,
    scope_units: frozenset[str] | None,
) -> pd.DataFrame:
    frame = layer.frame.reset_index(drop=True)
    per_col, id_col = columns.get("perimeter"), columns.get("perimeter_id")
    if per_col is None and id_col is None:
        report.add(
            "single_perimeter",
            "Pas d'attribut de nom de périmètre : chaque objet devient un périmètre "
            "« Périmètre n » (n = numéro de l'objet).",
            action="noms attribués",
        )
    geoms = frame.geometry.to_numpy()
    features = []
    for i, geom in enumerate(geoms):
        row = i + 1
        pname = _cell_text(frame.at[i, per_col]) if per_col else None
        pid = _cell_text(frame.at[i, id_col]) if id_col else None
        if pname is None and pid is None:
            pname = f"Périmètre {row}"
        status = _cell_text(frame.at[i, columns["status"]]) if "status" in columns else None
        date = _cell_text(frame.at[i, columns["date"]]) if "date" in columns else None
        pkey = f"id:{pid}" if id_col is not None and pid is not None else f"name:{label_key(pname)}"
        if geom is None or geom.is_empty:
            report.add("empty_geometry", "Objet sans géométrie.", row=row, perimeter=pname or pid)
            features.append((row, pkey, pname, pid, status, date, None))
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom)  # noqa: PLW2901 - the repaired shape replaces it
            report.add(
                "geometry_repaired",
                f"Géométrie invalide ({reason}) corrigée automatiquement.",
                row=row,
                perimeter=pname or pid,
            )
        polygonal = [
            p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")
        ]
        if not polygonal:
            report.add(
                "empty_geometry",
                f"Objet sans surface ({geom.geom_type}) : un périmètre doit être un polygone.",
                row=row,
                perimeter=pname or pid,
            )
            features.append((row, pkey, pname, pid, status, date, None))
            continue
        features.append((row, pkey, pname, pid, status, date, shapely.union_all(polygonal)))

    units = ref.units
    has_geom = units.geometry.notna() & ~units.geometry.is_empty
    units = units[has_geom]
    zones = zone_of(units["department"].astype(str))
    records: list[tuple[Any, ...]] = []
    slivers = 0
    by_key: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for feat in features:
        by_key[feat[1]].append(feat)
    for pkey, feats in by_key.items():
        row0, _, pname, pid, status, date, _ = feats[0]
        geoms_k = [f[6] for f in feats if f[6] is not None]
        rows_k = [f[0] for f in feats]
        if not geoms_k:
            records.append((row0, pkey, pname, pid, status, date, False, None, None, None))
            continue
        poly = shapely.union_all(geoms_k)
        assigned = 0
        for zone, epsg in ZONE_CRS.items():
            zone_units = units[(zones == zone).to_numpy()]
            if zone_units.empty:
                continue
            zone_poly = gpd.GeoSeries([poly], crs=4326).to_crs(epsg).iloc[0]
            unit_geoms = _zone_geometries(ref, zone, epsg, zone_units)
            tree = _zone_tree(ref, zone, unit_geoms)
            candidates = tree.query(zone_poly, predicate="intersects")
            if len(candidates) == 0:
                continue
            shapely.prepare(zone_poly)
            cand_geoms = unit_geoms[candidates]
            inside = shapely.contains(zone_poly, cand_geoms)
            share = np.ones(len(candidates))
            partial = ~inside
            if partial.any():
                inter = shapely.intersection(cand_geoms[partial], zone_poly)
                share[partial] = shapely.area(inter) / shapely.area(cand_geoms[partial])
            codes = zone_units.index.to_numpy()[candidates]
            for code, s in zip(codes, share, strict=True):
                if s <= 1e-9:  # touching only
                    continue
                if s < _EDGE_SHARE:
                    slivers += 1
                    continue
                keep = s >= threshold
                if s < 1 - _EDGE_SHARE:
                    report.add(
                        "polygon_partial",
                        f"Commune {code} ({units.at[code, 'name']}) incluse à {s:.0%} dans le "
                        f"polygone : {'rattachée' if keep else 'non rattachée'} (seuil "
                        f"{threshold:.0%}).",
                        row=rows_k[0],
                        perimeter=pname or pid,
                        code=str(code),
                        action="rattachée" if keep else "non rattachée",
                    )
                if keep:
                    assigned += 1
                    token = _Resolution("unit", str(code), "polygone", (), str(code))
                    records.append(
                        (rows_k[0], pkey, pname, pid, status, date, False, None, token, None)
                    )
        if not assigned:
            records.append((row0, pkey, pname, pid, status, date, False, None, None, None))
    if slivers:
        report.add(
            "polygon_edge_slivers",
            f"{slivers} commune(s) touchée(s) par moins de {_EDGE_SHARE:.0%} de leur surface en "
            "bordure des polygones (différences de tracé) : non rattachées.",
        )
    return _claims_frame(records)


def _zone_geometries(
    ref: Referential, zone: str, epsg: int, zone_units: gpd.GeoDataFrame
) -> np.ndarray:
    key = f"polygon_zone_geoms:{zone}:{len(zone_units)}"

    def make() -> np.ndarray:
        return zone_units.geometry.to_crs(epsg).to_numpy()

    geoms: np.ndarray = ref.cached(key, make)
    return geoms


def _zone_tree(ref: Referential, zone: str, geoms: np.ndarray) -> shapely.STRtree:
    key = f"polygon_zone_tree:{zone}:{len(geoms)}"
    tree: shapely.STRtree = ref.cached(key, lambda: shapely.STRtree(geoms))
    return tree


# --------------------------------------------------------------------------
# Building results programmatically, and the project's own export format
# --------------------------------------------------------------------------


def perimeters_from_members(
    members: Mapping[str, Iterable[str]],
    *,
    statuses: Mapping[str, str | None] | None = None,
    names: Mapping[str, str] | None = None,
) -> PerimeterImport:
    """A :class:`PerimeterImport` built in code (perimeter id → unit codes).

    Codes are taken as valid unit codes; useful for notebooks, tests and the
    app's own territories.
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
                "status_label": stage_label(status) if status else None,
                "date": None,
                "n_units": len(unique),
                "unit_codes": unique,
                "source_rows": (),
            }
        )
        member_rows += [
            {"perimeter_id": pid, "code": c, "source_rows": (), "via": "code"} for c in unique
        ]
    return PerimeterImport(
        perimeters=pd.DataFrame(perimeter_rows, columns=PERIMETER_COLUMNS),
        members=pd.DataFrame(member_rows, columns=MEMBER_COLUMNS),
        splits=pd.DataFrame(columns=SPLIT_COLUMNS),
        report=pd.DataFrame(columns=REPORT_COLUMNS),
    )


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


def resolve_commune_codes(
    values: Iterable[object], *, referential: Referential | None = None
) -> pd.DataFrame:
    """How each distinct commune code (or name) of a file maps onto the referential.

    The same normalisation as the perimeter importer: leading zeros, Corsica,
    typographic noise, former codes of merged communes, Paris/Lyon/Marseille
    parent codes, names.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value: written, status (``unit``,
        ``plm_parent``, ``unknown``, ``ambiguous``), code (unit code, or the
        PLM parent code), via, units (tuple of unit codes: the unit, or the
        parent's arrondissements), events (French messages).
    """
    ref = referential if referential is not None else load_referential()
    lk = _lookups(ref)
    resolver = _Resolver(lk, None)
    rows = []
    for value in pd.unique(pd.Series(list(values), dtype=object)):
        res = resolver.resolve(value, department_hint=None)
        if res.status == "unit":
            units: tuple[str, ...] = (str(res.code),)
        elif res.status == "plm_parent":
            units = lk.plm[str(res.code)]
        else:
            units = ()
        rows.append(
            {
                "written": value,
                "status": res.status,
                "code": res.code,
                "via": res.via,
                "units": units,
                "events": tuple(message for _, message in res.events),
            }
        )
    return pd.DataFrame(rows, columns=["written", "status", "code", "via", "units", "events"])
