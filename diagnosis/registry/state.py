"""The registry on a date: versions valid that day, read back as the file importer's model.

:func:`state_at` returns a :class:`diagnosis.core.model.PerimeterImport`, like
one read from a file, so that the whole diagnosis (``run_diagnosis``, exports,
the dashboard) works on "the registry on date D" unchanged.

Referential vintages: codes are stored with the vintage of the referential
used at import. Read with a newer referential, a code that is no longer a
unit (a commune merged into a commune nouvelle) is mapped through the former
codes (``Referential.former_codes``) and a Paris, Lyon or Marseille code
through its arrondissements (``Referential.aliases``); every mapping is in the
report, and history is never rewritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.analysis.membership import unit_index
from diagnosis.core.model import (
    MEMBER_COLUMNS,
    PERIMETER_COLUMNS,
    REPORT_COLUMNS,
    SHARE_COLUMNS,
    SPLIT_COLUMNS,
    PerimeterImport,
    Report,
)
from diagnosis.core.referential import Referential, load_referential, main_zones
from diagnosis.core.statuses import read_status
from diagnosis.registry.database import Registry, read
from diagnosis.registry.model import Content, Scope, parse_day
from diagnosis.registry.schema import AUDIT
from diagnosis.registry.store import read_members, read_shares, read_splits, read_versions, valid_on

__all__ = [
    "Contents",
    "Snapshot",
    "VersionRecord",
    "code_mapping",
    "load_snapshot",
    "referential_vintage",
    "state_at",
    "state_revision",
    "unit_positions",
    "version_records",
    "version_zones",
    "with_contents",
]


def referential_vintage(ref: Referential) -> str:
    """The vintage of a referential's codes (``COG 2026``), stored with every version."""
    vintages = ref.manifest.get("vintages", {})
    value = vintages.get("codes")
    if value:
        return str(value)
    population = vintages.get("population", {})
    return str(population.get("label", "millésime inconnu"))


def code_mapping(ref: Referential) -> dict[str, tuple[tuple[str, ...], str]]:
    """Codes that are not units of ``ref`` → (its units, how the code was mapped).

    How: ``ancien_code`` (a former code) or ``commune_parente`` (Paris, Lyon,
    Marseille). Computed once per referential.
    """

    def make() -> dict[str, tuple[tuple[str, ...], str]]:
        parents: dict[str, list[str]] = {}
        for parent, unit in zip(
            ref.aliases["parent_code"].astype(str),
            ref.aliases["unit_code"].astype(str),
            strict=True,
        ):
            parents.setdefault(parent, []).append(unit)
        mapping: dict[str, tuple[tuple[str, ...], str]] = {
            p: (tuple(sorted(u)), "commune_parente") for p, u in parents.items()
        }
        units = set(ref.units.index)
        for former, current in zip(
            ref.former_codes["former_code"].astype(str),
            ref.former_codes["current_code"].astype(str),
            strict=True,
        ):
            if former in units or former in mapping:
                continue
            targets = tuple(sorted(parents.get(current, [current])))
            mapping[former] = (targets, "ancien_code")
        return mapping

    result: dict[str, tuple[tuple[str, ...], str]] = ref.cached("registry_code_mapping", make)
    return result


