"""Keeping the registry: a full dump and its restore, an integrity check, open-data exports.

- :func:`dump_registry` writes every row of every table as one JSON file
  (sorted, dates in ISO 8601, times in UTC); :func:`insert_dump` puts such a
  dump back into an empty registry (the service's
  :func:`~diagnosis.registry.service.restore_registry` does it with its audit
  row). Dump, restore, dump again: the same rows, plus the audit row of the
  restore.
- :func:`check_registry` lists what breaks the registry's rules: overlapping
  versions of a perimeter, a version ending before it starts, a member that is
  no unit of the referential (even through former codes), a version without
  its source.
- :func:`export_state` writes the registry on a date as GeoPackage, GeoJSON or
  CSV, with the referential vintage.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from diagnosis.analysis.geometry import dissolve_perimeters
from diagnosis.analysis.membership import membership
from diagnosis.core.referential import Referential, load_referential
from diagnosis.errors import AtlasError
from diagnosis.registry.database import Registry, RegistryError, read, schema_revision
from diagnosis.registry.schema import DRAFTS, GRANTS, SOURCES, TABLES, VERSIONS
from diagnosis.registry.state import code_mapping, referential_vintage, state_at
from diagnosis.registry.store import read_members, read_versions

__all__ = [
    "CHECK_COLUMNS",
    "DUMP_FORMAT",
    "check_registry",
    "dump_registry",
    "export_state",
    "insert_dump",
    "read_dump",
]

DUMP_FORMAT = "atlas-cpts-registre"
CHECK_COLUMNS = ["problem", "perimeter_id", "version_id", "detail"]


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def dump_registry(registry: Registry) -> dict[str, Any]:
    """Every row of every table, ordered by primary key, as JSON-ready values."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with read(registry) as conn:
        for table in TABLES:
            order = list(table.primary_key.columns)
            rows = conn.execute(sa.select(table).order_by(*order)).mappings().all()
            tables[table.name] = [{k: _cell(v) for k, v in row.items()} for row in rows]
    return {
        "format": DUMP_FORMAT,
        "version": 1,
        "schema": schema_revision(registry),
        "tables": tables,
    }


