"""Build the embedded DREES APL data (``data/apl/``) from the official workbooks.

Reads the unmodified DREES open-data workbooks (GPs and nurses, vintages 2022
and 2023) and writes one compact Parquet file per profession (one row per
commune code *as written in the workbook* and vintage) and a manifest with the
source, the licence, the vintages, the sha256 of every source and output file
and the row counts. Attachment to the current communes happens at run time
(``coverage.loaders.embedded``), so a new referential needs no rebuild.

Run from the project folder (outputs are committed)::

    .venv/bin/python scripts/build_apl_data.py /path/to/drees_apl

where the folder holds ``drees_apl_mg_2022_2023.xlsx`` and
``drees_apl_ide_2022_2023.xlsx``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage.loaders.apl import read_apl_workbook  # noqa: E402
from coverage.loaders.embedded import EMBEDDED_DIR, MANIFEST_NAME  # noqa: E402

WORKBOOKS = {
    "mg": "drees_apl_mg_2022_2023.xlsx",
    "ide": "drees_apl_ide_2022_2023.xlsx",
}
DATASET_PAGE = (
    "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/"
    "530_l-accessibilite-potentielle-localisee-apl/"
)
LICENCE = "Licence Ouverte / Open Licence version 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(source_dir: Path, out_dir: Path = EMBEDDED_DIR) -> dict[str, object]:
    """Write the Parquet files and the manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for short, filename in WORKBOOKS.items():
        path = source_dir / filename
        workbook = read_apl_workbook(path)
        if workbook.profession.short != short:
            raise SystemExit(f"{filename}: profession {workbook.profession.key}, expected {short}")
        frames = []
        for vintage, rows in sorted(workbook.rows.items()):
            frame = rows.drop(columns="name").assign(vintage=vintage)
            if short != "mg":
                frame = frame.drop(columns="apl_under65")
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True)
        table["vintage"] = table["vintage"].astype("int16")
        columns = ["vintage", "code", *[c for c in table.columns if c not in ("vintage", "code")]]
        table = table[columns]
        target = out_dir / f"apl_{short}.parquet"
        pq.write_table(
            pa.Table.from_pandas(table, preserve_index=False),
            target,
            compression="zstd",
            compression_level=19,
        )
        files.append(
            {
                "profession": workbook.profession.key,
                "short": short,
                "label": workbook.profession.label,
                "unit": workbook.profession.unit,
                "file": target.name,
                "sha256": _sha256(target),
                "columns": columns,
                "rows": {str(v): int((table["vintage"] == v).sum()) for v in workbook.rows},
                "sheets": {str(v): s for v, s in workbook.sheets.items()},
                "source_file": filename,
                "source_sha256": _sha256(path),
                "citation": f"DREES, APL aux {workbook.profession.label}, millésimes "
                + " et ".join(str(v) for v in sorted(workbook.rows)),
            }
        )
    manifest: dict[str, object] = {
        "dataset": "DREES, L'accessibilité potentielle localisée (APL)",
        "source": DATASET_PAGE,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "producer": "DREES (Direction de la recherche, des études, de l'évaluation et des "
        "statistiques)",
        "vintages": sorted({int(v) for f in files for v in f["rows"]}),  # type: ignore[attr-defined]
        "geography": "communes of the COG of each vintage, as written in the workbook "
        "(Paris, Lyon, Marseille by arrondissement); attached to current communes at run time",
        "built_by": "scripts/build_apl_data.py",
        "files": files,
    }
    (out_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", type=Path, help="folder holding the DREES workbooks")
    parser.add_argument("--out", type=Path, default=EMBEDDED_DIR)
    args = parser.parse_args(argv)
    manifest = build(args.source_dir, args.out)
    for entry in manifest["files"]:  # type: ignore[attr-defined]
        sys.stdout.write(f"{entry['file']}: {entry['rows']} rows, sha256 {entry['sha256']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
