"""``python -m diagnosis registry …``: the registry's command line (an entry point like cli.py).

Sub-commands
------------
import FILE --as-of D [--region | --department] [--db URL] [--dry-run]
    Import a dated listing: the changes are printed; exit 0 when committed
    (or previewed with ``--dry-run``), 2 with a French message when refused.
history (--dates D1,D2,… | --from D --to D --every month|quarter|year) --out DIR
    ``DIR/history.csv``: coverage per date, scope and threshold.
changes --from D1 --to D2 --out DIR
    ``DIR/changes.csv``: what changed between two dates, per perimeter and kind.
export --as-of D --out FILE(.gpkg|.geojson|.csv)
    The registry on a date as open data, with the referential vintage.
dump --out FILE / restore FILE
    A full dump and its restore (into an empty registry).
check
    Integrity: no overlapping versions, every member a known unit, every
    version with its source (exit 1 when a problem is found).
upgrade
    Migrate the database to the newest schema (also done on first use).
contracts FILE --as-of D
    Keep the ACI contracts of a contracts file with their perimeters from D
    (``funding --registry --as-of D`` then uses them without ``--contracts``).
grant USER ROLE [--region | --department] / revoke USER ROLE … / users
    Give or end a role (admin, analyst, committee, leader, reader) in a scope,
    and list the roles held. The first administrator is granted by the local
    user of an open registry; from then on only administrators grant.

The database is ``--db URL``, else ``ATLAS_DATABASE_URL``, else the embedded
SQLite file ``data/registry/registry.sqlite``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from diagnosis import AtlasError, load_referential
from diagnosis.contracts import read_contracts
from diagnosis.core.model import PerimeterImport
from diagnosis.core.numbers import fr_count
from diagnosis.outputs.export import write_csv
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR
from diagnosis.registry import (
    ROLES,
    ImportPlan,
    Registry,
    changes_between,
    check_registry,
    coverage_history,
    default_actor,
    dump_bytes,
    dump_registry,
    export_state,
    grant_role,
    grants_of,
    history_dates,
    import_listing,
    is_open,
    open_registry,
    read_dump,
    restore_registry,
    revoke_role,
    state_at,
    store_contracts,
    upgrade,
)
from diagnosis.registry.model import parse_day

#: French names of the kinds of change, as printed.
CHANGE_LABELS = {
    "new": "nouveau",
    "removed": "retiré",
    "renamed": "renommé",
    "stage": "stade",
    "members": "communes",
}


def _error(exc: Exception) -> int:
    print(f"Erreur : {exc}", file=sys.stderr)
    return 2


def _registry(args: argparse.Namespace) -> Registry:
    return open_registry(args.db)


def _scope(args: argparse.Namespace) -> dict[str, str | None]:
    return {"region": args.region, "department": args.department}


def print_plan(plan: ImportPlan, *, committed: bool) -> None:
    """Print a listing's changes as people read them."""
    print(
        f"Liste « {plan.filename} » au {plan.as_of.isoformat()}, champ {plan.scope.key} : "
        f"{plan.listing.summary_fr()}"
    )
    if plan.already_imported:
        print("Cette liste a déjà été importée pour cette date et ce champ : rien ne change.")
        return
    reasons = plan.matches["reason"].value_counts().to_dict()
    counts = plan.counts()
    print(
        "Rapprochements : "
        + ", ".join(f"{n} par {k}" for k, n in sorted(reasons.items()))
        + (" ; " if reasons else "")
        + f"{fr_count(counts['new'], 'nouveau', 'nouveaux')}, "
        f"{fr_count(counts['removed'], 'retiré', 'retirés')}, "
        f"{fr_count(counts['changed'], 'modifié', 'modifiés')}, "
        f"{fr_count(counts['unchanged'], 'inchangé', 'inchangés')}."
    )
    for rejected in plan.rejected.to_dict("records"):
        print(f"  non importé : « {rejected['listing_name']} » ({rejected['detail']})")
    for row in plan.changes.to_dict("records"):
        name = row["name_after"] if isinstance(row["name_after"], str) else row["name_before"]
        label = CHANGE_LABELS[str(row["change"])]
        print(f"  {label:<9} {row['perimeter_id']} « {name} » : {row['detail']}")
    if committed:
        print(
            f"Import enregistré : {fr_count(len(plan.operations), 'périmètre', 'périmètres')} "
            "changé(s)."
        )
    else:
        print("Aperçu seulement (--dry-run) : rien n'a été écrit.")


