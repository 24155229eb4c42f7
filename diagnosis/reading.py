"""Reading users' files: tables (CSV, XLSX, ODS) and polygon layers.

Encodings (UTF-8, UTF-8 with BOM, UTF-16, Windows-1252/Latin-1), separators
(``,`` ``;`` tab ``|``), header rows that are not the first row, and sheets are
detected; what was detected is returned so that the import report can say it.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from diagnosis.errors import FileReadError
from diagnosis.textnorm import clean_code_token, label_key, looks_like_code

__all__ = [
    "ROLE_LABELS_FR",
    "FileFormat",
    "PerimeterFileError",
    "RawTable",
    "detect_format",
    "find_columns",
    "read_polygons",
    "read_table",
]


class PerimeterFileError(FileReadError):
    """The file cannot be read at all; the message says what was expected."""


FileFormat = Literal["csv", "excel", "geojson", "gpkg", "shapefile-zip"]

TABLE_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}
POLYGON_EXTENSIONS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile-zip",
}

EXPECTED_FORMATS_FR = (
    "un tableau CSV ou Excel (une ligne par commune et par périmètre, ou une ligne par "
    "périmètre avec la liste des codes), ou des polygones GeoJSON, GeoPackage ou "
    "Shapefile zippé"
)

# --------------------------------------------------------------------------
# Column roles
# --------------------------------------------------------------------------

#: Header labels (compared with :func:`label_key`) recognised for each role,
#: most specific first. ``contains`` patterns are tried after exact labels.
ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": (
        "code insee",
        "codgeo",
        "code geo",
        "insee",
        "code commune",
        "depcom",
        "code insee commune",
        "code commune insee",
        "code officiel geographique",
        "cog",
        "com",
        "code com",
        "insee com",
        "n insee",
        "num insee",
        "numero insee",
        "code",
        "code insee de la commune",
        "codecommune",
        "code_insee",
        "citycode",
        "city code",
        "municipality code",
        "commune code",
        "inseecode",
        "code insee com",
    ),
    "codes": (
        "communes",
        "liste des communes",
        "codes insee",
        "codes",
        "codes communes",
        "liste communes",
        "communes membres",
        "composition",
        "membres",
        "members",
        "liste des codes insee",
        "codes insee des communes",
        "communes du perimetre",
        "liste des communes du perimetre",
        "codes des communes",
    ),
    "commune_name": (
        "nom commune",
        "nom de la commune",
        "libgeo",
        "libelle commune",
        "libelle",
        "commune",
        "nom com",
        "nomcom",
        "ville",
        "municipality",
        "commune name",
        "nom communes",
        "libelle de la commune",
        "nom_commune",
        "city",
        "lib commune",
    ),
    "perimeter": (
        "nom cpts",
        "cpts",
        "perimetre",
        "nom perimetre",
        "nom du perimetre",
        "nom de la cpts",
        "nom du projet",
        "projet",
        "territoire",
        "perimeter",
        "perimeter name",
        "name",
        "nom",
        "communaute",
        "libelle cpts",
        "nom projet",
        "nom de la communaute",
        "perimetre cpts",
        "cpts nom",
        "intitule",
    ),
    "perimeter_id": (
        "perimeter id",
        "id cpts",
        "identifiant cpts",
        "identifiant",
        "id perimetre",
        "code cpts",
        "numero cpts",
        "id",
        "identifiant perimetre",
        "id projet",
    ),
    "status": (
        "statut",
        "etat",
        "stage",
        "stade",
        "avancement",
        "etat d avancement",
        "status",
        "etape",
        "statut cpts",
        "statut du projet",
        "niveau d avancement",
        "stade d avancement",
    ),
    "date": (
        "date",
        "date statut",
        "date de signature",
        "date de validation",
        "date signature aci",
        "date du statut",
        "date de mise a jour",
    ),
    "split": (
        "decoupage infra communal",
        "infra communal",
        "infracommunal",
        "decoupage infracommunal",
        "partage",
        "split",
        "infra",
        "decoupage infra",
        "commune partagee",
        "infra communal split",
        "infra split",
    ),
    "department": ("departement", "dep", "dept", "code departement", "department", "code dep"),
}

ROLE_CONTAINS: dict[str, tuple[str, ...]] = {
    "code": ("code insee", "codgeo", "depcom", "code commune"),
    "codes": ("liste des communes", "codes insee", "liste des codes"),
    "perimeter": ("nom de la cpts", "nom cpts", "nom du perimetre"),
    "status": ("statut", "avancement"),
    "split": ("infra communal", "infracommunal"),
}

ROLE_LABELS_FR = {
    "code": "code INSEE de la commune",
    "codes": "liste des codes des communes",
    "commune_name": "nom de la commune",
    "perimeter": "nom du périmètre (CPTS)",
    "perimeter_id": "identifiant du périmètre",
    "status": "statut",
    "date": "date",
    "split": "découpage infra-communal",
    "department": "département",
}


def _role_of(header: str) -> str | None:
    key = label_key(header)
    if not key:
        return None
    for role, synonyms in ROLE_SYNONYMS.items():
        if key in synonyms:
            return role
    for role, patterns in ROLE_CONTAINS.items():
        if any(p in key for p in patterns):
            return role
    return None


def find_columns(
    headers: Sequence[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map roles to column names by name variants; ``overrides`` (role → column) win.

    When several columns match one role, the one whose label is the more
    specific synonym (earlier in :data:`ROLE_SYNONYMS`) wins; ``nom`` and
    ``name`` go to the perimeter only when no commune-name column claims them.
    """
    found: dict[str, tuple[int, str]] = {}
    for header in headers:
        role = _role_of(header)
        if role is None:
            continue
        key = label_key(header)
        synonyms = ROLE_SYNONYMS[role]
        rank = synonyms.index(key) if key in synonyms else len(synonyms)
        if role not in found or rank < found[role][0]:
            found[role] = (rank, header)
    mapping = {role: header for role, (_, header) in found.items()}
    if overrides:
        unknown = [col for col in overrides.values() if col not in headers]
        if unknown:
            raise PerimeterFileError(
                "Colonnes indiquées introuvables dans le fichier : "
                + ", ".join(repr(c) for c in unknown)
                + ". Colonnes présentes : "
                + ", ".join(repr(str(h)) for h in headers)
            )
        bad_roles = [role for role in overrides if role not in ROLE_SYNONYMS]
        if bad_roles:
            raise PerimeterFileError(
                "Rôles de colonnes inconnus : "
                + ", ".join(bad_roles)
                + ". Rôles possibles : "
                + ", ".join(ROLE_SYNONYMS)
            )
        for role, col in overrides.items():
            mapping = {r: c for r, c in mapping.items() if c != col}
            mapping[role] = col
    return mapping


