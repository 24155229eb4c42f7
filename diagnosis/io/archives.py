"""Zip archives from users: checked before anything is extracted.

An uploaded zip is untrusted. Its members are listed and checked first
(count, total uncompressed size, compression ratio, names, kinds); only the
members of the one Shapefile are then copied, by their base name, under
fixed names inside a private temporary folder, while counting the bytes
actually written (a lying header cannot write more than it declared).
Nothing outside the archive is ever looked at, so no message can tell
whether a file exists on the server.
"""

from __future__ import annotations

import io
import logging
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from diagnosis.errors import PerimeterFileError
from diagnosis.io.limits import (
    MAX_ARCHIVE_MEMBERS,
    MAX_ARCHIVE_RATIO,
    MAX_ARCHIVE_UNCOMPRESSED_MB,
    MIB,
)

__all__ = ["ShapefileMembers", "check_archive", "check_workbook", "extract_shapefile"]

logger = logging.getLogger(__name__)

#: Extensions of a Shapefile's parts copied out of the archive.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_REQUIRED = (".shx", ".dbf")
_CHUNK = 1 << 20
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".gz", ".rar", ".tar", ".bz2", ".xz")
#: Below this size a member's compression ratio is not checked (tiny files compress well).
_RATIO_MIN_BYTES = 1 * MIB
_DRIVE = re.compile(r"^[A-Za-z]:")

EXPECTED_SHAPEFILE_FR = (
    "un Shapefile zippé : les fichiers .shp, .shx, .dbf (et de préférence .prj) "
    "d'une seule couche, à la racine de l'archive ou dans un dossier"
)


@dataclass
class ShapefileMembers:
    """What was extracted: the ``.shp`` path and the parts found."""

    shp: Path
    parts: list[str] = field(default_factory=list)
    member: str = ""  # the .shp member's name inside the archive (for the report)


def _refuse(reason: str, *, detail: str | None = None) -> PerimeterFileError:
    return PerimeterFileError(
        f"Archive zip refusée : {reason}. Attendu : {EXPECTED_SHAPEFILE_FR}.", detail=detail
    )


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise PerimeterFileError(
            "Archive zip illisible (fichier abîmé ou pas une archive zip). Attendu : "
            + EXPECTED_SHAPEFILE_FR
            + ".",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc


def _unsafe_name(name: str) -> str | None:
    """Why a member name is refused, or None."""
    if "\x00" in name:
        return "un nom de fichier contient un caractère nul"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        return "un fichier y est désigné par un chemin absolu"
    if ".." in PurePosixPath(normalised).parts:
        return "un fichier y est désigné par un chemin vers un dossier parent (« .. »)"
    return None


def _kind_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member's kind is refused (link, device...), or None."""
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # made on Unix: the mode is meaningful
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            return "elle contient un lien symbolique"
        if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "elle contient un fichier spécial (périphérique, tube ou socket)"
    if info.flag_bits & 0x1:
        return "elle est protégée par un mot de passe"
    return None


def check_archive(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Check every member before extraction; return the regular files.

    Raises
    ------
    PerimeterFileError
        Too many members, too large once uncompressed, suspicious compression
        ratio, absolute or parent paths, links, devices, encrypted members or
        an archive inside the archive.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise _refuse(
            f"elle contient {len(infos)} fichiers, la limite est de {MAX_ARCHIVE_MEMBERS}"
        )
    total = 0
    files = []
    for info in infos:
        reason = _unsafe_name(info.filename) or _kind_problem(info)
        if reason:
            raise _refuse(reason, detail=f"member {info.filename!r}")
        if info.is_dir():
            continue
        total += info.file_size
        if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_ARCHIVE_RATIO * max(
            info.compress_size, 1
        ):
            raise _refuse(
                "un fichier y est compressé de façon anormale (plus de "
                f"{MAX_ARCHIVE_RATIO} fois), signe d'une « bombe zip »",
                detail=f"member {info.filename!r} {info.file_size}/{info.compress_size}",
            )
        if _base(info).suffix.lower() in _ARCHIVE_SUFFIXES:
            raise _refuse("elle contient une autre archive ; décompressez-la d'abord")
        files.append(info)
    if total > MAX_ARCHIVE_UNCOMPRESSED_MB * MIB:
        raise _refuse(f"elle fait plus de {MAX_ARCHIVE_UNCOMPRESSED_MB} Mo une fois décompressée")
    return files


def _base(info: zipfile.ZipInfo) -> PurePosixPath:
    return PurePosixPath(info.filename.replace("\\", "/"))


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one member, never writing more than it declared nor than the budget."""
    written = 0
    limit = min(info.file_size, budget)
    try:
        with zf.open(info) as src, target.open("xb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise _refuse("un fichier y est plus grand que ce que l'archive annonce")
                dst.write(chunk)
    except PerimeterFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
        raise PerimeterFileError(
            "Archive zip illisible (fichier abîmé). Attendu : " + EXPECTED_SHAPEFILE_FR + ".",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    return written


def extract_shapefile(data: bytes, folder: Path) -> ShapefileMembers:
    """Check a zipped Shapefile and copy its parts into ``folder`` (private, empty).

    The parts are written as ``couche.shp``, ``couche.dbf``... whatever their
    names in the archive: nothing named by the archive reaches the disk.
    """
    with _open(data) as zf:
        files = check_archive(zf)
        shps = [i for i in files if _base(i).suffix.lower() == ".shp"]
        if not shps:
            raise PerimeterFileError(
                "L'archive zip ne contient pas de fichier .shp : attendu "
                + EXPECTED_SHAPEFILE_FR
                + "."
            )
        if len(shps) > 1:
            raise PerimeterFileError(
                f"L'archive zip contient {len(shps)} couches Shapefile (fichiers .shp) : "
                "attendu une seule couche de périmètres. Gardez-en une seule dans l'archive."
            )
        shp = shps[0]
        stem = _base(shp).with_suffix("")
        parts: dict[str, zipfile.ZipInfo] = {}
        for info in files:
            path = _base(info)
            ext = path.suffix.lower()
            if path.with_suffix("") == stem and ext in SHAPEFILE_PARTS:
                parts.setdefault(ext, info)
        missing = [ext for ext in _REQUIRED if ext not in parts]
        if missing:
            raise PerimeterFileError(
                f"Shapefile incomplet : {', '.join(missing)} absent de l'archive (à côté de "
                f"« {stem.name}.shp »). Attendu : " + EXPECTED_SHAPEFILE_FR + "."
            )
        budget = MAX_ARCHIVE_UNCOMPRESSED_MB * MIB
        for ext, info in parts.items():
            budget -= _copy_member(zf, info, folder / f"couche{ext}", budget)
    return ShapefileMembers(shp=folder / "couche.shp", parts=sorted(parts), member=shp.filename)


def check_workbook(data: bytes) -> int:
    """Refuse a zipped workbook (.xlsx, .ods) too large once uncompressed; its uncompressed size.

    Returns 0 for what is not a zip (.xls, or not a workbook: the reader says so).
    """
    if not data.startswith(b"PK"):
        return 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return 0  # the reader refuses it with its own message
    if total > MAX_ARCHIVE_UNCOMPRESSED_MB * MIB:
        raise PerimeterFileError(
            f"Classeur refusé : il fait plus de {MAX_ARCHIVE_UNCOMPRESSED_MB} Mo une fois "
            "décompressé. Attendu : un classeur de quelques colonnes (code INSEE, nom du "
            "périmètre, statut) ; enregistrez-le en CSV ou découpez-le par région."
        )
    return total
