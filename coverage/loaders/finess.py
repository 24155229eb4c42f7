"""Loader of the FINESS open-data extraction: points of care of the territory profile.

The official file (``etalab-cs1100507-stock-*.csv``, data.gouv.fr dataset
"FINESS Extraction du Fichier des établissements") is ``;``-separated text in
Latin-1 or UTF-8: a first header line, then ``structureet`` lines (one per
establishment) and ``geolocalisation`` lines (its coordinates in a metric CRS:
Lambert-93 in mainland France, the official local CRS overseas). The field
order of both kinds of lines, the overseas département codes and the
categories kept are data in ``data/rules/finess.toml``.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from diagnosis.core.communes import resolve_codes
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.zones import ZONE_CRS, zone_of
from diagnosis.errors import FileReadError
from diagnosis.paths import RULES_DIR

__all__ = [
    "FINESS_COLUMNS",
    "FinessTable",
    "finess_categories",
    "load_finess",
]

#: Columns of :attr:`FinessTable.points`, one row per establishment kept.
FINESS_COLUMNS = ["finess", "name", "category_key", "category_label", "code", "lon", "lat"]
#: Columns of :attr:`FinessTable.report`: a stable ``kind`` id, a row count, a French detail.
REPORT_COLUMNS = ["kind", "rows", "detail"]


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    with (RULES_DIR / "finess.toml").open("rb") as handle:
        return tomllib.load(handle)


def finess_categories() -> list[dict[str, Any]]:
    """Categories kept (``key``, French ``label``, ``categetab`` codes), in display order."""
    return list(_rules()["category"])


@dataclass
class FinessTable:
    """Points of care read from a FINESS extraction.

    Attributes
    ----------
    points
        One row per establishment kept (:data:`FINESS_COLUMNS`); ``lon``/``lat``
        in WGS84, NaN when the file gives no usable coordinates.
    report
        What was not used and why (``kind``: ``malformed_line``,
        ``category_not_kept``, ``unknown_commune``, ``no_coordinates``; ``rows``;
        ``detail`` in French).
    source
        Citation of the file.
    rows_read
        ``structureet`` lines read.
    rows_used
        Establishments kept (category kept and commune known).
    """

    points: pd.DataFrame
    report: pd.DataFrame
    source: str
    rows_read: int
    rows_used: int

    @functools.cached_property
    def by_unit(self) -> pd.DataFrame:
        """Count of establishments per unit code (rows) and category key (columns)."""
        keys = [c["key"] for c in finess_categories()]
        if self.points.empty:
            return pd.DataFrame(columns=keys, dtype=float)
        table = self.points.groupby(["code", "category_key"]).size().unstack(fill_value=0)
        return table.reindex(columns=keys, fill_value=0).astype(float)


def _read_text(source: str | Path | bytes | IO[bytes]) -> tuple[str, str]:
    if isinstance(source, (str, Path)):
        data, name = Path(source).read_bytes(), Path(source).name
    elif isinstance(source, bytes):
        data, name = source, ""
    else:
        data, name = source.read(), Path(str(getattr(source, "name", ""))).name
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        return data.decode("latin-1"), name


def _commune_codes(departement: pd.Series, commune: pd.Series) -> pd.Series:
    """INSEE code from FINESS ``departement`` and ``commune`` (3 digits) fields."""
    overseas: dict[str, str] = _rules()["overseas_departments"]
    dep = departement.str.strip().str.upper()
    dep = dep.map(lambda d: overseas.get(d, d))
    dep = dep.where(dep.str.len() != 1, dep.str.zfill(2))
    raw = commune.str.strip()
    com = raw.str.zfill(3)
    two = dep.str.len() == 2
    code = pd.Series("", index=dep.index, dtype=object)
    code[two] = dep[two] + com[two]
    # Overseas (3-character département): a 3-digit commune field holds the last
    # three digits of the INSEE code (971 + 101 gives 97101); a 2-digit one
    # completes the département code (971 + 01 gives 97101).
    three = ~two & (raw.str.len() == 3)
    code[three] = dep[three].str[:2] + com[three]
    short = ~two & (raw.str.len() != 3)
    code[short] = dep[short] + raw[short].str.zfill(2)
    return code


_EPSG_IN_SOURCE = r"EPSG\s*:\s*(\d{4,5})"


def _source_epsg(sourcecoord: pd.Series, department: pd.Series) -> pd.Series:
    """Metric CRS (EPSG code) of each point of a FINESS extraction.

    The code named in ``sourcecoordet`` when there is one (``…,EPSG:4471
    RGM04/UTM zone 38S``), Lambert-93 when it says ``LAMBERT_93``, else the
    official CRS of the commune's zone (:data:`diagnosis.core.zones.ZONE_CRS`).
    """
    named = pd.to_numeric(sourcecoord.str.extract(_EPSG_IN_SOURCE, expand=False), errors="coerce")
    lambert = sourcecoord.str.upper().str.contains("LAMBERT_?93", regex=True, na=False)
    by_zone = zone_of(department).map(ZONE_CRS).astype(float)
    return named.where(named.notna(), by_zone.where(~lambert, 2154.0))


def _to_wgs84(x: pd.Series, y: pd.Series, epsg: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    valid = (x.notna() & y.notna() & epsg.notna()).to_numpy()
    codes = epsg.to_numpy()
    for code in pd.unique(codes[valid]):
        mask = valid & (codes == code)
        transformer = Transformer.from_crs(int(code), 4326, always_xy=True)
        lon[mask], lat[mask] = transformer.transform(x.to_numpy()[mask], y.to_numpy()[mask])
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    lon[bad], lat[bad] = np.nan, np.nan
    return lon, lat


def _not_finess(name: str, why: str) -> FileReadError:
    # A stream without a name (an upload) is named by the caller: no "fichier : " prefix.
    prefix = f"{name} : ce" if name else "Ce"
    return FileReadError(
        f"{prefix} n'est pas une extraction FINESS. Attendu : le fichier « etalab-cs1100507-"
        "stock-….csv » de data.gouv.fr (texte séparé par des « ; », une ligne d'en-tête puis des "
        f"lignes « structureet » et « geolocalisation »). {why}"
    )


def _split_lines(
    text: str, name: str, et_size: int, geo_size: int
) -> tuple[list[list[str]], list[list[str]], dict[str, int]]:
    """``structureet`` and ``geolocalisation`` rows (padded), and counts of ill-formed lines."""
    lines = text.splitlines()
    if not lines or ";" not in lines[0]:
        raise _not_finess(name, "Le fichier est vide ou n'est pas séparé par des « ; ».")
    et_rows: list[list[str]] = []
    geo_rows: list[list[str]] = []
    bad: dict[str, int] = {}
    et_min = _rules()["format"]["structureet"].index("libcategetab") + 1
    # The header line is skipped, unless the file starts directly with data.
    first = lines[0].split(";", 1)[0].strip().lower()
    start = 0 if first in ("structureet", "geolocalisation") else 1
    for line in lines[start:]:
        if not line.strip():
            continue
        fields = line.split(";")
        kind = fields[0].strip().lower()
        if kind == "structureet" and len(fields) >= et_min:
            et_rows.append(fields[:et_size] + [""] * (et_size - len(fields)))
        elif kind == "geolocalisation" and len(fields) >= 4:
            geo_rows.append(fields[:geo_size] + [""] * (geo_size - len(fields)))
        else:
            label = kind if kind in ("structureet", "geolocalisation") else "autre"
            bad[label] = bad.get(label, 0) + 1
    if not et_rows:
        raise _not_finess(name, "Aucune ligne « structureet » trouvée.")
    return et_rows, geo_rows, bad


def load_finess(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    vintage: str | None = None,
) -> FinessTable:
    """Points of care (maisons et centres de santé, pharmacies, hôpitaux) from FINESS.

    Parameters
    ----------
    source
        The official extraction (path, bytes or binary stream).
    referential
        National referential (commune codes are resolved through it).
    vintage
        Vintage to cite (default: the most recent ``datemaj`` year of the file).

    Raises
    ------
    FileReadError
        The file is not a FINESS extraction (French message saying what was expected).
    """
    rules = _rules()
    et_fields: list[str] = rules["format"]["structureet"]
    geo_fields: list[str] = rules["format"]["geolocalisation"]
    text, name = _read_text(source)
    et_rows, geo_rows, bad = _split_lines(text, name, len(et_fields), len(geo_fields))
    et = pd.DataFrame(et_rows, columns=et_fields).apply(lambda s: s.str.strip())
    geo = pd.DataFrame(geo_rows, columns=geo_fields).apply(lambda s: s.str.strip())
    report = _malformed_report(bad)
    et, not_kept = _kept_categories(et)
    report += not_kept
    ref = referential if referential is not None else load_referential()
    et, unit, unknown = _known_communes(et, ref)
    report += unknown
    lon, lat, no_xy = _coordinates(et, geo, unit, ref)
    report += no_xy
    points = _points(et, unit, lon, lat)
    vintage = vintage if vintage is not None else _vintage(et)
    label = "FINESS, extraction du fichier des établissements" + (f" {vintage}" if vintage else "")
    return FinessTable(
        points=points,
        report=pd.DataFrame(report, columns=REPORT_COLUMNS),
        source=label,
        rows_read=len(et_rows),
        rows_used=len(points),
    )


def _malformed_report(bad: dict[str, int]) -> list[dict[str, Any]]:
    """Report lines of the ill-formed lines, by kind of line."""
    messages = {
        "structureet": "lignes « structureet » incomplètes (moins de champs qu'attendu)",
        "geolocalisation": "lignes « geolocalisation » incomplètes",
        "autre": "lignes d'un type inconnu (ni « structureet » ni « geolocalisation »)",
    }
    return [
        {"kind": "malformed_line", "rows": count, "detail": messages[kind]}
        for kind, count in bad.items()
    ]


def _category_of() -> dict[str, tuple[str, str]]:
    """FINESS category code (``categetab``) → (key, French label) of the categories kept."""
    return {
        str(code): (cat["key"], cat["label"])
        for cat in finess_categories()
        for code in cat["categetab"]
    }


def _kept_categories(et: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Establishments of the categories kept (one row each), and the report of the others."""
    kept = et["categetab"].isin(list(_category_of()))
    other = int((~kept).sum())
    report = []
    if other:
        report.append(
            {
                "kind": "category_not_kept",
                "rows": other,
                "detail": "établissements d'autres catégories (médico-social, etc.), non comptés",
            }
        )
    return et[kept].drop_duplicates("nofinesset"), report


