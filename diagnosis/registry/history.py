"""The registry over time: coverage curves at the four thresholds, changes between two dates.

Coverage on date D at a threshold counts a unit covered when a version valid
on D includes it and has reached that stage by D. A version's stage is reached
from its listing's date, unless the listing wrote a stage date after the day
asked (then the perimeter counts at the stage of its previous version, or as
emerging): stage dates written in a listing ("ACI signé (avril 2025)") are
declared by the listing, not observed by the registry, and never make a stage
count before its listing's date. A perimeter without a known stage counts as
emerging, as in :func:`diagnosis.analysis.rates.coverage_rates`, whose figures
these are for each date (same population, same scopes ``FR``, ``REG-xx``,
``DEP-xx``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from diagnosis.analysis.membership import unit_index
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.statuses import STATUS_KEYS, status_name, status_rank
from diagnosis.errors import AtlasError
from diagnosis.registry.database import Registry, read
from diagnosis.registry.model import Content, Scope, parse_day
from diagnosis.registry.schema import SOURCES, VERSIONS
from diagnosis.registry.state import code_mapping, load_snapshot, unit_positions
from diagnosis.registry.store import overlapping, read_members, read_versions

__all__ = [
    "CHANGE_COLUMNS",
    "HISTORY_COLUMNS",
    "change_rows",
    "changes_between",
    "coverage_history",
    "history_dates",
    "listing_sources",
    "perimeter_history",
]

HISTORY_COLUMNS = [
    "date",
    "scope",
    "status_min",
    "population_total",
    "population_covered",
    "share_covered",
    "n_perimeters",
]
CHANGE_COLUMNS = [
    "perimeter_id",
    "name_before",
    "name_after",
    "change",
    "stage_before",
    "stage_after",
    "codes_added",
    "codes_removed",
    "detail",
]
#: Kinds of change (column ``change``), in the order rows are written.
CHANGE_KINDS = ("new", "removed", "renamed", "stage", "members")


def history_dates(
    start: dt.date | str, end: dt.date | str, *, every: str = "month"
) -> list[dt.date]:
    """Dates from ``start`` to ``end`` (both included) every month, quarter or year.

    >>> history_dates("2025-01-01", "2025-07-01", every="quarter")
    [datetime.date(2025, 1, 1), datetime.date(2025, 4, 1), datetime.date(2025, 7, 1)]
    """
    first, last = parse_day(start, what="date de début"), parse_day(end, what="date de fin")
    step = {"month": 1, "quarter": 3, "year": 12}.get(every)
    if step is None:
        raise AtlasError(f"Pas inconnu : « {every} ». Attendu : month, quarter ou year.")
    if last < first:
        raise AtlasError(f"La date de fin ({last}) précède la date de début ({first}).")
    out: list[dt.date] = []
    k = 0
    while True:
        month = first.month - 1 + k * step
        year, month = first.year + month // 12, month % 12 + 1
        day = dt.date(year, month, min(first.day, calendar.monthrange(year, month)[1]))
        if day > last:
            return out
        out.append(day)
        k += 1


@dataclass(frozen=True)
class _Level:
    """The scopes of one level shown: their keys and each unit's scope (-1: not shown)."""

    keys: list[str]
    unit_group: np.ndarray


def _levels(ref: Referential, scope: Scope) -> list[_Level]:
    """France, the regions and the departments shown for ``scope`` (as in coverage.csv)."""
    region = ref.units["region"].astype(str).to_numpy()
    department = ref.units["department"].astype(str).to_numpy()

    def level(prefix: str, zone: np.ndarray, codes: list[str]) -> _Level:
        number = {c: i for i, c in enumerate(codes)}
        groups = np.array([number.get(z, -1) for z in zone], dtype=np.int64)
        return _Level([f"{prefix}-{c}" for c in codes], groups)

    if scope.level == "france":
        return [
            _Level(["FR"], np.zeros(len(region), dtype=np.int64)),
            level("REG", region, sorted(set(region))),
            level("DEP", department, sorted(set(department))),
        ]
    if scope.level == "region":
        if scope.code not in set(region):
            raise AtlasError(f"Code de région inconnu : {scope.code!r}.")
        deps = sorted(set(department[region == scope.code]))
        return [level("REG", region, [scope.code]), level("DEP", department, deps)]
    if scope.code not in set(department):
        raise AtlasError(f"Code de département inconnu : {scope.code!r}.")
    return [level("DEP", department, [scope.code])]


@dataclass(frozen=True)
class _Timeline:
    versions: pd.DataFrame  # id, valid_from, valid_to, rank, previous_rank, status_reached_on
    member_version: np.ndarray  # row position in ``versions`` of each member
    member_unit: np.ndarray  # unit position of each member