def _header_score(row: Sequence[Any], wanted: Sequence[str] = ()) -> int:
    cells = {str(v).strip() for v in row if v is not None and str(v).strip()}
    if wanted and set(wanted) <= cells:
        return 100  # the columns the user named are all on this row
    roles = {_role_of(v) for v in cells}
    roles.discard(None)
    score = len(roles)
    if not roles & {"code", "codes", "commune_name"}:
        score = min(score, 0)
    return score


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


@dataclass
class RawTable:
    """A table read from a file: header, cells and spreadsheet row numbers."""

    frame: pd.DataFrame  # object cells, columns named by the header
    row_numbers: np.ndarray  # 1-based row number in the file of each data row
    header_row: int  # 1-based
    info: dict[str, Any] = field(default_factory=dict)


def detect_format(filename: str) -> FileFormat:
    """Format of a file from its extension (case-insensitive)."""
    suffix = Path(filename).suffix.lower()
    if suffix in TABLE_EXTENSIONS:
        return TABLE_EXTENSIONS[suffix]  # type: ignore[return-value]
    if suffix in POLYGON_EXTENSIONS:
        return POLYGON_EXTENSIONS[suffix]  # type: ignore[return-value]
    raise PerimeterFileError(
        f"Format de fichier non reconnu ({suffix or 'sans extension'}) : attendu "
        + EXPECTED_FORMATS_FR
        + " (extensions .csv, .txt, .xlsx, .xls, .ods, .geojson, .gpkg, .zip)."
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file; returns (text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 avec BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1)"


_SEPARATORS = (";", ",", "\t", "|")
_SEPARATOR_NAMES = {
    ";": "point-virgule",
    ",": "virgule",
    "\t": "tabulation",
    "|": "barre verticale",
}


def detect_separator(text: str) -> str:
    """The field separator that splits the first lines into the most consistent columns."""
    lines = [line for line in text.splitlines()[:60] if line.strip()]
    if not lines:
        return ";"
    best, best_score = ";", (0, 0.0)
    sample = "\n".join(lines)
    for sep in _SEPARATORS:
        rows = list(csv.reader(io.StringIO(sample), delimiter=sep))
        counts = Counter(len(r) for r in rows)
        modal, freq = counts.most_common(1)[0]
        if modal < 2:
            continue
        score = (freq, float(modal))
        if score > best_score:
            best, best_score = sep, score
    return best


def _rows_to_table(
    rows: list[list[Any]], *, info: dict[str, Any], wanted: Sequence[str] = ()
) -> RawTable:
    if not rows:
        raise PerimeterFileError("Le fichier est vide : " + EXPECTED_FORMATS_FR + ".")
    scan = rows[:30]
    scores = [_header_score(r, wanted) for r in scan]
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        raise PerimeterFileError(
            "Aucune ligne d'en-tête reconnue dans les 30 premières lignes. Colonnes attendues, "
            "par exemple : « code INSEE » (ou codgeo, insee, code_commune, depcom) et "
            "« nom CPTS » (ou cpts, périmètre, nom), éventuellement « statut » et « date ». "
            "Vous pouvez aussi indiquer vous-même les colonnes à utiliser."
        )
    width = max(len(r) for r in rows)
    header = [str(v).strip() if v is not None else "" for v in rows[best]]
    header += [""] * (width - len(header))
    seen: Counter[str] = Counter()
    names = []
    for i, h in enumerate(header):
        name = h or f"colonne {i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    body = [list(r) + [None] * (width - len(r)) for r in rows[best + 1 :]]
    frame = (
        pd.DataFrame(body, columns=names, dtype=object)
        if body
        else pd.DataFrame(columns=names, dtype=object)
    )
    row_numbers = np.arange(best + 2, best + 2 + len(body))
    return RawTable(frame=frame, row_numbers=row_numbers, header_row=best + 1, info=info)


def _parse_csv(text: str, sep: str) -> list[list[Any]]:
    """Rows of cells (None for empty cells); blank lines are kept for row numbering."""
    width = max((len(r) for r in csv.reader(io.StringIO(text[:200_000]), delimiter=sep)), default=1)
    try:
        # pandas' C parser is several times faster than the csv module on large files.
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            names=list(range(width)),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
            quotechar='"',
        )
    except (pd.errors.ParserError, ValueError):
        frame = None
    if frame is not None and len(frame) == text.count("\n") + (
        not text.endswith("\n")
    ) - _quoted_newlines(text):
        stripped = frame.apply(lambda c: c.str.strip())
        return stripped.where(stripped != "", None).to_numpy(dtype=object).tolist()
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    return [[c if c.strip() else None for c in r] for r in rows]


