"""Rules and tables kept as data files in ``data/rules/`` (stages, sizes, funding).

A later avenant or a region-specific setting is a data change, not a code
change: every table here comes with its source and date.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd

from diagnosis.core.textnorm import label_key
from diagnosis.paths import RULES_DIR

#: Status keys, as a type; their order, labels and colours come from
#: ``data/rules/statuses.toml`` only (:func:`stages` checks that both agree).
StatusKey = Literal["emergence", "lettre_intention", "projet_sante", "aci_signe"]


def _read_toml(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or RULES_DIR) / name
    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class StatusSpec:
    """A stage of a CPTS project."""

    key: StatusKey
    rank: int
    label_fr: str
    synonyms: tuple[str, ...]
    #: Fill colour on maps (hexadecimal RGB).
    colour: str
    #: (normalised synonym, why it means this stage), from ``statuses.toml``.
    reasons: tuple[tuple[str, str], ...] = ()


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _status_spec_of(item: Mapping[str, Any]) -> StatusSpec:
    key = item["key"]
    if key not in get_args(StatusKey):
        raise ValueError(f"statuses.toml: stage key {key!r} is not one of {get_args(StatusKey)}")
    colour = str(item["colour"])
    if not _COLOUR.match(colour):
        raise ValueError(f"statuses.toml: colour {colour!r} of {key!r} is not #rrggbb")
    synonyms = {label_key(s) for s in item.get("synonyms", [])} | {label_key(key)}
    synonyms.add(label_key(item["label_fr"]))
    reasons: dict[str, str] = {}
    for group in item.get("group", []):
        reason = str(group.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"statuses.toml: a synonym group of {key!r} has no reason")
        for synonym in group["labels"]:
            reasons[label_key(synonym)] = reason
    synonyms |= set(reasons)
    return StatusSpec(
        key=key,
        rank=int(item["rank"]),
        label_fr=item["label_fr"],
        synonyms=tuple(sorted(synonyms)),
        colour=colour,
        reasons=tuple(sorted(reasons.items())),
    )


@functools.lru_cache(maxsize=1)
def status_specs() -> tuple[StatusSpec, ...]:
    """The four stages, in order, with the labels that map to each and their colour."""
    data = _read_toml("statuses.toml")
    out = sorted((_status_spec_of(item) for item in data["stage"]), key=lambda s: s.rank)
    if sorted(s.key for s in out) != sorted(get_args(StatusKey)):
        raise ValueError("statuses.toml: the stages must be exactly those of StatusKey")
    if [s.rank for s in out] != list(range(1, len(out) + 1)):
        raise ValueError("statuses.toml: ranks must be 1, 2, ... without gap")
    return tuple(out)


#: Status keys in order (from ``statuses.toml``).
STATUS_KEYS: tuple[StatusKey, ...] = tuple(s.key for s in status_specs())


def status_legend() -> tuple[tuple[str | None, str, str], ...]:
    """(stage key, French label, colour) for maps: most advanced stage first, then unknown.

    The unknown status (key None) is a perimeter without a known stage.
    """
    unknown = _read_toml("statuses.toml")["unknown"]
    rows: list[tuple[str | None, str, str]] = [
        (s.key, s.label_fr, s.colour) for s in reversed(status_specs())
    ]
    rows.append((None, str(unknown["label_fr"]), str(unknown["colour"])))
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def _status_index() -> dict[str, StatusKey]:
    index: dict[str, StatusKey] = {}
    for spec in status_specs():
        for synonym in spec.synonyms:
            if synonym in index and index[synonym] != spec.key:
                raise ValueError(f"statuses.toml: {synonym!r} maps to two stages")
            index[synonym] = spec.key
    return index


_MONTHS = (
    "janvier|fevrier|février|mars|avril|mai|juin|juillet|aout|août|septembre|octobre"
    "|novembre|decembre|décembre|janv|fevr|févr|avr|juil|sept|oct|nov|dec|déc"
)
#: A date as listings write it: 15/09/2021, 15-09-21, 2021-09-15, avril 2025,
#: 1er avril 2025, 09/2021, 2021.
_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    r"|\d{1,2}[/.-]\d{4}"
    rf"|(?:\d{{1,2}}(?:er)?\s+)?(?:{_MONTHS})\.?\s+\d{{4}}"
    r"|(?:19|20)\d{2}"
)
_DATE_RE = re.compile(rf"(?<![\w/.-])(?:{_DATE})(?![\w/-])", re.IGNORECASE)
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]?")
_TRAILING_DATE = re.compile(
    rf"(?:\s*[-–—,:;]\s*|\s+)(?:(?:le|du|au|en|depuis|depuis le|signe le|signee le)\s+)?"
    rf"({_DATE})\s*\.?\s*$",
    re.IGNORECASE,
)


def parse_status(label: object) -> tuple[StatusKey | None, str | None]:
    """The stage a status label means, and the stage date written with it.

    A date or a remark in brackets after the label, or a date at its end, is
    not part of the label: the date is returned as written (the first one
    found), any other remark is dropped. The label left is looked up in the
    synonyms of ``data/rules/statuses.toml``; an unknown label gives None,
    never a guess.

    Returns
    -------
    tuple
        (stage key or None, date text or None).

    Examples
    --------
    >>> parse_status("en activité (avril 2025)")
    ('aci_signe', 'avril 2025')
    >>> parse_status("Lettre d'intention validée le 15/09/2021")
    ('lettre_intention', '15/09/2021')
    >>> parse_status("en fonctionnement (voir convention)")
    ('aci_signe', None)
    >>> parse_status("bientôt (2026)")
    (None, '2026')
    """
    if label is None:
        return None, None
    if isinstance(label, float) and math.isnan(label):  # empty spreadsheet cell
        return None, None
    text = str(label).strip()
    index = _status_index()
    whole = index.get(label_key(text))
    if whole is not None:
        return whole, None
    date: str | None = None
    for remark in _BRACKETS.findall(text):
        found = _DATE_RE.search(remark)
        if found and date is None:
            date = found.group(0).strip()
    text = _BRACKETS.sub(" ", text).strip()
    trailing = _TRAILING_DATE.search(text)
    if trailing and label_key(text[: trailing.start()]):
        if date is None:
            date = trailing.group(1).strip()
        text = text[: trailing.start()]
    return index.get(label_key(text)), date


def status_from_label(label: object) -> StatusKey | None:
    """The stage a status label means, or None when the label is not known.

    A date or remark in brackets is ignored (see :func:`parse_status`).

    Examples
    --------
    >>> status_from_label("ACI signé")
    'aci_signe'
    >>> status_from_label("Lettre d'intention validée")
    'lettre_intention'
    >>> status_from_label("lettre d'intention déposée (15/09/2021)")
    'emergence'
    >>> status_from_label("bientôt") is None
    True
    """
    return parse_status(label)[0]


def status_reason(label: object) -> str | None:
    """Why a status label maps to its stage, in French (from ``statuses.toml``), or None.

    Labels that are a stage's own key or French label have no separate reason.
    """
    status = status_from_label(label)
    if status is None:
        return None
    text = _BRACKETS.sub(" ", str(label)).strip()
    trailing = _TRAILING_DATE.search(text)
    keys = {label_key(label), label_key(text)}
    if trailing:
        keys.add(label_key(text[: trailing.start()]))
    for item in status_specs():
        if item.key == status:
            reasons = dict(item.reasons)
            for key in keys:
                if key in reasons:
                    return reasons[key]
    return None


def status_rank(key: str | None) -> int:
    """Rank of a stage (1 to 4); 0 for an unknown or missing status."""
    for spec in status_specs():
        if spec.key == key:
            return spec.rank
    return 0


def status_name(key: str | None) -> str:
    """French label of a stage ("Statut non renseigné" when missing or unknown)."""
    for spec in status_specs():
        if spec.key == key:
            return spec.label_fr
    return str(_read_toml("statuses.toml")["unknown"]["label_fr"])


# --------------------------------------------------------------------------
# Size classes, minimum population, funding
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
            population = f"{self.minimum_by_region[region]:,}".replace(",", "\u202f")
            return (
                f"Seuil régional de {population} habitants (réglage régional, source "
                "non précisée) ; absent de l'ACI national"
            )
        return self.minimum_source

    def floor(self, region: str | None) -> tuple[int, str]:
        """(minimum population, its citation) for a region."""
        return self.minimum_for(region), self.minimum_citation(region)


_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def _fr_date(value: object) -> str:
    """A rules table's date for people: "2019-08-21" → "21 août 2019" (other text unchanged)."""
    text = str(value)
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not match or not 1 <= int(match[2]) <= 12:
        return text
    day = int(match[3])
    return f"{'1er' if day == 1 else day} {_MONTHS_FR[int(match[2]) - 1]} {match[1]}"


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
            citations[str(code)] = f"{entry['source']} ({_fr_date(entry['date'])})"
        else:
            floors[str(code)] = int(entry)
    return floors, citations


