"""The funding due under hand-made contracts, computed by hand from the published tables.

Amounts (seed 004, "DISPOSITIF DE FINANCEMENT PAR TAILLE"; seed 002 for the
crisis mission and the supplement), for tailles 1 to 4:

- operating 50,000 / 60,000 / 75,000 / 90,000;
- access to care 55,000+25,000 / 70,000+30,000 / 90,000+35,000 / 110,000+45,000;
- pathways 25,000+25,000 / 35,000+35,000 / 45,000+45,000 / 50,000+50,000;
- prevention 10,000+10,000 / 15,000+15,000 / 17,500+17,500 / 20,000+20,000;
- crisis plan 25,000 / 35,000 / 45,000 / 50,000, update 12,500 / 17,500 /
  22,500 / 25,000, occurrence (variable) 37,500 / 52,500 / 67,500 / 75,000;
- quality 7,500+7,500 / 10,000+10,000 / 15,000+15,000 / 20,000+20,000;
- support 5,000+5,000 / 7,500+7,500 / 10,000+10,000 / 15,000+15,000;
- published total (crisis year 1 with a crisis) 287,500 / 382,500 / 487,500 / 580,000.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.contracts import Contract, contract_schedule, payment_rows, simulated_contract
from diagnosis.core.aci import funding_rules, mission_specs

PUBLISHED = {1: 287_500, 2: 382_500, 3: 487_500, 4: 580_000}
PLAN = {1: 25_000, 2: 35_000, 3: 45_000, 4: 50_000}
UPDATE = {1: 12_500, 2: 17_500, 3: 22_500, 4: 25_000}
CRISIS = {1: 37_500, 2: 52_500, 3: 67_500, 4: 75_000}
OPERATING = {1: 50_000, 2: 60_000, 3: 75_000, 4: 90_000}
SUPPLEMENT = {1: 37_500, 2: 45_000, 3: 56_250, 4: 67_500}

JAN_2023 = dt.date(2023, 1, 1)
ALL_MISSIONS = tuple(m.key for m in mission_specs())


def every_mission(signature: dt.date, **options: object) -> Contract:
    return Contract("x", signature, dict.fromkeys(ALL_MISSIONS, signature), **options)  # type: ignore[arg-type]


def year_total(frame: pd.DataFrame, year: int, column: str = "amount_max_eur") -> float:
    return float(frame.loc[frame["contract_year"] == year, column].sum())


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_year_one_is_the_published_total_less_the_crisis_payment(size: int) -> None:
    schedule = contract_schedule(every_mission(JAN_2023), size_class=size)
    assert year_total(schedule, 1) == PUBLISHED[size] - CRISIS[size]
    # The period of year 1 is the signature year.
    first = schedule[schedule["contract_year"] == 1]
    assert set(first["period_start"]) == {JAN_2023}
    assert set(first["period_end"]) == {dt.date(2023, 12, 31)}
    assert set(first["kind"]) == {"fixe", "variable"}


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_year_two_pays_the_plan_update(size: int) -> None:
    schedule = contract_schedule(every_mission(JAN_2023), size_class=size)
    expected = PUBLISHED[size] - CRISIS[size] - PLAN[size] + UPDATE[size]
    assert year_total(schedule, 2) == expected
    lines = set(schedule.loc[schedule["contract_year"] == 2, "line"])
    assert "crises_mise_a_jour" in lines and "crises_plan_annee_1" not in lines
    # Five contract years (seed 000), then nothing.
    assert sorted(set(schedule["contract_year"])) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_a_crisis_in_year_two_is_a_variable_payment(size: int) -> None:
    crisis = dt.date(2024, 3, 15)
    contract = every_mission(JAN_2023, crises=(crisis,), attainment={"crises_sanitaires": (1, 0.5)})
    schedule = contract_schedule(contract, size_class=size)
    row = schedule[schedule["line"] == "crises_declenchement"].iloc[0]
    assert (row["contract_year"], row["kind"], row["amount_max_eur"]) == (
        2,
        "variable",
        CRISIS[size],
    )
    assert row["amount_expected_eur"] == CRISIS[size] / 2  # 50 % attainment in year 2
    assert (row["period_start"], row["period_end"]) == (crisis, crisis)
    no_crisis = PUBLISHED[size] - CRISIS[size] - PLAN[size] + UPDATE[size]
    assert year_total(schedule, 2) == no_crisis + CRISIS[size]


def test_a_mission_started_mid_year_is_prorated_by_days() -> None:
    # Taille 1, signed 1 January 2023, prevention from 1 July 2023: 184 of 365 days.
    starts = dict.fromkeys(ALL_MISSIONS, JAN_2023) | {"prevention": dt.date(2023, 7, 1)}
    contract = Contract("x", JAN_2023, starts, attainment={"prevention": (0.5,)})
    schedule = contract_schedule(contract, size_class=1)
    year1 = schedule[(schedule["contract_year"] == 1) & (schedule["line"] == "prevention")]
    part = round(10_000 * 184 / 365, 2)  # 5,041.10
    assert year1["amount_max_eur"].tolist() == [part, part]
    assert year1["amount_expected_eur"].tolist() == [part, round(part * 0.5, 2)]
    assert set(year1["period_start"]) == {dt.date(2023, 7, 1)}
    year2 = schedule[(schedule["contract_year"] == 2) & (schedule["line"] == "prevention")]
    assert year2["amount_max_eur"].tolist() == [10_000, 10_000]
    assert year_total(schedule, 1) == 250_000 - 20_000 + 2 * part


def test_a_mission_not_started_or_not_chosen_is_not_funded() -> None:
    starts = {"acces_aux_soins": JAN_2023}
    schedule = contract_schedule(Contract("x", JAN_2023, starts), size_class=2)
    assert set(schedule["line"]) == {"fonctionnement", "acces_aux_soins"}
    assert year_total(schedule, 1) == 60_000 + 70_000 + 30_000


def test_the_crisis_plan_is_paid_in_the_year_the_mission_starts() -> None:
    # Crisis mission from 1 July 2024 (contract year 2): plan in year 2, prorated; update after.
    starts = {"crises_sanitaires": dt.date(2024, 7, 1)}
    schedule = contract_schedule(Contract("x", JAN_2023, starts), size_class=3)
    crisis = schedule[schedule["line"].str.startswith("crises")]
    assert crisis[["contract_year", "line"]].values.tolist() == [
        [2, "crises_plan_annee_1"],
        [3, "crises_mise_a_jour"],
        [4, "crises_mise_a_jour"],
        [5, "crises_mise_a_jour"],
    ]
    assert crisis["amount_max_eur"].tolist() == [
        round(45_000 * 184 / 366, 2),
        22_500,
        22_500,
        22_500,
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_a_contract_signed_before_30_september_2022_gets_the_supplement_once(size: int) -> None:
    signed = dt.date(2022, 3, 1)
    schedule = contract_schedule(every_mission(signed), size_class=size)
    supplement = schedule[schedule["line"] == "supplement_exceptionnel"]
    assert supplement[["contract_year", "kind", "amount_max_eur"]].values.tolist() == [
        [1, "ponctuel", SUPPLEMENT[size]]
    ]
    assert supplement.iloc[0]["period_start"] == signed
    assert year_total(schedule, 1) == PUBLISHED[size] - CRISIS[size] + SUPPLEMENT[size]
    assert year_total(schedule, 2) == PUBLISHED[size] - CRISIS[size] - PLAN[size] + UPDATE[size]
    on_the_day = contract_schedule(every_mission(dt.date(2022, 9, 30)), size_class=size)
    assert "supplement_exceptionnel" not in set(on_the_day["line"])


def test_the_large_community_bonus_is_an_option() -> None:
    members = {"members": 100}
    plain = contract_schedule(every_mission(JAN_2023, **members), size_class=4)
    assert "bonus_taille_4" not in set(plain["line"])
    chosen = contract_schedule(
        every_mission(JAN_2023, **members), size_class=4, large_community_bonus=True
    )
    bonus = chosen[(chosen["contract_year"] == 1) & (chosen["line"] == "bonus_taille_4")]
    # 10 % of the missions (not of the operating line), year 1 without a crisis:
    # fixed 110,000 + 50,000 + 20,000 + 50,000 + 20,000 + 15,000 = 265,000;
    # variable 45,000 + 50,000 + 20,000 + 20,000 + 15,000 = 150,000.
    assert bonus.set_index("kind")["amount_max_eur"].to_dict() == {
        "fixe": 26_500,
        "variable": 15_000,
    }
    small = contract_schedule(
        every_mission(JAN_2023, members=99), size_class=4, large_community_bonus=True
    )
    assert "bonus_taille_4" not in set(small["line"])
    granted = contract_schedule(
        every_mission(JAN_2023, members=120, bonus_granted=True), size_class=4
    )
    assert "bonus_taille_4" in set(granted["line"])
    taille3 = contract_schedule(
        every_mission(JAN_2023, members=300), size_class=3, large_community_bonus=True
    )
    assert "bonus_taille_4" not in set(taille3["line"])


def test_attainment_rates_set_the_expected_variable_parts() -> None:
    rates = {"acces_aux_soins": (0.8, 0.9)}
    schedule = contract_schedule(every_mission(JAN_2023, attainment=rates), size_class=1)
    access = schedule[(schedule["line"] == "acces_aux_soins") & (schedule["kind"] == "variable")]
    assert access["amount_expected_eur"].tolist() == [20_000, 22_500, 25_000, 25_000, 25_000]
    fixed = schedule[schedule["kind"] == "fixe"]
    assert (fixed["amount_expected_eur"] == fixed["amount_max_eur"]).all()
    assert year_total(schedule, 1, "amount_expected_eur") == 250_000 - 5_000


def test_letter_of_intent_aid_before_the_contract() -> None:
    validated = dt.date(2022, 11, 2)
    signed = dt.date(2023, 6, 1)
    t1 = contract_schedule(every_mission(signed, letter_of_intent=validated), size_class=1)
    aid = t1[t1["line"] == "aide_lettre_intention"].iloc[0]
    assert (aid["contract_year"], aid["kind"], aid["amount_max_eur"]) == (0, "ponctuel", 15_000)
    assert aid["period_start"] == validated
    # Taille 2: the texts give only "15 000 à 30 000 €": at most 30,000, 15,000 expected.
    t2 = contract_schedule(every_mission(signed, letter_of_intent=validated), size_class=2)
    aid2 = t2[t2["line"] == "aide_lettre_intention"].iloc[0]
    assert (aid2["amount_max_eur"], aid2["amount_expected_eur"]) == (30_000, 15_000)
    given_amount = every_mission(
        signed, letter_of_intent=validated, letter_of_intent_aid_eur=20_000
    )
    t3 = contract_schedule(given_amount, size_class=3)
    assert t3.loc[t3["line"] == "aide_lettre_intention", "amount_expected_eur"].tolist() == [20_000]


def test_simulated_contract_for_a_territory_without_one() -> None:
    contract = simulated_contract(
        JAN_2023, optional_missions=("accompagnement",), crisis_years=(2025,)
    )
    schedule = contract_schedule(contract, size_class=2)
    assert year_total(schedule, 1) == 330_000 - 20_000  # without quality and relevance
    assert schedule.loc[schedule["line"] == "crises_declenchement", "contract_year"].tolist() == [3]


def test_payments_follow_the_aci_rule() -> None:
    # Taille 1 from 1 January 2023: operating in full at signature, 75 % advances, the
    # balance and variable parts two months after the anniversary.
    schedule = contract_schedule(every_mission(JAN_2023), size_class=1)
    paid = payment_rows(schedule)
    year1 = paid[paid["contract_year"] == 1]
    at_signature = year1[year1["date"] == JAN_2023]
    fixed_missions = 55_000 + 25_000 + 10_000 + 25_000 + 7_500 + 5_000
    assert at_signature["amount_max_eur"].sum() == 50_000 + 0.75 * fixed_missions
    balance = year1[year1["date"] == dt.date(2024, 3, 1)]
    variable = 25_000 + 25_000 + 10_000 + 7_500 + 5_000
    assert balance["amount_max_eur"].sum() == 0.25 * fixed_missions + variable
    assert paid["amount_max_eur"].sum() == schedule["amount_max_eur"].sum()
    year2 = paid[paid["contract_year"] == 2]
    assert year2.loc[year2["line"] == "fonctionnement", "part"].tolist() == ["avance", "solde"]


# ---------------------------------------------------------------------------
# Totals never above the published maxima (any contract)
# ---------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=6 * 366)


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    signature = dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 6 * 366)))
    starts = {}
    for mission in ALL_MISSIONS:
        # Not started, started at signature (the most funding), or later.
        how = draw(st.sampled_from(["none", "signature", "signature", "later"]))
        if how == "signature":
            starts[mission] = signature
        elif how == "later":
            starts[mission] = signature + dt.timedelta(days=draw(st.integers(0, 4 * 366)))
    crises = tuple(signature + dt.timedelta(days=d) for d in draw(st.lists(DAYS, max_size=8)))
    rates = {m: tuple(draw(st.lists(st.floats(0, 1), max_size=6))) for m in ALL_MISSIONS}
    return Contract(
        "x", signature, starts, crises=crises, attainment=rates, members=draw(st.integers(0, 300))
    )


@settings(max_examples=150, deadline=None)
@given(contract=contracts(), size=st.integers(1, 4), bonus=st.booleans())
def test_no_contract_year_is_above_the_published_maximum(
    contract: Contract, size: int, bonus: bool
) -> None:
    schedule = contract_schedule(contract, size_class=size, large_community_bonus=bonus)
    periodic = schedule[(schedule["kind"] != "ponctuel") & (schedule["line"] != "bonus_taille_4")]
    by_year = periodic.groupby("contract_year")["amount_max_eur"].sum()
    assert (by_year <= PUBLISHED[size] + 0.01).all()
    # With the option, at most 10 % more on the missions (never on the operating line).
    ceiling = OPERATING[size] + 1.1 * (PUBLISHED[size] - OPERATING[size])
    with_bonus = schedule[schedule["kind"] != "ponctuel"].groupby("contract_year")
    assert (with_bonus["amount_max_eur"].sum() <= ceiling + 0.01).all()
    assert (schedule["amount_expected_eur"] <= schedule["amount_max_eur"] + 0.005).all()
    assert (schedule["amount_max_eur"] >= 0).all()
    one_offs = schedule[schedule["kind"] == "ponctuel"]  # only the supplement here
    assert len(one_offs) <= 1
    assert (one_offs["amount_max_eur"] == funding_rules().supplement_amounts[size - 1]).all()