def _import(args: argparse.Namespace) -> int:
    try:
        registry = _registry(args)
        ref = load_referential(directory=args.referential)
        outcome = import_listing(
            registry,
            args.file,
            as_of=args.as_of,
            referential=ref,
            actor=args.actor,
            dry_run=args.dry_run,
            region=args.region,
            department=args.department,
        )
    except AtlasError as exc:
        return _error(exc)
    print_plan(outcome.plan, committed=outcome.committed)
    return 0


def _dates(args: argparse.Namespace) -> list[str]:
    if args.dates:
        return [d.strip() for d in args.dates.split(",") if d.strip()]
    if not (args.start and args.end):
        raise AtlasError("Donnez --dates D1,D2,… ou --from D --to D (avec --every).")
    return [d.isoformat() for d in history_dates(args.start, args.end, every=args.every)]


def _history(args: argparse.Namespace) -> int:
    try:
        registry = _registry(args)
        ref = load_referential(directory=args.referential)
        frame = coverage_history(registry, _dates(args), referential=ref, **_scope(args))
    except AtlasError as exc:
        return _error(exc)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = frame.assign(date=frame["date"].map(lambda d: d.isoformat()))
    write_csv(frame, out / "history.csv")
    print(f"{len(frame)} ligne(s) écrites dans {out / 'history.csv'}")
    return 0