@functools.lru_cache(maxsize=4)
def size_rules(directory: str | None = None) -> SizeRules:
    """Size classes and minimum population from ``data/rules/aci.toml``."""
    data = _read_toml("aci.toml", Path(directory) if directory else None)
    classes, minimum = data["size_classes"], data["minimum_population"]
    floors, citations = _regional_floors(minimum.get("by_region", {}))
    return SizeRules(
        lower_bounds=tuple(int(b) for b in classes["lower_bounds"]),
        lower_bound_inclusive=bool(classes["lower_bound_inclusive"]),
        labels=tuple(classes["labels"]),
        minimum_default=int(minimum["default"]),
        minimum_by_region=floors,
        source=f"{classes['source']} ({_fr_date(classes['date'])})",
        minimum_source=f"{minimum['source']} ({_fr_date(minimum['date'])})",
        minimum_source_by_region=citations,
    )


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
    data = _read_toml("aci.toml", Path(directory) if directory else None)["proposals"]
    rules = ProposalRules(
        max_population=int(data["max_population"]),
        split_target_population=int(data["split_target_population"]),
        attach_enclosed_below=int(data["attach_enclosed_below"]),
        enclosed_border_share=float(data["enclosed_border_share"]),
        source=f"{data['source']} ({_fr_date(data['date'])})",
    )
    if not 0 < rules.split_target_population <= rules.max_population:
        raise ValueError("aci.toml: split_target_population must be in (0, max_population]")
    if not 0 <= rules.enclosed_border_share <= 1:
        raise ValueError("aci.toml: enclosed_border_share must be between 0 and 1")
    return rules


