"""The funding fiche: the ACI funding of a CPTS's contract, contract year by contract year.

The fiche reads a schedule with the columns of the command line's
``funding_schedule.csv`` (:data:`SCHEDULE_COLUMNS`): one row per line due in a
contract year, its kind (``fixe``, ``variable`` or ``ponctuel``), its maximum
and its expected amount. It shows a summary per contract year, then each
year's lines with their French labels (read from ``data/rules/aci.toml``,
never a key), amounts in euros and periods as French dates, and the sources
of the rules. It is a print-ready page like the other fiches
(:func:`ui.fiche.fiche_html`), offered as HTML and PDF (:mod:`ui.pdf`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from diagnosis import DataError
from diagnosis.contracts import SCHEDULE_COLUMNS
from diagnosis.core.aci import FundingRules, funding_rules
from diagnosis.core.numbers import MONTHS_FR, fr_count, fr_share
from ui import fmt
from ui.fiche import fiche_html

__all__ = [
    "KIND_LABELS",
    "REQUIRED_COLUMNS",
    "SCHEDULE_COLUMNS",
    "funding_fiche_html",
    "funding_line_labels",
    "schedule_tables",
]

#: The columns a schedule needs: those of one contract's schedule; ``perimeter_id`` and
#: ``name`` may be absent (a simulated contract, :func:`diagnosis.contracts.contract_schedule`).
REQUIRED_COLUMNS = SCHEDULE_COLUMNS[2:]

#: The kinds of a line due, for people.
KIND_LABELS = {"fixe": "part fixe", "variable": "part variable", "ponctuel": "versement ponctuel"}

_NBSP = "\u00a0"
#: The usual French abbreviations of the months, for the narrow columns.
_MONTHS_SHORT = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip


def funding_line_labels(rules: FundingRules | None = None) -> dict[str, str]:
    """French label of every line a schedule can name: key → label, from ``aci.toml``.

    The lines of the funding table, and the three lines outside it: the
    exceptional operating supplement, the +10 % of a large taille-4
    community and the one-off aid after a validated letter of intent.
    """
    rules = rules or funding_rules()
    labels = {line.key: line.label for line in rules.lines}
    bonus = (
        f"Majoration de {fr_share(rules.bonus_rate, 0)} (taille {rules.bonus_size_class}, "
        f"au moins {rules.bonus_min_members} adhérents)"
    )
    # Keys of the lines outside the table, as the funding computations write them.
    labels |= {
        rules.supplement_key: rules.supplement_label,
        rules.bonus_key: bonus,
        rules.one_off.key: rules.one_off_label,
    }
    return labels


def _day(value: object) -> dt.date | None:
    """A schedule's date (ISO text, date or timestamp) as a date; None when missing."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _fr_day(day: dt.date, *, short: bool = False) -> str:
    """A day the French way: "1er janvier 2025", "15 mars 2025"; "1er janv. 2025" when short.

    No-break spaces keep a date on one line.
    """
    month = (_MONTHS_SHORT if short else MONTHS_FR)[day.month - 1]
    return f"{'1er' if day.day == 1 else day.day}{_NBSP}{month}{_NBSP}{day.year}"


def _period(start: dt.date | None, end: dt.date | None, *, short: bool = False) -> str:
    """A period the French way: "du 1er janvier 2025 au 31 décembre 2025", "le 1er mars 2025"."""
    if start is None or end is None:
        return "—"
    if start == end:
        return f"le {_fr_day(start, short=short)}"
    return f"du {_fr_day(start, short=short)} au {_fr_day(end, short=short)}"


