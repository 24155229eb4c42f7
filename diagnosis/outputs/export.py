"""Writing the diagnosis: CSV files, an Excel workbook and a GeoPackage.

Every export of the project lives here, for the command line and the
dashboard alike. CSV files named in :data:`CSV_CONTRACT` are for machines
(English ids, ``,``, UTF-8); workbooks and the CSV files people open in a
spreadsheet have French headers and values (:mod:`diagnosis.outputs.labels`).

Text cells coming from users' files are protected against formula injection:
in CSV files, GeoPackage and GeoJSON attributes a text starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with an
apostrophe (a spreadsheet or a GIS attribute table opened in one must not run
it); in the workbook, strings are never written as formulas. A table longer
than an Excel sheet (1,048,575 rows under the header) gets, in the workbook, a
sheet saying so and naming its CSV file; the other outputs are written whole.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from diagnosis.analysis.pipeline import Diagnosis
from diagnosis.analysis.white_zones import cluster_geometries
from diagnosis.core.cells import map_text_columns, protect_frame
from diagnosis.core.numbers import fr_number
from diagnosis.core.referential import whole_referential
from diagnosis.core.statuses import status_name
from diagnosis.io.limits import EXCEL_MAX_CELL_CHARS, EXCEL_MAX_ROWS
from diagnosis.outputs.labels import proposal_caveat
from diagnosis.outputs.people import NUMBER_STYLES_ATTR, for_people, people_csv, with_names
from diagnosis.outputs.sharing import outside_label, size_range_label, size_range_reason

__all__ = [
    "CSV_CONTRACT",
    "diagnosis_tables",
    "excel_bytes",
    "excel_overflow",
    "geojson_bytes",
    "geopackage_bytes",
    "people_perimeters",
    "people_tables",
    "people_workbook",
    "perimeters_geojson",
    "white_zone_csv",
    "write_csv",
    "write_diagnosis",
    "write_geopackage",
]

#: The CLI contract: file name → columns that must come first, in this order.
CSV_CONTRACT: dict[str, list[str]] = {
    "perimeters.csv": [
        "perimeter_id",
        "name",
        "status",
        "population",
        "n_units",
        "size_class",
        "below_minimum",
        "n_parts",
        "population_in_scope",
        "population_without_shared",
        "shared_units",
        "outside_departments",
    ],
    "overlaps.csv": ["code", "name", "population", "n_perimeters", "perimeters"],
    "white_zones.csv": ["code", "name", "population", "cluster_id"],
    "coverage.csv": ["scope", "population_total", "population_covered", "share_covered"],
    "import_report.csv": ["kind", "severity", "row", "perimeter", "code", "message", "action"],
}


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    """GeoJSON (UTF-8) of a WGS84 layer, text attributes protected against formulas."""
    return protect_frame(frame).to_json(drop_id=True).encode("utf-8")


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuples become space-separated text; object columns keep None as empty."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, tuple)).any():
            out[col] = out[col].map(lambda v: " ".join(map(str, v)) if isinstance(v, tuple) else v)
    return out


def _ordered(frame: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    missing = [c for c in first if c not in frame.columns]
    if missing:
        raise ValueError(f"colonnes manquantes pour le contrat de sortie : {missing}")
    rest = [c for c in frame.columns if c not in first]
    return frame[first + rest]


def diagnosis_tables(diag: Diagnosis) -> dict[str, pd.DataFrame]:
    """All tables of a diagnosis, by file name (CSV) / sheet name, flattened for writing."""
    summary = diag.perimeters.summary.copy()
    summary["status_label"] = summary["status"].map(
        lambda s: status_name(s if isinstance(s, str) else None)
    )
    summary["deemed_validated"] = deemed_validated(
        diag.imported.perimeters, summary["perimeter_id"]
    )
    white_units = diag.white.units
    tables = {
        "perimeters.csv": _ordered(summary, CSV_CONTRACT["perimeters.csv"]),
        "overlaps.csv": _ordered(diag.overlaps, CSV_CONTRACT["overlaps.csv"]),
        "white_zones.csv": _ordered(white_units, CSV_CONTRACT["white_zones.csv"]),
        "coverage.csv": _ordered(diag.coverage_at_threshold(), CSV_CONTRACT["coverage.csv"]),
        "import_report.csv": _ordered(diag.imported.report, CSV_CONTRACT["import_report.csv"]),
        "overlap_pairs.csv": diag.overlap_pairs,
        "declared_splits.csv": diag.splits,
        "white_zone_clusters.csv": diag.white.clusters,
        "white_zone_neighbours.csv": diag.white.neighbours,
        "coverage_by_status.csv": diag.coverage,
        "perimeter_epcis.csv": diag.perimeters.epcis,
        "perimeter_parts.csv": diag.perimeters.parts,
        "enclaves.csv": diag.perimeters.enclaves,
        "perimeter_members.csv": diag.imported.members,
        "perimeter_shared_units.csv": diag.perimeters.shared,
    }
    if diag.proposals is not None:
        tables["proposals.csv"] = diag.proposals.proposals
    return {name: _flat(frame) for name, frame in tables.items()}


def deemed_validated(perimeters: pd.DataFrame, perimeter_ids: Iterable[object]) -> np.ndarray:
    """Whether each of ``perimeter_ids`` is a health project deemed validated (2019 instruction).

    Read from the import's ``deemed_validated`` column (a health project filed
    more than two months before the reference date, unopposed by the ARS).
    """
    ids = list(perimeter_ids)
    if "deemed_validated" not in perimeters.columns:
        return np.zeros(len(ids), dtype=bool)
    deemed = dict(
        zip(
            perimeters["perimeter_id"].astype(str),
            perimeters["deemed_validated"].astype(bool),
            strict=True,
        )
    )
    return np.array([deemed.get(str(pid), False) for pid in ids], dtype=bool)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV (comma-separated), text cells protected against formula injection."""
    protect_frame(frame).to_csv(path, index=False, encoding="utf-8")


