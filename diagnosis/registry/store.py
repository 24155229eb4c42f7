"""Rows in and out of the registry's tables (SQLAlchemy Core), as plain frames.

The only module that writes SQL for the registry's content; the service layer
(:mod:`diagnosis.registry.service`) decides what to write and calls it inside
one write transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.registry.model import Content, stage_date_end
from diagnosis.registry.schema import (
    AUDIT,
    MEMBERS,
    PERIMETERS,
    SHARES,
    SOURCES,
    SPLITS,
    VERSIONS,
)

__all__ = [
    "VERSION_COLUMNS",
    "close_version",
    "insert_audit",
    "insert_perimeters",
    "insert_source",
    "insert_versions",
    "read_members",
    "read_shares",
    "read_sources",
    "read_splits",
    "read_versions",
]

VERSION_COLUMNS = [c.name for c in VERSIONS.columns]


def valid_on(day: dt.date) -> sa.ColumnElement[bool]:
    """Versions valid on ``day``: ``valid_from <= day < valid_to`` (no end: still valid)."""
    return sa.and_(
        VERSIONS.c.valid_from <= day,
        sa.or_(VERSIONS.c.valid_to.is_(None), VERSIONS.c.valid_to > day),
    )


def overlapping(start: dt.date, end: dt.date) -> sa.ColumnElement[bool]:
    """Versions valid on at least one day of ``[start, end]`` (or empty ones inside it)."""
    return sa.and_(
        VERSIONS.c.valid_from <= end,
        sa.or_(VERSIONS.c.valid_to.is_(None), VERSIONS.c.valid_to > start),
    )


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)


def read_versions(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> pd.DataFrame:
    """Versions (every column of ``versions``), ordered by perimeter and start."""
    query = sa.select(VERSIONS).order_by(
        VERSIONS.c.perimeter_id, VERSIONS.c.valid_from, VERSIONS.c.id
    )
    if where is not None:
        query = query.where(where)
    frame = _frame(conn.execute(query).all(), VERSION_COLUMNS)
    frame["id"] = frame["id"].astype("int64")
    frame["source_id"] = frame["source_id"].astype("int64")
    return frame


def _child_rows(
    conn: Connection, table: sa.Table, columns: list[str], where: sa.ColumnElement[bool] | None
) -> pd.DataFrame:
    query = sa.select(*(table.c[c] for c in columns))
    if where is not None:
        query = query.join(VERSIONS, VERSIONS.c.id == table.c.version_id).where(where)
    frame = _frame(conn.execute(query.order_by(table.c.version_id, table.c.code)).all(), columns)
    frame["version_id"] = frame["version_id"].astype("int64")
    return frame


def read_members(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> pd.DataFrame:
    """Members (version_id, code) of the versions selected by ``where``."""
    return _child_rows(conn, MEMBERS, ["version_id", "code"], where)


def read_splits(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> pd.DataFrame:
    """Declared splits (version_id, code, declared_code) of the versions selected."""
    return _child_rows(conn, SPLITS, ["version_id", "code", "declared_code"], where)


def read_shares(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> pd.DataFrame:
    """Declared shares (version_id, code, share) of the versions selected."""
    frame = _child_rows(conn, SHARES, ["version_id", "code", "share"], where)
    frame["share"] = frame["share"].astype("float64")
    return frame


def read_sources(conn: Connection) -> pd.DataFrame:
    """Every source (listing), oldest first."""
    columns = [c.name for c in SOURCES.columns]
    return _frame(conn.execute(sa.select(SOURCES).order_by(SOURCES.c.id)).all(), columns)


def insert_source(conn: Connection, row: dict[str, Any]) -> int:
    """Insert a source; returns its id."""
    result = conn.execute(SOURCES.insert().values(**row).returning(SOURCES.c.id))
    return int(result.scalar_one())


def insert_perimeters(conn: Connection, ids: Iterable[str], source_id: int) -> None:
    """Insert new perimeters (their stable ids), created by ``source_id``."""
    rows = [{"perimeter_id": pid, "created_source_id": source_id} for pid in ids]
    if rows:
        conn.execute(PERIMETERS.insert(), rows)


def insert_versions(
    conn: Connection,
    versions: Sequence[tuple[str, dt.date, dt.date | None, Content, int]],
    *,
    vintage: str,
) -> list[int]:
    """Insert versions (perimeter id, valid from, valid to, content, source id); returns ids.

    Members, splits and shares are written with each version.
    """
    if not versions:
        return []
    rows = [
        {
            "perimeter_id": pid,
            "valid_from": start,
            "valid_to": end,
            "name": content.name,
            "status": content.status,
            "status_label": content.status_label,
            "status_date": content.status_date,
            "status_reached_on": stage_date_end(content.status_date),
            "external_id": content.external_id,
            "referential_vintage": vintage,
            "source_id": source_id,
            "closed_by_source_id": None,
        }
        for pid, start, end, content, source_id in versions
    ]
    result = conn.execute(
        VERSIONS.insert().returning(VERSIONS.c.id, sort_by_parameter_order=True), rows
    )
    ids = [int(r[0]) for r in result.all()]
    members, splits, shares = [], [], []
    for version_id, (*_, content, _source) in zip(ids, versions, strict=True):
        members += [{"version_id": version_id, "code": c} for c in content.codes]
        splits += [
            {"version_id": version_id, "code": c, "declared_code": d} for c, d in content.splits
        ]
        shares += [{"version_id": version_id, "code": c, "share": s} for c, s in content.shares]
    for table, values in ((MEMBERS, members), (SPLITS, splits), (SHARES, shares)):
        if values:
            conn.execute(table.insert(), values)
    return ids


def close_version(conn: Connection, version_id: int, day: dt.date, source_id: int) -> None:
    """End a version on ``day`` (its ``valid_to``), closed by ``source_id``."""
    conn.execute(
        VERSIONS.update()
        .where(VERSIONS.c.id == version_id)
        .values(valid_to=day, closed_by_source_id=source_id)
    )


def insert_audit(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows (at, actor, action, target, source_id, before, after)."""
    if rows:
        conn.execute(AUDIT.insert(), list(rows))