def _checked(schedule: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """The schedule with its dates read; every problem found raised at once, in French."""
    missing = [c for c in REQUIRED_COLUMNS if c not in schedule.columns]
    if missing:
        raise DataError(
            "Échéancier de financement incomplet : colonnes attendues "
            f"{', '.join(REQUIRED_COLUMNS)} ; absentes : {', '.join(missing)}."
        )
    problems = []
    n_contracts = schedule["perimeter_id"].nunique() if "perimeter_id" in schedule else 1
    if n_contracts > 1:
        problems.append(
            f"{fr_count(n_contracts, 'CPTS', 'CPTS')} dans l'échéancier : "
            "une fiche présente un seul contrat"
        )
    unknown_lines = sorted(set(map(str, schedule["line"])) - set(labels))
    if unknown_lines:
        problems.append(
            f"lignes absentes des règles de financement (aci.toml) : {', '.join(unknown_lines)}"
        )
    unknown_kinds = sorted(set(map(str, schedule["kind"])) - set(KIND_LABELS))
    if unknown_kinds:
        problems.append(
            f"natures inconnues : {', '.join(unknown_kinds)} (attendues : fixe, variable, ponctuel)"
        )
    if problems:
        raise DataError("Fiche de financement impossible : " + " ; ".join(problems) + ".")
    frame = schedule.copy()
    frame["start"] = frame["period_start"].map(_day)
    frame["end"] = frame["period_end"].map(_day)
    frame["contract_year"] = frame["contract_year"].astype(int)
    # Each year's lines in the order of the rules (aci.toml), the fixed part first.
    frame["line_rank"] = frame["line"].map({key: i for i, key in enumerate(labels)})
    frame["kind_rank"] = frame["kind"].map({kind: i for i, kind in enumerate(KIND_LABELS)})
    return frame.sort_values(["contract_year", "line_rank", "kind_rank", "start"], kind="stable")


def _year_name(year: int) -> str:
    return "avant le contrat" if year == 0 else f"année {year}"


def _by_year(frame: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """(contract year, its rows), in order."""
    return [(y, frame[frame["contract_year"] == y]) for y in sorted(set(frame["contract_year"]))]


def _year_span(rows: pd.DataFrame) -> tuple[dt.date | None, dt.date | None]:
    """First and last day the rows cover."""
    starts = [d for d in rows["start"] if d is not None]
    ends = [d for d in rows["end"] if d is not None]
    return min(starts, default=None), max(ends, default=None)


def _year_period(rows: pd.DataFrame, *, short: bool = False) -> str:
    return _period(*_year_span(rows), short=short)


def _line_period(start: dt.date | None, end: dt.date | None, year: tuple[object, object]) -> str:
    """A line's period within its contract year: the whole year, from a day on, or one day."""
    if (start, end) == year and start != end:
        return "toute l'année"
    if start is not None and start != end and end == year[1]:
        return f"à partir du {_fr_day(start, short=True)}"
    return _period(start, end, short=True)


def _summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per contract year: fixed, variable and one-off maxima, totals; then the total."""
    rows = []
    for year, group in _by_year(frame):
        top = group.groupby("kind")["amount_max_eur"].sum()
        rows.append(
            {
                "année de contrat": _year_name(year),
                "période": _year_period(group, short=True),
                "parts fixes (maximum)": fmt.euros(top.get("fixe", 0.0)),
                "parts variables (maximum)": fmt.euros(top.get("variable", 0.0)),
                "versements ponctuels": fmt.euros(top.get("ponctuel", 0.0)),
                "total maximal": fmt.euros(group["amount_max_eur"].sum()),
                "total attendu": fmt.euros(group["amount_expected_eur"].sum()),
            }
        )
    top = frame.groupby("kind")["amount_max_eur"].sum()
    rows.append(
        {
            "année de contrat": "total",
            "période": _year_period(frame, short=True),
            "parts fixes (maximum)": fmt.euros(top.get("fixe", 0.0)),
            "parts variables (maximum)": fmt.euros(top.get("variable", 0.0)),
            "versements ponctuels": fmt.euros(top.get("ponctuel", 0.0)),
            "total maximal": fmt.euros(frame["amount_max_eur"].sum()),
            "total attendu": fmt.euros(frame["amount_expected_eur"].sum()),
        }
    )
    return pd.DataFrame(rows)


def _year_table(rows: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """The lines due in one contract year, for people, and the year's total."""
    year = _year_span(rows)
    table = pd.DataFrame(
        {
            "ligne": [labels[str(k)] for k in rows["line"]],
            "nature": [KIND_LABELS[str(k)] for k in rows["kind"]],
            "période": [
                _line_period(s, e, year) for s, e in zip(rows["start"], rows["end"], strict=True)
            ],
            "montant maximal": rows["amount_max_eur"].map(fmt.euros).tolist(),
            "montant attendu": rows["amount_expected_eur"].map(fmt.euros).tolist(),
        }
    )
    total = {
        "ligne": "Total de l'année",
        "nature": "",
        "période": "",
        "montant maximal": fmt.euros(rows["amount_max_eur"].sum()),
        "montant attendu": fmt.euros(rows["amount_expected_eur"].sum()),
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _tables(
    frame: pd.DataFrame, labels: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    by_year = {
        f"{_year_name(year).capitalize()} : {_year_period(rows)}": _year_table(rows, labels)
        for year, rows in _by_year(frame)
    }
    return _summary(frame), by_year


def schedule_tables(
    schedule: pd.DataFrame, *, labels: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """A schedule for people, as the fiche shows it: the summary, then each year's lines.

    Parameters
    ----------
    schedule
        One contract's schedule (see :func:`funding_fiche_html`).
    labels
        French label of each line key (default: :func:`funding_line_labels`).

    Returns
    -------
    tuple
        The summary per contract year (fixed, variable and one-off maxima,
        maximal and expected totals, then the total of the contract), and a
        dictionary heading ("Année 1 : du 1er janvier 2025 au 31 décembre
        2025") → the lines due that year with their French labels.

    Raises
    ------
    diagnosis.DataError
        As :func:`funding_fiche_html`.
    """
    labels = labels or funding_line_labels()
    return _tables(_checked(schedule, labels), labels)


def funding_fiche_html(
    schedule: pd.DataFrame,
    *,
    title: str | None = None,
    size_label: str | None = None,
    labels: Mapping[str, str] | None = None,
    sources: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> str:
    """The printable funding fiche of one contract (a CPTS's, or a simulated one).

    Parameters
    ----------
    schedule
        One row per line due, with the columns :data:`SCHEDULE_COLUMNS`
        (``funding_schedule.csv``) for a single ``perimeter_id``, or without
        ``perimeter_id`` and ``name`` (one contract's schedule); other
        columns are ignored. Dates are ISO text ("2025-01-01") or dates;
        contract year 0 holds what is paid before the contract.
    title
        The fiche's title (default: "Financement ACI : " and the CPTS's name,
        from the ``name`` column, or "contrat simulé").
    size_label
        The size class of the perimeter ("Taille 2"), shown with the key
        figures when given.
    labels
        French label of each line key (default: :func:`funding_line_labels`).
    sources
        Sources to cite besides the ACI funding rules (the contracts file,
        the population vintage…).
    notes
        Remarks added to the fiche's own.

    Returns
    -------
    str
        The fiche as one HTML page (:func:`ui.fiche.fiche_html`).

    Raises
    ------
    diagnosis.DataError
        A column is missing, the schedule holds several contracts, or it
        names a line or a kind the rules do not know (all said at once).
    """
    labels = labels or funding_line_labels()
    frame = _checked(schedule, labels)
    name = str(frame["name"].iloc[0]) if "name" in frame and len(frame) else "contrat simulé"
    summary, by_year = _tables(frame, labels)
    years = sorted(set(frame["contract_year"]) - {0})
    figures = {
        "montant maximal": fmt.euros(frame["amount_max_eur"].sum()),
        "montant attendu": fmt.euros(frame["amount_expected_eur"].sum()),
        fr_count(len(years), "année de contrat", "années de contrat"): _year_period(
            frame[frame["contract_year"] > 0]
        ),
    }
    if size_label:
        figures["taille ACI"] = size_label
    tables = {"Synthèse par année de contrat": summary, **by_year}
    return fiche_html(
        title=title or f"Financement ACI : {name}",
        subtitle="Échéancier de financement",
        key_figures=figures,
        map_svg="",
        tables=tables,
        sources=[funding_rules().source, *sources],
        notes=[
            "Montant maximal : ce que l'accord conventionnel interprofessionnel (ACI) prévoit "
            "pour la taille de la CPTS ; montant attendu : les parts variables au taux "
            "d'atteinte des indicateurs retenu.",
            "Une mission démarrée en cours d'année de contrat est financée à partir de son "
            "démarrage.",
            *notes,
        ],
    )
