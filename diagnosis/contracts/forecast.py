"""The funding due to many contracts: their perimeters, their schedules, totals per year.

A contract names its CPTS (an identifier or a name of the perimeters, from a
file or, later, the registry at a date); the size class comes from the
perimeter's whole population (units of the national referential). A contract
is counted in the department and the region holding most of its inhabitants
(the CPAM that pays it), once: a budget never counts a euro twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from diagnosis.contracts.model import (
    BY_YEAR_COLUMNS,
    CONTRACT_EVENT_KINDS,
    SCHEDULE_COLUMNS,
    Contract,
    ContractsImport,
    ReportAt,
)
from diagnosis.contracts.schedule import (
    contract_schedule,
    contract_years,
    crises_paid,
    payment_rows,
)
from diagnosis.core.aci import funding_rules, letter_of_intent_aid, size_rules
from diagnosis.core.model import REPORT_COLUMNS, PerimeterImport, Report
from diagnosis.core.numbers import add_months, fr_date, fr_number
from diagnosis.core.referential import Referential, main_zones
from diagnosis.core.textnorm import label_key

__all__ = ["Basis", "FundingForecast", "funding_by_year", "funding_schedule", "perimeter_facts"]

#: How amounts are put in calendar years: when they are paid (``versement``:
#: advance and balance dates of the ACI) or over the days they cover
#: (``periode``).
Basis = Literal["versement", "periode"]

FACT_COLUMNS = ["perimeter_id", "name", "population", "size_class", "department", "region"]


@dataclass
class FundingForecast:
    """The schedules of many contracts, with the report of every problem.

    Attributes
    ----------
    schedule
        One row per line due: :data:`SCHEDULE_COLUMNS`, then mission,
        aci_kind, contract_year_end, size_class, department, region.
    contracts
        One row per contract kept: the perimeter's facts (:data:`FACT_COLUMNS`)
        and the signature date.
    report
        Every event of reading the contracts and matching them to perimeters
        (columns of :data:`diagnosis.core.model.REPORT_COLUMNS`).
    """

    schedule: pd.DataFrame
    contracts: pd.DataFrame
    report: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPORT_COLUMNS))


def perimeter_facts(perimeters: PerimeterImport, referential: Referential) -> pd.DataFrame:
    """Population, size class and main department and region of each whole perimeter.

    The population is that of all the perimeter's units in ``referential``
    (the national one, so that a perimeter is never truncated); the main zones
    hold most of its inhabitants (ties: the smallest code).
    """
    members = perimeters.members[["perimeter_id", "code"]]
    units = referential.units
    inside = members[members["code"].isin(units.index)]
    pop = units.loc[inside["code"], "population"].to_numpy(dtype=np.float64)
    ids = perimeters.perimeters["perimeter_id"].astype(str).tolist()
    number = {pid: i for i, pid in enumerate(ids)}
    groups = inside["perimeter_id"].astype(str).map(number).to_numpy(dtype=np.int64)
    totals = np.bincount(groups, weights=pop, minlength=len(ids))
    zones = {
        level: main_zones(groups, units.loc[inside["code"], level].to_numpy(), pop)
        for level in ("department", "region")
    }
    rules = size_rules()
    return pd.DataFrame(
        {
            "perimeter_id": ids,
            "name": perimeters.perimeters["name"].astype(str).tolist(),
            "population": totals.astype(np.int64),
            "size_class": [rules.size_class(p) for p in totals],
            "department": [zones["department"].get(i) for i in range(len(ids))],
            "region": [zones["region"].get(i) for i in range(len(ids))],
        },
        columns=FACT_COLUMNS,
    )


def _match(contract: Contract, facts: pd.DataFrame, report: Report) -> int | None:
    """Position in ``facts`` of the perimeter a contract names (identifier, then name)."""
    ids = facts["perimeter_id"].tolist()
    if contract.perimeter in ids:
        return ids.index(contract.perimeter)
    key = label_key(contract.perimeter)
    found = [i for i, name in enumerate(facts["name"]) if label_key(name) == key]
    if len(found) == 1:
        return found[0]
    kind = "ambiguous_perimeter" if found else "unknown_perimeter"
    message = (
        f"« {contract.perimeter} » désigne {len(found)} périmètres : donnez son identifiant."
        if found
        else f"« {contract.perimeter} » n'est ni l'identifiant ni le nom d'un périmètre donné."
    )
    report.add(kind, message + " Contrat rejeté.", row=contract.row, perimeter=contract.perimeter)
    return None


def _in_scope(fact: pd.Series, region: str | None, department: str | None) -> bool:
    if region is not None:
        return fact["region"] == region
    if department is not None:
        return fact["department"] == department
    return True


def _report_schedule(contract: Contract, size_class: int, report: Report) -> None:
    """Say what the schedule of a contract assumed (aid amount, end of contract)."""
    rules = funding_rules()
    at = ReportAt(report, contract.row, contract.perimeter)
    end = add_months(contract.signature, 12 * rules.contract_years) - dt.timedelta(days=1)
    at.add(
        "contract_ended",
        f"Contrat de {rules.contract_years} ans : calculé jusqu'au {fr_date(end)} "
        "(un renouvellement ou un avenant n'est pas compté).",
    )
    for number, first, following in contract_years(contract.signature, rules.contract_years):
        declared = [d for d in contract.crises if first <= d < following]
        if len(declared) > len(crises_paid(contract, first, following)):
            at.add(
                "crisis_not_counted",
                f"{len(declared)} crises dans l'année de contrat {number} : le paiement à la "
                "survenue d'une crise est un montant annuel, un seul est compté.",
            )
    if contract.letter_of_intent is None:
        return
    low, high = letter_of_intent_aid(size_class)
    granted = contract.letter_of_intent_aid_eur
    if contract.letter_of_intent > contract.signature:
        message = "lettre d'intention validée après la signature : aide non comptée"
    elif granted is None and low != high:
        message = (
            f"montant de l'aide non publié pour la taille {size_class} dans les textes lus "
            f"(entre {fr_number(low)} et {fr_number(high)} €) : {fr_number(low)} € attendus "
            f"(borne basse), {fr_number(high)} € au plus"
        )
    elif granted is not None and granted > high:
        message = f"aide de {fr_number(granted)} € ramenée au plafond de {fr_number(high)} €"
    else:
        return
    at.add("aid_amount", f"Aide après la lettre d'intention : {message}.")


def funding_schedule(
    contracts: ContractsImport | Sequence[Contract],
    perimeters: PerimeterImport,
    referential: Referential,
    *,
    region: str | None = None,
    department: str | None = None,
    large_community_bonus: bool = False,
) -> FundingForecast:
    """The schedule of every contract whose perimeter is known, with the report.

    Parameters
    ----------
    contracts
        The contracts read from a file (:func:`diagnosis.contracts.read_contracts`)
        or built in code.
    perimeters
        The perimeters the contracts name (a file's import, or the registry's
        state at a date): identifiers or names.
    referential
        The national referential (populations, departments, regions).
    region, department
        Keep only the contracts whose perimeter has most of its inhabitants there.
    large_community_bonus
        Grant the +10 % (an option) to taille-4 communities with at least 100
        members, unless a contract says whether it was granted.

    Returns
    -------
    FundingForecast
        The schedule (one row per line due), the contracts kept, the report.
    """
    if region and department:
        raise ValueError("Choisissez une région ou un département, pas les deux.")
    read = contracts if isinstance(contracts, ContractsImport) else None
    items: tuple[Contract, ...] = (
        contracts.contracts if isinstance(contracts, ContractsImport) else tuple(contracts)
    )
    report = Report(CONTRACT_EVENT_KINDS)
    facts = perimeter_facts(perimeters, referential)
    frames, kept = [], []
    for contract in items:
        position = _match(contract, facts, report)
        if position is None:
            continue
        fact = facts.iloc[position]
        if not _in_scope(fact, region, department):
            report.add(
                "outside_scope",
                f"Périmètre principalement hors du territoire choisi (département "
                f"{fact['department']}, région {fact['region']}) : contrat non compté.",
                row=contract.row,
                perimeter=contract.perimeter,
            )
            continue
        size = int(fact["size_class"])
        _report_schedule(contract, size, report)
        frame = contract_schedule(
            contract, size_class=size, large_community_bonus=large_community_bonus
        )
        frames.append(frame.assign(**{c: fact[c] for c in FACT_COLUMNS if c != "population"}))
        kept.append({**fact.to_dict(), "signature": contract.signature})
    report_frame = report.frame()
    if read is not None:
        report_frame = pd.concat([read.report, report_frame], ignore_index=True)
    return FundingForecast(
        schedule=_ordered_schedule(frames),
        contracts=pd.DataFrame(kept, columns=[*FACT_COLUMNS, "signature"]),
        report=report_frame,
    )


_EXTRA = ["mission", "aci_kind", "contract_year_end", "size_class", "department", "region"]


def _ordered_schedule(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = [*SCHEDULE_COLUMNS, *_EXTRA]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _by_period(schedule: pd.DataFrame) -> pd.DataFrame:
    """Amounts spread over calendar years in proportion to the days each line covers."""
    out = []
    for row in schedule.to_dict("records"):
        start, end = row["period_start"], row["period_end"]
        days = (end - start).days + 1
        for year in range(start.year, end.year + 1):
            first, last = max(start, dt.date(year, 1, 1)), min(end, dt.date(year, 12, 31))
            share = ((last - first).days + 1) / days
            out.append(row | {"year": year, "share": share})
    frame = pd.DataFrame(out, columns=[*schedule.columns, "year", "share"])
    for column in ("amount_max_eur", "amount_expected_eur"):
        frame[column] = frame[column] * frame["share"]
    return frame


def _yearly(schedule: pd.DataFrame, basis: Basis) -> pd.DataFrame:
    if basis == "periode":
        return _by_period(schedule)
    paid = payment_rows(schedule)
    paid["year"] = [d.year for d in paid["date"]]
    return paid


def _scopes(schedule: pd.DataFrame, levels: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(scope code, level, zone code) for France, each region and each department."""
    scopes: list[tuple[str, str, str | None]] = []
    if "france" in levels:
        scopes.append(("FR", "france", None))
    for level, prefix in (("region", "REG"), ("department", "DEP")):
        if level in levels:
            for code in sorted(schedule[level].dropna().unique()):
                scopes.append((f"{prefix}-{code}", level, str(code)))
    return scopes