@dataclass(frozen=True)
class FundingLine:
    """One line of the ACI funding table."""

    key: str
    label: str
    kind: str
    fixed: tuple[int, int, int, int]
    variable: tuple[int, int, int, int]


@dataclass(frozen=True)
class FundingRules:
    """The ACI funding table and its options."""

    lines: tuple[FundingLine, ...]
    totals_published: tuple[int, ...]
    bonus_size_class: int
    bonus_min_members: int
    bonus_rate: float
    bonus_applies_to: tuple[str, ...]
    supplement_label: str
    supplement_amounts: tuple[int, ...]
    one_off_label: str
    one_off_size_1: int
    one_off_size_4: int
    source: str


@functools.lru_cache(maxsize=4)
def funding_rules(directory: str | None = None) -> FundingRules:
    """The ACI funding table from ``data/rules/aci.toml``."""
    data = _read_toml("aci.toml", Path(directory) if directory else None)["funding"]
    lines = tuple(
        FundingLine(
            key=item["key"],
            label=item["label"],
            kind=item["kind"],
            fixed=tuple(int(v) for v in item["fixed"]),  # type: ignore[arg-type]
            variable=tuple(int(v) for v in item["variable"]),  # type: ignore[arg-type]
        )
        for item in data["line"]
    )
    bonus = data["large_community_bonus"]
    return FundingRules(
        lines=lines,
        totals_published=tuple(int(v) for v in data["totals_published"]["amounts"]),
        bonus_size_class=int(bonus["size_class"]),
        bonus_min_members=int(bonus["min_members"]),
        bonus_rate=float(bonus["rate"]),
        bonus_applies_to=tuple(bonus["applies_to"]),
        supplement_label=data["exceptional_operating_supplement"]["label"],
        supplement_amounts=tuple(
            int(v) for v in data["exceptional_operating_supplement"]["amounts"]
        ),
        one_off_label=data["one_off_letter_of_intent"]["label"],
        one_off_size_1=int(data["one_off_letter_of_intent"]["amount_size_1"]),
        one_off_size_4=int(data["one_off_letter_of_intent"]["amount_size_4"]),
        source=f"{data['source']} ({_fr_date(data['date'])})",
    )


