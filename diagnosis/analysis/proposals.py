"""Proposals for white zones: candidate perimeters, or attachment to a neighbour.

For each white-zone cluster (contiguous white units):

- when it reaches the minimum population, it is divided into contiguous
  candidate perimeters that each reach the minimum. The building blocks are
  the cluster's pieces of each EPCI (whole EPCIs are preferred); the smallest
  block under the minimum is merged, repeatedly, into the adjacent block with
  which it shares the longest border (compact shapes), until every candidate
  reaches the minimum;
- when it cannot reach the minimum on its own, it is proposed for attachment
  to the adjacent perimeter with which it shares the longest border;
- a cluster below the minimum with no adjacent perimeter (an island, say) is
  reported for examination;
- a block far above the largest size class (more than ``max_population`` of
  ``aci.toml``'s ``[proposals]``, e.g. a whole metropolis) is split into
  groups that reach ``split_target_population`` without crossing
  ``max_population``: whole EPCIs first, an EPCI's piece being cut into its
  communes only when it alone exceeds ``max_population``;
- a cluster that reaches the minimum but stays small (below
  ``attach_enclosed_below``) and is enclosed by existing perimeters (they
  share at least ``enclosed_border_share`` of its outline) is proposed for
  attachment to the neighbour with the longest border rather than alone, when
  that neighbour stays below ``max_population``.

This greedy agglomeration was chosen over max-p regionalisation (PySAL
``spopt``) after comparing both (``benchmarks/proposals_study.py``): on a
517-commune white zone of Provence-Alpes-Côte d'Azur it ran in 0.08 s against
25-54 s, kept every EPCI whole where max-p split 20 of them, and produced 16
candidates of viable size where max-p produced 84-86 regions just above the
floor (max-p maximises the number of regions, not what a CPTS needs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from diagnosis.analysis.checks import size_class_table
from diagnosis.analysis.geometry import dissolve_groups, polsby_popper, zone_epsg
from diagnosis.analysis.membership import Membership, UnitIndex
from diagnosis.analysis.white_zones import WhiteZones
from diagnosis.core.aci import ProposalRules, SizeRules, proposal_rules, size_rules
from diagnosis.core.numbers import fr_count as _count
from diagnosis.core.numbers import fr_number
from diagnosis.core.referential import Referential, main_zone

__all__ = ["PROPOSAL_COLUMNS", "Proposals", "partition_cluster", "propose_for_white_zones"]

PROPOSAL_COLUMNS = [
    "proposal_id",
    "kind",
    "cluster_id",
    "n_units",
    "population",
    "minimum_population",
    "reaches_minimum",
    "size_class",
    "n_epci",
    "n_epci_whole",
    "epcis",
    "compactness",
    "target_perimeter_id",
    "target_name",
    "target_population_before",
    "population_after",
    "size_class_after",
    "border_m",
    "codes",
    "evidence",
]

KIND_LABELS = {
    "nouveau_perimetre": "Nouveau périmètre candidat",
    "rattachement": "Rattachement à un périmètre voisin",
    "a_examiner": "À examiner (trop petit et sans périmètre voisin)",
}


@dataclass
class Proposals:
    """Candidate perimeters and attachments, with their evidence and geometries."""

    proposals: pd.DataFrame
    units: pd.DataFrame  # proposal_id, code
    geometries: list[shapely.Geometry | None]


def partition_cluster(
    positions: np.ndarray,
    *,
    population: np.ndarray,
    border: dict[tuple[int, int], float],
    blocks: np.ndarray,
    minimum: float,
    maximum: float | None = None,
    target: float | None = None,
) -> list[np.ndarray]:
    """Divide a connected cluster into connected groups that each reach ``minimum``.

    Parameters
    ----------
    positions
        Unit positions of the cluster.
    population
        Population of every unit (indexed by position).
    border
        Shared border length between adjacent units of the cluster, keyed by
        (smaller position, larger position).
    blocks
        Initial block of each unit of the cluster (e.g. its EPCI piece);
        blocks must be connected.
    minimum
        Population each group must reach (when the cluster does).
    maximum
        Population a merge may not cross (None: no limit). A group under
        ``minimum`` whose every merge would cross it still merges, into its
        smallest neighbour: reaching the floor comes first.
    target
        Groups keep merging until they reach it (default: ``minimum``), as
        long as a merge stays within ``maximum``.

    Returns
    -------
    list of numpy.ndarray
        Unit positions of each group, largest population first.

    Notes
    -----
    Greedy agglomeration: the smallest group under ``target`` merges into the
    adjacent group with which it shares the longest border (among those the
    merge keeps within ``maximum``; with a ``maximum``, neighbours still under
    ``target`` first), until no group can.
    """
    goal = minimum if target is None else max(float(target), minimum)
    cap = math.inf if maximum is None else float(maximum)
    block_ids = {b: i for i, b in enumerate(pd.unique(blocks))}
    group_of = np.array([block_ids[b] for b in blocks])
    members: dict[int, set[int]] = defaultdict(set)
    for pos, g in zip(positions.tolist(), group_of.tolist(), strict=True):
        members[g].add(pos)
    group_pop = {g: float(population[list(units)].sum()) for g, units in members.items()}
    where = dict(zip(positions.tolist(), group_of.tolist(), strict=True))
    links: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (u, v), length in border.items():
        gu, gv = where.get(u), where.get(v)
        if gu is None or gv is None or gu == gv:
            continue
        links[gu][gv] += length
        links[gv][gu] += length
    settled: set[int] = set()  # at the floor, and every merge would cross the cap
    while True:
        small = [g for g in members if group_pop[g] < goal and links[g] and g not in settled]
        if not small:
            break
        g = min(small, key=lambda k: (group_pop[k], k))
        allowed = [k for k in links[g] if group_pop[g] + group_pop[k] <= cap]
        if maximum is not None and any(group_pop[k] < goal for k in allowed):
            # Under a cap, small pieces join each other first: joining a big
            # neighbour would use up its room below the cap.
            allowed = [k for k in allowed if group_pop[k] < goal]
        if allowed:
            target = max(allowed, key=lambda k: (links[g][k], -group_pop[k], -k))
        elif group_pop[g] < minimum:
            target = min(links[g], key=lambda k: (group_pop[k], -links[g][k], k))
        else:
            settled.add(g)
            continue
        members[target] |= members.pop(g)
        group_pop[target] += group_pop.pop(g)
        for other, length in links.pop(g).items():
            if other == target:
                continue
            links[other].pop(g, None)
            links[other][target] += length
            links[target][other] += length
        links[target].pop(g, None)
    groups = [np.array(sorted(units)) for units in members.values()]
    return sorted(groups, key=lambda arr: -float(population[arr].sum()))


def propose_for_white_zones(
    m: Membership,
    ref: Referential,
    white: WhiteZones,
    *,
    minimum_population: int | None = None,
    rules: SizeRules | None = None,
    settings: ProposalRules | None = None,
) -> Proposals:
    """Proposals for every white-zone cluster (see the module description).

    Parameters
    ----------
    m
        Membership at the status threshold used for the white zones.
    ref
        Referential of the scope.
    white
        Result of :func:`diagnosis.analysis.white_zones.white_zones` for ``m``.
    minimum_population
        Population each candidate must reach (default: the region's minimum
        from ``data/rules/aci.toml``).
    rules
        Size rules.
    settings
        Maximum size, split target and enclave rule (default: ``[proposals]``
        of ``data/rules/aci.toml``).

    Returns
    -------
    Proposals
        One row per proposal with its evidence, the units of each proposal
        and its dissolved geometry (WGS84).
    """
    rules = rules or size_rules()
    settings = settings or proposal_rules()
    index = m.index
    units = ref.units
    pop = index.population
    epci = units["epci_code"].to_numpy(dtype=object)
    epci_units = ref.epci.set_index("epci_code")["n_units"]
    epci_names = ref.epci.set_index("epci_code")["epci_name"]
    rows: list[dict[str, object]] = []
    unit_rows: list[tuple[str, str]] = []
    groups_for_geometry: list[np.ndarray] = []
    border_coo = index.border_m.tocoo()
    neighbours = white.neighbours
    per_pop = np.bincount(m.member_perimeter, weights=pop[m.member_unit], minlength=m.n_perimeters)

    def candidate(group: np.ndarray, cluster_id: int, minimum: float) -> dict[str, object]:
        return _candidate_row(
            index.codes, group, cluster_id, minimum, pop, epci, epci_units, epci_names, rules
        )

    per_index = dict(zip(m.perimeters["perimeter_id"], range(m.n_perimeters), strict=True))
    covered = np.zeros(len(index.codes), dtype=bool)
    covered[m.member_unit] = True
    epsg = zone_epsg(sorted(set(units["department"].astype(str))))
    split_of: dict[int, float] = {}  # row number → population of the split block

    for cluster_codes, cluster_id in zip(
        white.clusters["codes"].tolist(), white.clusters["cluster_id"].tolist(), strict=True
    ):
        positions = index.positions(list(cluster_codes))
        cluster_pop = float(pop[positions].sum())
        main_region = main_zone(units, index.codes[positions], level="region")
        minimum = float(minimum_population or rules.minimum_for(str(main_region)))
        nb = neighbours[neighbours["cluster_id"] == int(cluster_id)]
        fits, share = _enclosed_fits(
            ref,
            nb,
            positions,
            cluster_pop,
            covered,
            per_pop,
            per_index,
            border_coo=border_coo,
            minimum=minimum,
            settings=settings,
            epsg=epsg,
        )
        if not fits.empty:
            row = candidate(positions, int(cluster_id), minimum)
            row.update(
                _attachment(fits, cluster_pop, minimum, per_pop, per_index, rules, enclosed=share)
            )
            rows.append(row)
            groups_for_geometry.append(positions)
            continue
        if cluster_pop >= minimum:
            groups, oversize = _cluster_groups(
                positions, index, border_coo, epci, minimum=minimum, settings=settings
            )
            for group in groups:
                if oversize:
                    split_of[len(rows)] = cluster_pop
                rows.append(candidate(group, int(cluster_id), minimum))
                groups_for_geometry.append(group)
            continue
        row = candidate(positions, int(cluster_id), minimum)
        row.update(_attachment(nb, cluster_pop, minimum, per_pop, per_index, rules))
        rows.append(row)
        groups_for_geometry.append(positions)

    for i, row in enumerate(rows, start=1):
        row["proposal_id"] = f"PROP-{i:03d}"
    geometries = list(dissolve_groups(ref, groups_for_geometry))
    for i, (row, geom) in enumerate(zip(rows, geometries, strict=True)):
        row["compactness"] = polsby_popper(geom, epsg=epsg)
        if row["kind"] == "nouveau_perimetre":
            row["evidence"] = (
                f"{_count(row['n_units'], 'commune', 'communes')}, "
                f"{_count(row['population'], 'habitant', 'habitants')} (taille "
                f"{row['size_class']}) ; "
                f"{_count(row['n_epci_whole'], 'EPCI entier', 'EPCI entiers')} sur "
                f"{row['n_epci']} ; compacité {fr_number(row['compactness'], 2)}."
            )
            if i in split_of:
                group_pop = float(pop[groups_for_geometry[i]].sum())
                row["evidence"] = _split_evidence(split_of[i], group_pop, settings) + str(
                    row["evidence"]
                )
        for code in row["codes"]:  # type: ignore[attr-defined]
            unit_rows.append((str(row["proposal_id"]), str(code)))
    frame = pd.DataFrame(rows, columns=PROPOSAL_COLUMNS)
    return Proposals(
        proposals=frame,
        units=pd.DataFrame(unit_rows, columns=["proposal_id", "code"]),
        geometries=geometries,
    )


def _inner_borders(
    border_coo: sp.coo_matrix, positions: np.ndarray, n_units: int
) -> dict[tuple[int, int], float]:
    """Shared border length (m) of each pair of adjacent units inside a cluster."""
    in_cluster = np.zeros(n_units, dtype=bool)
    in_cluster[positions] = True
    keep = (
        in_cluster[border_coo.row] & in_cluster[border_coo.col] & (border_coo.row < border_coo.col)
    )
    return dict(
        zip(
            zip(border_coo.row[keep].tolist(), border_coo.col[keep].tolist(), strict=True),
            border_coo.data[keep].tolist(),
            strict=True,
        )
    )


def _attachment(  # noqa: PLR0917 - private step of propose_for_white_zones
    nb: pd.DataFrame,
    cluster_pop: float,
    minimum: float,
    per_pop: np.ndarray,
    per_index: dict[str, int],
    rules: SizeRules,
    *,
    enclosed: float | None = None,
) -> dict[str, object]:
    """Attach a cluster to the neighbour with the longest border.

    The cluster is below the minimum, or (``enclosed`` given: the share of its
    outline shared with perimeters) small and enclosed by perimeters. ``nb``
    lists the neighbouring perimeters, longest border first; without any, the
    cluster is left for examination.
    """
    if nb.empty:
        return {
            "kind": "a_examiner",
            "evidence": (
                f"{_count(cluster_pop, 'habitant', 'habitants')}, sous le seuil de "
                f"{fr_number(minimum)} ; aucun périmètre "
                "voisin (île ou zone enclavée dans d'autres zones blanches)."
            ),
        }
    best = nb.iloc[0]
    target = per_index[best["perimeter_id"]]
    before = float(per_pop[target])
    after = before + cluster_pop
    size_after = int(size_class_table([after], rules=rules).iloc[0]["size_class"])
    return {
        "kind": "rattachement",
        "target_perimeter_id": best["perimeter_id"],
        "target_name": best["name"],
        "target_population_before": int(before),
        "population_after": int(after),
        "size_class_after": size_after,
        "border_m": float(best["border_m"]),
        "evidence": (
            (
                f"{_count(cluster_pop, 'habitant', 'habitants')}, sous le seuil de "
                f"{fr_number(minimum)} : "
                if enclosed is None
                else f"{_count(cluster_pop, 'habitant', 'habitants')}, zone blanche enclavée "
                "(périmètres "
                f"existants sur {fr_number(enclosed * 100)}\u202f% de son contour) : "
            )
            + f"rattachement proposé à {best['name']} (frontière commune de "
            f"{fr_number(best['border_m'] / 1000, 1)} km, la plus longue parmi "
            f"{_count(len(nb), 'périmètre voisin', 'périmètres voisins')}) ; "
            f"{fr_number(before)} → {fr_number(after)} habitants, "
            f"taille {size_after}."
        ),
    }


def _enclosed_fits(  # noqa: PLR0917 - private step of propose_for_white_zones
    ref: Referential,
    nb: pd.DataFrame,
    positions: np.ndarray,
    cluster_pop: float,
    covered: np.ndarray,
    per_pop: np.ndarray,
    per_index: dict[str, int],
    *,
    border_coo: sp.coo_matrix,
    minimum: float,
    settings: ProposalRules,
    epsg: int,
) -> tuple[pd.DataFrame, float]:
    """Neighbours a small enclosed cluster may join, and the enclosed share of its outline.

    Empty unless the cluster reaches the minimum, stays below
    ``attach_enclosed_below`` and is enclosed; only neighbours that stay within
    ``max_population`` after the attachment are kept (longest border first).
    """
    none = nb.iloc[0:0]
    if not minimum <= cluster_pop < settings.attach_enclosed_below or nb.empty:
        return none, 0.0
    share = _enclosed_share(ref, border_coo, positions, covered, epsg=epsg)
    if share < settings.enclosed_border_share:
        return none, share
    before = per_pop[nb["perimeter_id"].map(per_index).to_numpy(dtype=np.int64)]
    return nb[before + cluster_pop <= settings.max_population], share


def _cluster_groups(
    positions: np.ndarray,
    index: UnitIndex,
    border_coo: sp.coo_matrix,
    epci: np.ndarray,
    *,
    minimum: float,
    settings: ProposalRules,
) -> tuple[list[np.ndarray], bool]:
    """Candidate groups of a cluster that reaches the minimum, and whether it was split.

    EPCI pieces are the blocks; a cluster above ``max_population`` is split
    with a cap and a target, its EPCI pieces above the cap cut into units.
    """
    pop = index.population
    border = _inner_borders(border_coo, positions, len(index.codes))
    blocks = _epci_pieces(index.adjacency, positions, epci)
    oversize = float(pop[positions].sum()) > settings.max_population
    if oversize:
        blocks = _split_large_pieces(blocks, positions, pop, settings.max_population)
    groups = partition_cluster(
        positions,
        population=pop,
        border=border,
        blocks=blocks,
        minimum=minimum,
        maximum=settings.max_population if oversize else None,
        target=settings.split_target_population if oversize else None,
    )
    return groups, oversize


def _split_evidence(block_pop: float, population: float, settings: ProposalRules) -> str:
    """Why a candidate is a part of a larger block, in French."""
    text = (
        f"Partie d'une zone blanche de {fr_number(block_pop)} habitants, découpée car au-delà "
        f"de {fr_number(settings.max_population)} habitants (EPCI entiers d'abord). "
    )
    if population > settings.max_population:
        text += "Une commune seule dépasse ce plafond : découpage infra-communal à étudier. "
    return text


def _enclosed_share(
    ref: Referential,
    border_coo: sp.coo_matrix,
    positions: np.ndarray,
    covered: np.ndarray,
    *,
    epsg: int,
) -> float:
    """Share (0 to 1) of a cluster's outline that it shares with units in a perimeter.

    The outline is measured on the dissolved geometry in a metric CRS; the
    shared part is the sum of the referential's border lengths with covered
    units. Coasts and the edge of the scope count as not shared.
    """
    geom = dissolve_groups(ref, [positions])[0]
    if geom is None or geom.is_empty:
        return 0.0
    outline = float(gpd.GeoSeries([geom], crs=4326).to_crs(epsg).length.iloc[0])
    in_cluster = np.zeros(len(covered), dtype=bool)
    in_cluster[positions] = True
    keep = in_cluster[border_coo.row] & covered[border_coo.col]
    shared = float(border_coo.data[keep].sum())
    return min(shared / outline, 1.0) if outline > 0 else 0.0


def _split_large_pieces(
    blocks: np.ndarray, positions: np.ndarray, population: np.ndarray, maximum: float
) -> np.ndarray:
    """Blocks where each piece above ``maximum`` is cut into its single units.

    Pieces within the maximum (whole EPCIs, usually) stay whole.
    """
    pops = pd.Series(population[positions]).groupby(blocks).transform("sum").to_numpy()
    out = blocks.astype(np.int64).copy()
    too_big = np.flatnonzero(pops > maximum)
    out[too_big] = int(blocks.max(initial=0)) + 1 + np.arange(len(too_big))
    return out


def _epci_pieces(adjacency: sp.csr_matrix, positions: np.ndarray, epci: np.ndarray) -> np.ndarray:
    """Connected pieces of each EPCI within the cluster (units without EPCI on their own)."""
    sub = adjacency[positions][:, positions]
    codes = epci[positions]
    rows, cols = sub.nonzero()
    same = np.array(
        [a == b and a is not None for a, b in zip(codes[rows], codes[cols], strict=True)],
        dtype=bool,
    )
    graph = sp.csr_matrix(
        (np.ones(int(same.sum()), dtype=np.int8), (rows[same], cols[same])), shape=sub.shape
    )
    _, labels = connected_components(graph, directed=False)
    return labels


def _candidate_row(  # noqa: PLR0917 - private helper
    codes: np.ndarray,
    group: np.ndarray,
    cluster_id: int,
    minimum: float,
    pop: np.ndarray,
    epci: np.ndarray,
    epci_units: pd.Series,
    epci_names: pd.Series,
    rules: SizeRules,
) -> dict[str, object]:
    population = float(pop[group].sum())
    size = size_class_table([population], rules=rules).iloc[0]
    epci_counts = pd.Series([e for e in epci[group] if e is not None]).value_counts()
    whole = [e for e, n in epci_counts.items() if int(epci_units.get(e, -1)) == int(n)]
    return {
        "proposal_id": None,
        "kind": "nouveau_perimetre",
        "cluster_id": int(cluster_id),
        "n_units": len(group),
        "population": int(population),
        "minimum_population": int(minimum),
        "reaches_minimum": population >= minimum,
        "size_class": int(size["size_class"]),
        "n_epci": len(epci_counts),
        "n_epci_whole": len(whole),
        "epcis": " | ".join(
            f"{epci_names.get(e, e)}{'' if e in whole else ' (partiel)'}" for e in epci_counts.index
        ),
        "compactness": np.nan,
        "target_perimeter_id": None,
        "target_name": None,
        "target_population_before": None,
        "population_after": None,
        "size_class_after": None,
        "border_m": None,
        "codes": tuple(sorted(str(c) for c in codes[group])),
        "evidence": "",
    }
