"""Benchmark of the care loaders: a DREES APL workbook, the national Annuaire santé extraction.

Run by hand from the project folder::

    ATLAS_CPTS_CACHE=data/cache .venv/bin/python benchmarks/care_loaders.py \
        [--apl PATH_TO_DREES_WORKBOOK] [--rows 2000000] [--keep]

Cases (each in a fresh process, so that the peak memory is its own; the
referential is loaded before the clock starts):

- apl: ``load_drees_apl`` on a DREES workbook (two vintages, about 35,000
  rows each), including the attachment to units. Default workbook:
  ``$ATLAS_DREES_APL`` or ``../shared/data/drees_apl/drees_apl_mg_2022_2023.xlsx``;
  skipped when absent.
- rpps: ``load_rpps`` streaming a synthetic extraction of national size in the
  official format (``PS_LibreAcces_Personne_activite``: the official columns,
  ``|``-separated, a trailing ``|``), written by this script in a temporary
  folder: ``--rows`` activity rows (default 2,000,000), about 1.4 persons per
  2 rows, all professions, communes drawn from the referential with former
  codes, Paris/Lyon/Marseille parents and empty communes mixed in.

Targets (issue 12): a workbook ≤ 3 s; the extraction ≤ 30 s and ≤ 1.5 GB peak
RSS. The last line is ``apl_s=<s> rpps_s=<s> rpps_peak_rss_mb=<m> rpps_file_mb=<m>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_APL = Path(
    os.environ.get(
        "ATLAS_DREES_APL",
        PROJECT.parent / "shared" / "data" / "drees_apl" / "drees_apl_mg_2022_2023.xlsx",
    )
)

CASE = r"""
import json, resource, sys, time
sys.path.insert(0, {project!r})
from diagnosis.core.referential import load_referential
ref = load_referential()
case, path = {case!r}, {path!r}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
if case == "apl":
    from coverage.loaders.apl import load_drees_apl
    data = load_drees_apl(path, referential=ref)
    extra = {{"rows": {{v: len(x.rows) for v, x in data.vintages.items()}},
              "profession": data.profession}}
else:
    from coverage.loaders.supply import load_rpps
    table = load_rpps(path, referential=ref)
    extra = {{"rows_read": table.rows_read, "rows_used": table.rows_used,
              "units": len(table.by_unit),
              "practitioners": float(table.by_unit.drop(columns="estimated").sum().sum())}}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"case": case, "seconds": seconds, "peak_rss_mb": peak,
                  "rss_before_mb": base, **extra}}))