def _quoted_newlines(text: str) -> int:
    return sum(part.count("\n") for part in text.split('"')[1::2])


def _read_csv(data: bytes, *, wanted: Sequence[str] = ()) -> RawTable:
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise PerimeterFileError(
            "Le fichier n'est pas un texte lisible (données binaires) : attendu "
            + EXPECTED_FORMATS_FR
            + "."
        )
    sep = detect_separator(text)
    rows = _parse_csv(text, sep)
    return _rows_to_table(
        rows,
        info={"format": "csv", "encoding": encoding, "separator": _SEPARATOR_NAMES[sep]},
        wanted=wanted,
    )


def _read_excel(data: bytes, *, sheet: str | int | None, wanted: Sequence[str] = ()) -> RawTable:
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine raises its own error types
        raise PerimeterFileError(
            f"Classeur illisible ({type(exc).__name__}: {exc}). Attendu : un classeur Excel "
            "(.xlsx, .xls) ou OpenDocument (.ods) non protégé par mot de passe."
        ) from exc
    if not sheets:
        raise PerimeterFileError("Le classeur ne contient aucune feuille.")
    names = list(sheets)
    if sheet is not None:
        chosen = names[sheet] if isinstance(sheet, int) and sheet < len(names) else sheet
        if chosen not in sheets:
            raise PerimeterFileError(
                f"Feuille {sheet!r} introuvable. Feuilles du classeur : " + ", ".join(names)
            )
        candidates = [str(chosen)]
    else:
        candidates = names

    def score(name: str) -> int:
        frame = sheets[name]
        head = frame.head(30).to_numpy(dtype=object).tolist()
        return max((_header_score(r, wanted) for r in head), default=0)

    best = max(candidates, key=score)
    frame = sheets[best]
    rows = [
        [None if (isinstance(v, float) and np.isnan(v)) else v for v in r]
        for r in frame.to_numpy(dtype=object).tolist()
    ]
    return _rows_to_table(
        rows, info={"format": "excel", "sheet": str(best), "sheets": names}, wanted=wanted
    )