def _changes(args: argparse.Namespace) -> int:
    try:
        registry = _registry(args)
        ref = load_referential(directory=args.referential)
        if not (args.start and args.end):
            raise AtlasError("Donnez --from D1 et --to D2.")
        frame = changes_between(registry, args.start, args.end, referential=ref, **_scope(args))
    except AtlasError as exc:
        return _error(exc)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(frame, out / "changes.csv")
    print(
        f"{fr_count(len(frame), 'changement', 'changements')} écrit(s) dans {out / 'changes.csv'}"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        registry = _registry(args)
        ref = load_referential(directory=args.referential)
        target = export_state(
            registry, parse_day(args.as_of), args.out, referential=ref, **_scope(args)
        )
    except AtlasError as exc:
        return _error(exc)
    print(f"Registre au {args.as_of} écrit dans {target}")
    return 0


def _dump(args: argparse.Namespace) -> int:
    try:
        dump = dump_registry(_registry(args))
    except AtlasError as exc:
        return _error(exc)
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(dump_bytes(dump))
    rows = sum(len(v) for v in dump["tables"].values())
    print(f"Sauvegarde écrite dans {target} ({fr_count(rows, 'ligne', 'lignes')}).")
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        counts = restore_registry(_registry(args), read_dump(args.file), actor=args.actor)
    except AtlasError as exc:
        return _error(exc)
    print(f"Registre restauré : {fr_count(sum(counts.values()), 'ligne', 'lignes')}.")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        problems = check_registry(
            _registry(args), referential=load_referential(directory=args.referential)
        )
    except AtlasError as exc:
        return _error(exc)
    if problems.empty:
        print(
            "Registre cohérent : aucune version chevauchante, toutes les unités connues, "
            "chaque version a sa source."
        )
        return 0
    print(f"{fr_count(len(problems), 'problème', 'problèmes')} :")
    for row in problems.itertuples(index=False):
        print(f"  {row.problem} {row.perimeter_id} (version {row.version_id}) : {row.detail}")
    return 1


def _upgrade(args: argparse.Namespace) -> int:
    try:
        registry = open_registry(args.db, migrate=False)
        upgrade(registry)
    except AtlasError as exc:
        return _error(exc)
    print(f"Registre {registry.label} au schéma le plus récent.")
    return 0


def _grant(args: argparse.Namespace) -> int:
    try:
        done = grant_role(_registry(args), args.actor, args.user, args.role, **_scope(args))
    except AtlasError as exc:
        return _error(exc)
    name = ROLES[args.role]
    print(f"Rôle « {name} » attribué à {args.user}." if done else f"{args.user} a déjà ce rôle.")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    try:
        n = revoke_role(_registry(args), args.actor, args.user, args.role, **_scope(args))
    except AtlasError as exc:
        return _error(exc)
    print(f"{fr_count(n, 'rôle retiré', 'rôles retirés')} à {args.user}.")
    return 0


def _contracts(args: argparse.Namespace) -> int:
    try:
        read = read_contracts(args.file)
        outcome = store_contracts(
            _registry(args),
            args.actor,
            read,
            as_of=args.as_of,
            filename=Path(args.file).name,
            referential=load_referential(directory=args.referential),
        )
    except AtlasError as exc:
        return _error(exc)
    print(
        f"Contrats enregistrés au {args.as_of} : {len(outcome.new)} nouveau(x), "
        f"{len(outcome.changed)} modifié(s), {len(outcome.unchanged)} inchangé(s)."
    )
    if outcome.unmatched:
        print(
            f"{fr_count(len(outcome.unmatched), 'contrat', 'contrats')} sans périmètre du "
            "registre à cette date (non enregistré) : " + ", ".join(outcome.unmatched)
        )
    return 0


def _users(args: argparse.Namespace) -> int:
    try:
        registry = _registry(args)
        grants = grants_of(registry)
        opened = is_open(registry)
    except AtlasError as exc:
        return _error(exc)
    if opened:
        print(
            "Aucun administrateur : l'utilisateur local a tous les droits (registre ouvert). "
            "Attribuez un administrateur avec « registry grant UTILISATEUR admin »."
        )
    for row in grants.itertuples(index=False):
        print(f"  {row.user_id} : {row.role_name} ({row.scope_name})")
    return 0


def registry_state(args: argparse.Namespace) -> PerimeterImport:
    """The registry on ``--as-of`` in the scope of ``diagnose --registry``."""
    if not args.as_of:
        raise AtlasError("Avec --registry, donnez la date : --as-of AAAA-MM-JJ.")
    registry = open_registry(args.db)
    return state_at(
        registry,
        args.as_of,
        referential=load_referential(directory=args.referential),
        **_scope(args),
    )


def add_output_options(parser: argparse.ArgumentParser, *, out_help: str) -> None:
    """Options shared by the commands that read a perimeter file and write a folder."""
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--sheet", help="feuille du classeur de périmètres (défaut : détection)")
    parser.add_argument(
        "--referential", default=str(DEFAULT_REFERENTIAL_DIR), help="dossier du référentiel"
    )
    parser.add_argument("--no-progress", action="store_true", help="sans barre de progression")


def _common(parser: argparse.ArgumentParser, *, scope: bool = True) -> None:
    parser.add_argument(
        "--db",
        help="base du registre (défaut : ATLAS_DATABASE_URL, sinon data/registry/registry.sqlite)",
    )
    parser.add_argument(
        "--referential", default=str(DEFAULT_REFERENTIAL_DIR), help="dossier du référentiel"
    )
    if scope:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--region", help="code de région (ex. 93)")
        group.add_argument("--department", help="code de département (ex. 13)")


Handler = Callable[[argparse.Namespace], int]


def _add_user_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], actor: str
) -> None:
    """``grant``, ``revoke`` and ``users``: the roles of the registry's users."""
    for name, handler, helptext in (
        ("grant", _grant, "attribuer un rôle à un utilisateur dans un champ"),
        ("revoke", _revoke, "retirer un rôle à un utilisateur"),
    ):
        cmd = commands.add_parser(name, help=helptext)
        cmd.add_argument("user", help="identifiant de l'utilisateur (e-mail de connexion)")
        cmd.add_argument("role", choices=list(ROLES), help="rôle")
        cmd.add_argument("--actor", help=actor)
        _common(cmd)
        cmd.set_defaults(func=handler)

    contracts = commands.add_parser(
        "contracts", help="enregistrer les contrats ACI avec leurs périmètres"
    )
    contracts.add_argument("file", help="fichier de contrats (CSV ou classeur)")
    contracts.add_argument("--as-of", required=True, help="date des contrats (AAAA-MM-JJ)")
    contracts.add_argument("--actor", help=actor)
    _common(contracts, scope=False)
    contracts.set_defaults(func=_contracts)

    users = commands.add_parser("users", help="les rôles attribués")
    _common(users, scope=False)
    users.set_defaults(func=_users)