def funding_by_year(
    schedule: pd.DataFrame,
    *,
    from_year: int,
    to_year: int,
    basis: Basis = "versement",
    levels: Sequence[str] = ("france", "region", "department"),
) -> pd.DataFrame:
    """Totals per calendar year and scope (France, regions, departments): a CPAM's forecast.

    Parameters
    ----------
    schedule
        A schedule of :func:`funding_schedule` (with department and region).
    from_year, to_year
        Calendar years shown (both included).
    basis
        ``versement``: amounts in the year they are paid (advance, balance
        after the yearly review, one-offs at their date); ``periode``: spread
        over the days each line covers.
    levels
        Scopes computed: ``france`` (scope ``FR``), ``region`` (``REG-93``),
        ``department`` (``DEP-13``).

    Returns
    -------
    pandas.DataFrame
        :data:`BY_YEAR_COLUMNS`, by year, then France, the regions and the
        departments in code order: year, scope, fixed_eur, variable_eur,
        one_off_eur (maxima of the fixed, variable and one-off lines),
        total_max_eur (their sum), total_expected_eur (with the attainment
        rates), n_contracts (contracts with an amount that year).
    """
    if from_year > to_year:
        raise ValueError(f"Années attendues dans l'ordre (reçu {from_year} à {to_year}).")
    yearly = _yearly(schedule, basis)
    yearly = yearly[(yearly["year"] >= from_year) & (yearly["year"] <= to_year)]
    parts = {
        scope: yearly if code is None else yearly[yearly[level] == code]
        for scope, level, code in _scopes(schedule, levels)
    }
    rows = [
        _year_totals(part[part["year"] == year], year, scope)
        for year in range(from_year, to_year + 1)
        for scope, part in parts.items()
    ]
    return pd.DataFrame(rows, columns=BY_YEAR_COLUMNS)


def _year_totals(part: pd.DataFrame, year: int, scope: str) -> dict[str, object]:
    top = part.groupby("kind")["amount_max_eur"].sum()
    fixed, variable, one_off = (
        round(float(top.get(k, 0.0)), 2) for k in ("fixe", "variable", "ponctuel")
    )
    paying = part.loc[part["amount_max_eur"] > 0, "perimeter_id"]
    return {
        "year": year,
        "scope": scope,
        "fixed_eur": fixed,
        "variable_eur": variable,
        "one_off_eur": one_off,
        "total_max_eur": round(fixed + variable + one_off, 2),
        "total_expected_eur": round(float(part["amount_expected_eur"].sum()), 2),
        "n_contracts": int(paying.nunique()),
    }