def read_table(
    data: bytes,
    *,
    file_format: FileFormat,
    sheet: str | int | None = None,
    wanted: Sequence[str] = (),
) -> RawTable:
    """Read a CSV or spreadsheet into a :class:`RawTable`.

    ``wanted`` are column names given by the user: the header is the row that
    holds them all.
    """
    if file_format == "csv":
        return _read_csv(data, wanted=wanted)
    return _read_excel(data, sheet=sheet, wanted=wanted)


# --------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------

_LAMBERT93_BOUNDS = (50_000.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)


@dataclass
class PolygonLayer:
    """Polygons read from a file, in WGS84, with what was detected."""

    frame: gpd.GeoDataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _guess_crs(frame: gpd.GeoDataFrame) -> tuple[str, str]:
    minx, miny, maxx, maxy = frame.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return "EPSG:4326", "coordonnées en degrés : WGS84 (EPSG:4326) supposé"
    lx0, ly0, lx1, ly1 = _LAMBERT93_BOUNDS
    if lx0 <= minx <= maxx <= lx1 and ly0 <= miny <= maxy <= ly1:
        return "EPSG:2154", "coordonnées en mètres compatibles avec Lambert-93 (EPSG:2154) supposé"
    raise PerimeterFileError(
        "Système de coordonnées absent (pas de fichier .prj) et impossible à deviner : "
        f"étendue {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f} ni en degrés WGS84 ni en "
        "Lambert-93. Ajoutez le fichier .prj ou exportez en GeoJSON (WGS84)."
    )


