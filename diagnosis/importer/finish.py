"""Importer step shared by every format: from claims to validated perimeters.

Resolves each claimed token, expands Paris, Lyon and Marseille, merges
duplicates, applies declared infra-communal splits, reads declared shares and
writes every decision to the report. Communes outside the study scope are
kept (a perimeter is evaluated whole) and said in one neutral line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diagnosis.core.communes import VIA_ORDER, Lookups, Resolution, Resolver, names_match
from diagnosis.core.model import (
    MEMBER_COLUMNS,
    PERIMETER_COLUMNS,
    SPLIT_COLUMNS,
    PerimeterImport,
    Report,
)
from diagnosis.core.numbers import fr_count, plural
from diagnosis.core.statuses import (
    STATUS_KEYS,
    StatusReading,
    filed_project_note,
    read_status,
    status_name,
    status_rank,
)
from diagnosis.core.textnorm import clean_code_token, label_key, slug
from diagnosis.core.zones import PLM_PARENTS
from diagnosis.importer.shares import read_shares
from diagnosis.importer.table import short_list


@dataclass(frozen=True)
class _Scope:
    """The referential's lookups and the study scope claims are checked against."""

    lk: Lookups
    units: frozenset[str] | None  # None: France entière
    label: str


# (row, perimeter_id, unit code, kind, via, written, split)
_Resolved = tuple[int, str, str, str, str, str, bool]
# (row, perimeter_id, PLM parent code, via, split)
_PlmClaim = tuple[int, str, str, str, bool]


def finish_claims(
    claims: pd.DataFrame,
    lk: Lookups,
    scope_units: frozenset[str] | None,
    report: Report,
    *,
    splits: Mapping[str, Sequence[str]] | None,
    scope_label: str,
    has_id: bool,
    reference_date: dt.date | None = None,
) -> PerimeterImport:
    """Resolve the claims of any format into perimeters, members, splits and the report.

    ``reference_date`` is the date the listing describes (today when None): a
    health project filed more than two months before it is deemed validated.
    """
    scope = _Scope(lk, scope_units, scope_label)
    perimeters = _perimeter_table(
        claims, report, has_id=has_id, reference_date=reference_date or dt.date.today()
    )
    pid_of_key = dict(
        zip(perimeters["pkey"].tolist(), perimeters["perimeter_id"].tolist(), strict=True)
    )
    pname_of_id = dict(
        zip(perimeters["perimeter_id"].tolist(), perimeters["name"].tolist(), strict=True)
    )
    resolved, plm_claims = _resolve_claims(claims, scope, report, pid_of_key, pname_of_id)
    _expand_plm_parents(plm_claims, resolved, scope, report, pname_of_id)

    members = _members(resolved, lk, report, pname_of_id)
    split_frame = _splits(resolved, members, splits, perimeters, lk, report, pname_of_id)
    _report_multi(members, split_frame, lk, report, pname_of_id)
    shares = read_shares(claims, resolved, members, lk=lk, report=report, pname_of_id=pname_of_id)

    perimeters = _attach_members(perimeters, members, report)
    _report_outside(perimeters, scope, report)
    return PerimeterImport(
        perimeters=perimeters[PERIMETER_COLUMNS].reset_index(drop=True),
        members=members[MEMBER_COLUMNS].reset_index(drop=True),
        splits=split_frame[SPLIT_COLUMNS].reset_index(drop=True),
        report=report.frame(),
        shares=shares,
    )


def _report_outside(perimeters: pd.DataFrame, scope: _Scope, report: Report) -> None:
    """One neutral line for the communes outside the study scope (kept: perimeters are whole).

    Not a rejection: the scope chooses the perimeters shown and the population
    the coverage counts, never which communes a perimeter holds.
    """
    if scope.units is None:
        return
    inside = scope.units
    outside: set[str] = set()
    n_reaching = n_away = 0
    for codes in perimeters["unit_codes"].tolist():
        out = {c for c in codes if c not in inside}
        outside |= out
        n_reaching += bool(out) and len(out) < len(codes)
        n_away += bool(codes) and len(out) == len(codes)
    if not outside:
        return
    message = (
        f"{fr_count(len(outside), 'commune', 'communes')} du fichier "
        f"{plural(len(outside), 'est', 'sont')} hors de la vue ({scope.label}) : "
        f"{plural(len(outside), 'conservée', 'conservées')} pour évaluer chaque périmètre entier "
        "(taille, financement, contiguïté), sans compter dans la couverture de la vue"
    )
    if n_reaching:
        message += (
            f" ; {fr_count(n_reaching, 'périmètre déborde', 'périmètres débordent')} de la vue"
        )
    if n_away:
        away = fr_count(n_away, "périmètre n'a", "périmètres n'ont")
        shown = plural(n_away, "il n'y est pas affiché", "ils n'y sont pas affichés")
        message += f" ; {away} aucune commune dans la vue : {shown}"
    report.add("outside_scope", message + ".")


