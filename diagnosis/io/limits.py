"""Limits on what a user's file may contain, and their French wording.

One place for the numbers: the readers, the archive extractor, the command
line and the dashboard check them, and the README states them. Beyond a
limit, a clear French refusal (:class:`~diagnosis.errors.PerimeterFileError`)
rather than a crash, a hang or a process of several gigabytes.

Sizes are counted the way file explorers count them: 1 Mo = 1,048,576
octets (MiB), so that a file shown as "49 Mo" is accepted under a 50 Mo limit.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from diagnosis.core.numbers import fr_number
from diagnosis.errors import PerimeterFileError

__all__ = [
    "EXCEL_MAX_CELL_CHARS",
    "EXCEL_MAX_ROWS",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_ARCHIVE_RATIO",
    "MAX_ARCHIVE_UNCOMPRESSED_MB",
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_POLYGONS",
    "MAX_ROWS",
    "MAX_UPLOAD_MB",
    "MAX_VERTICES",
    "MIB",
    "check_cells",
    "check_input_path",
    "check_upload_size",
    "format_mb",
    "gc_paused",
    "limits_fr",
]

#: One "Mo" as users count it (mebibyte).
MIB = 1024 * 1024

#: Largest file accepted (Mo as file explorers show them).
MAX_UPLOAD_MB = 50
#: Largest number of data rows of a table.
MAX_ROWS = 500_000
#: Largest number of columns of a table.
MAX_COLUMNS = 200
#: Largest number of cells (rows × columns) of a table.
MAX_CELLS = 10_000_000
#: Longest cell, in characters (a list of every commune of a region fits).
MAX_CELL_CHARS = 1_000_000
#: Largest number of polygon features (perimeters) of a layer.
MAX_POLYGONS = 10_000
#: Largest number of polygon vertices of a layer.
MAX_VERTICES = 20_000_000
#: Largest number of members of a zip archive.
MAX_ARCHIVE_MEMBERS = 50
#: Largest total uncompressed size of an archive (Mo).
MAX_ARCHIVE_UNCOMPRESSED_MB = 500
#: Largest compression ratio of an archive member (uncompressed / compressed).
MAX_ARCHIVE_RATIO = 200
#: Rows of an Excel worksheet, header included (Excel's own limit).
EXCEL_MAX_ROWS = 1_048_576
#: Characters of an Excel cell (Excel's own limit).
EXCEL_MAX_CELL_CHARS = 32_767


def format_mb(n_bytes: int) -> str:
    """A size in Mo (MiB) written the French way, e.g. ``'49,2 Mo'``."""
    return f"{fr_number(n_bytes / MIB, 1)} Mo"


def check_upload_size(n_bytes: int) -> None:
    """Refuse a file larger than :data:`MAX_UPLOAD_MB` (in Mo as users count them)."""
    if n_bytes > MAX_UPLOAD_MB * MIB:
        raise PerimeterFileError(
            f"Fichier trop volumineux : {format_mb(n_bytes)}, la limite est de "
            f"{MAX_UPLOAD_MB} Mo. Attendu : un fichier de périmètres de moins de "
            f"{MAX_UPLOAD_MB} Mo (une liste nationale en fait quelques-uns) ; découpez-le "
            "par région ou compressez le Shapefile en zip."
        )


def check_cells(n_rows: int, n_columns: int) -> None:
    """Refuse a table beyond :data:`MAX_ROWS`, :data:`MAX_COLUMNS` or :data:`MAX_CELLS`."""
    if n_rows > MAX_ROWS:
        raise PerimeterFileError(
            f"Tableau trop grand : {fr_number(n_rows)} lignes, la limite est de "
            f"{fr_number(MAX_ROWS)} lignes. Attendu : une ligne par commune et par périmètre "
            "(une liste nationale en compte moins de 100 000) ; découpez le fichier par région."
        )
    if n_columns > MAX_COLUMNS:
        raise PerimeterFileError(
            f"Tableau trop large : {fr_number(n_columns)} colonnes, la limite est de "
            f"{fr_number(MAX_COLUMNS)}. Attendu : quelques colonnes (code INSEE, nom du "
            "périmètre, statut…) ; vérifiez le séparateur de colonnes."
        )
    if n_rows * n_columns > MAX_CELLS:
        raise PerimeterFileError(
            f"Tableau trop grand : {fr_number(n_rows * n_columns)} cellules, la limite est de "
            f"{fr_number(MAX_CELLS)}. Gardez les colonnes utiles ou découpez le fichier "
            "par région."
        )


def limits_fr() -> list[str]:
    """The limits, one French sentence each (README, dashboard, ``--help``)."""
    return [
        f"taille du fichier : {MAX_UPLOAD_MB} Mo au plus (1 Mo = 1 048 576 octets, comme "
        "l'affiche l'explorateur de fichiers)",
        f"tableaux : {fr_number(MAX_ROWS)} lignes, {fr_number(MAX_COLUMNS)} colonnes et "
        f"{fr_number(MAX_CELLS)} cellules au plus, "
        f"{fr_number(MAX_CELL_CHARS)} caractères par cellule",
        f"polygones : {fr_number(MAX_POLYGONS)} objets et "
        f"{fr_number(MAX_VERTICES)} sommets au plus",
        f"archives zip : {MAX_ARCHIVE_MEMBERS} fichiers, {MAX_ARCHIVE_UNCOMPRESSED_MB} Mo "
        f"décompressés et un taux de compression de {MAX_ARCHIVE_RATIO} au plus ; ni dossier "
        "parent, ni chemin absolu, ni lien, ni archive imbriquée",
        f"exports Excel : {fr_number(EXCEL_MAX_ROWS - 1)} lignes par feuille (limite d'Excel) ; "
        "au-delà, la feuille est remplacée par un renvoi au fichier CSV ; une cellule de "
        f"plus de {fr_number(EXCEL_MAX_CELL_CHARS)} caractères est tronquée (texte complet "
        "dans le CSV)",
    ]


def check_input_path(path: Path) -> None:
    """Refuse, before reading, a path that is missing, a folder, special or too large.

    Messages name the file (its last component), never the folder it is in.
    """
    name = path.name or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise PerimeterFileError(
            f"Fichier introuvable : « {name} ». Attendu : le chemin d'un fichier de périmètres "
            "existant."
        ) from None
    except OSError as exc:
        raise PerimeterFileError(
            f"Fichier inaccessible : « {name} » (droits insuffisants ou disque indisponible).",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise PerimeterFileError(
            f"« {name} » est un dossier, pas un fichier. Attendu : le chemin d'un fichier de "
            "périmètres (.csv, .xlsx, .ods, .geojson, .gpkg ou .zip)."
        )
    if not stat.S_ISREG(info.st_mode):
        raise PerimeterFileError(
            f"« {name} » n'est pas un fichier ordinaire (périphérique, tube ou flux sans fin). "
            "Attendu : un fichier de périmètres enregistré sur le disque."
        )
    if not os.access(path, os.R_OK):
        raise PerimeterFileError(
            f"Fichier illisible : « {name} » (droits de lecture insuffisants)."
        )
    check_upload_size(info.st_size)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building millions of small lists.

    Reading 500,000 rows allocates millions of lists and strings and no cycles;
    the collector would scan them again and again (a 2-3x slow-down). Reference
    counting still frees everything; the collector is resumed on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
