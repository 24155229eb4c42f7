"""The funding due under one contract, year by year, line by line, and when it is paid.

Every amount comes from ``data/rules/aci.toml`` (ACI after avenant 2), every
rule from the texts it cites:

- contract year *k* runs from the *k*-th anniversary of the signature (year 1
  from the signature) for a year; a contract lasts five years (seed ``000``);
- the operating line is due every contract year (seed ``004``: "dès la
  signature", then "à chaque date-anniversaire");
- a mission's lines are due "à compter du démarrage de la mission" (seed
  ``002``): in the contract year a mission starts, its fixed and variable
  parts are prorated by the days left in that year; a mission without a start
  date is not funded;
- the crisis plan is paid at the first-writing amount in the contract year the
  crisis mission starts, at the update amount in later years; each declared
  crisis adds the *variable* crisis payment (seed ``002``, "volet variable /
  survenue");
- variable parts are expected at their maximum times the attainment rate of
  the mission's indicators that year (100 % when not given);
- the +10 % of a taille-4 community with at least 100 members is an option
  (seed ``002``, "pourrait"), on the fixed and variable parts of its missions;
- the exceptional operating supplement is a one-off of the first contract
  year, for a contract signed before 30 September 2022 (seed ``002``);
- the one-off aid after a validated letter of intent is paid before the
  contract (contract year 0).

Payments (:func:`payment_rows`) follow the ACI's rule (article 9): the
operating amount in full at signature; then an advance of 75 % of the fixed
parts at the anniversary (or at a mission's start), the balance and the
variable parts after the yearly review, at the latest two months after the
anniversary (seed ``003``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from diagnosis.contracts.model import Contract
from diagnosis.core.aci import (
    FundingLine,
    FundingRules,
    crisis_mission,
    funding_rules,
    letter_of_intent_aid,
    mission_specs,
)
from diagnosis.core.numbers import add_months

__all__ = [
    "LINE_COLUMNS",
    "PaymentKind",
    "contract_schedule",
    "contract_years",
    "crises_paid",
    "payment_rows",
    "simulated_contract",
]

#: Kind of a line due: fixed part, variable part (paid on results), or one-off.
PaymentKind = Literal["fixe", "variable", "ponctuel"]

#: Columns of :func:`contract_schedule`.
LINE_COLUMNS = [
    "contract_year",
    "period_start",
    "period_end",
    "line",
    "kind",
    "amount_max_eur",
    "amount_expected_eur",
    "mission",
    "aci_kind",
    "contract_year_end",
]

_DAY = dt.timedelta(days=1)


def contract_years(signature: dt.date, n_years: int) -> list[tuple[int, dt.date, dt.date]]:
    """(contract year, its first day, the first day of the next) for years 1 to ``n_years``.

    >>> contract_years(dt.date(2023, 7, 1), 2)[1]
    (2, datetime.date(2024, 7, 1), datetime.date(2025, 7, 1))
    """
    return [
        (k, add_months(signature, 12 * (k - 1)), add_months(signature, 12 * k))
        for k in range(1, n_years + 1)
    ]


def _fraction(start: dt.date, first: dt.date, following: dt.date) -> float:
    """Share of a contract year [first, following) left from ``start`` on (0 to 1)."""
    begin = max(start, first)
    if begin >= following:
        return 0.0
    return (following - begin).days / (following - first).days


@dataclass(frozen=True)
class _Year:
    """A contract year: its number, first day and the first day of the next."""

    number: int
    first: dt.date
    following: dt.date

    @property
    def last(self) -> dt.date:
        return self.following - _DAY


def _row(  # noqa: PLR0917 - private row builder
    year: _Year,
    start: dt.date,
    end: dt.date,
    line: FundingLine | None,
    key: str,
    kind: PaymentKind,
    amount_max: float,
    amount_expected: float,
) -> dict[str, Any]:
    return {
        "contract_year": year.number,
        "period_start": start,
        "period_end": end,
        "line": key,
        "kind": kind,
        "amount_max_eur": round(amount_max, 2),
        "amount_expected_eur": round(amount_expected, 2),
        "mission": None if line is None else line.mission,
        "aci_kind": None if line is None else line.kind,
        "contract_year_end": year.last,
    }


def _line_share(line: FundingLine, contract: Contract, year: _Year) -> tuple[float, dt.date] | None:
    """(share of the annual amount due, first day it runs) of a periodic line; None: not due."""
    if line.mission is None:
        return 1.0, year.first
    start = contract.mission_starts.get(line.mission)
    if start is None or start >= year.following:
        return None
    if line.when == "first_year" and start < year.first:
        return None  # the plan was written in an earlier contract year
    if line.when == "later_years" and start >= year.first:
        return None  # the plan is written this year: the first-year line is due
    share = _fraction(start, year.first, year.following)
    return share, max(start, year.first)


def _year_rows(
    contract: Contract, year: _Year, size_class: int, rules: FundingRules
) -> list[dict[str, Any]]:
    """The periodic lines and crisis payments due in one contract year."""
    i = size_class - 1
    rows: list[dict[str, Any]] = []
    for line in rules.lines:
        if line.when == "on_crisis":
            rows += _crisis_rows(contract, year, line, i)
            continue
        due = _line_share(line, contract, year)
        if due is None:
            continue
        share, start = due
        if line.fixed[i]:
            amount = line.fixed[i] * share
            rows.append(_row(year, start, year.last, line, line.key, "fixe", amount, amount))
        if line.variable[i]:
            amount = line.variable[i] * share
            rate = contract.rate(line.mission, year.number) if line.mission else 1.0
            rows.append(
                _row(year, start, year.last, line, line.key, "variable", amount, amount * rate)
            )
    return rows


def crises_paid(contract: Contract, year_first: dt.date, year_following: dt.date) -> list[dt.date]:
    """The declared crises of a contract year that are paid: the first one, plan written.

    The crisis payment is an annual amount (seed ``004``, "Montant annuel")
    paid to a CPTS that has written its plan: at most one per contract year,
    on or after the start of the crisis mission.
    """
    start = contract.mission_starts.get(crisis_mission())
    days = sorted(d for d in contract.crises if year_first <= d < year_following)
    return [d for d in days if start is not None and d >= start][:1]


def _crisis_rows(
    contract: Contract, year: _Year, line: FundingLine, i: int
) -> list[dict[str, Any]]:
    """The variable crisis payment of the contract year, if a crisis was declared."""
    rows = []
    for day in crises_paid(contract, year.first, year.following):
        amount = float(line.variable[i] + line.fixed[i])
        rate = contract.rate(line.mission or "", year.number)
        rows.append(_row(year, day, day, line, line.key, "variable", amount, amount * rate))
    return rows


def _bonus_rows(
    rows: list[dict[str, Any]], year: _Year, rules: FundingRules
) -> list[dict[str, Any]]:
    """The +10 % on the fixed and variable parts of the missions of one contract year."""
    out = []
    kinds: tuple[PaymentKind, ...] = ("fixe", "variable")
    for kind in kinds:
        parts = [r for r in rows if r["kind"] == kind and r["aci_kind"] in rules.bonus_applies_to]
        top = rules.bonus_rate * sum(r["amount_max_eur"] for r in parts)
        expected = rules.bonus_rate * sum(r["amount_expected_eur"] for r in parts)
        if top:
            out.append(
                _row(year, year.first, year.last, None, rules.bonus_key, kind, top, expected)
            )
    return out


def _one_off_rows(contract: Contract, size_class: int, rules: FundingRules) -> list[dict[str, Any]]:
    """The exceptional supplement (first contract year) and the letter-of-intent aid (year 0)."""
    rows = []
    first = _Year(1, contract.signature, add_months(contract.signature, 12))
    if contract.signature < rules.supplement_signed_before:
        amount = float(rules.supplement_amounts[size_class - 1])
        signed = contract.signature
        rows.append(
            _row(first, signed, signed, None, rules.supplement_key, "ponctuel", amount, amount)
        )
    validated = contract.letter_of_intent
    if validated is not None and validated <= contract.signature:
        low, high = letter_of_intent_aid(size_class)
        granted = contract.letter_of_intent_aid_eur
        expected = low if granted is None else min(granted, high)
        year = _Year(0, validated, contract.signature)
        rows.append(
            _row(year, validated, validated, None, rules.one_off.key, "ponctuel", high, expected)
        )
    return rows


def _bonus_applies(
    contract: Contract, size_class: int, large_community_bonus: bool, rules: FundingRules
) -> bool:
    granted = large_community_bonus if contract.bonus_granted is None else contract.bonus_granted
    return (
        granted
        and size_class == rules.bonus_size_class
        and (contract.members or 0) >= rules.bonus_min_members
    )


def contract_schedule(
    contract: Contract,
    *,
    size_class: int,
    large_community_bonus: bool = False,
    rules: FundingRules | None = None,
) -> pd.DataFrame:
    """Every line due under a contract, per contract year, with its maximum and expected amount.

    Parameters
    ----------
    contract
        The contract (signature, mission starts, crises, members, attainment).
    size_class
        ACI size class (1 to 4) of the perimeter the contract covers.
    large_community_bonus
        Grant the +10 % to a taille-4 community with at least 100 members
        (an option: seed ``002`` says "pourrait"), unless the contract says
        whether it was granted.
    rules
        The ACI rules (default: ``data/rules/aci.toml``).

    Returns
    -------
    pandas.DataFrame
        One row per line due (:data:`LINE_COLUMNS`): contract_year (0 for the
        aid before the contract), period_start and period_end (the days the
        amount covers; one day for a one-off or a crisis), line (a key of
        ``aci.toml``), kind (``fixe``, ``variable``, ``ponctuel``),
        amount_max_eur, amount_expected_eur, mission, aci_kind,
        contract_year_end.

    Examples
    --------
    >>> signed = Contract("x", dt.date(2023, 1, 1), {"acces_aux_soins": dt.date(2023, 1, 1)})
    >>> frame = contract_schedule(signed, size_class=1)
    >>> frame.loc[frame["contract_year"] == 1, "amount_max_eur"].sum()  # 50,000 + 55,000 + 25,000
    np.float64(130000.0)
    """
    rules = rules or funding_rules()
    if size_class not in (1, 2, 3, 4):
        raise ValueError(f"Taille ACI attendue entre 1 et 4 (reçu {size_class!r}).")
    bonus = _bonus_applies(contract, size_class, large_community_bonus, rules)
    rows = _one_off_rows(contract, size_class, rules)
    for number, first, following in contract_years(contract.signature, rules.contract_years):
        year = _Year(number, first, following)
        year_rows = _year_rows(contract, year, size_class, rules)
        rows += year_rows + (_bonus_rows(year_rows, year, rules) if bonus else [])
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS)
    return frame.sort_values("contract_year", kind="stable").reset_index(drop=True)


def simulated_contract(
    signature: dt.date,
    *,
    optional_missions: tuple[str, ...] = ("qualite_pertinence", "accompagnement"),
    crisis_years: tuple[int, ...] = (),
    members: int | None = None,
    perimeter: str = "mon-territoire",
) -> Contract:
    """A contract signed on ``signature`` with every mission chosen starting at signature.

    For a territory that has no contract yet (Mon territoire): the schedule
    of :func:`contract_schedule` then gives the most the ACI pays it, year by
    year. A crisis year counts from its 1 January (or the signature).
    """
    starts = {
        m.key: signature for m in mission_specs() if m.mandatory or m.key in optional_missions
    }
    crises = tuple(max(dt.date(y, 1, 1), signature) for y in crisis_years)
    return Contract(perimeter, signature, starts, crises=crises, members=members)


def payment_rows(schedule: pd.DataFrame, *, rules: FundingRules | None = None) -> pd.DataFrame:
    """When each line of a schedule is paid: advance, balance, or once.

    Returns the schedule's rows split into payments, with the columns of the
    schedule (other than the amounts) plus ``date`` (day of payment), ``part``
    (``avance``, ``solde`` or ``versement``), ``amount_max_eur`` and
    ``amount_expected_eur``. The balance date is the latest the texts allow:
    the yearly review is held within two months of the anniversary.
    """
    rules = rules or funding_rules()
    rule = rules.payment
    out: list[dict[Any, Any]] = []
    for row in schedule.to_dict("records"):
        balance_day = add_months(row["contract_year_end"] + _DAY, rule.review_within_months)
        if row["kind"] == "ponctuel" or (
            row["line"] == "fonctionnement" and row["contract_year"] == 1
        ):
            parts = [("versement", row["period_start"], 1.0)]
        elif row["kind"] == "variable":
            parts = [("solde", balance_day, 1.0)]
        else:
            share = rule.advance_share
            parts = [("avance", row["period_start"], share), ("solde", balance_day, 1.0 - share)]
        for part, day, share in parts:
            out.append(
                row
                | {
                    "date": day,
                    "part": part,
                    "amount_max_eur": round(row["amount_max_eur"] * share, 2),
                    "amount_expected_eur": round(row["amount_expected_eur"] * share, 2),
                }
            )
    columns = [*schedule.columns, "date", "part"]
    return pd.DataFrame(out, columns=columns)