def _resolve_claims(
    claims: pd.DataFrame,
    scope: _Scope,
    report: Report,
    pid_of_key: Mapping[str, str],
    pname_of_id: Mapping[str, str],
) -> tuple[list[_Resolved], list[_PlmClaim]]:
    """Resolve every token (memoised on distinct tokens): units kept, and PLM parents."""
    resolver = Resolver(scope.lk, scope.units)
    resolved: list[_Resolved] = []
    plm_claims: list[_PlmClaim] = []
    sub = claims.loc[claims["token"].notna().to_numpy()]
    unit_name = scope.lk.unit_name
    for row, pkey, token, dep, given, split in zip(
        sub["row"].tolist(),
        sub["pkey"].tolist(),
        sub["token"].tolist(),
        sub["dep"].tolist(),
        sub["given_name"].tolist(),
        sub["split"].tolist(),
        strict=True,
    ):
        pid = pid_of_key[pkey]
        pname = pname_of_id[pid]
        res = (
            token if isinstance(token, Resolution) else resolver.resolve(token, department_hint=dep)
        )
        for kind, message in res.events:
            report.add(kind, message, row=row, perimeter=pname, code=res.written or None)
        # The common case (a unit, its name matching) stays inline: this loop runs
        # once per row of the file. Units outside the scope are kept (whole perimeters).
        if res.status != "unit" and not _kept(res, report, row=row, perimeter=pname):
            continue
        assert res.code is not None
        if given is not None and not names_match(given, unit_name.get(res.code, "")):
            _report_name_mismatch(res, given, scope.lk, report, row=row, perimeter=pname)
        is_split = split is True
        if res.status == "plm_parent":
            plm_claims.append((row, pid, res.code, res.via, is_split))
        else:
            resolved.append((row, pid, res.code, "unit", res.via, res.written, is_split))
    return resolved, plm_claims


def _kept(res: Resolution, report: Report, *, row: int, perimeter: str) -> bool:
    """Whether a resolved token is kept; unknown ones are reported, out-of-scope ones kept."""
    if res.status == "unknown":
        if any(kind == "non_integer_code" for kind, _ in res.events):
            return False  # already reported by the resolver, with the reason
        if re.search(r"[^\W\d_]", res.written):  # letters: a name, not a code
            report.add(
                "unknown_name",
                f"Commune « {res.written} » introuvable dans le référentiel.",
                row=row,
                perimeter=perimeter,
                code=res.written,
            )
        else:
            report.add(
                "unknown_code",
                f"Code {res.code or res.written} inconnu du référentiel des communes "
                "(code erroné, commune hors de France métropolitaine et des DROM, "
                "ou commune disparue non répertoriée).",
                row=row,
                perimeter=perimeter,
                code=res.written,
            )
        return False
    # An ambiguous name is already reported by the resolver. A unit outside the study
    # scope is kept: the perimeter is evaluated whole (one neutral line, _report_outside).
    return res.status != "ambiguous"


def _report_name_mismatch(
    res: Resolution, given: str, lk: Lookups, report: Report, *, row: int, perimeter: str
) -> None:
    """Report a commune name of the file that does not match the code next to it.

    A former code written with the former commune's name is not a mismatch.
    """
    assert res.code is not None
    expected = lk.unit_name.get(res.code, "")
    if res.via == "former_code" and names_match(given, _former_name_for(lk, res)):
        return
    report.add(
        "name_mismatch",
        f"Le nom « {given} » ne correspond pas au code {res.code} "
        f"(« {expected} » dans le référentiel).",
        row=row,
        perimeter=perimeter,
        code=res.code,
    )


