"""Reading users' files: tables (CSV, XLSX, ODS) and polygon layers.

Encodings (UTF-8, UTF-8 with BOM, UTF-16, Windows-1252/Latin-1), separators
(``,`` ``;`` tab ``|``), header rows that are not the first row, and sheets are
detected; what was detected is returned so that the import report can say it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import python_calamine
import shapely

from diagnosis.archives import check_workbook, extract_shapefile
from diagnosis.errors import PerimeterFileError
from diagnosis.limits import (
    MAX_CELL_CHARS,
    MAX_POLYGONS,
    MAX_ROWS,
    MAX_UPLOAD_MB,
    MAX_VERTICES,
    MIB,
    check_cells,
    check_upload_size,
    format_count,
)
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


logger = logging.getLogger(__name__)

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
    """Decode bytes of a text file; returns (text, encoding name).

    Byte-order marks (UTF-8, UTF-16, UTF-32) win; UTF-16 without a mark is
    recognised by its zero bytes; then strict UTF-8, then Windows-1252, then
    Latin-1 (which decodes anything).
    """
    text, encoding, _ = _decode(data)
    return text, encoding


_UTF16_REFUSAL = (
    "Le fichier annonce un encodage UTF-16 mais son contenu est tronqué ou abîmé : "
    "attendu un texte UTF-8, UTF-16 ou Windows-1252 complet (réenregistrez-le en « CSV UTF-8 »)."
)


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.3 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def _decode(data: bytes) -> tuple[str, str, list[int]]:
    """(text, encoding label, 1-based lines decoded as Windows-1252 in a UTF-8 file)."""
    boms = (
        (b"\xef\xbb\xbf", "utf-8", "UTF-8 avec BOM"),
        (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
        (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
        (b"\xff\xfe", "utf-16-le", "UTF-16"),
        (b"\xfe\xff", "utf-16-be", "UTF-16"),
    )
    for bom, codec, label in boms:
        if data.startswith(bom):
            body = data[len(bom) :]
            if codec == "utf-8":
                try:
                    return body.decode("utf-8"), label, []
                except UnicodeDecodeError:
                    text, lines = _decode_mixed(body)
                    return text, label, lines
            try:
                return body.decode(codec), label, []
            except UnicodeDecodeError as exc:
                raise PerimeterFileError(_UTF16_REFUSAL, detail=str(exc)) from exc
    codec16 = _utf16_without_bom(data)
    if codec16 is not None:
        try:
            return data.decode(codec16), "UTF-16 (sans BOM)", []
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: binary, refused by the caller
    try:
        return data.decode("utf-8"), "UTF-8", []
    except UnicodeDecodeError:
        pass
    text, lines = _decode_mixed(data)
    if lines and not text.isascii() and _has_utf8_lines(data):
        return text, "UTF-8 et Windows-1252 mélangés", lines
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)", []
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1)", []


def _has_utf8_lines(data: bytes) -> bool:
    for line in data.splitlines():
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


def _decode_mixed(data: bytes) -> tuple[str, list[int]]:
    """Decode line by line: UTF-8 when valid, else Windows-1252 (listed)."""
    out, legacy = [], []
    for number, line in enumerate(_normalise_line_ends_bytes(data).split(b"\n"), start=1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="replace"))
            legacy.append(number)
    return "\n".join(out), legacy


def _normalise_line_ends_bytes(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def normalise_line_ends(text: str) -> str:
    """CRLF, bare CR (classic Mac) and LF all become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


_SEPARATORS = (";", ",", "\t", "|")
_SEPARATOR_NAMES = {
    ";": "point-virgule",
    ",": "virgule",
    "\t": "tabulation",
    "|": "barre verticale",
}