SHEET_NAMES = {
    "perimeters.csv": "Périmètres",
    "overlaps.csv": "Chevauchements",
    "overlap_pairs.csv": "Paires",
    "declared_splits.csv": "Découpages infra",
    "white_zones.csv": "Zones blanches",
    "white_zone_clusters.csv": "Groupes ZB",
    "white_zone_neighbours.csv": "Voisins ZB",
    "coverage.csv": "Couverture",
    "coverage_by_status.csv": "Couverture par statut",
    "perimeter_epcis.csv": "EPCI",
    "perimeter_parts.csv": "Parties",
    "enclaves.csv": "Enclaves",
    "proposals.csv": "Propositions",
    "proposal_members.csv": "Communes des propositions",
    "perimeter_members.csv": "Communes",
    "perimeter_shared_units.csv": "Communes partagées",
    "import_report.csv": "Rapport d'import",
}


def excel_bytes(
    tables: Mapping[str, pd.DataFrame], *, sources: pd.DataFrame | None = None
) -> bytes:
    """An Excel workbook, one sheet per table; strings are never written as formulas.

    Numeric columns of tables made by :func:`diagnosis.outputs.people.for_people`
    (``as_text=False``) get the number format of what the dashboard shows
    (``0.0%`` for a share, ``#,##0.0`` for kilometres…).
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
    ) as writer:
        formats: dict[str, object] = {}
        for name, original in tables.items():
            _write_sheet(writer, name, original, formats)
        if sources is not None:
            sources.to_excel(writer, sheet_name="Sources", index=False)
    return buffer.getvalue()


def _write_sheet(
    writer: pd.ExcelWriter, name: str, original: pd.DataFrame, formats: dict[str, object]
) -> None:
    """One table as a sheet: frozen header, widths, number formats (shared in ``formats``)."""
    sheet = SHEET_NAMES.get(name, Path(name).stem)[:31]
    if len(original) > EXCEL_MAX_ROWS - 1:
        frame = pd.DataFrame({"note": [_overflow_note(name, len(original))]})
    else:
        frame = _excel_cells(original, name)
    frame.to_excel(writer, sheet_name=sheet, index=False)
    worksheet = writer.sheets[sheet]
    worksheet.freeze_panes(1, 0)
    styles = original.attrs.get(NUMBER_STYLES_ATTR, {})
    for i, col in enumerate(frame.columns):
        width = min(60, max(10, len(str(col)) + 2))
        style = styles.get(str(col))
        excel_format = style.excel_format if style is not None else None
        if excel_format is not None and excel_format not in formats:
            book: Any = writer.book  # an xlsxwriter Workbook (engine chosen in excel_bytes)
            formats[excel_format] = book.add_format({"num_format": excel_format})
        worksheet.set_column(i, i, width, formats.get(excel_format) if excel_format else None)


def _overflow_note(name: str, n_rows: int) -> str:
    return (
        f"Tableau trop long pour Excel : {fr_number(n_rows)} lignes, une feuille en contient "
        f"{fr_number(EXCEL_MAX_ROWS - 1)} au plus sous l'en-tête. Le tableau complet est "
        f"dans le fichier CSV « {name} »."
    )


def _excel_cells(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Texts longer than an Excel cell (32,767 characters) cut, saying where the rest is."""
    limit = EXCEL_MAX_CELL_CHARS
    marker = f"… (tronqué : texte complet dans « {name} »)"

    def cut(value: object) -> object:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - len(marker)] + marker
        return value

    too_long = any(
        (values.dtype == object or pd.api.types.is_string_dtype(values))
        and values.map(lambda v: isinstance(v, str) and len(v) > limit).any()
        for values in (frame.iloc[:, i] for i in range(frame.shape[1]))
    )
    return map_text_columns(frame, cut) if too_long else frame


