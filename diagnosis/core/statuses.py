"""The stage vocabulary: the four statuses of a CPTS project and the wordings that mean each.

Everything comes from ``data/rules/statuses.toml``: the stages, their order,
French names and map colours, the wordings of real listings and national
figures mapped to each stage with the reason and the source of each mapping,
and the deemed validation of a filed health project (two months after its
filing, seed ``003``). A later wording is a data change, not a code change.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from diagnosis.core.numbers import add_months, date_span, fr_date
from diagnosis.core.rulefiles import read_rules_toml
from diagnosis.core.textnorm import label_key

__all__ = [
    "STATUS_KEYS",
    "DeemedValidation",
    "StatusKey",
    "StatusReading",
    "StatusSpec",
    "deemed_validation",
    "filed_project_note",
    "parse_status",
    "read_status",
    "status_from_label",
    "status_legend",
    "status_name",
    "status_rank",
    "status_reason",
    "status_source",
    "status_specs",
]

#: Status keys, as a type; their order, labels and colours come from
#: ``data/rules/statuses.toml`` only (:func:`status_specs` checks that both agree).
StatusKey = Literal["emergence", "lettre_intention", "projet_sante", "aci_signe"]


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
    #: (normalised synonym, the passage of a founding text it rests on).
    sources: tuple[tuple[str, str], ...] = ()
    #: Normalised synonyms naming a health project filed with the ARS (deemed
    #: validated two months after its filing).
    filed: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeemedValidation:
    """The deemed validation of a filed health project (``[deemed_validation]``)."""

    months: int
    stage: StatusKey
    label_fr: str
    reason: str
    source: str


@dataclass(frozen=True)
class StatusReading:
    """What a status label says, read at a reference date.

    Attributes
    ----------
    status
        The stage key, or None for an unknown label.
    date
        The date written with the label (in brackets or at its end), as written.
    deemed_validated
        A health project filed more than two months before the reference
        date: read at the health-project stage, "réputé validé".
    filed
        The label names a health project filed with the ARS.
    validation_due
        For a filed health project with a filing date: the day the ARS's two
        months end (it is deemed validated after that day).
    """

    status: StatusKey | None
    date: str | None = None
    deemed_validated: bool = False
    filed: bool = False
    validation_due: dt.date | None = None


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _groups_of(
    key: str, item: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Reasons, sources and filed-project synonyms of a stage's groups."""
    reasons: dict[str, str] = {}
    sources: dict[str, str] = {}
    filed: set[str] = set()
    for group in item.get("group", []):
        reason = str(group.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"statuses.toml: a synonym group of {key!r} has no reason")
        for synonym in group["labels"]:
            normal = label_key(synonym)
            reasons[normal] = reason
            if group.get("source"):
                sources[normal] = str(group["source"])
            if group.get("filed_health_project"):
                filed.add(normal)
    return reasons, sources, filed


def _status_spec_of(item: Mapping[str, Any]) -> StatusSpec:
    key = item["key"]
    if key not in get_args(StatusKey):
        raise ValueError(f"statuses.toml: stage key {key!r} is not one of {get_args(StatusKey)}")
    colour = str(item["colour"])
    if not _COLOUR.match(colour):
        raise ValueError(f"statuses.toml: colour {colour!r} of {key!r} is not #rrggbb")
    synonyms = {label_key(s) for s in item.get("synonyms", [])} | {label_key(key)}
    synonyms.add(label_key(item["label_fr"]))
    reasons, sources, filed = _groups_of(key, item)
    synonyms |= set(reasons)
    return StatusSpec(
        key=key,
        rank=int(item["rank"]),
        label_fr=item["label_fr"],
        synonyms=tuple(sorted(synonyms)),
        colour=colour,
        reasons=tuple(sorted(reasons.items())),
        sources=tuple(sorted(sources.items())),
        filed=tuple(sorted(filed)),
    )


@functools.lru_cache(maxsize=1)
def status_specs() -> tuple[StatusSpec, ...]:
    """The four stages, in order, with the labels that map to each and their colour."""
    data = read_rules_toml("statuses.toml")
    out = sorted((_status_spec_of(item) for item in data["stage"]), key=lambda s: s.rank)
    if sorted(s.key for s in out) != sorted(get_args(StatusKey)):
        raise ValueError("statuses.toml: the stages must be exactly those of StatusKey")
    if [s.rank for s in out] != list(range(1, len(out) + 1)):
        raise ValueError("statuses.toml: ranks must be 1, 2, ... without gap")
    return tuple(out)


@functools.lru_cache(maxsize=1)
def deemed_validation() -> DeemedValidation:
    """The deemed validation of a filed health project, from ``statuses.toml``."""
    data = read_rules_toml("statuses.toml")["deemed_validation"]
    stage = data["stage"]
    if stage not in get_args(StatusKey):
        raise ValueError(f"statuses.toml: deemed_validation.stage {stage!r} is not a stage")
    return DeemedValidation(
        months=int(data["months"]),
        stage=stage,
        label_fr=str(data["label_fr"]),
        reason=str(data["reason"]),
        source=str(data["source"]),
    )


#: Status keys in order (from ``statuses.toml``).
STATUS_KEYS: tuple[StatusKey, ...] = tuple(s.key for s in status_specs())


def status_legend() -> tuple[tuple[str | None, str, str], ...]:
    """(stage key, French label, colour) for maps: most advanced stage first, then unknown.

    The unknown status (key None) is a perimeter without a known stage.
    """
    unknown = read_rules_toml("statuses.toml")["unknown"]
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