def _timeline(registry: Registry, dates: Sequence[dt.date], ref: Referential) -> _Timeline:
    """Versions over the dates and their members as unit positions (codes mapped to ``ref``)."""
    where = overlapping(min(dates), max(dates))
    with read(registry) as conn:
        versions = read_versions(conn, where)
        members = read_members(conn, where)
    known = members["code"].isin(ref.units.index).to_numpy()
    if not known.all():  # codes of an older vintage: through former codes
        mapping = code_mapping(ref)
        extra = [
            (v, unit)
            for v, c in zip(members["version_id"][~known], members["code"][~known], strict=True)
            for unit in mapping.get(str(c), ((str(c),), ""))[0]
        ]
        members = pd.concat(
            [members[known], pd.DataFrame(extra, columns=["version_id", "code"])],
            ignore_index=True,
        )
    versions = versions.reset_index(drop=True)
    versions["rank"] = [max(status_rank(s), 1) for s in versions["status"]]
    previous = versions.groupby("perimeter_id", sort=False)["rank"].shift(1)
    versions["previous_rank"] = previous.fillna(1).astype(int)
    position = pd.Index(versions["id"].to_numpy())
    units = unit_positions(ref, members["code"].to_numpy())
    inside = units >= 0
    return _Timeline(
        versions=versions,
        member_version=position.get_indexer(members["version_id"].to_numpy())[inside],
        member_unit=units[inside],
    )


@dataclass(frozen=True)
class _Prepared:
    """One level's arrays: shown units, their group and population, (version, group) pairs."""

    level: _Level
    shown: np.ndarray
    groups: np.ndarray
    weights: np.ndarray
    total: np.ndarray
    pair_version: np.ndarray
    pair_group: np.ndarray


def _prepare(level: _Level, timeline: _Timeline, population: np.ndarray) -> _Prepared:
    n = len(level.keys)
    shown = np.flatnonzero(level.unit_group >= 0)
    groups = level.unit_group[shown]
    weights = population[shown]
    group = level.unit_group[timeline.member_unit]
    keep = group >= 0
    pairs = np.unique(timeline.member_version[keep].astype(np.int64) * n + group[keep])
    return _Prepared(
        level,
        shown,
        groups,
        weights,
        np.bincount(groups, weights=weights, minlength=n),
        pairs // n,
        pairs % n,
    )


def _days(values: pd.Series, missing: str) -> np.ndarray:
    return np.array([np.datetime64(v or missing, "D") for v in values], dtype="datetime64[D]")


