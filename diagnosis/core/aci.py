"""The ACI rules as data: size classes, regional floors, funding lines, missions, proposals.

Everything comes from ``data/rules/aci.toml`` (the interprofessional
agreement of 2019 and its avenant 2 of 2022, with the passage of the founding
documents each rule rests on): a later avenant or a regional setting is a
data change, not a code change. The contract follow-up
(:mod:`diagnosis.contracts`) computes a contract's schedule from these rules;
:func:`simulate_funding` gives the annual maxima of one size class.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from diagnosis.core.numbers import fr_number
from diagnosis.core.rulefiles import citation, read_rules_toml

__all__ = [
    "CrisisYear",
    "FundingLine",
    "FundingRules",
    "LineWhen",
    "MissionSpec",
    "OneOffAid",
    "OptionalMission",
    "PaymentRule",
    "ProposalRules",
    "SizeRules",
    "crisis_mission",
    "funding_rules",
    "funding_total",
    "letter_of_intent_aid",
    "mission_specs",
    "optional_mission_labels",
    "proposal_rules",
    "simulate_funding",
    "size_rules",
]


# --------------------------------------------------------------------------
# Size classes and minimum population
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeRules:
    """ACI size classes (taille 1 to 4) and the soft minimum population.

    The minimum population (the floor) and its citation depend on the region:
    a region listed in ``aci.toml`` (``minimum_population.by_region``) has its
    own figure and source; any other gets the national default and wording.
    """

    lower_bounds: tuple[int, ...]
    lower_bound_inclusive: bool
    labels: tuple[str, ...]
    minimum_default: int
    minimum_by_region: dict[str, int]
    source: str
    #: Citation of the national default floor (with its date).
    minimum_source: str
    #: Citation of each region's own floor (region code → French citation).
    minimum_source_by_region: dict[str, str] = field(default_factory=dict)

    def size_class(self, population: float) -> int:
        """Size class (1 to 4) of a population."""
        bounds = self.lower_bounds
        cls = 1
        for i, bound in enumerate(bounds[1:], start=2):
            if population > bound or (self.lower_bound_inclusive and population == bound):
                cls = i
        return cls

    def minimum_for(self, region: str | None) -> int:
        """The minimum population that applies in a region (default when not set)."""
        if region is not None and region in self.minimum_by_region:
            return self.minimum_by_region[region]
        return self.minimum_default

    def minimum_citation(self, region: str | None) -> str:
        """Where the floor of a region comes from, in French, to cite next to it.

        A region with its own doctrine cites it; a floor set for a region
        without a source says so; any other region gets the national wording.
        """
        if region is not None and region in self.minimum_source_by_region:
            return self.minimum_source_by_region[region]
        if region is not None and region in self.minimum_by_region:
            population = fr_number(self.minimum_by_region[region])
            return (
                f"Seuil régional de {population} habitants (réglage régional, source "
                "non précisée) ; absent de l'ACI national"
            )
        return self.minimum_source

    def floor(self, region: str | None) -> tuple[int, str]:
        """(minimum population, its citation) for a region."""
        return self.minimum_for(region), self.minimum_citation(region)


def _regional_floors(
    by_region: Mapping[str, Any],
) -> tuple[dict[str, int], dict[str, str]]:
    """Floors and citations by region code; an old-style entry is a bare integer."""
    floors: dict[str, int] = {}
    citations: dict[str, str] = {}
    for code, entry in by_region.items():
        if isinstance(entry, Mapping):
            for key in ("population", "source", "address", "date"):
                if not str(entry.get(key, "")).strip():
                    raise ValueError(f"aci.toml: regional floor {code!r} has no {key!r}")
            floors[str(code)] = int(entry["population"])
            citations[str(code)] = citation(entry)
        else:
            floors[str(code)] = int(entry)
    return floors, citations


@functools.lru_cache(maxsize=4)
def size_rules(directory: str | None = None) -> SizeRules:
    """Size classes and minimum population from ``data/rules/aci.toml``."""
    data = read_rules_toml("aci.toml", directory)
    classes, minimum = data["size_classes"], data["minimum_population"]
    floors, citations = _regional_floors(minimum.get("by_region", {}))
    return SizeRules(
        lower_bounds=tuple(int(b) for b in classes["lower_bounds"]),
        lower_bound_inclusive=bool(classes["lower_bound_inclusive"]),
        labels=tuple(classes["labels"]),
        minimum_default=int(minimum["default"]),
        minimum_by_region=floors,
        source=citation(classes),
        minimum_source=citation(minimum),
        minimum_source_by_region=citations,
    )


# --------------------------------------------------------------------------
# White-zone proposals (method settings of Atlas CPTS, kept with the ACI rules)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalRules:
    """Settings of the white-zone proposals (``[proposals]`` of ``aci.toml``).

    Attributes
    ----------
    max_population
        A white block above it is split (inhabitants).
    split_target_population
        Population each group of a split block reaches when it can (inhabitants).
    attach_enclosed_below
        An enclosed white cluster below it is attached to a neighbour (inhabitants).
    enclosed_border_share
        Share of a cluster's outline shared with existing perimeters from which
        it counts as enclosed (0 to 1).
    source
        Where the settings come from (a method choice, not a regulatory rule).
    """

    max_population: int
    split_target_population: int
    attach_enclosed_below: int
    enclosed_border_share: float
    source: str


@functools.lru_cache(maxsize=4)
def proposal_rules(directory: str | None = None) -> ProposalRules:
    """Settings of the white-zone proposals from ``data/rules/aci.toml``."""
    data = read_rules_toml("aci.toml", directory)["proposals"]
    rules = ProposalRules(
        max_population=int(data["max_population"]),
        split_target_population=int(data["split_target_population"]),
        attach_enclosed_below=int(data["attach_enclosed_below"]),
        enclosed_border_share=float(data["enclosed_border_share"]),
        source=citation(data),
    )
    if not 0 < rules.split_target_population <= rules.max_population:
        raise ValueError("aci.toml: split_target_population must be in (0, max_population]")
    if not 0 <= rules.enclosed_border_share <= 1:
        raise ValueError("aci.toml: enclosed_border_share must be between 0 and 1")
    return rules


# --------------------------------------------------------------------------
# Funding: lines, missions, options
# --------------------------------------------------------------------------

#: In which contract years a line is due (see ``aci.toml``).
LineWhen = Literal["every_year", "first_year", "later_years", "on_crisis"]
OptionalMission = Literal["qualite_pertinence", "accompagnement"]
CrisisYear = Literal["premiere_annee", "annees_suivantes"]

_Amounts = tuple[int, int, int, int]


@dataclass(frozen=True)
class FundingLine:
    """One line of the ACI funding table: annual maxima by size class (1 to 4)."""

    key: str
    label: str
    kind: str
    fixed: _Amounts
    variable: _Amounts
    #: The mission the line pays for (None: the operating line).
    mission: str | None = None
    when: LineWhen = "every_year"
    source: str = ""


@dataclass(frozen=True)
class MissionSpec:
    """A mission of the ACI and its deployment calendar (months after signature)."""

    key: str
    label: str
    mandatory: bool
    #: Latest start, in months after signature (None: free, optional missions).
    start_within_months: int | None
    #: Latest full deployment, in months after signature (None: free).
    deployed_within_months: int | None
    calendar_source: str


@dataclass(frozen=True)
class OneOffAid:
    """A one-off amount of the ACI: its key, label, amount range by size and source."""

    key: str
    label: str
    #: (lowest, highest) amount of each size class; equal when the texts give it.
    amounts: tuple[tuple[int, int], ...]
    source: str


@dataclass(frozen=True)
class PaymentRule:
    """How the Assurance Maladie pays: advance share, review delay, sources."""

    advance_share: float
    review_within_months: int
    source: str
    review_source: str


@dataclass(frozen=True)
class FundingRules:
    """The ACI funding table and its options (``[funding]`` of ``aci.toml``)."""

    lines: tuple[FundingLine, ...]
    missions: tuple[MissionSpec, ...]
    totals_published: tuple[int, ...]
    bonus_key: str
    bonus_label: str
    bonus_size_class: int
    bonus_min_members: int
    bonus_rate: float
    bonus_applies_to: tuple[str, ...]
    bonus_source: str
    supplement_key: str
    supplement_label: str
    supplement_signed_before: dt.date
    supplement_amounts: tuple[int, ...]
    supplement_source: str
    one_off: OneOffAid
    payment: PaymentRule
    contract_years: int
    source: str

    @property
    def one_off_label(self) -> str:
        """Label of the letter-of-intent aid."""
        return self.one_off.label

    def line(self, key: str) -> FundingLine:
        """The line ``key`` (a KeyError names the keys known)."""
        for line in self.lines:
            if line.key == key:
                return line
        raise KeyError(f"{key!r} is not a funding line of aci.toml ({[x.key for x in self.lines]})")


def _four(values: Any) -> _Amounts:
    amounts = tuple(int(v) for v in values)
    if len(amounts) != 4:  # the four ACI size classes
        raise ValueError(f"aci.toml: four amounts expected (one per size class), got {values!r}")
    return amounts


def _line_of(item: Mapping[str, Any]) -> FundingLine:
    return FundingLine(
        key=item["key"],
        label=item["label"],
        kind=item["kind"],
        fixed=_four(item["fixed"]),
        variable=_four(item["variable"]),
        mission=item.get("mission"),
        when=item.get("when", "every_year"),
        source=str(item.get("source", "")),
    )


def _mission_of(item: Mapping[str, Any]) -> MissionSpec:
    start, deployed = item.get("start_within_months"), item.get("deployed_within_months")
    return MissionSpec(
        key=item["key"],
        label=item["label"],
        mandatory=bool(item["mandatory"]),
        start_within_months=None if start is None else int(start),
        deployed_within_months=None if deployed is None else int(deployed),
        calendar_source=str(item["calendar_source"]),
    )


def _one_off_of(data: Mapping[str, Any]) -> OneOffAid:
    low, high = int(data["amount_size_1"]), int(data["amount_size_4"])
    return OneOffAid(
        key=data["key"],
        label=data["label"],
        amounts=((low, low), (low, high), (low, high), (high, high)),
        source=str(data["source"]),
    )


@functools.lru_cache(maxsize=4)
def funding_rules(directory: str | None = None) -> FundingRules:
    """The ACI funding table, missions and options from ``data/rules/aci.toml``."""
    data = read_rules_toml("aci.toml", directory)["funding"]
    bonus, supplement = data["large_community_bonus"], data["exceptional_operating_supplement"]
    rules = FundingRules(
        lines=tuple(_line_of(item) for item in data["line"]),
        missions=tuple(_mission_of(item) for item in data["mission"]),
        totals_published=tuple(int(v) for v in data["totals_published"]["amounts"]),
        bonus_key=bonus["key"],
        bonus_label=bonus["label"],
        bonus_size_class=int(bonus["size_class"]),
        bonus_min_members=int(bonus["min_members"]),
        bonus_rate=float(bonus["rate"]),
        bonus_applies_to=tuple(bonus["applies_to"]),
        bonus_source=str(bonus["source"]),
        supplement_key=supplement["key"],
        supplement_label=supplement["label"],
        supplement_signed_before=dt.date.fromisoformat(supplement["signed_before"]),
        supplement_amounts=_four(supplement["amounts"]),
        supplement_source=str(supplement["source"]),
        one_off=_one_off_of(data["one_off_letter_of_intent"]),
        payment=PaymentRule(
            advance_share=float(data["payment"]["advance_share"]),
            review_within_months=int(data["payment"]["review_within_months"]),
            source=str(data["payment"]["source"]),
            review_source=str(data["payment"]["review_source"]),
        ),
        contract_years=int(data["contract_years"]),
        source=citation(data),
    )
    missions = {m.key for m in rules.missions}
    for line in rules.lines:
        if line.mission is not None and line.mission not in missions:
            raise ValueError(f"aci.toml: line {line.key!r} names an unknown mission")
    return rules


def mission_specs() -> tuple[MissionSpec, ...]:
    """The missions of the ACI in the order of ``aci.toml``, with their calendar."""
    return funding_rules().missions


def crisis_mission() -> str:
    """Key of the mission whose variable part is paid when a health crisis occurs."""
    return next(str(x.mission) for x in funding_rules().lines if x.when == "on_crisis")


def optional_mission_labels() -> dict[str, str]:
    """Key → French label of the optional missions (for a choice list)."""
    return {m.key: m.label for m in mission_specs() if not m.mandatory}


def letter_of_intent_aid(size_class: int) -> tuple[int, int]:
    """(lowest, highest) one-off aid after a validated letter of intent, in euros.

    The texts read give 15,000 for taille 1 and 30,000 for taille 4, "de
    15 000 à 30 000 € en fonction de sa taille" (seed ``002``); for tailles 2
    and 3 the range is returned, never an interpolated guess.
    """
    _check_size_class(size_class)
    return funding_rules().one_off.amounts[size_class - 1]


def _check_size_class(size_class: int) -> None:
    if size_class not in (1, 2, 3, 4):
        raise ValueError(f"Taille ACI attendue entre 1 et 4 (reçu {size_class!r}).")


def _chosen_lines(
    rules: FundingRules,
    *,
    optional_missions: tuple[str, ...],
    crisis_year: CrisisYear,
    crisis_activated: bool,
) -> list[FundingLine]:
    """The lines due in the year simulated."""
    optional = {m.key for m in rules.missions if not m.mandatory}
    due = {
        "every_year": True,
        "first_year": crisis_year == "premiere_annee",
        "later_years": crisis_year == "annees_suivantes",
        "on_crisis": crisis_activated,
    }
    dropped = optional - set(optional_missions)
    return [line for line in rules.lines if due[line.when] and line.mission not in dropped]


def _bonus_row(rules: FundingRules, rows: list[dict[str, Any]]) -> dict[str, Any]:
    applies = [row for row in rows if row["kind"] in rules.bonus_applies_to]
    return {
        "key": rules.bonus_key,
        "label": rules.bonus_label,
        "kind": "majoration",
        "fixed_eur": round(rules.bonus_rate * sum(r["fixed_eur"] for r in applies), 2),
        "variable_eur": round(rules.bonus_rate * sum(r["variable_eur"] for r in applies), 2),
        "one_off_eur": 0.0,
    }


def simulate_funding(
    size_class: int,
    *,
    optional_missions: tuple[OptionalMission, ...] = ("qualite_pertinence", "accompagnement"),
    crisis_year: CrisisYear = "premiere_annee",
    crisis_activated: bool = False,
    members: int | None = None,
    large_community_bonus: bool = False,
    joined_before_2022_09_30: bool = False,
    first_contract_year: bool | None = None,
    include_variable: bool = True,
) -> pd.DataFrame:
    """Maximum ACI funding of a CPTS of a size class for one contract year, line by line.

    Parameters
    ----------
    size_class
        ACI size class, 1 to 4.
    optional_missions
        Optional missions chosen (quality and relevance, support to professionals).
    crisis_year
        ``premiere_annee`` (the health-crisis plan is written) or
        ``annees_suivantes`` (it is updated).
    crisis_activated
        Whether a health crisis was declared during the year: adds the
        *variable* crisis payment ("volet variable / survenue").
    members
        Number of members (for the taille-4 bonus).
    large_community_bonus
        Grant the +10 % a taille-4 CPTS with at least 100 members *may* get on
        all its missions (seed ``002`` says "pourrait"): off unless chosen.
    joined_before_2022_09_30
        The contract was signed before 30 September 2022: adds the exceptional
        operating supplement, a one-off paid in full at signature for one year
        only, so only in the first contract year.
    first_contract_year
        Whether the year simulated is the first contract year; by default, the
        year the crisis plan is written (``crisis_year="premiere_annee"``).
    include_variable
        Count the variable parts (paid on results) at their maximum.

    Returns
    -------
    pandas.DataFrame
        One row per funded line: key, label, kind, fixed_eur, variable_eur,
        one_off_eur, total_eur, and a last row ``total``. Amounts are maxima.

    Notes
    -----
    Amounts come from ``data/rules/aci.toml`` (ACI after avenant 2, 2022). With
    both optional missions, the first crisis year and a crisis, the totals are
    287,500 / 382,500 / 487,500 / 580,000 euros for tailles 1 to 4 (seed
    ``004``, "Financement total possible").
    """
    _check_size_class(size_class)
    rules = funding_rules()
    i = size_class - 1
    lines = _chosen_lines(
        rules,
        optional_missions=tuple(optional_missions),
        crisis_year=crisis_year,
        crisis_activated=crisis_activated,
    )
    rows: list[dict[str, Any]] = [
        {
            "key": line.key,
            "label": line.label,
            "kind": line.kind,
            "fixed_eur": float(line.fixed[i]),
            "variable_eur": float(line.variable[i]) if include_variable else 0.0,
            "one_off_eur": 0.0,
        }
        for line in lines
    ]
    if (
        large_community_bonus
        and size_class == rules.bonus_size_class
        and (members or 0) >= rules.bonus_min_members
    ):
        rows.append(_bonus_row(rules, rows))
    first = crisis_year == "premiere_annee" if first_contract_year is None else first_contract_year
    if joined_before_2022_09_30 and first:
        rows.append(
            {
                "key": rules.supplement_key,
                "label": rules.supplement_label,
                "kind": "supplement",
                "fixed_eur": 0.0,
                "variable_eur": 0.0,
                "one_off_eur": float(rules.supplement_amounts[i]),
            }
        )
    return _with_total(pd.DataFrame(rows))


def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    amounts = ["fixed_eur", "variable_eur", "one_off_eur"]
    frame["total_eur"] = frame[amounts].sum(axis=1)
    total: dict[str, object] = {"key": "total", "label": "Total annuel maximal", "kind": "total"}
    total |= {column: float(frame[column].sum()) for column in [*amounts, "total_eur"]}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame[["key", "label", "kind", *amounts, "total_eur"]]


def funding_total(size_class: int, **options: Any) -> float:
    """Total of :func:`simulate_funding` (maximum annual amount in euros)."""
    frame = simulate_funding(size_class, **options)
    return float(frame.loc[frame["key"] == "total", "total_eur"].iloc[0])
