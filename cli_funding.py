"""``python -m diagnosis funding``: the ACI funding due to contracts, year by year.

An entry point like ``cli.py``: it reads a contracts file (or the contracts
the registry keeps on a date), the perimeters they name (a file, or the
registry on ``--as-of``), and writes ``funding_schedule.csv``,
``funding_by_year.csv`` and ``funding_report.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli_registry import add_output_options, registry_state
from diagnosis import (
    AtlasError,
    PerimeterImport,
    Referential,
    ReferentialMissingError,
    import_perimeters,
    load_referential,
)
from diagnosis.core.numbers import fr_number

if TYPE_CHECKING:
    import pandas as pd

    from diagnosis.contracts import ContractsImport, FundingForecast

__all__ = ["add_funding_parser"]


def _funding_perimeters(args: argparse.Namespace, national: Referential) -> PerimeterImport:
    """The perimeters the contracts name: a perimeter file, or the registry on ``--as-of``.

    The registry's state on a date is a :class:`PerimeterImport` like a file's
    import (:func:`diagnosis.registry.state_at`).
    """
    if args.registry:
        return registry_state(args)
    return import_perimeters(args.perimeters, referential=national, sheet=args.sheet)


def _funding_contracts(args: argparse.Namespace) -> ContractsImport:
    """The contracts: a contracts file, or those the registry keeps on ``--as-of``."""
    from diagnosis.contracts import read_contracts
    from diagnosis.registry import contracts_import_at, open_registry

    if args.contracts:
        return read_contracts(args.contracts)
    if not args.registry:
        raise AtlasError("Donnez le fichier de contrats : --contracts FICHIER.")
    return contracts_import_at(open_registry(args.db), args.as_of)


def _write_funding(forecast: FundingForecast, by_year: pd.DataFrame, out_dir: Path) -> None:
    from diagnosis.contracts import SCHEDULE_COLUMNS
    from diagnosis.outputs.export import write_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    schedule = forecast.schedule[SCHEDULE_COLUMNS].copy()
    for column in ("period_start", "period_end"):
        schedule[column] = schedule[column].map(lambda d: d.isoformat())
    write_csv(schedule, out_dir / "funding_schedule.csv")
    write_csv(by_year, out_dir / "funding_by_year.csv")
    write_csv(forecast.report, out_dir / "funding_report.csv")


def _funding(args: argparse.Namespace) -> int:
    """Run the ``funding`` command; returns the exit code (0 ok, 2 bad input)."""
    from diagnosis.contracts import funding_by_year, funding_schedule

    if args.registry and not args.as_of:
        print(
            "Erreur : --registry demande la date de l'état voulu : --as-of AAAA-MM-JJ.",
            file=sys.stderr,
        )
        return 2
    if args.from_year > args.to_year:
        print(f"Erreur : --from {args.from_year} est après --to {args.to_year}.", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    try:
        national = load_referential(directory=args.referential)
        contracts = _funding_contracts(args)
        perimeters = _funding_perimeters(args, national)
        forecast = funding_schedule(
            contracts,
            perimeters,
            national,
            region=args.region,
            department=args.department,
            large_community_bonus=args.bonus_taille_4,
        )
        levels = (
            ("department",)
            if args.department
            else ("region", "department")
            if args.region
            else ("france", "region", "department")
        )
        by_year = funding_by_year(
            forecast.schedule,
            from_year=args.from_year,
            to_year=args.to_year,
            basis=args.basis,
            levels=levels,
        )
    except (ReferentialMissingError, AtlasError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    try:
        _write_funding(forecast, by_year, out_dir)
    except OSError as exc:
        print(f"Erreur : impossible d'écrire dans {out_dir} ({exc.strerror}).", file=sys.stderr)
        return 2
    n_read, n_kept = len(contracts.contracts), len(forecast.contracts)
    rejected = int((forecast.report["severity"] == "rejected").sum())
    print(
        f"Contrats : {n_kept} retenu(s) sur {n_read} lu(s) ; {rejected} rejet(s) "
        "(détail dans funding_report.csv)."
    )
    if n_read == 0:
        print("Erreur : aucun contrat lisible (fichier de contrats ou registre).", file=sys.stderr)
        return 2
    # The first scope is the whole view: France, the region or the department chosen.
    first = by_year.loc[by_year["scope"] == by_year["scope"].iloc[0]] if len(by_year) else by_year
    if len(first):
        print(
            f"{first['scope'].iloc[0]}, {args.from_year}–{args.to_year} : "
            f"{fr_number(first['total_max_eur'].sum())} € au plus, "
            f"{fr_number(first['total_expected_eur'].sum())} € attendus."
        )
    print(f"Échéancier écrit dans {out_dir}")
    return 0


def add_funding_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``funding`` command to the command line."""
    funding = sub.add_parser(
        "funding",
        help="financements ACI dus aux contrats, par année de contrat et par année civile",
    )
    funding.add_argument(
        "--contracts",
        help="fichier de contrats (CSV ou classeur) ; avec --registry, ceux du registre par défaut",
    )
    source = funding.add_mutually_exclusive_group(required=True)
    source.add_argument("--perimeters", help="fichier de périmètres nommés par les contrats")
    source.add_argument(
        "--registry", action="store_true", help="périmètres du registre à la date --as-of"
    )
    funding.add_argument("--as-of", help="date de l'état du registre (AAAA-MM-JJ)")
    funding.add_argument("--db", help="adresse de la base du registre")
    scope = funding.add_mutually_exclusive_group()
    scope.add_argument("--region", help="code de région (ex. 93)")
    scope.add_argument("--department", help="code de département (ex. 13)")
    funding.add_argument("--from", dest="from_year", type=int, required=True, help="première année")
    funding.add_argument("--to", dest="to_year", type=int, required=True, help="dernière année")
    funding.add_argument(
        "--basis",
        choices=["versement", "periode"],
        default="versement",
        help="années civiles : des versements (défaut) ou des périodes couvertes",
    )
    funding.add_argument(
        "--bonus-taille-4",
        action="store_true",
        help="accorder la majoration de 10 %% (taille 4, au moins 100 adhérents ; une option)",
    )
    add_output_options(
        funding, out_help="dossier de sortie (funding_schedule.csv, funding_by_year.csv)"
    )
    funding.set_defaults(func=_funding)