def detect_separator(text: str, *, wanted: Sequence[str] = ()) -> str:
    """The field separator under which the first lines read best.

    Each candidate reads the first 60 lines as the reader would (quoted cells,
    even over several lines, and unbalanced quotes included). The best has,
    in this order: the best recognised header row (the columns a perimeter
    file has, or the ``wanted`` ones), the most records of the most common
    width, the first line split, the widest records. Records left in one cell
    (notes, junk) say nothing.
    """
    sample = "\n".join(normalise_line_ends(text[:200_000]).split("\n")[:60])
    best, best_score = ";", (0, 0, 0, 0)
    for sep in _SEPARATORS:
        rows, _, _ = _split_records(sample, sep)
        counts = Counter(len(r) for r in rows if len(r) >= 2)
        if not counts:
            continue
        modal, freq = counts.most_common(1)[0]
        header = max((_header_score(r, wanted) for r in rows[:30]), default=0)
        first = next((r for r in rows if any(c is not None for c in r)), [])
        score = (header, freq, int(len(first) >= 2), modal)
        if score > best_score:
            best, best_score = sep, score
    return best


def _rows_to_table(
    rows: list[list[Any]],
    *,
    info: dict[str, Any],
    wanted: Sequence[str] = (),
    line_numbers: Sequence[int] | None = None,
) -> RawTable:
    if not any(any(v is not None and str(v).strip() for v in r) for r in rows):
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
    check_cells(len(rows) - best - 1, width)
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
    if line_numbers is None:
        row_numbers = np.arange(best + 2, best + 2 + len(body))
        header_row = best + 1
    else:
        row_numbers = np.asarray(line_numbers[best + 1 :], dtype=np.int64)
        header_row = int(line_numbers[best])
    return RawTable(frame=frame, row_numbers=row_numbers, header_row=header_row, info=info)


#: A quoted cell may span this many lines at most; beyond, its opening quote is unbalanced.
MAX_QUOTED_LINES = 20

# The csv module's own limit (131,072 characters) would raise on a long list cell:
# cells are measured against MAX_CELL_CHARS below instead, with their row.
csv.field_size_limit(max(csv.field_size_limit(), MAX_UPLOAD_MB * MIB + 1))


def _ends_in_quotes(line: str, *, inside: bool, sep: str) -> bool:
    """Whether a line ends inside a quoted cell, starting inside one or not."""
    if '"' not in line:
        return inside
    at_cell_start = not inside
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if inside:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 1  # escaped quote
                else:
                    inside = False
        elif ch == '"' and at_cell_start:
            inside = True
        at_cell_start = ch == sep
        i += 1
    return inside


def _complete_line(sep: str) -> re.Pattern[str]:
    """A line of well-formed cells (quoted, or unquoted not opening with a quote)."""
    s = re.escape(sep)
    cell = f'(?:"(?:[^"]|"")*"|[^"{s}][^{s}]*|)'
    return re.compile(f"{cell}(?:{s}{cell})*")


def _strip_quotes(cell: str) -> str:
    return cell.strip().strip('"').replace('""', '"')