def excel_overflow(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """French notes for the tables too long for an Excel sheet (empty when all fit)."""
    return [
        _overflow_note(name, len(frame))
        for name, frame in tables.items()
        if len(frame) > EXCEL_MAX_ROWS - 1
    ]


def _layer(frame: pd.DataFrame, geometry: list[object] | np.ndarray) -> gpd.GeoDataFrame:
    geoms = np.asarray(geometry, dtype=object)
    flat = _flat(frame.reset_index(drop=True))
    for col in flat.columns:
        if flat[col].dtype == object:
            flat[col] = flat[col].map(lambda v: None if v is None else str(v))
    flat = protect_frame(flat)  # text columns, whatever their dtype (object or string)
    gdf = gpd.GeoDataFrame(flat, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    gdf.geometry = gdf.geometry.map(
        lambda g: shapely.MultiPolygon([g]) if g is not None and g.geom_type == "Polygon" else g
    )
    return gdf


def write_geopackage(diag: Diagnosis, path: Path) -> list[str]:
    """Layers ``perimeters``, ``overlaps``, ``white_zone_clusters``, ``proposals`` (WGS84)."""
    ref = diag.referential
    layers: dict[str, gpd.GeoDataFrame] = {}
    per_geoms = diag.perimeter_geometries()
    summary = diag.perimeters.summary
    layers["perimeters"] = _layer(summary, per_geoms.geometry.to_numpy())
    over_pos = diag.membership.index.positions(diag.overlaps["code"].tolist())
    layers["overlaps"] = _layer(diag.overlaps, ref.units.geometry.to_numpy()[over_pos])
    clusters = diag.white.clusters
    cluster_geoms = cluster_geometries(diag.membership, ref, clusters)
    layers["white_zone_clusters"] = _layer(clusters, cluster_geoms)
    if diag.proposals is not None:
        layers["proposals"] = _layer(diag.proposals.proposals, diag.proposals.geometries)
    if path.exists():
        path.unlink()
    written = []
    for name, layer in layers.items():
        layer = layer[layer.geometry.notna()] if len(layer) else layer  # noqa: PLW2901
        layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
        written.append(name)
    return written


def write_diagnosis(diag: Diagnosis, out_dir: Path) -> list[Path]:
    """Write every CSV, ``diagnosis.xlsx`` and ``diagnosis.gpkg`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = diagnosis_tables(diag)
    written = []
    for name, frame in tables.items():
        path = out_dir / name
        write_csv(frame, path)
        written.append(path)
    manifest = diag.referential.manifest
    sources = pd.DataFrame(
        [
            {
                "source": s.get("package"),
                "version": s.get("version"),
                "licence": s.get("licence"),
                "citation": s.get("citation"),
            }
            for s in manifest.get("sources", [])
        ]
        + [
            {
                "source": "population",
                "version": diag.referential.population_label,
                "licence": "",
                "citation": "INSEE",
            }
        ]
    )
    write_csv(sources, out_dir / "sources.csv")
    written.append(out_dir / "sources.csv")
    # The GeoPackage before the workbook: the larger a diagnosis, the likelier the
    # workbook is the one to shrink (see excel_overflow), never the one to stop the rest.
    gpkg = out_dir / "diagnosis.gpkg"
    write_geopackage(diag, gpkg)
    written.append(gpkg)
    xlsx = out_dir / "diagnosis.xlsx"
    people = {**tables, "perimeters.csv": people_perimeters(diag, tables["perimeters.csv"])}
    xlsx.write_bytes(excel_bytes(people_tables(people), sources=for_people(sources)))
    written.append(xlsx)
    return written


# --------------------------------------------------------------------------
# Exports for people (dashboard downloads)
# --------------------------------------------------------------------------


#: Columns of the coverage tables that repeat another for people: the threshold's label
#: (the stage is already shown, translated) and the machine scope code (its name is there).
_COVERAGE_REPEATS = ("status_label", "scope")


def people_perimeters(diag: Diagnosis, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The perimeters' table for people: the size class range, its reason and "déborde sur".

    ``frame`` is the perimeters' table to complete (default: the diagnosis's
    summary); rows are matched by ``perimeter_id``. Added columns:
    ``size_range`` ("Taille 3 à 4" when the shared communes counted whole move
    the class), ``size_range_reason`` and ``outside_label`` ("déborde sur
    Bouches-du-Rhône (13)").
    """
    summary = diag.perimeters.summary.set_index("perimeter_id")
    out = (diag.perimeters.summary if frame is None else frame).copy()
    rows = summary.reindex(out["perimeter_id"])
    names = dict(
        zip(
            whole_referential(diag.referential).departments["department"],
            whole_referential(diag.referential).departments["department_name"],
            strict=True,
        )
    )
    shared = diag.perimeters.shared
    low = rows["population"] - _whole_shared_population(shared).reindex(rows.index).fillna(0)
    out["size_range"] = [
        size_range_label(a, b)
        for a, b in zip(rows["size_class"], rows["size_class_without_shared"], strict=True)
    ]
    out["size_range_reason"] = [
        size_range_reason(int(pop), int(lo), shared[shared["perimeter_id"] == pid])
        if a != b
        else ""
        for pid, pop, lo, a, b in zip(
            rows.index,
            rows["population"],
            low,
            rows["size_class"],
            rows["size_class_without_shared"],
            strict=True,
        )
    ]
    out["outside_label"] = [outside_label(codes, names) for codes in rows["outside_departments"]]
    return out


def _whole_shared_population(shared: pd.DataFrame) -> pd.Series:
    """Inhabitants of the shared communes each perimeter counts whole (no declared share)."""
    whole = shared[~shared["declared"].astype(bool)]
    return whole.groupby("perimeter_id")["population_counted"].sum()


def people_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Tables with French headers and values; numbers stay numbers for the spreadsheet."""
    out = {}
    for name, frame in tables.items():
        if name.startswith("coverage"):
            out[name] = for_people(
                frame.drop(columns=list(_COVERAGE_REPEATS), errors="ignore"),
                labels={"code": "code du territoire", "name": "territoire"},
                as_text=False,
            )
        elif name == "proposals.csv" and "kind" in frame.columns:
            # Every proposal says it is indicative and subject to the actors' agreement.
            caveat = frame["kind"].map(proposal_caveat)
            out[name] = for_people(frame.assign(caveat=caveat), as_text=False)
        else:
            out[name] = for_people(frame, as_text=False)
    return out


def people_workbook(diag: Diagnosis) -> bytes:
    """The diagnosis workbook for people: one sheet per table, French headers and values.

    Lists of commune codes are never packed into one cell (an Excel cell holds
    32,767 characters, a white-zone group of a whole region far more): the
    groups' codes are already in the white-zone sheet (one row per commune with
    its group), and the proposals' codes get a sheet of their own, one row per
    commune.
    """
    tables = diagnosis_tables(diag)
    tables["perimeters.csv"] = people_perimeters(diag, tables["perimeters.csv"])
    tables["white_zone_clusters.csv"] = tables["white_zone_clusters.csv"].drop(
        columns=["codes"], errors="ignore"
    )
    if diag.proposals is not None and "codes" in diag.proposals.proposals:
        proposals = diag.proposals.proposals
        tables["proposals.csv"] = tables["proposals.csv"].drop(columns=["codes"])
        tables["proposal_members.csv"] = (
            proposals[["proposal_id", "codes"]]
            .explode("codes")
            .dropna(subset=["codes"])
            .rename(columns={"codes": "code"})
            .reset_index(drop=True)
        )
    return excel_bytes(people_tables(_named(diag, tables)))


#: Tables whose machine ids get people's names next to them in the workbook.
_NAMED_TABLES = {
    "perimeter_epcis.csv": ("perimeters",),
    "perimeter_parts.csv": ("perimeters",),
    "enclaves.csv": ("perimeters",),
    "perimeter_members.csv": ("perimeters", "communes"),
    "perimeter_shared_units.csv": ("perimeters",),
    "proposal_members.csv": ("communes",),
}


def _named(diag: Diagnosis, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with the CPTS' names next to their ids and communes' next to their codes."""
    imported = diag.imported.perimeters
    names = {
        "perimeters": imported.set_index("perimeter_id")["name"].astype(str).to_dict(),
        "communes": whole_referential(diag.referential).units["name"].astype(str).to_dict(),
    }
    out = dict(tables)
    for table, kinds in _NAMED_TABLES.items():
        if table in out:
            out[table] = with_names(out[table], **{kind: names[kind] for kind in kinds})
    return out


def geopackage_bytes(diag: Diagnosis) -> bytes:
    """The GeoPackage of a diagnosis, as bytes (written in a private temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="atlas-cpts-") as tmp:
        path = Path(tmp) / "atlas_cpts.gpkg"
        write_geopackage(diag, path)
        return path.read_bytes()


def perimeters_geojson(diag: Diagnosis) -> bytes:
    """The dissolved perimeters with their key figures, as GeoJSON (WGS84), text protected."""
    perimeters = diag.perimeter_geometries()
    frame = perimeters.merge(
        diag.perimeters.summary[["perimeter_id", "population", "size_class"]], on="perimeter_id"
    )
    return geojson_bytes(frame)


def white_zone_csv(diag: Diagnosis) -> bytes:
    """White-zone communes for people's spreadsheets (``;``, UTF-8 with BOM, French headers)."""
    white = diag.white.units[["code", "name", "population", "cluster_id"]]
    return people_csv(white, labels={"name": "commune"})
