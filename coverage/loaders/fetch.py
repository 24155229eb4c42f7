"""Official open data of care supply and access, downloaded on demand.

The addresses, pages, licences and formats are data (``data/sources.toml``,
tables with ``kind = "care"``). A download goes to ``<name>.part`` and is
resumed with an HTTP range request when interrupted; a finished file is
moved into place and its sha256 recorded in ``fetched.json`` next to it; a
later run verifies the file against that record (a corrupted file is
downloaded again) and checks the sha256 pinned in ``sources.toml`` when
there is one. Without internet, the error says in French which page to
download by hand and where to put the file. Nothing here runs in the
dashboard or in tests against the network.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from diagnosis.errors import AtlasError
from diagnosis.paths import DATA_DIR, DOWNLOADS_DIR

__all__ = [
    "DEFAULT_CARE_DIR",
    "CareSource",
    "FetchError",
    "FetchResult",
    "care_sources",
    "fetch_source",
]

logger = logging.getLogger(__name__)

DEFAULT_CARE_DIR = DOWNLOADS_DIR / "care"
RECORD_NAME = "fetched.json"
DATAGOUV_API = "https://www.data.gouv.fr/api/1"
_CHUNK = 1 << 20

#: Progress callback: bytes done, total bytes (None when unknown).
Progress = Callable[[int, int | None], None]


class FetchError(AtlasError):
    """A file could not be downloaded or verified; the message says what to do by hand."""


@dataclass(frozen=True)
class CareSource:
    """One official open dataset the profile can use (a ``kind = "care"`` table)."""

    key: str
    title: str
    page: str
    filename: str
    licence: str
    format: str
    url: str | None = None
    sha256: str | None = None
    datagouv_dataset: str | None = None
    resource_contains: str | None = None

    @property
    def manual(self) -> bool:
        """True when the file's address is not stable: it is downloaded by hand."""
        return self.url is None and self.datagouv_dataset is None


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_source`` did for one source."""

    key: str
    status: Literal["downloaded", "resumed", "cached", "manual"]
    path: Path
    url: str | None
    sha256: str | None
    bytes: int


def care_sources(path: Path | None = None) -> dict[str, CareSource]:
    """The care datasets of ``data/sources.toml``, by short key (``apl_mg``, ``rpps``...)."""
    with (path or DATA_DIR / "sources.toml").open("rb") as fh:
        tables = tomllib.load(fh)
    out = {}
    for name, spec in tables.items():
        if not isinstance(spec, dict) or spec.get("kind") != "care":
            continue
        key = name.removeprefix("care_")
        out[key] = CareSource(
            key=key,
            title=str(spec["title"]),
            page=str(spec["page"]),
            filename=str(spec["filename"]),
            licence=str(spec["licence"]),
            format=str(spec.get("format", "")),
            url=spec.get("url"),
            sha256=spec.get("sha256"),
            datagouv_dataset=spec.get("datagouv_dataset"),
            resource_contains=spec.get("resource_contains"),
        )
    return out


def _by_hand(source: CareSource, dest_dir: Path, why: str) -> str:
    return (
        f"{why} Téléchargez à la main « {source.title} » depuis {source.page} "
        f"({source.format}) et placez le fichier sous le nom {source.filename} dans le "
        f"dossier {dest_dir}."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_record(dest_dir: Path) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads((dest_dir / RECORD_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return record


def _write_record(dest_dir: Path, key: str, entry: dict[str, Any]) -> None:
    record = _read_record(dest_dir)
    record[key] = entry
    (dest_dir / RECORD_NAME).write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8"
    )


def _resolve_url(source: CareSource, *, api_base: str, timeout: float) -> str:
    if source.url is not None:
        return source.url
    assert source.datagouv_dataset is not None
    api = f"{api_base.rstrip('/')}/datasets/{urllib.parse.quote(source.datagouv_dataset)}/"
    with urllib.request.urlopen(api, timeout=timeout) as response:
        dataset = json.loads(response.read().decode("utf-8"))
    wanted = (source.resource_contains or "").lower()
    for resource in dataset.get("resources", []):
        text = f"{resource.get('title', '')} {resource.get('url', '')}".lower()
        if wanted in text and resource.get("url"):
            return str(resource["url"])
    raise FetchError(
        f"Aucune ressource « {source.resource_contains} » dans le jeu de données "
        f"{source.datagouv_dataset} de data.gouv.fr. Attendu : le fichier décrit dans "
        f"data/sources.toml ; la page du jeu de données est {source.page}."
    )


def _download(
    url: str, part: Path, *, timeout: float, progress: Progress | None
) -> Literal["downloaded", "resumed"]:
    """Download ``url`` into ``part``, resuming from its current size when the server allows."""
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "atlas-cpts fetch-data"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = done > 0 and response.status == 206
        if not resumed:
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        with part.open("ab" if resumed else "wb") as fh:
            try:
                while chunk := response.read(_CHUNK):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            except http.client.IncompleteRead as exc:
                fh.write(exc.partial)
                raise ConnectionError(f"{done + len(exc.partial)} of {total} bytes") from exc
    if total is not None and done < total:
        raise ConnectionError(f"{done} of {total} bytes")
    return "resumed" if resumed else "downloaded"


def fetch_source(
    source: CareSource,
    *,
    dest_dir: Path = DEFAULT_CARE_DIR,
    progress: Progress | None = None,
    timeout: float = 60.0,
    api_base: str = DATAGOUV_API,
    force: bool = False,
) -> FetchResult:
    """Download one care dataset into ``dest_dir`` (resume, cache, checksum).

    Parameters
    ----------
    source
        The dataset (see :func:`care_sources`).
    dest_dir
        Folder of the downloads; ``fetched.json`` records each file's address,
        size, sha256 and date.
    progress
        Called with (bytes done, total bytes or None) while downloading.
    timeout
        Seconds before a silent connection is given up.
    api_base
        data.gouv.fr API root (for sources resolved through it).
    force
        Download again even when a verified copy is present.

    Returns
    -------
    FetchResult
        ``cached`` when a verified copy was already there, ``downloaded`` or
        ``resumed`` otherwise, ``manual`` when the file must be downloaded by
        hand and is already in place.

    Raises
    ------
    FetchError
        Offline, server error, interrupted download (run again: it resumes),
        checksum mismatch, or a manual source whose file is absent. The
        message says what to download by hand and where to put it.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / source.filename
    part = target.with_name(target.name + ".part")
    recorded = _read_record(dest_dir).get(source.key)
    if target.exists() and not force:
        digest = _sha256(target)
        pinned = source.sha256 or (recorded or {}).get("sha256")
        if source.manual and pinned is None:
            _write_record(dest_dir, source.key, _entry(source, None, target, digest))
            return FetchResult(source.key, "manual", target, None, digest, target.stat().st_size)
        if digest == pinned:
            return FetchResult(
                source.key,
                "cached",
                target,
                (recorded or {}).get("url"),
                digest,
                target.stat().st_size,
            )
        logger.warning("%s: checksum differs from the record, downloading again", target.name)
        target.unlink()
    if source.manual:
        raise FetchError(
            _by_hand(source, dest_dir, "L'adresse de ce fichier change à chaque publication.")
        )
    try:
        url = _resolve_url(source, api_base=api_base, timeout=timeout)
        status = _download(url, part, timeout=timeout, progress=progress)
    except urllib.error.HTTPError as exc:
        raise FetchError(
            _by_hand(source, dest_dir, f"Le serveur a refusé le téléchargement (HTTP {exc.code})."),
            detail=str(exc),
        ) from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise FetchError(
            _by_hand(source, dest_dir, "Pas d'accès à internet, ou serveur injoignable."),
            detail=str(exc),
        ) from exc
    except (ConnectionError, OSError) as exc:
        raise FetchError(
            f"Téléchargement de « {source.title} » interrompu. Relancez la commande : il "
            "reprendra où il s'est arrêté. "
            + _by_hand(source, dest_dir, "Si le problème persiste :"),
            detail=str(exc),
        ) from exc
    digest = _sha256(part)
    if source.sha256 is not None and digest != source.sha256:
        part.unlink()
        raise FetchError(
            f"« {source.title} » téléchargé mais son empreinte sha256 ({digest[:12]}…) diffère "
            f"de celle attendue dans data/sources.toml ({source.sha256[:12]}…) : fichier "
            "écarté. " + _by_hand(source, dest_dir, "Vérifiez la source, ou :")
        )
    part.replace(target)
    _write_record(dest_dir, source.key, _entry(source, url, target, digest))
    return FetchResult(source.key, status, target, url, digest, target.stat().st_size)


def _entry(source: CareSource, url: str | None, target: Path, digest: str) -> dict[str, Any]:
    return {
        "title": source.title,
        "page": source.page,
        "licence": source.licence,
        "url": url,
        "file": target.name,
        "bytes": target.stat().st_size,
        "sha256": digest,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
