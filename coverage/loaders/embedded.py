"""The DREES APL shipped with the project (``data/apl/``), attached to the referential.

The Parquet files are built by ``scripts/build_apl_data.py`` from the
unmodified DREES open-data workbooks (GPs and nurses, vintages 2022 and
2023); ``data/apl/manifest.json`` records the source page, the licence
(Licence Ouverte 2.0), the sha256 of the workbooks and of the files, and the
row counts. Nothing here reads outside the project folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import pandas as pd

from coverage.loaders.apl import APL_COLUMNS, AplData, apl_data_from_rows
from coverage.rules import apl_profession
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError
from diagnosis.paths import DATA_DIR

__all__ = ["EMBEDDED_DIR", "MANIFEST_NAME", "embedded_apl", "embedded_manifest"]

EMBEDDED_DIR = DATA_DIR / "apl"
MANIFEST_NAME = "manifest.json"


@functools.lru_cache(maxsize=1)
def embedded_manifest() -> dict[str, Any]:
    """The manifest of the embedded APL data (source, licence, checksums, row counts)."""
    path = EMBEDDED_DIR / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            "Données APL intégrées absentes ou illisibles (data/apl/manifest.json). "
            "Attendu : le dossier data/apl du projet, produit par scripts/build_apl_data.py.",
            detail=repr(exc),
        ) from exc
    return manifest


@functools.lru_cache(maxsize=8)
def _rows(file: str, sha256: str) -> pd.DataFrame:
    data = (EMBEDDED_DIR / file).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(
            f"Données APL intégrées altérées (data/apl/{file} : empreinte sha256 différente de "
            "celle du manifeste). Attendu : le fichier produit par scripts/build_apl_data.py."
        )
    return pd.read_parquet(EMBEDDED_DIR / file)


def embedded_apl(referential: Referential) -> dict[str, AplData]:
    """The embedded APL of each profession, attached to the referential's units.

    Returns
    -------
    dict
        :class:`~coverage.loaders.apl.AplData` by profession key (``medecin_generaliste``,
        ``infirmier``), each with its vintages. Computed once per referential.
    """

    def make() -> dict[str, AplData]:
        out: dict[str, AplData] = {}
        for entry in embedded_manifest()["files"]:
            table = _rows(str(entry["file"]), str(entry["sha256"]))
            profession = apl_profession(str(entry["profession"]))
            by_vintage = {}
            for vintage, part in table.groupby("vintage", sort=True):
                frame = part.drop(columns="vintage").reset_index(drop=True)
                for col in APL_COLUMNS:
                    if col not in frame.columns:
                        frame[col] = float("nan")
                frame.insert(1, "name", "")
                by_vintage[int(str(vintage))] = frame
            out[profession.key] = apl_data_from_rows(
                profession,
                by_vintage,
                referential=referential,
                sheets={v: f"APL {v}" for v in by_vintage},
                filename=f"data/apl/{entry['file']}",
            )
        return out

    result: dict[str, AplData] = referential.cached("embedded_apl", make)
    return result