def _split_records(text: str, sep: str) -> tuple[list[list[Any]], list[int], list[dict[str, Any]]]:
    """Rows of cells (None for empty cells), their first line, and reading events.

    A quoted cell may hold line breaks; a quote still open after
    :data:`MAX_QUOTED_LINES` lines or at the end of the file, or a multi-line
    cell holding the separator (it swallowed whole rows), is unbalanced: that
    line is read alone, its quotes ignored, an event names it, and the next
    lines are read normally.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: list[str] = []
    starts: list[int] = []
    literal: dict[int, str] = {}  # record index -> line read with quotes ignored
    events: list[dict[str, Any]] = []
    complete = _complete_line(sep)
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if (
            '"' not in line
            or complete.fullmatch(line)
            or not _ends_in_quotes(line, inside=False, sep=sep)
        ):
            records.append(line)
            starts.append(i + 1)
            i += 1
            continue
        j, inside, ok = i, True, False
        while j + 1 < n and j - i < MAX_QUOTED_LINES:
            j += 1
            inside = _ends_in_quotes(lines[j], inside=True, sep=sep)
            if not inside:
                ok = True
                break
        if ok:
            # A real multi-line cell is a note or an address; one holding the separator
            # swallowed whole rows after an unbalanced quote.
            candidate = next(csv.reader(["\n".join(lines[i : j + 1])], delimiter=sep), [])
            ok = not any("\n" in cell and sep in cell for cell in candidate)
        if ok:
            records.append("\n".join(lines[i : j + 1]))
            starts.append(i + 1)
            events.append(
                {
                    "kind": "multiline_cell",
                    "row": i + 1,
                    "message": (
                        f"Ligne {i + 1} : une cellule entre guillemets s'étend sur les lignes "
                        f"{i + 1} à {j + 1} du fichier (retour à la ligne dans la cellule) ; "
                        "elles forment une seule ligne du tableau."
                    ),
                }
            )
            i = j + 1
            continue
        literal[len(records)] = line
        records.append(line)
        starts.append(i + 1)
        events.append(
            {
                "kind": "unbalanced_quote",
                "row": i + 1,
                "message": (
                    f"Guillemet ouvert en ligne {i + 1} et jamais refermé : la ligne a été lue "
                    "seule, guillemets ignorés, et les lignes suivantes normalement. "
                    "Vérifiez le nom ou le code de cette ligne."
                ),
            }
        )
        i += 1
    # One record per element; unbalanced lines are parsed apart (an empty line stands in).
    bulk = [("" if k in literal else r) for k, r in enumerate(records)] if literal else records
    parsed_rows = list(csv.reader(bulk, delimiter=sep))
    for index, line in literal.items():
        parsed_rows[index] = [_strip_quotes(c) for c in line.split(sep)]
    rows: list[list[Any]] = []
    for number, (record, cells) in enumerate(zip(records, parsed_rows, strict=True)):
        if len(record) > MAX_CELL_CHARS:
            longest = max((len(c) for c in cells), default=0)
            if longest > MAX_CELL_CHARS:
                raise PerimeterFileError(
                    f"Cellule trop longue en ligne {starts[number]} : {format_count(longest)} "
                    f"caractères, la limite est de {format_count(MAX_CELL_CHARS)}. Attendu : un "
                    "code ou une liste de codes de communes par cellule ; vérifiez les "
                    "guillemets de cette ligne."
                )
        rows.append([c.strip() or None for c in cells])
    return rows, starts, events


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    sample = text[:100_000]
    if not sample:
        return False
    odd = sum(
        1
        for ch in sample
        if (ord(ch) < 32 and ch not in "\t\n\r\x0c") or 0x7F <= ord(ch) < 0xA0 or ch == "\ufffd"
    )
    return odd / len(sample) > 0.01


def _read_csv(data: bytes, *, wanted: Sequence[str] = ()) -> RawTable:
    text, encoding, legacy_lines = _decode(data)
    if _looks_binary(text):
        raise PerimeterFileError(
            "Le fichier n'est pas un texte lisible (données binaires) : attendu "
            + EXPECTED_FORMATS_FR
            + "."
        )
    text = normalise_line_ends(text)
    head = text[:2000].lstrip().lower()
    if head.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body")):
        raise PerimeterFileError(
            "Le fichier est une page web ou un document XML, pas un tableau CSV : attendu "
            + EXPECTED_FORMATS_FR
            + ". Si vous l'avez téléchargé, vérifiez que le lien menait bien au fichier."
        )
    n_lines = text.count("\n")
    if n_lines > MAX_ROWS + 1000:
        check_cells(n_lines, 1)
    sep = detect_separator(text, wanted=wanted)
    rows, starts, events = _split_records(text, sep)
    if legacy_lines:
        events.append(
            {
                "kind": "mixed_encoding",
                "row": None,
                "message": (
                    "Encodages mélangés : la plupart des lignes sont en UTF-8 mais "
                    f"{len(legacy_lines)} ligne(s) en Windows-1252 (lignes "
                    + _short_numbers(legacy_lines)
                    + ") ; elles ont été décodées une à une. Vérifiez les accents de ces "
                    "lignes et réenregistrez le fichier en « CSV UTF-8 »."
                ),
                "rows": legacy_lines,
            }
        )
    return _rows_to_table(
        rows,
        info={
            "format": "csv",
            "encoding": encoding,
            "separator": _SEPARATOR_NAMES[sep],
            "read_events": events,
        },
        wanted=wanted,
        line_numbers=starts,
    )


def _short_numbers(values: Sequence[int], limit: int = 12) -> str:
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f"… ({len(values)} au total)" if len(values) > limit else "")


#: Workbooks larger than this once uncompressed get their sheets measured before reading.
_WORKBOOK_CHECKED_MB = 20


def _check_workbook_cells(data: bytes) -> None:
    """Refuse a workbook whose sheets hold too many cells, before turning them into Python."""
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            check_cells(sheet.total_height, sheet.total_width)
    except PerimeterFileError:
        raise
    except Exception as exc:  # calamine's own errors: the reader below refuses the file
        logger.info("workbook not measured: %s", exc)


def _read_excel(data: bytes, *, sheet: str | int | None, wanted: Sequence[str] = ()) -> RawTable:
    if check_workbook(data) > _WORKBOOK_CHECKED_MB * MIB:
        _check_workbook_cells(data)
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine raises its own error types
        raise PerimeterFileError(
            "Classeur illisible (fichier abîmé, protégé ou d'un autre format). Attendu : un "
            "classeur Excel (.xlsx, .xls) ou OpenDocument (.ods) non protégé par mot de passe.",
            detail=f"{type(exc).__name__}: {exc}",
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
    check_upload_size(len(data))
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


def _in_degrees(bounds: Sequence[float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def _guess_crs(frame: gpd.GeoDataFrame, *, why: str) -> tuple[str, str]:
    minx, miny, maxx, maxy = frame.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise PerimeterFileError(
            "La couche géographique ne contient aucune géométrie utilisable (toutes vides) : "
            "attendu des polygones de périmètres."
        )
    if _in_degrees((minx, miny, maxx, maxy)):
        return "EPSG:4326", "coordonnées en degrés : WGS84 (EPSG:4326) supposé"
    lx0, ly0, lx1, ly1 = _LAMBERT93_BOUNDS
    if lx0 <= minx <= maxx <= lx1 and ly0 <= miny <= maxy <= ly1:
        return "EPSG:2154", "coordonnées en mètres compatibles avec Lambert-93 (EPSG:2154) supposé"
    raise PerimeterFileError(
        f"Système de coordonnées {why} et impossible à deviner : "
        f"étendue {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f} ni en degrés WGS84 ni en "
        "Lambert-93. Attendu : des coordonnées en longitude/latitude (WGS84) ou en "
        "Lambert-93 ; ajoutez le fichier .prj ou exportez en GeoJSON WGS84."
    )


_LAYER_REFUSAL = (
    "Couche géographique illisible (fichier abîmé ou d'un autre format). Attendu : "
    + EXPECTED_FORMATS_FR
    + "."
)


@contextlib.contextmanager
def _gdal_warnings_logged() -> Iterator[None]:
    """GDAL's warnings (English, with the temporary path) go to the log, not to the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        logger.info("GDAL: %s", warning.message)