def _expand_plm_parents(
    plm_claims: list[_PlmClaim],
    resolved: list[_Resolved],
    scope: _Scope,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> None:
    """Paris, Lyon, Marseille given by the parent code (appended to ``resolved``).

    A parent stands for all its arrondissements not assigned explicitly to
    another perimeter of the same file.
    """
    explicit_owner: dict[str, set[str]] = defaultdict(set)
    for _row, pid, code, _k, _via, _w, _s in resolved:
        explicit_owner[code].add(pid)
    for row_i, pid, parent, _via, is_split in plm_claims:
        arrs = scope.lk.plm[parent]
        elsewhere = [a for a in arrs if explicit_owner.get(a, set()) - {pid}]
        kept = [a for a in arrs if a not in elsewhere]
        name = PLM_PARENTS.get(parent, parent)
        message = f"{name} ({parent}) remplacé par ses {len(arrs)} arrondissements"
        if elsewhere:
            message += (
                f", sauf {len(elsewhere)} attribué(s) à d'autres périmètres du fichier "
                f"({short_list(elsewhere)}) : {len(kept)} arrondissement(s) retenu(s)"
            )
        report.add(
            "plm_parent_expanded", message + ".", row=row_i, perimeter=pname_of_id[pid], code=parent
        )
        for arr in kept:
            resolved.append((row_i, pid, arr, "unit", "plm_parent", parent, is_split))


def _former_name_for(lk: Lookups, res: Resolution) -> str:
    code = res.cleaned
    if len(code) == 4:
        code = "0" + code
    return lk.former_name.get(code, "")


def _perimeter_table(
    claims: pd.DataFrame, report: Report, *, has_id: bool, reference_date: dt.date
) -> pd.DataFrame:
    rows = []
    used_ids: set[str] = set()
    groups: dict[str, list[int]] = {}
    for i, pkey in enumerate(claims["pkey"].tolist()):
        groups.setdefault(pkey, []).append(i)
    columns = {c: claims[c].tolist() for c in ("row", "pname", "pid", "status_label", "date")}
    for pkey, index in groups.items():
        group = {c: [values[i] for i in index] for c, values in columns.items()}
        names = [n for n in group["pname"] if n]
        ids = [i for i in group["pid"] if i]
        present_rows = [int(r) for r in group["row"] if r is not None]
        first_row = min(present_rows) if present_rows else None
        name = names[0] if names else (ids[0] if ids else "Périmètre sans nom")
        distinct = list(dict.fromkeys(names))
        if len(distinct) > 1:
            kind = "perimeter_name_conflict" if has_id else "perimeter_name_variants"
            report.add(
                kind,
                "Plusieurs graphies pour le même périmètre : "
                + " / ".join(f"« {n} »" for n in distinct)
                + f" ; « {name} » retenu.",
                row=first_row,
                perimeter=name,
            )
        if has_id and ids:
            pid = ids[0]
        else:
            base = slug(name)
            pid, k = base, 2
            while pid in used_ids:
                pid, k = f"{base}-{k}", k + 1
        used_ids.add(pid)
        dates = [d for d in group["date"] if d]
        status_label, reading = _status_of(
            group,
            report,
            name,
            first_row,
            reference_date=reference_date,
            filing_date=dates[0] if dates else None,
        )
        if not dates and reading.status is not None and reading.date:
            # No date column: the date written in brackets after the stage
            # ("en activité (avril 2025)") is the stage date.
            dates = [reading.date]
        rows.append(
            {
                "pkey": pkey,
                "perimeter_id": pid,
                "name": name,
                "status": reading.status,
                "status_label": status_label,
                "date": dates[0] if dates else None,
                "source_rows": tuple(sorted(set(present_rows))),
                "deemed_validated": reading.deemed_validated,
            }
        )
    # dtype=object keeps missing statuses and dates as None.
    frame = pd.DataFrame(
        rows,
        columns=[
            "pkey",
            "perimeter_id",
            "name",
            "status",
            "status_label",
            "date",
            "source_rows",
            "deemed_validated",
        ],
        dtype=object,
    )
    frame["deemed_validated"] = frame["deemed_validated"].astype(bool)
    return frame


def _status_of(
    group: Mapping[str, list[Any]],
    report: Report,
    name: str,
    row: int | None,
    *,
    reference_date: dt.date,
    filing_date: object,
) -> tuple[str | None, StatusReading]:
    """The label retained for a perimeter and what it says at the reference date."""
    labels = [lbl for lbl in group["status_label"] if lbl]
    if not labels:
        report.add(
            "missing_status", "Aucun statut indiqué pour ce périmètre.", row=row, perimeter=name
        )
        return None, StatusReading(None)
    counts = Counter(labels)
    readings = {
        lbl: read_status(lbl, reference_date=reference_date, filing_date=filing_date)
        for lbl in counts
    }
    for lbl in [lbl for lbl, reading in readings.items() if reading.status is None]:
        report.add(
            "unknown_status",
            f"Statut « {lbl} » non reconnu (stades possibles : "
            + ", ".join(status_name(k) for k in STATUS_KEYS)
            + ") : non deviné.",
            row=row,
            perimeter=name,
            code=None,
        )
    known = {lbl: reading for lbl, reading in readings.items() if reading.status is not None}
    if not known:
        return labels[0], StatusReading(None)
    best_label = max(known, key=lambda lbl: (counts[lbl], status_rank(known[lbl].status)))
    if len({reading.status for reading in known.values()}) > 1:
        report.add(
            "status_conflict",
            "Statuts différents pour le même périmètre : "
            + ", ".join(f"« {lbl} » ({counts[lbl]} ligne(s))" for lbl in known)
            + f" ; « {best_label} » retenu.",
            row=row,
            perimeter=name,
        )
    note = filed_project_note(known[best_label], best_label, reference_date=reference_date)
    if note is not None:
        report.add(*note, row=row, perimeter=name)
    return best_label, known[best_label]


def _members(
    resolved: list[tuple[Any, ...]],
    lk: Lookups,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> pd.DataFrame:
    columns = [*MEMBER_COLUMNS, "split"]
    if not resolved:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        resolved, columns=["row", "perimeter_id", "code", "kind", "via", "written", "split"]
    )
    dup = frame.duplicated(["perimeter_id", "code"], keep=False).to_numpy()
    single = frame.loc[~dup, ["perimeter_id", "code", "row", "via", "split"]]
    records = pd.DataFrame(
        {
            "perimeter_id": single["perimeter_id"].to_numpy(),
            "code": single["code"].to_numpy(),
            "source_rows": [() if pd.isna(r) else (int(r),) for r in single["row"].tolist()],
            "via": single["via"].to_numpy(),
            "split": single["split"].to_numpy(dtype=bool),
        }
    )
    merged = []
    groups: dict[tuple[str, str], list[dict[Any, Any]]] = {}
    for item in frame.loc[dup].to_dict("records"):
        groups.setdefault((str(item["perimeter_id"]), str(item["code"])), []).append(item)
    for (pid, code), items in sorted(groups.items()):
        rows = sorted({int(it["row"]) for it in items if not pd.isna(it["row"])})
        vias = {it["via"] for it in items}
        written = sorted({str(it["written"]) for it in items})
        how = ""
        if "plm_parent" in vias:
            how = " (dont via la commune parente)"
        if "former_code" in vias:
            how = " (ancien code et commune actuelle listés tous deux)"
        report.add(
            "duplicate_merged",
            f"Commune {code} ({lk.unit_name.get(code, '')}) listée "
            f"{len(items)} fois dans ce périmètre{how} : lignes {short_list(rows)} ; "
            f"valeurs {', '.join(written)}.",
            row=rows[0] if rows else None,
            perimeter=pname_of_id[pid],
            code=code,
        )
        merged.append(
            {
                "perimeter_id": pid,
                "code": code,
                "source_rows": tuple(rows),
                "via": min(vias, key=VIA_ORDER.index),
                "split": any(bool(it["split"]) for it in items),
            }
        )
    out = pd.concat([records, pd.DataFrame(merged, columns=columns)], ignore_index=True)
    return out.sort_values(["perimeter_id", "code"], kind="stable").reset_index(drop=True)


def _splits(  # noqa: PLR0917 - private step of finish_claims
    resolved: list[tuple[Any, ...]],
    members: pd.DataFrame,
    declared: Mapping[str, Sequence[str]] | None,
    perimeters: pd.DataFrame,
    lk: Lookups,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> pd.DataFrame:
    """Units under a declared infra-communal split (column or option)."""
    rows: list[tuple[str, str, str]] = []
    for _row, pid, code, _kind, via, written, split in resolved:
        if split:
            declared_code = str(written) if via == "plm_parent" else code
            rows.append((pid, code, declared_code))
    if declared:
        rows.extend(_declared_split_rows(declared, perimeters, lk, report))
    frame = pd.DataFrame(rows, columns=SPLIT_COLUMNS).drop_duplicates(["perimeter_id", "code"])
    if not members.empty and not frame.empty:
        keys = set(zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True))
        frame = frame[
            [
                (p, c) in keys
                for p, c in zip(frame["perimeter_id"].tolist(), frame["code"].tolist(), strict=True)
            ]
        ]
    _report_splits(frame, lk, report, pname_of_id)
    return frame.reset_index(drop=True)


def _declared_split_rows(
    declared: Mapping[str, Sequence[str]], perimeters: pd.DataFrame, lk: Lookups, report: Report
) -> list[tuple[str, str, str]]:
    """(perimeter_id, unit, declared code) of the splits declared by option."""
    rows: list[tuple[str, str, str]] = []
    by_name = {
        label_key(n): pid
        for pid, n in zip(
            perimeters["perimeter_id"].tolist(), perimeters["name"].tolist(), strict=True
        )
    }
    ids = set(perimeters["perimeter_id"])
    for commune, owners in declared.items():
        commune_code = clean_code_token(commune)
        if len(commune_code) == 4:
            commune_code = "0" + commune_code
        units = list(lk.plm.get(commune_code, (commune_code,)))
        for owner in owners:
            pid = owner if owner in ids else by_name.get(label_key(owner))
            if pid is None:
                report.add(
                    "split_single",
                    f"Découpage infra-communal de {commune_code} : périmètre « {owner} » "
                    "absent du fichier.",
                    code=commune_code,
                    action="déclaration ignorée",
                )
                continue
            for unit in units:
                rows.append((pid, unit, commune_code))
    return rows


def _report_splits(
    frame: pd.DataFrame, lk: Lookups, report: Report, pname_of_id: Mapping[str, str]
) -> None:
    """One event per declared commune: shared by several perimeters, or by one (no effect)."""
    for declared_value, group in frame.groupby("declared_code", sort=True):
        declared_code = str(declared_value)
        owners = sorted(set(group["perimeter_id"].tolist()))
        names = [pname_of_id[p] for p in owners]
        label = lk.unit_name.get(declared_code, declared_code)
        if len(owners) < 2:
            report.add(
                "split_single",
                f"Découpage infra-communal déclaré pour {declared_code} ({label}) par un seul "
                f"périmètre ({names[0]}) : sans effet.",
                perimeter=names[0],
                code=str(declared_code),
                action="déclaration conservée, sans effet",
            )
        else:
            report.add(
                "infra_split",
                f"{declared_code} ({label}) partagée volontairement entre "
                + ", ".join(names)
                + " (découpage infra-communal déclaré).",
                code=str(declared_code),
            )


def _report_multi(
    members: pd.DataFrame,
    splits: pd.DataFrame,
    lk: Lookups,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> None:
    if members.empty:
        return
    split_keys = set(zip(splits["perimeter_id"].tolist(), splits["code"].tolist(), strict=True))
    owners: dict[str, list[str]] = {}
    for pid, code in zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True):
        if (pid, code) not in split_keys:
            owners.setdefault(code, []).append(pid)
    for code, claimed in sorted(owners.items()):
        if len(claimed) < 2:
            continue
        report.add(
            "in_several_perimeters",
            f"Commune {code} ({lk.unit_name.get(str(code), '')}) présente dans "
            f"{len(claimed)} périmètres : " + ", ".join(pname_of_id[p] for p in claimed) + ".",
            code=str(code),
        )


def _attach_members(
    perimeters: pd.DataFrame, members: pd.DataFrame, report: Report
) -> pd.DataFrame:
    grouped: dict[str, list[str]] = {}
    for pid, code in zip(members["perimeter_id"].tolist(), members["code"].tolist(), strict=True):
        grouped.setdefault(pid, []).append(code)
    codes = {pid: tuple(sorted(c)) for pid, c in grouped.items()}
    out = perimeters.copy()
    out["unit_codes"] = [codes.get(pid, ()) for pid in out["perimeter_id"]]
    out["n_units"] = np.array([len(c) for c in out["unit_codes"]], dtype=np.int64)
    for name, n, rows in zip(
        out["name"].tolist(), out["n_units"].tolist(), out["source_rows"].tolist(), strict=True
    ):
        if n == 0:
            report.add(
                "empty_perimeter",
                "Aucune commune valide dans ce périmètre.",
                row=rows[0] if rows else None,
                perimeter=name,
            )
    return out