def dump_bytes(dump: Mapping[str, Any]) -> bytes:
    """A dump as the bytes of its file (stable: the same rows give the same bytes)."""
    return (json.dumps(dump, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def read_dump(path: str | Path) -> dict[str, Any]:
    """A dump file read back; a French error when it is not one."""
    try:
        dump = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AtlasError(
            f"Sauvegarde illisible : {Path(path).name}. Attendu : un fichier écrit par "
            "`python -m diagnosis registry dump`.",
            detail=repr(exc),
        ) from exc
    if not isinstance(dump, dict) or dump.get("format") != DUMP_FORMAT:
        raise AtlasError(
            f"{Path(path).name} n'est pas une sauvegarde du registre Atlas CPTS "
            "(écrite par `python -m diagnosis registry dump`)."
        )
    return dump


def _typed(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for column in table.columns:
        value = row.get(column.name)
        if value is not None and isinstance(column.type, sa.DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, sa.Date):
            value = dt.date.fromisoformat(value)
        out[column.name] = value
    return out


def insert_dump(conn: Connection, dump: Mapping[str, Any]) -> dict[str, int]:
    """Insert a dump's rows into an empty registry (inside the caller's write transaction).

    Returns the number of rows per table. Raises a French error when the
    registry is not empty or the dump's schema is newer than this code's.
    """
    if any(
        conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in (SOURCES, GRANTS, DRAFTS)
    ):
        raise RegistryError(
            "Restauration refusée : le registre n'est pas vide. Restaurez dans une base "
            "neuve (--db), rien n'a été écrit."
        )
    counts = {}
    for table in TABLES:
        rows = [_typed(table, r) for r in dump["tables"].get(table.name, [])]
        if rows:
            conn.execute(table.insert(), rows)
        counts[table.name] = len(rows)
    if conn.dialect.name == "postgresql":
        for table in TABLES:
            if "id" in table.c:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
                    )
                )
    return counts


def _overlaps(versions: pd.DataFrame) -> list[tuple[str, str, int, str]]:
    problems = []
    far = dt.date.max
    for pid, group in versions.groupby("perimeter_id", sort=True):
        spans = sorted(
            (f, t or far, int(i))
            for f, t, i in zip(group["valid_from"], group["valid_to"], group["id"], strict=True)
            if (t or far) > f
        )
        for (_f1, t1, i1), (f2, _t2, i2) in itertools.pairwise(spans):
            if f2 < t1:
                problems.append(
                    ("overlap", str(pid), i2, f"la version {i2} commence avant la fin de {i1}")
                )
    return problems


def check_registry(registry: Registry, *, referential: Referential | None = None) -> pd.DataFrame:
    """Every breach of the registry's rules (:data:`CHECK_COLUMNS`); empty when it is sound.

    Problems: ``overlap`` (two versions of a perimeter valid on the same day),
    ``reversed_dates`` (a version ending before it starts), ``unknown_unit``
    (a member that is no unit of ``referential``, even through former codes),
    ``missing_source`` (a version whose source is not recorded).
    """
    ref = referential if referential is not None else load_referential()
    with read(registry) as conn:
        versions = read_versions(conn)
        members = read_members(conn)
        sources = set(conn.execute(sa.select(SOURCES.c.id)).scalars())
    problems = _overlaps(versions)
    for f, t, i, pid in zip(
        versions["valid_from"],
        versions["valid_to"],
        versions["id"],
        versions["perimeter_id"],
        strict=True,
    ):
        if t is not None and t < f:
            problems.append(("reversed_dates", str(pid), int(i), f"fin {t} avant début {f}"))
    for i, pid, src in zip(
        versions["id"], versions["perimeter_id"], versions["source_id"], strict=True
    ):
        if int(src) not in sources:
            problems.append(("missing_source", str(pid), int(i), f"source {src} absente"))
    known = set(ref.units.index) | set(code_mapping(ref))
    owner = dict(zip(versions["id"].astype(int), versions["perimeter_id"], strict=True))
    unknown = members[~members["code"].isin(known)]
    for i, code in zip(unknown["version_id"], unknown["code"], strict=True):
        problems.append(
            (
                "unknown_unit",
                str(owner.get(int(i), "")),
                int(i),
                f"unité {code} inconnue du référentiel {referential_vintage(ref)}",
            )
        )
    return pd.DataFrame(problems, columns=CHECK_COLUMNS)


EXPORT_SUFFIXES = (".gpkg", ".geojson", ".csv")


def _export_frame(
    registry: Registry,
    day: dt.date,
    ref: Referential,
    region: str | None,
    department: str | None,
) -> gpd.GeoDataFrame:
    state = state_at(registry, day, region=region, department=department, referential=ref)
    with read(registry) as conn:
        versions = read_versions(
            conn, VERSIONS.c.perimeter_id.in_(state.perimeters["perimeter_id"])
        )
    starts: dict[str, str] = {}
    vintages: dict[str, str] = {}
    for pid, start, end, vintage in zip(
        versions["perimeter_id"].tolist(),
        versions["valid_from"].tolist(),
        versions["valid_to"].tolist(),
        versions["referential_vintage"].tolist(),
        strict=True,
    ):
        if start <= day and (end is None or end > day):
            starts[str(pid)], vintages[str(pid)] = start.isoformat(), str(vintage)
    shapes = dissolve_perimeters(membership(state, ref), ref).set_index("perimeter_id")
    table = state.perimeters.set_index("perimeter_id")
    population = ref.units["population"]
    frame = pd.DataFrame(
        {
            "perimeter_id": table.index,
            "name": table["name"].to_numpy(),
            "status": table["status"].to_numpy(),
            "status_label": table["status_label"].to_numpy(),
            "status_date": table["date"].to_numpy(),
            "valid_from": [starts[str(p)] for p in table.index],
            "n_units": table["n_units"].to_numpy(),
            "unit_codes": [" ".join(c) for c in table["unit_codes"]],
            "population": [
                int(population.reindex(list(c)).fillna(0).sum()) for c in table["unit_codes"]
            ],
            "as_of": day.isoformat(),
            "referential_vintage": [vintages[str(p)] for p in table.index],
            "read_with_vintage": referential_vintage(ref),
        }
    )
    geometry = shapes["geometry"].reindex(frame["perimeter_id"]).to_numpy()
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=4326), crs=4326)


def export_state(
    registry: Registry,
    day: dt.date,
    path: str | Path,
    *,
    region: str | None = None,
    department: str | None = None,
    referential: Referential | None = None,
) -> Path:
    """Write the registry on ``day`` as open data (``.gpkg``, ``.geojson`` or ``.csv``).

    One row per perimeter: id, name, status, stage date, first day of the
    version, units (space-separated codes), population, the date and both
    vintages (the one stored with the version and the one it was read with);
    GeoPackage and GeoJSON add the dissolved outline (WGS84).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise AtlasError(
            f"Format d'export inconnu : « {target.name} ». Attendu : un fichier .gpkg, "
            ".geojson ou .csv."
        )
    ref = referential if referential is not None else load_referential()
    frame = _export_frame(registry, day, ref, region, department)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        buffer = io.StringIO()
        pd.DataFrame(frame.drop(columns="geometry")).to_csv(buffer, index=False)
        target.write_text(buffer.getvalue(), encoding="utf-8")
    elif suffix == ".geojson":
        frame.to_file(target, driver="GeoJSON")
    else:
        frame.to_file(target, driver="GPKG", layer="perimetres")
    return target