def add_registry_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``registry`` and its sub-commands to the command line."""
    registry = sub.add_parser("registry", help="registre daté des périmètres (historique)")
    commands = registry.add_subparsers(dest="registry_command", required=True)
    actor = f"utilisateur enregistré (défaut : {default_actor()})"

    imp = commands.add_parser("import", help="importer une liste datée de périmètres")
    imp.add_argument("file", help="fichier de la liste (CSV, Excel, ODS, GeoJSON…)")
    imp.add_argument("--as-of", required=True, help="date de la liste (AAAA-MM-JJ)")
    imp.add_argument("--dry-run", action="store_true", help="aperçu seulement, rien n'est écrit")
    imp.add_argument("--actor", help=actor)
    _common(imp)
    imp.set_defaults(func=_import)

    hist = commands.add_parser("history", help="couverture au fil du temps (history.csv)")
    hist.add_argument("--dates", help="dates séparées par des virgules (AAAA-MM-JJ,…)")
    hist.add_argument("--from", dest="start", help="première date")
    hist.add_argument("--to", dest="end", help="dernière date")
    hist.add_argument("--every", default="month", choices=["month", "quarter", "year"])
    hist.add_argument("--out", required=True, help="dossier de sortie")
    _common(hist)
    hist.set_defaults(func=_history)

    chg = commands.add_parser("changes", help="changements entre deux dates (changes.csv)")
    chg.add_argument("--from", dest="start", required=True, help="première date")
    chg.add_argument("--to", dest="end", required=True, help="seconde date")
    chg.add_argument("--out", required=True, help="dossier de sortie")
    _common(chg)
    chg.set_defaults(func=_changes)

    exp = commands.add_parser("export", help="le registre à une date (.gpkg, .geojson, .csv)")
    exp.add_argument("--as-of", required=True, help="date (AAAA-MM-JJ)")
    exp.add_argument("--out", required=True, help="fichier de sortie (.gpkg, .geojson, .csv)")
    _common(exp)
    exp.set_defaults(func=_export)

    dump = commands.add_parser("dump", help="sauvegarde complète du registre (JSON)")
    dump.add_argument("--out", required=True, help="fichier de sauvegarde")
    _common(dump, scope=False)
    dump.set_defaults(func=_dump)

    restore = commands.add_parser("restore", help="restaurer une sauvegarde (registre vide)")
    restore.add_argument("file", help="fichier de sauvegarde")
    restore.add_argument("--actor", help=actor)
    _common(restore, scope=False)
    restore.set_defaults(func=_restore)

    check = commands.add_parser("check", help="vérifier la cohérence du registre")
    _common(check, scope=False)
    check.set_defaults(func=_check)

    _add_user_commands(commands, actor)

    upg = commands.add_parser("upgrade", help="mettre le schéma de la base à jour")
    _common(upg, scope=False)
    upg.set_defaults(func=_upgrade)
