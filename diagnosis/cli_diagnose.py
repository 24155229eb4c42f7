"""``python -m diagnosis diagnose``: import a perimeter file and write the whole diagnosis."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from diagnosis.export import write_diagnosis
from diagnosis.perimeters import PerimeterFileError, import_perimeters
from diagnosis.pipeline import STEPS, run_diagnosis
from diagnosis.referential import ReferentialMissingError, load_referential


def run_diagnose(args: argparse.Namespace) -> int:
    """Run the ``diagnose`` command; returns the exit code (0 ok, 2 bad input)."""
    out_dir = Path(args.out)
    steps = ["référentiel", "import", *STEPS, "écriture"]
    with tqdm(
        total=len(steps), desc="Diagnostic", unit="étape", file=sys.stderr, disable=args.no_progress
    ) as bar:

        def progress(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        try:
            national = load_referential(directory=args.referential)
            scope = (
                load_referential(region=args.region, directory=args.referential)
                if args.region
                else load_referential(department=args.department, directory=args.referential)
                if args.department
                else national
            )
        except (ReferentialMissingError, ValueError) as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
        progress("référentiel")
        try:
            imported = import_perimeters(
                args.perimeters,
                referential=national,
                region=args.region,
                department=args.department,
                sheet=args.sheet,
            )
        except PerimeterFileError as exc:
            print(f"Erreur : fichier de périmètres illisible. {exc}", file=sys.stderr)
            return 2
        progress("import")
        with warnings.catch_warnings():
            # Members outside the scope were already reported by the import.
            warnings.simplefilter("ignore", UserWarning)
            diag = run_diagnosis(imported, scope, status_min=args.status_min, progress=progress)
        write_diagnosis(diag, out_dir)
        progress("écriture")
    summary = diag.perimeters.summary
    cov = diag.coverage_at_threshold()
    top = cov.iloc[0] if len(cov) else None
    print(f"Import : {imported.summary_fr()}")
    print(
        f"{len(summary)} périmètre(s) au stade « {args.status_min} » ou plus ; "
        f"{len(diag.overlaps)} commune(s) en chevauchement ; "
        f"{len(diag.white.units)} commune(s) en zone blanche "
        f"({len(diag.white.clusters)} groupe(s))."
    )
    if top is not None:
        print(
            f"Couverture {top['scope']} : {top['share_covered']:.1%} de la population "
            f"({diag.referential.population_label})."
        )
    print(f"Résultats écrits dans {out_dir}")
    return 0