OptionalMission = Literal["qualite_pertinence", "accompagnement"]
CrisisYear = Literal["premiere_annee", "annees_suivantes"]


def simulate_funding(
    size_class: int,
    *,
    optional_missions: tuple[OptionalMission, ...] = ("qualite_pertinence", "accompagnement"),
    crisis_year: CrisisYear = "premiere_annee",
    crisis_activated: bool = False,
    members: int | None = None,
    joined_before_2022_09_30: bool = False,
    include_variable: bool = True,
) -> pd.DataFrame:
    """Annual ACI funding of a CPTS of a size class, line by line.

    Parameters
    ----------
    size_class
        ACI size class, 1 to 4.
    optional_missions
        Optional missions chosen (quality and relevance, support to professionals).
    crisis_year
        ``premiere_annee`` (the health-crisis plan is drawn up) or
        ``annees_suivantes`` (it is updated).
    crisis_activated
        Whether a health crisis was declared during the year.
    members
        Number of members; a taille-4 CPTS with at least 100 members gets the
        +10 % bonus on all missions.
    joined_before_2022_09_30
        Adds the exceptional operating supplement.
    include_variable
        Count the variable parts (paid on results) at their maximum.

    Returns
    -------
    pandas.DataFrame
        One row per funded line: key, label, fixed_eur, variable_eur, total_eur,
        and a last row ``total``. Amounts are maxima per year.

    Notes
    -----
    Amounts come from ``data/rules/aci.toml`` (ACI after avenant 2, 2022). With
    both optional missions, the first crisis year and a crisis, the totals are
    287,500 / 382,500 / 487,500 / 580,000 euros for tailles 1 to 4.
    """
    if size_class not in (1, 2, 3, 4):
        raise ValueError(f"Taille ACI attendue entre 1 et 4 (reçu {size_class!r}).")
    rules = funding_rules()
    i = size_class - 1
    rows = []
    for line in rules.lines:
        if line.kind == "mission_optionnelle" and line.key not in optional_missions:
            continue
        if line.kind == "crise_premiere_annee" and crisis_year != "premiere_annee":
            continue
        if line.kind == "crise_annees_suivantes" and crisis_year != "annees_suivantes":
            continue
        if line.kind == "crise_declenchee" and not crisis_activated:
            continue
        fixed = float(line.fixed[i])
        variable = float(line.variable[i]) if include_variable else 0.0
        rows.append(
            {
                "key": line.key,
                "label": line.label,
                "kind": line.kind,
                "fixed_eur": fixed,
                "variable_eur": variable,
            }
        )
    frame = pd.DataFrame(rows)
    if (
        members is not None
        and size_class == rules.bonus_size_class
        and members >= rules.bonus_min_members
    ):
        applies = frame["kind"].isin(rules.bonus_applies_to)
        bonus = (frame.loc[applies, "fixed_eur"] + frame.loc[applies, "variable_eur"]).sum()
        frame.loc[len(frame)] = {
            "key": "bonus_taille_4",
            "label": f"Majoration de {rules.bonus_rate:.0%} (taille 4, au moins "
            f"{rules.bonus_min_members} adhérents)",
            "kind": "majoration",
            "fixed_eur": round(bonus * rules.bonus_rate, 2),
            "variable_eur": 0.0,
        }
    if joined_before_2022_09_30:
        frame.loc[len(frame)] = {
            "key": "supplement_exceptionnel",
            "label": rules.supplement_label,
            "kind": "supplement",
            "fixed_eur": float(rules.supplement_amounts[i]),
            "variable_eur": 0.0,
        }
    frame["total_eur"] = frame["fixed_eur"] + frame["variable_eur"]
    total = {
        "key": "total",
        "label": "Total annuel maximal",
        "kind": "total",
        "fixed_eur": frame["fixed_eur"].sum(),
        "variable_eur": frame["variable_eur"].sum(),
        "total_eur": frame["total_eur"].sum(),
    }
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame[["key", "label", "kind", "fixed_eur", "variable_eur", "total_eur"]]


def funding_total(size_class: int, **options: Any) -> float:
    """Total of :func:`simulate_funding` (maximum annual amount in euros)."""
    frame = simulate_funding(size_class, **options)
    return float(frame.loc[frame["key"] == "total", "total_eur"].iloc[0])