def read_polygons(
    data: bytes, *, file_format: FileFormat, layer: str | None = None
) -> PolygonLayer:
    """Read polygons from GeoJSON, GeoPackage or a zipped Shapefile, reprojected to WGS84."""
    info: dict[str, Any] = {"format": file_format}
    with tempfile.TemporaryDirectory() as tmp:
        if file_format == "shapefile-zip":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    names = zf.namelist()
                    shps = [n for n in names if n.lower().endswith(".shp")]
                    if not shps:
                        raise PerimeterFileError(
                            "L'archive zip ne contient pas de fichier .shp : attendu un "
                            "Shapefile zippé (.shp, .shx, .dbf et de préférence .prj)."
                        )
                    zf.extractall(tmp)
            except zipfile.BadZipFile as exc:
                raise PerimeterFileError(f"Archive zip illisible : {exc}.") from exc
            shp = Path(tmp) / shps[0]
            stem = shp.with_suffix("")
            missing = [ext for ext in (".shx", ".dbf") if not _sibling(stem, ext).exists()]
            if missing:
                raise PerimeterFileError(
                    f"Shapefile incomplet : {', '.join(missing)} absent de l'archive."
                )
            has_prj = _sibling(stem, ".prj").exists()
            info["prj"] = has_prj
            path = shp
        else:
            suffix = ".gpkg" if file_format == "gpkg" else ".geojson"
            path = Path(tmp) / f"input{suffix}"
            path.write_bytes(data)
            has_prj = True
        try:
            layers = pyogrio.list_layers(path)
            if file_format == "gpkg":
                polygon_layers = [str(n) for n, t in layers if t and "Polygon" in str(t)]
                info["layers"] = [str(n) for n, _ in layers]
                if layer is None:
                    if not polygon_layers:
                        raise PerimeterFileError(
                            "Le GeoPackage ne contient aucune couche de polygones. Couches : "
                            + ", ".join(info["layers"])
                        )
                    layer = polygon_layers[0]
                info["layer"] = layer
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        except PerimeterFileError:
            raise
        except Exception as exc:
            raise PerimeterFileError(
                f"Couche géographique illisible ({type(exc).__name__}: {exc}). Attendu : "
                + EXPECTED_FORMATS_FR
                + "."
            ) from exc
    if frame.empty:
        raise PerimeterFileError("La couche géographique ne contient aucun objet.")
    frame, fixed = _repair_mojibake(frame)
    if fixed:
        info["encoding_repaired"] = fixed
    if frame.crs is None or not has_prj:
        crs, note = _guess_crs(frame)
        frame = frame.set_crs(crs, allow_override=True)
        info["crs_guessed"] = note
    info["crs"] = frame.crs.to_string() if frame.crs is not None else None
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return PolygonLayer(frame=frame, info=info)


_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")


def _repair_mojibake(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Re-decode text attributes that were UTF-8 read as Latin-1 (Shapefile without .cpg)."""
    fixed = []
    out = frame
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        values = frame[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        texts = [v for v in values.tolist() if isinstance(v, str)]
        if not any(_MOJIBAKE.search(v) for v in texts):
            continue
        try:
            repaired = {v: v.encode("latin-1").decode("utf-8") for v in texts}
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if out is frame:
            out = frame.copy()
        out[col] = values.map(lambda v, r=repaired: r.get(v, v) if isinstance(v, str) else v)
        fixed.append(str(col))
    return out, fixed


def _sibling(stem: Path, ext: str) -> Path:
    for candidate in (stem.with_suffix(ext), stem.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return stem.with_suffix(ext)


_LIST_SEPARATORS = re.compile(r"[,;|\n\r\t]+")


def split_list_cell(value: object) -> list[str]:
    """Split a cell listing several communes, by codes or by names.

    Pieces are separated by ``,`` ``;`` ``|`` or new lines; a piece made only
    of code-like tokens separated by spaces is split on spaces too (names
    keep their spaces).

    Examples
    --------
    >>> split_list_cell("13001, 13002;13003")
    ['13001', '13002', '13003']
    >>> split_list_cell("13001 13002 13003")
    ['13001', '13002', '13003']
    >>> split_list_cell("Aix-en-Provence; Saint Rémy de Provence")
    ['Aix-en-Provence', 'Saint Rémy de Provence']
    """
    if value is None:
        return []
    if isinstance(value, float):
        if np.isnan(value):
            return []
        return [str(int(value))] if value.is_integer() else [str(value)]
    if isinstance(value, int):
        return [str(value)]
    out: list[str] = []
    for raw_piece in _LIST_SEPARATORS.split(str(value)):
        piece = raw_piece.strip()
        if not piece:
            continue
        tokens = piece.split()
        if len(tokens) > 1 and all(looks_like_code(clean_code_token(t)) for t in tokens):
            out.extend(tokens)
        else:
            out.append(piece)
    return out