"""


def _run(case: str, path: Path) -> dict[str, object]:
    code = CASE.format(project=str(PROJECT), case=case, path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rpps_header() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", PROJECT / "tests" / "fixtures" / "coverage" / "make_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.RPPS_HEADER)


#: (code profession, libellé, code savoir-faire, libellé savoir-faire, share of rows)
PROFESSIONS = [
    ("10", "Médecin", "SM54", "Médecine générale (SM)", 0.16),
    ("10", "Médecin", "SM26", "Cardiologie et maladies vasculaires (SM)", 0.16),
    ("21", "Pharmacien", "", "", 0.12),
    ("40", "Chirurgien-Dentiste", "", "", 0.06),
    ("50", "Sage-Femme", "", "", 0.04),
    ("60", "Infirmier", "", "", 0.30),
    ("70", "Masseur-Kinésithérapeute", "", "", 0.12),
    ("91", "Orthophoniste", "", "", 0.04),
]


def write_synthetic_rpps(path: Path, *, rows: int, seed: int = 0) -> None:
    """A synthetic national extraction in the official format (not timed)."""
    sys.path.insert(0, str(PROJECT))
    from diagnosis.core.referential import load_referential

    ref = load_referential()
    header = _rpps_header()
    rng = np.random.default_rng(seed)
    communes = np.array(
        [
            *ref.units.index,
            *ref.former_codes["former_code"].head(300),
            "75056",
            "13055",
            "",
            "99999",
        ],
        dtype=object,
    )
    weights = np.ones(len(communes))
    weights[-2] = 50.0  # activities with no commune of structure
    weights /= weights.sum()
    shares = np.array([p[4] for p in PROFESSIONS])
    variable = {
        "Identifiant PP": 0,
        "Identification nationale PP": 1,
        "Code profession": 2,
        "Libellé profession": 3,
        "Code savoir-faire": 4,
        "Libellé savoir-faire": 5,
        "Code commune (coord. structure)": 6,
        "Libellé commune (coord. structure)": 7,
    }
    fixed = {
        "Type d'identifiant PP": "8",
        "Libellé civilité d'exercice": "Docteur",
        "Nom d'exercice": "DUPONT-MARTIN",
        "Prénom d'exercice": "Jean-Baptiste",
        "Libellé catégorie professionnelle": "Civil",
        "Code mode exercice": "L",
        "Libellé mode exercice": "Libéral",
        "Raison sociale site": "CABINET MEDICAL DU CENTRE",
        "Numéro Voie (coord. structure)": "12",
        "Libellé type de voie (coord. structure)": "Rue",
        "Libellé Voie (coord. structure)": "de la République",
        "Code postal (coord. structure)": "13200",
        "Code pays (coord. structure)": "99000",
        "Libellé pays (coord. structure)": "France",
        "Téléphone (coord. structure)": "0490000000",
        "Adresse e-mail (coord. structure)": "cabinet.medical@example.org",
    }
    template = (
        "|".join(
            "%s" if name in variable else fixed.get(name, "").replace("%", "%%") for name in header
        )
        + "|\n"
    )
    order = [name for name in header if name in variable]
    positions = [variable[name] for name in order]
    persons = int(rows * 0.7)
    chunk = 200_000
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("|".join(header) + "|\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            pp = rng.integers(10_000_000_000, 10_000_000_000 + persons, size=n)
            prof = rng.choice(len(PROFESSIONS), size=n, p=shares)
            com = rng.choice(len(communes), size=n, p=weights)
            lines = []
            for person, p, c in zip(pp.tolist(), prof.tolist(), com.tolist(), strict=True):
                code, label, sf_code, sf_label, _ = PROFESSIONS[p]
                values = (
                    str(person),
                    f"8{person}",
                    code,
                    label,
                    sf_code,
                    sf_label,
                    communes[c],
                    "COMMUNE",
                )
                lines.append(template % tuple(values[i] for i in positions))
            fh.write("".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run both cases and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apl", type=Path, default=DEFAULT_APL)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic file")
    args = parser.parse_args(argv)
    sys.stdout.write("command: " + " ".join([Path(sys.executable).name, *sys.argv]) + "\n")
    apl_s = float("nan")
    if args.apl.exists():
        apl = _run("apl", args.apl)
        sys.stdout.write(json.dumps(apl) + "\n")
        apl_s = float(apl["seconds"])  # type: ignore[arg-type]
    else:
        sys.stdout.write(f"apl: skipped ({args.apl.name} not found)\n")
    folder = Path(tempfile.mkdtemp(prefix="atlas_rpps_"))
    path = folder / "PS_LibreAcces_Personne_activite_202611010830.txt"
    start = time.perf_counter()
    write_synthetic_rpps(path, rows=args.rows)
    size_mb = path.stat().st_size / 1e6
    sys.stdout.write(
        f"synthetic extraction: {args.rows} rows, {size_mb:.0f} MB, "
        f"written in {time.perf_counter() - start:.1f} s\n"
    )
    try:
        rpps = _run("rpps", path)
    finally:
        if not args.keep:
            path.unlink()
            folder.rmdir()
    sys.stdout.write(json.dumps(rpps) + "\n")
    sys.stdout.write(
        f"apl_s={apl_s:.2f} rpps_s={float(rpps['seconds']):.2f} "  # type: ignore[arg-type]
        f"rpps_peak_rss_mb={float(rpps['peak_rss_mb']):.0f} "  # type: ignore[arg-type]
        f"rpps_file_mb={size_mb:.0f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