def coverage_history(
    registry: Registry,
    dates: Iterable[dt.date | str],
    *,
    region: str | None = None,
    department: str | None = None,
    referential: Referential | None = None,
) -> pd.DataFrame:
    """Coverage on each date at the four thresholds, for France, regions and departments.

    Parameters
    ----------
    registry
        An opened registry.
    dates
        The dates (``datetime.date`` or ``YYYY-MM-DD``).
    region, department
        Restrict to a region (the region and its departments) or a department;
        default: France, every region and every department.
    referential
        The national referential (default: the embedded one).

    Returns
    -------
    pandas.DataFrame
        :data:`HISTORY_COLUMNS`, one row per date, scope and threshold:
        population_total, population_covered, share_covered (0 to 1) and
        n_perimeters (perimeters reaching the threshold with at least one
        unit in the scope).
    """
    days = sorted({parse_day(d) for d in dates})
    if not days:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    ref = referential if referential is not None else load_referential()
    levels = _levels(ref, Scope.of(region=region, department=department))
    timeline = _timeline(registry, days, ref)
    population = unit_index(ref).population.astype(np.float64)
    versions = timeline.versions
    start = _days(versions["valid_from"], "9999-12-31")
    end = _days(versions["valid_to"], "9999-12-31")
    reached_on = _days(versions["status_reached_on"], "0001-01-01")
    rank_now = versions["rank"].to_numpy()
    rank_before = versions["previous_rank"].to_numpy()
    prepared = [_prepare(level, timeline, population) for level in levels]
    rows = []
    for day in days:
        when = np.datetime64(day, "D")
        # A stage dated after the day is not reached yet: the previous version's counts.
        rank = np.where(reached_on > when, rank_before, rank_now)
        rank = np.where((start <= when) & (end > when), rank, 0)
        member_rank = rank[timeline.member_version]
        for status in STATUS_KEYS:
            threshold = status_rank(status)
            covered = np.zeros(len(population), dtype=np.float64)
            covered[timeline.member_unit[member_rank >= threshold]] = 1.0
            reached = rank >= threshold
            for part in prepared:
                n = len(part.level.keys)
                cov = np.bincount(
                    part.groups, weights=part.weights * covered[part.shown], minlength=n
                )
                n_per = np.bincount(part.pair_group[reached[part.pair_version]], minlength=n)
                rows += [
                    (day, key, status, int(t), int(c), c / t if t else np.nan, int(k))
                    for key, t, c, k in zip(part.level.keys, part.total, cov, n_per, strict=True)
                ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def _codes(values: Iterable[str]) -> str:
    return " ".join(sorted(values))


def change_rows(perimeter_id: str, before: Content | None, after: Content | None) -> list[dict]:
    """Rows of :data:`CHANGE_COLUMNS` saying how a perimeter changed (none when it did not)."""
    base = {
        "perimeter_id": perimeter_id,
        "name_before": before.name if before else None,
        "name_after": after.name if after else None,
        "stage_before": before.status if before else None,
        "stage_after": after.status if after else None,
        "codes_added": "",
        "codes_removed": "",
    }
    if before is None and after is not None:
        return [
            base
            | {
                "change": "new",
                "codes_added": _codes(after.codes),
                "detail": f"nouveau périmètre ({len(after.codes)} unité(s))",
            }
        ]
    if after is None and before is not None:
        return [
            base
            | {
                "change": "removed",
                "codes_removed": _codes(before.codes),
                "detail": "absent de la liste : périmètre clos",
            }
        ]
    assert before is not None and after is not None
    rows = []
    if before.name != after.name:
        rows.append(
            base | {"change": "renamed", "detail": f"« {before.name} » devient « {after.name} »"}
        )
    if before.status != after.status or before.status_date != after.status_date:
        detail = f"{status_name(before.status)} → {status_name(after.status)}"
        if after.status_date:
            detail += f" (date du stade déclarée : {after.status_date})"
        rows.append(base | {"change": "stage", "detail": detail})
    added = set(after.codes) - set(before.codes)
    removed = set(before.codes) - set(after.codes)
    if added or removed or before.splits != after.splits or before.shares != after.shares:
        parts = []
        if added or removed:
            parts.append(f"{len(added)} unité(s) ajoutée(s), {len(removed)} retirée(s)")
        if before.splits != after.splits:
            parts.append("découpage infra-communal déclaré modifié")
        if before.shares != after.shares:
            parts.append("parts déclarées modifiées")
        rows.append(
            base
            | {
                "change": "members",
                "codes_added": _codes(added),
                "codes_removed": _codes(removed),
                "detail": " ; ".join(parts),
            }
        )
    return rows


def changes_between(
    registry: Registry,
    start: dt.date | str,
    end: dt.date | str,
    *,
    region: str | None = None,
    department: str | None = None,
    referential: Referential | None = None,
) -> pd.DataFrame:
    """What changed between the registry on ``start`` and on ``end``.

    Perimeters with at least one unit in the scope on either date are
    compared by their stable id: one row per perimeter and kind of change
    (``new``, ``removed``, ``renamed``, ``stage``, ``members``), codes
    space-separated, with a French ``detail``.
    """
    first, last = parse_day(start, what="date de début"), parse_day(end, what="date de fin")
    scope = Scope.of(region=region, department=department)
    ref = referential if referential is not None else load_referential()
    with read(registry) as conn:
        before = load_snapshot(conn, first, ref).touching(scope)
        after = load_snapshot(conn, last, ref).touching(scope)
    old = dict(zip(before["perimeter_id"], before["content"], strict=True))
    new = dict(zip(after["perimeter_id"], after["content"], strict=True))
    rows = []
    for pid in sorted(set(old) | set(new)):
        rows += change_rows(pid, old.get(pid), new.get(pid))
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    frame["_k"] = frame["change"].map(order)
    return frame.sort_values(["_k", "perimeter_id"]).drop(columns="_k").reset_index(drop=True)


def perimeter_history(registry: Registry, perimeter_id: str) -> pd.DataFrame:
    """Every version of one perimeter, oldest first, with the source that wrote it.

    Columns: version_id, valid_from, valid_to, name, status, status_date,
    filename, as_of, actor (of the source).
    """
    with read(registry) as conn:
        versions = read_versions(conn, VERSIONS.c.perimeter_id == perimeter_id)
        sources = {int(r.id): r for r in conn.execute(SOURCES.select()).all()}
    rows = []
    for record in versions.to_dict("records"):
        src = sources[int(str(record["source_id"]))]
        rows.append(
            {
                "version_id": int(str(record["id"])),
                "valid_from": record["valid_from"],
                "valid_to": record["valid_to"],
                "name": record["name"],
                "status": record["status"],
                "status_date": record["status_date"],
                "filename": src.filename,
                "as_of": src.as_of,
                "actor": src.actor,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "version_id",
            "valid_from",
            "valid_to",
            "name",
            "status",
            "status_date",
            "filename",
            "as_of",
            "actor",
        ],
    )


SOURCE_COLUMNS = ["id", "filename", "as_of", "scope", "actor", "imported_at", "n_perimeters"]


def listing_sources(registry: Registry) -> pd.DataFrame:
    """The listings imported, oldest date first (id, filename, as_of, scope, actor…)."""
    with read(registry) as conn:
        rows = (
            conn.execute(
                SOURCES.select()
                .where(SOURCES.c.kind == "listing")
                .order_by(SOURCES.c.as_of, SOURCES.c.id)
            )
            .mappings()
            .all()
        )
    return pd.DataFrame(
        [
            {
                "id": int(r["id"]),
                "filename": r["filename"],
                "as_of": r["as_of"],
                "scope": Scope(r["scope_level"], r["scope_code"]).key,
                "actor": r["actor"],
                "imported_at": r["imported_at"],
                "n_perimeters": int(r["n_perimeters"]),
            }
            for r in rows
        ],
        columns=SOURCE_COLUMNS,
    )
