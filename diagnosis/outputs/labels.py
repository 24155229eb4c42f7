"""French labels for people: column headers, categories, severities, booleans, numbers.

Identifiers stay English and stable in code, in the CLI's CSV contract and in
tests; whatever a person reads (dashboard tables, Excel workbooks, fiches,
people's CSV) goes through :func:`for_people`, which renames the columns it
knows and turns values into French text: ``oui``/``non``, stage and report
labels, numbers with French separators (``1 234 567``, ``98,1 %``,
``4,6 km``), an empty cell for a missing value (never ``nan`` or ``None``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from diagnosis.core.cells import protect_text
from diagnosis.core.numbers import (
    NNBSP,
    finite_or_none,
    fr_number,
    fr_share,
)

__all__ = [
    "COLUMN_LABELS",
    "LEVEL_LABELS",
    "NUMBER_STYLES_ATTR",
    "REPORT_KIND_LABELS",
    "SEVERITY_LABELS",
    "NumberStyle",
    "for_people",
    "number_style",
    "people_csv",
]


#: French headers of the columns that reach people.
COLUMN_LABELS: dict[str, str] = {
    "perimeter_id": "identifiant",
    "name": "nom",
    "status": "stade",
    "status_label": "stade (tel qu'écrit)",
    "status_fr": "stade",
    "date": "date",
    "population": "habitants",
    "population_year": "année de la population",
    "n_units": "communes",
    "size_class": "taille ACI",
    "size_label": "taille ACI (libellé)",
    "below_minimum": "sous le seuil",
    "minimum_population": "seuil de population",
    "missing_to_minimum": "habitants manquants",
    "margin_above": "habitants pour la taille suivante",
    "margin_below": "marge avant la taille inférieure",
    "n_parts": "parties",
    "n_enclaves": "enclaves",
    "n_shared": "communes partagées",
    "area_km2": "superficie (km²)",
    "density_per_km2": "densité (hab./km²)",
    "departments": "départements",
    "regions": "régions",
    "department": "département",
    "region": "région",
    "epci_code": "code EPCI",
    "epci_name": "EPCI",
    "epci_population": "habitants de l'EPCI",
    "population_included": "habitants inclus",
    "share_included": "part incluse",
    "cut": "EPCI coupé",
    "n_epcis": "nombre d'EPCI",
    "n_epcis_cut": "nombre d'EPCI coupés",
    "funding_max_eur": "financement maximal (€)",
    "code": "code INSEE",
    "commune": "commune",
    "n_perimeters": "nb de périmètres",
    "perimeters": "périmètres",
    "cluster_id": "groupe",
    "neighbour_perimeters": "périmètres voisins",
    "communes": "communes",
    "scope": "territoire",
    "status_min": "stade minimal",
    "population_total": "habitants",
    "population_covered": "habitants couverts",
    "population_white": "habitants en zone blanche",
    "share_covered": "part couverte",
    "share_white": "part en zone blanche",
    "proposal_id": "proposition",
    "kind": "type",
    "epcis": "EPCI",
    "evidence": "justification",
    "compactness": "compacité",
    "option": "option (code)",
    "option_label": "option",
    "side": "côté",
    "distance_a_km": "distance à la mairie principale de A (km)",
    "distance_b_km": "distance à la mairie principale de B (km)",
    "nearest": "mairie principale la plus proche",
    "declared_code": "code déclaré",
    "severity": "gravité",
    "row": "ligne",
    "perimeter": "périmètre",
    "message": "message",
    "action": "action",
    "n": "nombre",
    "border_m": "frontière commune (m)",
    "n_units_adjacent": "communes limitrophes",
    "area_shared_km2": "superficie commune (km²)",
    "codes": "codes INSEE",
    "epci_n_units": "communes de l'EPCI",
    "is_island": "île",
    "level": "niveau",
    "margin_to_nearest_bound": "marge à la borne de taille la plus proche",
    "n_contested_received": "communes disputées reçues",
    "n_epci": "nombre d'EPCI",
    "n_epci_cut": "nombre d'EPCI coupés",
    "n_epci_whole": "nombre d'EPCI entiers",
    "n_neighbour_perimeters": "périmètres voisins (nombre)",
    "n_units_included": "communes incluses",
    "n_units_shared": "communes partagées",
    "name_a": "nom A",
    "name_b": "nom B",
    "nearest_bound": "borne de taille la plus proche",
    "option_epci_entiers": "EPCI entiers",
    "option_mairie_la_plus_proche": "mairie la plus proche",
    "option_tout_a": "tout à A",
    "option_tout_b": "tout à B",
    "option_partage_population": "partage",
    "part": "partie",
    "perimeter_a": "périmètre A",
    "perimeter_b": "périmètre B",
    "perimeter_ids": "identifiants des périmètres",
    "population_after": "habitants après",
    "population_label": "millésime de la population",
    "population_shared": "habitants en commun",
    "reaches_minimum": "atteint le seuil",
    "share_units_covered": "part des communes couvertes",
    "size_class_after": "taille ACI après",
    "size_lower_bound": "borne inférieure de la taille",
    "size_upper_bound": "borne supérieure de la taille",
    "source_rows": "lignes du fichier",
    "status_a": "stade A",
    "status_b": "stade B",
    "statuses": "stades",
    "target_name": "périmètre de rattachement",
    "target_perimeter_id": "identifiant du périmètre de rattachement",
    "target_population_before": "habitants du périmètre avant",
    "units_covered": "communes couvertes",
    "units_total": "communes (total)",
    "via": "reconnue par",
    "share_a": "part comptée pour A",
    "n_units_without_apl": "communes sans APL",
    "indicator": "indicateur",
    "unit": "unité",
    "source": "source",
    "population_in_scope": "habitants dans la vue",
    "population_without_shared": "habitants hors communes partagées",
    "shared_units": "communes partagées (codes)",
    "outside_departments": "déborde sur (départements)",
    "size_class_without_shared": "taille ACI sans les communes partagées",
    "size_range": "taille ACI (fourchette)",
    "size_range_reason": "fourchette de taille : pourquoi",
    "outside_label": "déborde sur",
    "population_counted": "habitants comptés",
    "declared": "part déclarée",
    "with_ids": "partagée avec (identifiants)",
    "with_names": "partagée avec",
}

#: French labels of the import report's kinds of events.
REPORT_KIND_LABELS: dict[str, str] = {
    "file_read": "fichier lu",
    "columns_detected": "colonnes reconnues",
    "blank_rows": "lignes vides",
    "single_perimeter": "un seul périmètre",
    "code_cleaned": "code nettoyé",
    "leading_zero_restored": "zéro initial rétabli",
    "corsica_code": "code corse (2A/2B)",
    "former_code": "ancien code de commune",
    "plm_parent_expanded": "Paris, Lyon ou Marseille en arrondissements",
    "name_resolved": "code retrouvé par le nom",
    "name_mismatch": "nom différent du code",
    "name_ambiguous": "nom ambigu",
    "unknown_code": "code inconnu",
    "unknown_name": "nom inconnu",
    "outside_scope": "hors du périmètre d'étude",
    "missing_perimeter": "périmètre manquant",
    "missing_code": "commune manquante",
    "duplicate_merged": "doublon",
    "empty_perimeter": "périmètre vide",
    "in_several_perimeters": "commune dans plusieurs périmètres",
    "infra_split": "découpage infra-communal déclaré",
    "split_single": "découpage déclaré d'un seul côté",
    "unknown_status": "stade non reconnu",
    "missing_status": "stade non renseigné",
    "status_conflict": "stades contradictoires",
    "perimeter_name_variants": "graphies du nom",
    "perimeter_name_conflict": "noms contradictoires",
    "crs_guessed": "système de coordonnées supposé",
    "encoding_repaired": "encodage réparé",
    "geometry_repaired": "géométrie corrigée",
    "empty_geometry": "géométrie vide",
    "polygon_partial": "commune partiellement incluse",
    "polygon_edge_slivers": "recouvrements de bordure",
    "share_declared": "parts déclarées",
    "share_invalid": "part illisible",
    "share_over_total": "parts au-delà de 100 %",
    "share_completed": "parts complétées",
}

#: French labels of the report severities, in the order people read them.
SEVERITY_LABELS: dict[str, str] = {
    "rejected": "rejet",
    "warning": "avertissement",
    "info": "information",
}

#: French labels of proposal kinds.
PROPOSAL_KIND_LABELS: dict[str, str] = {
    "nouveau_perimetre": "nouveau périmètre",
    "rattachement": "rattachement à un périmètre voisin",
    "a_examiner": "à examiner",
}

#: How a commune of a perimeter was recognised (column ``via`` of the members).
VIA_LABELS: dict[str, str] = {
    "code": "code INSEE",
    "ancien_code": "ancien code (commune fusionnée)",
    "commune_parente": "commune parente (Paris, Lyon, Marseille)",
    "nom": "nom de la commune",
    "polygone": "polygone",
}

#: French names of the scope levels (column ``level`` of the coverage rates).
LEVEL_LABELS: dict[str, str] = {
    "france": "France",
    "region": "Région",
    "department": "Département",
    "epci": "EPCI",
}

#: Columns shown as percentages (values are shares between 0 and 1).
SHARE_COLUMNS = frozenset(
    {
        "share_covered",
        "share_white",
        "share_included",
        "share_units_covered",
        "share_a",
        "share_under_threshold",
    }
)
#: Decimals shown for measured columns (distances and areas, densities, lengths in metres).
DECIMAL_COLUMNS: dict[str, int] = {
    "area_km2": 1,
    "area_shared_km2": 1,
    "density_per_km2": 1,
    "distance_a_km": 1,
    "distance_b_km": 1,
    "border_m": 0,
    "compactness": 2,
    "apl_mg_mean": 2,
    "threshold": 1,  # the DREES APL threshold ("2,5 consultations")
}
#: Columns holding stage keys.
STATUS_COLUMNS = frozenset({"status", "status_min", "status_a", "status_b"})
#: Columns holding stage keys joined with " | " (one per perimeter of an overlap).
STATUS_LIST_COLUMNS = frozenset({"statuses"})
#: Columns holding euros.
EURO_COLUMNS = frozenset({"funding_max_eur"})


@dataclass(frozen=True)
class NumberStyle:
    """How a numeric column is shown to people: its decimals, and whether it is a share.

    A share (0 to 1) is shown as a percentage: ``digits`` are those of the
    percentage (one for "23,9 %"), so the fraction keeps ``digits + 2``.
    """

    digits: int
    percent: bool = False

    def rounded(self, value: float) -> float:
        """``value`` rounded to what is shown (a share stays a fraction)."""
        return round(value, self.digits + (2 if self.percent else 0))

    @property
    def excel_format(self) -> str | None:
        """The Excel number format showing the value as on screen (None: Excel's default)."""
        decimals = "." + "0" * self.digits if self.digits else ""
        if self.percent:
            return f"0{decimals}%"
        return f"#,##0{decimals}" if self.digits else None


#: Key of ``DataFrame.attrs`` where :func:`for_people` (``as_text=False``) leaves the
#: :class:`NumberStyle` of each numeric column, by French header, for the writers.
NUMBER_STYLES_ATTR = "atlas_number_styles"


def number_style(column: str, series: pd.Series) -> NumberStyle | None:
    """The style of a numeric column as the dashboard shows it; None for other columns."""
    if column in SHARE_COLUMNS:
        return NumberStyle(1, percent=True)
    if column in DECIMAL_COLUMNS:
        return NumberStyle(DECIMAL_COLUMNS[column])
    if column in EURO_COLUMNS:
        return NumberStyle(0)
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        return NumberStyle(0)
    whole = series.dropna()
    return NumberStyle(0 if len(whole) and (whole == whole.round()).all() else 2)


def _yes_no(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    return "oui" if bool(value) else "non"


def _text(value: object) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return fr_number(value, 0 if value.is_integer() else 2)
    if isinstance(value, (tuple, list)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int):
        return fr_number(value)
    return str(value)


def _status_name(value: object) -> str:
    """The stage's label; the one wording of statuses.toml when missing or unknown."""
    from diagnosis.core.rules import status_name  # noqa: PLC0415 - rules read lazily

    return status_name(value if isinstance(value, str) and value else None)


def _status_list_name(value: object) -> str:
    if not isinstance(value, str):
        return _text(value)
    return " | ".join(_status_name(part) for part in value.split(" | "))


def _named_formatter(column: str, series: pd.Series) -> Callable[[object], str] | None:
    """The formatter of a column known by its name (stages, kinds, shares, euros…)."""
    if column in STATUS_COLUMNS:
        return _status_name
    if column in STATUS_LIST_COLUMNS:
        return _status_list_name
    if column == "level":
        return lambda v: LEVEL_LABELS.get(str(v), _text(v))
    if column == "severity":
        return lambda v: SEVERITY_LABELS.get(str(v), _text(v))
    if column == "kind":
        labels = (
            REPORT_KIND_LABELS
            if series.isin(list(REPORT_KIND_LABELS)).any()
            else PROPOSAL_KIND_LABELS
        )
        return lambda v: labels.get(str(v), _text(v))
    if column == "via":
        return lambda v: VIA_LABELS.get(str(v), _text(v))
    if column in SHARE_COLUMNS:
        return fr_share
    if column in EURO_COLUMNS:
        return lambda v: f"{fr_number(v)}{NNBSP}€" if finite_or_none(v) is not None else ""
    if column in DECIMAL_COLUMNS:
        digits = DECIMAL_COLUMNS[column]
        return lambda v: fr_number(v, digits)
    return None


def _column_formatter(column: str, series: pd.Series) -> Callable[[object], str]:
    named = _named_formatter(column, series)
    if named is not None:
        return named
    if pd.api.types.is_bool_dtype(series):
        return _yes_no
    style = number_style(column, series)
    if style is not None:
        return lambda v: fr_number(v, style.digits)
    if series.map(lambda v: isinstance(v, bool)).any():
        return _yes_no
    return _text


def for_people(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    as_text: bool = True,
) -> pd.DataFrame:
    """A copy of ``frame`` for people: French headers and French values.

    Parameters
    ----------
    frame
        The table (English column ids).
    columns
        Columns to keep, in order (default: all).
    labels
        Extra or overriding headers, by column id.
    as_text
        Turn every value into French text (dashboard, fiches, people's CSV).
        With False, numbers stay numbers (Excel formats them) and only
        booleans, stages, kinds and missing values become text.
    """
    out = frame.loc[:, list(columns)] if columns is not None else frame.copy()
    out = out.copy()
    styles: list[NumberStyle | None] = []
    for column in out.columns:
        series = out[column]
        style = None if as_text else _kept_number_style(str(column), series)
        styles.append(style)
        if style is not None:
            values = series.astype("float64").map(style.rounded)
            out[column] = values.where(series.notna(), None)
            continue
        fmt = _column_formatter(str(column), series)
        out[column] = [fmt(v) for v in series.astype(object)]
    headers = {**COLUMN_LABELS, **(labels or {})}
    names = [headers.get(str(c), str(c).replace("_", " ")) for c in out.columns]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        # Two ids with one label in a table would make two columns of the same name.
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} ({seen[name]})"
    out.columns = names
    if not as_text:
        out.attrs[NUMBER_STYLES_ATTR] = {
            name: style for name, style in zip(names, styles, strict=True) if style is not None
        }
    return out


def _kept_number_style(column: str, series: pd.Series) -> NumberStyle | None:
    """The style of a column kept numeric for a spreadsheet (None: written as text)."""
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric or column in STATUS_COLUMNS:
        return None
    return number_style(column, series)


def _csv_cell(value: object, style: NumberStyle | None) -> object:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if style is not None:
            return f"{value:.{style.digits}f}".replace(".", ",")
        text = str(int(value)) if value.is_integer() else f"{value:.6g}"
        return text.replace(".", ",")
    return value


def people_csv(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """A CSV for people's spreadsheets: ``;``, UTF-8 with BOM, French headers and values.

    Numbers are written as French spreadsheets read them (``12345``, ``4,6``),
    without thousands separators, so that they stay numbers, with the decimals
    the dashboard shows; shares are written in percent (``23,9``) under a
    header ending in "(%)". Cells that a spreadsheet would read as a formula
    are neutralised.
    """
    shown = for_people(frame, columns=columns, labels=labels, as_text=False)
    styles: dict[str, NumberStyle] = shown.attrs.get(NUMBER_STYLES_ATTR, {})
    headers = []
    for i, column in enumerate(list(shown.columns)):
        style = styles.get(str(column))
        values = shown.iloc[:, i].astype(object).tolist()
        if style is not None and style.percent:
            values = [None if v is None else round(100 * v, style.digits) for v in values]
        shown.isetitem(i, [protect_text(_csv_cell(v, style)) for v in values])
        headers.append(f"{column} (%)" if style is not None and style.percent else str(column))
    shown.columns = headers
    buffer = io.StringIO()
    shown.to_csv(buffer, index=False, sep=";", lineterminator="\r\n")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