@functools.lru_cache(maxsize=1)
def _evidence() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """Reasons, sources and filed-project synonyms of every stage, by normalised label."""
    reasons: dict[str, str] = {}
    sources: dict[str, str] = {}
    filed: set[str] = set()
    for spec in status_specs():
        reasons.update(spec.reasons)
        sources.update(spec.sources)
        filed.update(spec.filed)
    return reasons, sources, frozenset(filed)


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


def _match(label: object) -> tuple[str | None, str | None]:
    """(the normalised synonym the label matches or None, the date written with it)."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None, None  # an empty spreadsheet cell
    text = str(label).strip()
    index = _status_index()
    whole = label_key(text)
    if whole in index:
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
    key = label_key(text)
    return (key if key in index else None), date


def read_status(
    label: object, *, reference_date: dt.date | None = None, filing_date: object = None
) -> StatusReading:
    """The stage a status label means at a reference date, with its date and deemed validation.

    Parameters
    ----------
    label
        The status as written in a listing.
    reference_date
        The date the listing describes (its as-of date in the registry); today
        when None.
    filing_date
        The date of the listing's date column, used as the filing date of a
        health project when the label itself carries none.

    Returns
    -------
    StatusReading
        The stage (None for an unknown label, never a guess), the date written
        with the label, and for a filed health project whether it is deemed
        validated and when the ARS's two months end.

    Notes
    -----
    A health project filed with the ARS is deemed validated when the ARS
    director has not opposed it within two months (seed ``003``, I.6): with a
    filing date more than two months before ``reference_date`` the label is
    read at the health-project stage. A filing date written as a month or a
    year counts from its last day, so a project is never deemed validated too
    early.
    """
    synonym, written = _match(label)
    if synonym is None:
        return StatusReading(None, written)
    status = _status_index()[synonym]
    if synonym not in _evidence()[2]:
        return StatusReading(status, written)
    span = date_span(written) if written else date_span(filing_date)
    if span is None:
        return StatusReading(status, written, filed=True)
    rule = deemed_validation()
    due = add_months(span[1], rule.months)
    if due < (reference_date or dt.date.today()):
        return StatusReading(rule.stage, written, True, True, due)
    return StatusReading(status, written, False, True, due)


def filed_project_note(
    reading: StatusReading, label: str, *, reference_date: dt.date
) -> tuple[str, str] | None:
    """(report kind, French message) saying how a filed health project was read, or None.

    ``deemed_validated`` when the ARS's two months have run out before the
    reference date, ``validation_pending`` otherwise, with the day they end
    (or why it cannot be computed). None for any other label.
    """
    if not reading.filed:
        return None
    rule = deemed_validation()
    stage = f"stade « {status_name(reading.status)} » retenu"
    if reading.deemed_validated:
        return "deemed_validated", (
            f"« {label} » : projet de santé déposé, le délai de {rule.months} mois de l'ARS "
            f"pour s'y opposer a pris fin le {fr_date(reading.validation_due)} (date de "
            f"référence : {fr_date(reference_date)}) : {rule.label_fr}, {stage}."
        )
    if reading.validation_due is None:
        when = "date de dépôt inconnue, la fin du délai de l'ARS ne peut être calculée"
    else:
        when = (
            f"il sera {rule.label_fr} après le {fr_date(reading.validation_due)} si l'ARS "
            f"ne s'y oppose pas (date de référence : {fr_date(reference_date)})"
        )
    return "validation_pending", f"« {label} » : projet de santé déposé ; {when} : {stage}."


def parse_status(
    label: object, *, reference_date: dt.date | None = None
) -> tuple[StatusKey | None, str | None]:
    """The stage a status label means, and the stage date written with it.

    A date or a remark in brackets after the label, or a date at its end, is
    not part of the label: the date is returned as written (the first one
    found), any other remark is dropped. The label left is looked up in the
    synonyms of ``data/rules/statuses.toml``; an unknown label gives None,
    never a guess. A health project filed more than two months before
    ``reference_date`` (today when None) is deemed validated (see
    :func:`read_status`).

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
    >>> parse_status("projet de santé déposé (15/01/2025)", reference_date=dt.date(2025, 3, 16))
    ('projet_sante', '15/01/2025')
    >>> parse_status("bientôt (2026)")
    (None, '2026')
    """
    reading = read_status(label, reference_date=reference_date)
    return reading.status, reading.date


def status_from_label(label: object, *, reference_date: dt.date | None = None) -> StatusKey | None:
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
    return read_status(label, reference_date=reference_date).status


def status_reason(label: object, *, reference_date: dt.date | None = None) -> str | None:
    """Why a status label maps to its stage, in French (from ``statuses.toml``), or None.

    Labels that are a stage's own key or French label have no separate reason;
    a health project deemed validated gives the reason of the deemed validation.
    """
    reading = read_status(label, reference_date=reference_date)
    if reading.deemed_validated:
        return deemed_validation().reason
    synonym = _match(label)[0]
    return None if synonym is None else _evidence()[0].get(synonym)


def status_source(label: object) -> str | None:
    """The passage of a founding text a label's mapping rests on (file and quote), or None."""
    synonym = _match(label)[0]
    return None if synonym is None else _evidence()[1].get(synonym)


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
    return str(read_rules_toml("statuses.toml")["unknown"]["label_fr"])