def _map_members(
    members: pd.DataFrame, ref: Referential
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Rows with codes of ``ref`` (column ``via``) and the mapping events.

    Any other column (a split's declared code) is kept on each mapped row.
    """
    known = members["code"].isin(ref.units.index).to_numpy()
    if known.all():
        return members.assign(via="code"), []
    mapping = code_mapping(ref)
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in members[~known].to_dict("records")
    ]
    for record in records:
        code = str(record["code"])
        target = mapping.get(code)
        if target is None:
            rows.append(record | {"via": "code"})
            events.append(
                {"version_id": record["version_id"], "code": code, "kind": "unknown_code", "to": ()}
            )
            continue
        rows += [record | {"code": unit, "via": target[1]} for unit in target[0]]
        events.append(
            {"version_id": record["version_id"], "code": code, "kind": target[1], "to": target[0]}
        )
    mapped = pd.DataFrame(rows, columns=[*members.columns, "via"])
    out = pd.concat([members[known].assign(via="code"), mapped], ignore_index=True)
    out = out.drop_duplicates(["version_id", "code"]).sort_values(["version_id", "code"])
    return out.reset_index(drop=True), events


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _tuples(frame: pd.DataFrame, columns: list[str]) -> dict[int, tuple[Any, ...]]:
    out: dict[int, list[Any]] = {}
    values = [frame[c].tolist() for c in columns]
    for version_id, *rest in zip(frame["version_id"].tolist(), *values, strict=True):
        out.setdefault(int(version_id), []).append(rest[0] if len(rest) == 1 else tuple(rest))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def unit_positions(ref: Referential, codes: Any) -> np.ndarray:
    """Positions of codes among the referential's units (-1 for codes not in it)."""
    return np.asarray(ref.units.index.get_indexer(codes), dtype=np.int64)


def version_zones(members: pd.DataFrame, ref: Referential) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Main region and department of each version, and the (version, region, department) touched."""
    index = unit_index(ref)
    pos = unit_positions(ref, members["code"].to_numpy())
    inside = pos >= 0
    version = members["version_id"].to_numpy(dtype=np.int64)[inside]
    pos = pos[inside]
    region = ref.units["region"].astype(str).to_numpy()[pos]
    department = ref.units["department"].astype(str).to_numpy()[pos]
    population = index.population[pos]
    main = pd.DataFrame(
        {
            "main_region": pd.Series(main_zones(version, region, population), dtype=object),
            "main_department": pd.Series(main_zones(version, department, population), dtype=object),
        }
    )
    touched = pd.DataFrame(
        {"version_id": version, "region": region, "department": department}
    ).drop_duplicates(ignore_index=True)
    return main, touched


@dataclass(frozen=True)
class Contents:
    """Versions with their content read back, their members, the zones they touch, events."""

    versions: pd.DataFrame
    members: pd.DataFrame
    touched: pd.DataFrame
    events: list[dict[str, Any]]


def with_contents(
    conn: Connection, versions: pd.DataFrame, where: Any, ref: Referential
) -> Contents:
    """Versions with their members, splits and shares read back (codes of ``ref``).

    Returns the versions with columns ``codes``, ``splits``, ``shares``,
    ``main_region``, ``main_department`` and ``content`` (a :class:`Content`),
    the members (version_id, code, via), the (version_id, region, department)
    touched and the code-mapping events.
    """
    members, events = _map_members(read_members(conn, where), ref)
    splits, _ = _map_members(read_splits(conn, where), ref)
    codes = _tuples(members, ["code"])
    split_pairs = _tuples(splits, ["code", "declared_code"])
    share_pairs = _tuples(read_shares(conn, where), ["code", "share"])
    main, touched = version_zones(members, ref)
    regions, departments = main["main_region"].to_dict(), main["main_department"].to_dict()
    out = versions.copy()
    ids = [int(i) for i in out["id"].tolist()]
    out["codes"] = [codes.get(i, ()) for i in ids]
    out["splits"] = [split_pairs.get(i, ()) for i in ids]
    out["shares"] = [share_pairs.get(i, ()) for i in ids]
    out["main_region"] = [regions.get(i) for i in ids]
    out["main_department"] = [departments.get(i) for i in ids]
    contents = [
        Content(
            name=str(name),
            status=_text(status),
            status_label=_text(label),
            status_date=_text(date),
            external_id=_text(external),
            codes=codes.get(i, ()),
            splits=split_pairs.get(i, ()),
            shares=share_pairs.get(i, ()),
        )
        for i, name, status, label, date, external in zip(
            ids,
            out["name"].tolist(),
            out["status"].tolist(),
            out["status_label"].tolist(),
            out["status_date"].tolist(),
            out["external_id"].tolist(),
            strict=True,
        )
    ]
    out["content"] = pd.Series(contents, index=out.index, dtype=object)
    return Contents(out, members, touched, events)


@dataclass(frozen=True)
class VersionRecord:
    """One version of a snapshot, typed: what the import plan needs of it."""

    id: int
    perimeter_id: str
    valid_from: dt.date
    valid_to: dt.date | None
    content: Content
    main_region: str | None
    main_department: str | None


def version_records(versions: pd.DataFrame) -> list[VersionRecord]:
    """The rows of a snapshot's ``versions`` frame as :class:`VersionRecord`."""
    return [
        VersionRecord(int(i), str(p), f, t, c, _text(r), _text(d))
        for i, p, f, t, c, r, d in zip(
            versions["id"].tolist(),
            versions["perimeter_id"].tolist(),
            versions["valid_from"].tolist(),
            versions["valid_to"].tolist(),
            versions["content"].tolist(),
            versions["main_region"].tolist(),
            versions["main_department"].tolist(),
            strict=True,
        )
    ]


@dataclass(frozen=True)
class Snapshot:
    """The versions valid on a day, their members and the zones they touch.

    ``versions`` has every column of the ``versions`` table plus ``codes``,
    ``splits``, ``shares``, ``main_region``, ``main_department`` and
    ``content``; ``members`` is (version_id, code, via) with codes of the
    referential it was read with; ``touched`` is (version_id, region,
    department) for every unit of a version.
    """

    day: dt.date
    versions: pd.DataFrame
    members: pd.DataFrame
    touched: pd.DataFrame
    events: list[dict[str, Any]]

    def touching(self, scope: Scope) -> pd.DataFrame:
        """Versions with at least one unit in ``scope`` (every version for France)."""
        if scope.level == "france":
            return self.versions
        column = "region" if scope.level == "region" else "department"
        ids = set(self.touched.loc[self.touched[column] == scope.code, "version_id"])
        return self.versions[self.versions["id"].isin(ids)]

    def belonging(self, scope: Scope) -> pd.DataFrame:
        """Versions whose main zone lies in ``scope`` (every version for France)."""
        if scope.level == "france":
            return self.versions
        column = "main_region" if scope.level == "region" else "main_department"
        return self.versions[self.versions[column] == scope.code]


def load_snapshot(conn: Connection, day: dt.date, ref: Referential) -> Snapshot:
    """The versions valid on ``day`` with their content (codes of ``ref``)."""
    where = valid_on(day)
    got = with_contents(conn, read_versions(conn, where), where, ref)
    versions, members, touched, events = got.versions, got.members, got.touched, got.events
    return Snapshot(day=day, versions=versions, members=members, touched=touched, events=events)


def _report(snapshot: Snapshot, kept: pd.DataFrame, vintage: str) -> pd.DataFrame:
    report = Report()
    names = dict(zip(kept["id"].tolist(), kept["name"].tolist(), strict=True))
    stored = dict(zip(kept["id"].tolist(), kept["referential_vintage"].tolist(), strict=True))
    for event in snapshot.events:
        name = names.get(event["version_id"])
        if name is None:
            continue
        code, old = event["code"], stored[event["version_id"]]
        if event["kind"] == "unknown_code":
            report.add(
                "unknown_code",
                f"Code {code} ({old}) absent du référentiel {vintage}.",
                perimeter=name,
                code=code,
                action="conservé, non compté",
            )
        elif event["kind"] == "ancien_code":
            report.add(
                "former_code",
                f"Code {code} ({old}) remplacé par {', '.join(event['to'])} ({vintage}).",
                perimeter=name,
                code=code,
            )
        else:
            report.add(
                "plm_parent_expanded",
                f"Code {code} ({old}) remplacé par ses arrondissements ({vintage}).",
                perimeter=name,
                code=code,
            )
    return report.frame() if report.rows else pd.DataFrame(columns=REPORT_COLUMNS)


def _deemed(kept: pd.DataFrame) -> list[bool]:
    """Whether each version is a health project deemed validated, read as its listing did.

    The reference date is the version's start (the as-of date of the listing
    that wrote it), as when the listing was imported.
    """
    return [
        bool(
            status == "projet_sante"
            and read_status(label, reference_date=start, filing_date=date).deemed_validated
        )
        for status, label, date, start in zip(
            kept["status"],
            kept["status_label"],
            kept["status_date"],
            kept["valid_from"],
            strict=True,
        )
    ]


def as_perimeter_import(
    snapshot: Snapshot, kept: pd.DataFrame, *, scope: Scope, ref: Referential, label: str
) -> PerimeterImport:
    """Versions of a snapshot as the file importer's model (ids are the registry's)."""
    pid = dict(zip(kept["id"].tolist(), kept["perimeter_id"].tolist(), strict=True))
    perimeters = pd.DataFrame(
        {
            "perimeter_id": kept["perimeter_id"].tolist(),
            "name": kept["name"].tolist(),
            "status": kept["status"].tolist(),
            "status_label": kept["status_label"].tolist(),
            "date": kept["status_date"].tolist(),
            "n_units": np.array([len(c) for c in kept["codes"]], dtype=np.int64),
            "unit_codes": kept["codes"].tolist(),
            "source_rows": [() for _ in range(len(kept))],
            "deemed_validated": _deemed(kept),
        },
        columns=PERIMETER_COLUMNS,
    ).astype({"status": object, "status_label": object, "date": object})
    members = snapshot.members[snapshot.members["version_id"].isin(pid)]
    member_frame = pd.DataFrame(
        {
            "perimeter_id": members["version_id"].map(pid).tolist(),
            "code": members["code"].tolist(),
            "source_rows": [() for _ in range(len(members))],
            "via": members["via"].tolist(),
        },
        columns=MEMBER_COLUMNS,
    )
    splits = [
        (pid[i], c, d)
        for i, pairs in zip(kept["id"], kept["splits"], strict=True)
        for c, d in pairs
    ]
    shares = [
        (pid[i], c, s)
        for i, pairs in zip(kept["id"], kept["shares"], strict=True)
        for c, s in pairs
    ]
    vintage = referential_vintage(ref)
    return PerimeterImport(
        perimeters=perimeters.sort_values("perimeter_id", ignore_index=True),
        members=member_frame.sort_values(["perimeter_id", "code"], ignore_index=True),
        splits=pd.DataFrame(splits, columns=SPLIT_COLUMNS),
        report=_report(snapshot, kept, vintage),
        source={
            "format": "registre",
            "filename": label,
            "as_of": snapshot.day.isoformat(),
            "scope": scope.key,
            "referential_vintage": vintage,
            "stored_vintages": sorted(set(kept["referential_vintage"])),
            "columns": {"perimeter_id": "identifiant du registre"},
            "mode": "registry",
        },
        shares=pd.DataFrame(shares, columns=SHARE_COLUMNS).astype({"share": "float64"}),
    )


def state_at(
    registry: Registry,
    day: dt.date | str,
    *,
    region: str | None = None,
    department: str | None = None,
    referential: Referential | None = None,
) -> PerimeterImport:
    """The registry on ``day``: the perimeters valid that day, as a file import.

    Parameters
    ----------
    registry
        An opened registry (:func:`diagnosis.registry.open_registry`).
    day
        The date (``datetime.date`` or ``YYYY-MM-DD``).
    region, department
        Keep the perimeters with at least one unit in this region or
        department (whole: a perimeter crossing the border keeps every unit).
    referential
        The national referential whose codes the members are given in
        (default: the embedded one); older codes are mapped and reported.

    Returns
    -------
    PerimeterImport
        Perimeters (ids are the registry's stable ids), members, declared
        splits and shares, a report of the codes mapped to ``referential``,
        and ``source`` saying the date, the scope and the vintages.

    Examples
    --------
    >>> state = state_at(open_registry(), "2025-01-01", region="93")  # doctest: +SKIP
    >>> run_diagnosis(state, load_referential(region="93"))  # doctest: +SKIP
    """
    when = parse_day(day)
    scope = Scope.of(region=region, department=department)
    ref = referential if referential is not None else load_referential()
    with read(registry) as conn:
        snapshot = load_snapshot(conn, when, ref)
    kept = snapshot.touching(scope)
    label = f"registre au {when.isoformat()}"
    return as_perimeter_import(snapshot, kept, scope=scope, ref=ref, label=label)


def state_revision(registry: Registry) -> int:
    """A number that changes with every write to the registry (its newest audit row's id).

    Every write adds an audit row in its own transaction, so a state read
    with the same revision, date and scope is the same: applications key
    their caches on it (0 for an empty registry).
    """
    with read(registry) as conn:
        newest = conn.execute(sa.select(sa.func.max(AUDIT.c.id))).scalar()
    return int(newest or 0)