def _known_communes(
    et: pd.DataFrame, ref: Referential
) -> tuple[pd.DataFrame, pd.Series, list[dict[str, Any]]]:
    """Establishments whose commune is a unit of the referential, their unit code, the report."""
    written = _commune_codes(et["departement"], et["commune"])
    resolved = resolve_codes(written, referential=ref).set_index("written")
    status = written.map(resolved["status"])
    unit = written.map(resolved["code"])
    known = status == "unit"
    report = []
    if (~known).any():
        unknown = sorted(written[~known].unique())
        report.append(
            {
                "kind": "unknown_commune",
                "rows": int((~known).sum()),
                "detail": "codes non trouvés dans le référentiel : " + ", ".join(unknown[:10]),
            }
        )
    return et[known], unit[known], report


def _coordinates(
    et: pd.DataFrame, geo: pd.DataFrame, unit: pd.Series, ref: Referential
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """WGS84 longitude and latitude of each establishment (NaN when none), and the report."""
    coords = geo.drop_duplicates("nofinesset").set_index("nofinesset")

    def number(column: str) -> pd.Series:
        return pd.to_numeric(
            et["nofinesset"].map(coords[column]).str.replace(",", "."), errors="coerce"
        )

    departments = unit.map(ref.units["department"].astype(str))
    sourcecoord = et["nofinesset"].map(coords["sourcecoordet"]).fillna("")
    lon, lat = _to_wgs84(
        number("coordxet"), number("coordyet"), _source_epsg(sourcecoord, departments)
    )
    missing_xy = int(np.isnan(lon).sum())
    report = []
    if missing_xy:
        report.append(
            {
                "kind": "no_coordinates",
                "rows": missing_xy,
                "detail": "établissements comptés dans leur commune mais absents de la carte",
            }
        )
    return lon, lat, report


def _points(et: pd.DataFrame, unit: pd.Series, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """One row per establishment kept (:data:`FINESS_COLUMNS`)."""
    cats = et["categetab"].map(_category_of())
    return pd.DataFrame(
        {
            "finess": et["nofinesset"].to_numpy(),
            "name": et["rs"].where(et["rs"] != "", et["rslongue"]).to_numpy(),
            "category_key": [c[0] for c in cats],
            "category_label": [c[1] for c in cats],
            "code": unit.astype(str).to_numpy(),
            "lon": lon,
            "lat": lat,
        },
        columns=FINESS_COLUMNS,
    ).reset_index(drop=True)


def _vintage(et: pd.DataFrame) -> str | None:
    """The most recent year of update (``datemaj``) of the file, or None."""
    years = pd.to_datetime(et["datemaj"], errors="coerce", format="mixed", dayfirst=False)
    return str(int(years.dt.year.max())) if years.notna().any() else None