def _check_layer_size(path: Path, layer: str | None) -> None:
    try:
        with _gdal_warnings_logged():
            n_features = int(pyogrio.read_info(path, layer=layer).get("features", 0))
    except Exception as exc:  # GDAL raises its own error types
        raise PerimeterFileError(_LAYER_REFUSAL, detail=f"{type(exc).__name__}: {exc}") from exc
    if n_features > MAX_POLYGONS:
        raise PerimeterFileError(
            f"Couche trop grande : {format_count(n_features)} objets, la limite est de "
            f"{format_count(MAX_POLYGONS)} périmètres. Attendu : un polygone (ou multipolygone) "
            "par périmètre ; découpez la couche par région."
        )


def _check_vertices(n_vertices: int) -> None:
    if n_vertices > MAX_VERTICES:
        raise PerimeterFileError(
            f"Couche trop détaillée : {format_count(n_vertices)} sommets, la limite est de "
            f"{format_count(MAX_VERTICES)}. Simplifiez les contours (tolérance de quelques "
            "mètres) avant l'import."
        )


def read_polygons(
    data: bytes, *, file_format: FileFormat, layer: str | None = None
) -> PolygonLayer:
    """Read polygons from GeoJSON, GeoPackage or a zipped Shapefile, reprojected to WGS84.

    A zipped Shapefile is checked before extraction (see :mod:`diagnosis.archives`);
    every file is read inside a private temporary folder. A missing ``.prj``,
    or coordinates out of the longitude/latitude range in a layer said to be
    in degrees (GeoJSON without ``crs``), get their CRS guessed and reported.
    """
    check_upload_size(len(data))
    info: dict[str, Any] = {"format": file_format}
    with tempfile.TemporaryDirectory(prefix="atlas-cpts-") as tmp:
        if file_format == "shapefile-zip":
            members = extract_shapefile(data, Path(tmp))
            # 16 bytes per vertex in a .shp: too detailed a layer is refused before reading.
            _check_vertices(members.shp.stat().st_size // 16)
            has_prj = ".prj" in members.parts
            info["prj"] = has_prj
            path = members.shp
        else:
            suffix = ".gpkg" if file_format == "gpkg" else ".geojson"
            path = Path(tmp) / f"input{suffix}"
            path.write_bytes(data)
            has_prj = True
        try:
            with _gdal_warnings_logged():
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
                elif layer not in info["layers"]:
                    raise PerimeterFileError(
                        f"Couche « {layer} » introuvable. Couches du GeoPackage : "
                        + ", ".join(info["layers"])
                    )
                info["layer"] = layer
            _check_layer_size(path, layer)
            with _gdal_warnings_logged():
                frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        except PerimeterFileError:
            raise
        except Exception as exc:  # GDAL raises its own error types
            raise PerimeterFileError(_LAYER_REFUSAL, detail=f"{type(exc).__name__}: {exc}") from exc
    if frame.empty:
        raise PerimeterFileError(
            "La couche géographique ne contient aucun objet : attendu un polygone par périmètre."
        )
    _check_vertices(int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum()))
    frame, fixed = _repair_mojibake(frame)
    if fixed:
        info["encoding_repaired"] = fixed
    if frame.crs is None or not has_prj:
        crs, note = _guess_crs(frame, why="absent (pas de fichier .prj)")
        frame = frame.set_crs(crs, allow_override=True)
        info["crs_guessed"] = "Pas de fichier .prj : " + note
    elif frame.crs.is_geographic and not _in_degrees(frame.total_bounds):
        crs, note = _guess_crs(
            frame, why="annoncé en degrés (WGS84) mais coordonnées hors des degrés"
        )
        frame = frame.set_crs(crs, allow_override=True)
        info["crs_guessed"] = (
            "Coordonnées hors des longitudes/latitudes alors que le fichier ne déclare pas "
            "d'autre système : " + note
        )
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


_LIST_SEPARATORS = re.compile(r"[,;|\n\r\t]+")
#: A code followed by one or two decimals ("13004,5"): a number, never a list of codes.
_DECIMAL_NUMBER = re.compile(r"^\s*\d{4,5}[,.]\d{1,2}\s*$")


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
    if _DECIMAL_NUMBER.match(str(value)):
        return [str(value).strip()]  # a number with a decimal comma, not a list (reported later)
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
