"""The rules come from data/rules/ only: stages (statuses.toml) and the ACI (aci.toml)."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import get_args

import pytest

from diagnosis.core.aci import (
    funding_rules,
    funding_total,
    letter_of_intent_aid,
    optional_mission_labels,
    simulate_funding,
    size_rules,
)
from diagnosis.core.numbers import add_months, date_span, fr_date
from diagnosis.core.statuses import (
    STATUS_KEYS,
    StatusKey,
    _status_spec_of,
    status_legend,
    status_name,
    status_specs,
)
from diagnosis.paths import RULES_DIR


def test_stage_keys_follow_the_file_order_and_match_the_type() -> None:
    with (RULES_DIR / "statuses.toml").open("rb") as fh:
        data = tomllib.load(fh)
    in_file = [item["key"] for item in sorted(data["stage"], key=lambda i: i["rank"])]
    assert list(STATUS_KEYS) == in_file
    assert sorted(STATUS_KEYS) == sorted(get_args(StatusKey))
    assert [s.rank for s in status_specs()] == [1, 2, 3, 4]


def test_legend_lists_stages_most_advanced_first_then_unknown() -> None:
    legend = status_legend()
    assert [key for key, _, _ in legend] == [*reversed(STATUS_KEYS), None]
    assert legend[0] == ("aci_signe", "ACI signé", "#1a9850")
    assert legend[-1] == (None, "Statut non renseigné", "#c6dbef")
    assert all(label == status_name(key) for key, label, _ in legend if key is not None)


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"key": "signe", "rank": 1, "label_fr": "x", "synonyms": [], "colour": "#000000"}, "key"),
        (
            {"key": "emergence", "rank": 1, "label_fr": "x", "synonyms": [], "colour": "red"},
            "colour",
        ),
    ],
)
def test_a_bad_stage_entry_is_refused(item: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _status_spec_of(item)


# ---------------------------------------------------------------------------
# The ACI funding rules as the texts state them (issue 20 item 2)
# ---------------------------------------------------------------------------

PUBLISHED = (287_500, 382_500, 487_500, 580_000)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_published_totals_hold(size: int) -> None:
    # Seed 004: both optional missions, crisis plan year 1, a crisis.
    assert funding_total(size, crisis_activated=True) == PUBLISHED[size - 1]
    assert funding_rules().totals_published == PUBLISHED


def test_the_crisis_payment_is_a_variable_line() -> None:
    # Seed 002: "Volet variable/ survenue".
    line = funding_rules().line("crises_declenchement")
    assert line.fixed == (0, 0, 0, 0)
    assert line.variable == (37_500, 52_500, 67_500, 75_000)
    table = simulate_funding(1, crisis_activated=True).set_index("key")
    assert table.loc["crises_declenchement", ["fixed_eur", "variable_eur"]].tolist() == [0, 37_500]
    fixed_only = simulate_funding(1, crisis_activated=True, include_variable=False)
    assert "crises_declenchement" not in set(fixed_only.loc[fixed_only["variable_eur"] > 0, "key"])
    assert fixed_only.iloc[-1]["total_eur"] == 50_000 + 55_000 + 25_000 + 10_000 + 25_000 + 12_500


def test_the_exceptional_supplement_is_paid_once() -> None:
    # Seed 002: "versé dans sa totalité dès la signature du contrat pour 1 an seulement".
    first = simulate_funding(2, joined_before_2022_09_30=True).set_index("key")
    assert first.loc["supplement_exceptionnel", ["fixed_eur", "one_off_eur"]].tolist() == [
        0,
        45_000,
    ]
    later = simulate_funding(2, crisis_year="annees_suivantes", joined_before_2022_09_30=True)
    assert "supplement_exceptionnel" not in set(later["key"])
    assert funding_rules().supplement_signed_before == dt.date(2022, 9, 30)


def test_the_large_community_bonus_is_off_unless_chosen() -> None:
    # Seed 002: a taille 4 with at least 100 members "pourrait bénéficier" of +10 %.
    assert "bonus_taille_4" not in set(simulate_funding(4, members=500)["key"])
    on = simulate_funding(4, members=100, large_community_bonus=True).set_index("key")
    assert on.loc["bonus_taille_4", "fixed_eur"] == 0.10 * 265_000
    assert on.loc["bonus_taille_4", "variable_eur"] == 0.10 * 150_000


def test_letter_of_intent_aid_gives_only_what_the_texts_publish() -> None:
    assert letter_of_intent_aid(1) == (15_000, 15_000)
    assert letter_of_intent_aid(2) == (15_000, 30_000)
    assert letter_of_intent_aid(3) == (15_000, 30_000)
    assert letter_of_intent_aid(4) == (30_000, 30_000)
    with pytest.raises(ValueError, match="Taille ACI"):
        letter_of_intent_aid(5)


def test_missions_calendar_and_payment_rule_are_data_with_sources() -> None:
    rules = funding_rules()
    calendar = {m.key: (m.start_within_months, m.deployed_within_months) for m in rules.missions}
    assert calendar == {
        "acces_aux_soins": (6, 18),
        "parcours": (12, 24),
        "prevention": (12, 24),
        "crises_sanitaires": (12, 24),
        "qualite_pertinence": (None, None),
        "accompagnement": (None, None),
    }
    assert all(
        "ACI" in m.calendar_source or "avenant" in m.calendar_source.lower() for m in rules.missions
    )
    assert rules.payment.advance_share == 0.75
    assert rules.payment.review_within_months == 2
    assert "9.1" in rules.payment.source and rules.payment.review_source.startswith("003_")
    assert rules.contract_years == 5
    assert optional_mission_labels() == {
        "qualite_pertinence": "Qualité et pertinence",
        "accompagnement": "Accompagnement des professionnels",
    }


def test_every_funding_rule_cites_a_founding_text() -> None:
    with (RULES_DIR / "aci.toml").open("rb") as fh:
        funding = tomllib.load(fh)["funding"]
    for line in funding["line"]:
        assert line["source"].startswith(("004_", "002_")), line["key"]
    for table in (
        "large_community_bonus",
        "exceptional_operating_supplement",
        "one_off_letter_of_intent",
    ):
        assert funding[table]["source"].startswith("002_"), table
    assert funding["totals_published"]["source"].startswith("004_")


def test_french_dates_are_written_and_read_once() -> None:
    assert fr_date("2019-08-21") == "21 août 2019"
    assert fr_date(dt.date(2025, 4, 1)) == "1er avril 2025"
    assert size_rules().source.endswith("(21 août 2019)")
    assert date_span("09/2021") == (dt.date(2021, 9, 1), dt.date(2021, 9, 30))
    assert date_span("2024") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert date_span("15-09-21") == (dt.date(2021, 9, 15), dt.date(2021, 9, 15))
    assert date_span("31/02/2021") is None
    assert add_months(dt.date(2024, 12, 31), 2) == dt.date(2025, 2, 28)
