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
minimum (max-p maximises the number of regions, not what a CPTS needs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from diagnosis.analysis.checks import size_class_table
from diagnosis.analysis.geometry import dissolve_groups, polsby_popper, zone_epsg
from diagnosis.analysis.membership import Membership, UnitIndex
from diagnosis.analysis.partition import (
    epci_pieces,
    inner_borders,
    partition_cluster,
    split_large_pieces,
)
from diagnosis.analysis.white_zones import WhiteZones
from diagnosis.core.aci import ProposalRules, SizeRules, proposal_rules, size_rules
from diagnosis.core.numbers import fr_count as _count
from diagnosis.core.numbers import fr_number
from diagnosis.core.referential import Referential, main_zone

__all__ = [
    "PROPOSAL_COLUMNS",
    "STRATEGIES",
    "Proposals",
    "partition_cluster",
    "propose_for_white_zones",
]

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


@dataclass
class Proposals:
    """Candidate perimeters and attachments, with their evidence and geometries."""

    proposals: pd.DataFrame
    units: pd.DataFrame  # proposal_id, code
    geometries: list[shapely.Geometry | None]


def propose_for_white_zones(
    membership: Membership,
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
    membership
        Membership at the status threshold used for the white zones.
    ref
        Referential of the scope.
    white
        Result of :func:`diagnosis.analysis.white_zones.white_zones` for ``membership``.
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

    Notes
    -----
    Each cluster goes to the first strategy of :data:`STRATEGIES` that takes
    it: attachment of a small enclosed cluster, new candidate perimeters
    (splitting blocks above ``max_population``), attachment of a cluster below
    the minimum to its neighbour (or examination, without one).
    """
    ctx = _context(membership, ref, rules or size_rules(), settings or proposal_rules())
    drafts: list[_Draft] = []
    for codes, cluster_id in zip(
        white.clusters["codes"].tolist(), white.clusters["cluster_id"].tolist(), strict=True
    ):
        cluster = _cluster(ctx, white, list(codes), int(cluster_id), minimum_population)
        drafts.extend(_drafts_for(ctx, cluster))
    return _proposals(ctx, drafts)


@dataclass(frozen=True)
class _Context:
    """What every strategy reads: the units, the perimeters' populations, the rules."""

    ref: Referential
    index: UnitIndex
    epci: np.ndarray  # EPCI code of each unit position (None without EPCI)
    epci_units: pd.Series  # number of units by EPCI code
    epci_names: pd.Series  # name by EPCI code
    border_coo: sp.coo_matrix
    covered: np.ndarray  # unit position -> in a perimeter
    per_pop: np.ndarray  # population of each perimeter of the membership
    per_index: dict[str, int]  # perimeter_id -> perimeter position
    epsg: int
    rules: SizeRules
    settings: ProposalRules


@dataclass(frozen=True)
class _Cluster:
    """One white-zone cluster and the minimum its candidates must reach."""

    cluster_id: int
    positions: np.ndarray
    population: float
    minimum: float
    neighbours: pd.DataFrame  # adjacent perimeters, longest border first


@dataclass(frozen=True)
class _Draft:
    """A proposal before numbering: its row, its units, the block it was split from."""

    row: dict[str, object]
    group: np.ndarray
    split_block_population: float | None = None


def _context(
    membership: Membership, ref: Referential, rules: SizeRules, settings: ProposalRules
) -> _Context:
    index = membership.index
    covered = np.zeros(len(index.codes), dtype=bool)
    covered[membership.member_unit] = True
    epci_table = ref.epci.set_index("epci_code")
    return _Context(
        ref=ref,
        index=index,
        epci=ref.units["epci_code"].to_numpy(dtype=object),
        epci_units=epci_table["n_units"],
        epci_names=epci_table["epci_name"],
        border_coo=index.border_m.tocoo(),
        covered=covered,
        per_pop=np.bincount(
            membership.member_perimeter,
            weights=index.population[membership.member_unit],
            minlength=membership.n_perimeters,
        ),
        per_index=dict(
            zip(membership.perimeters["perimeter_id"], range(membership.n_perimeters), strict=True)
        ),
        epsg=zone_epsg(sorted(set(ref.units["department"].astype(str)))),
        rules=rules,
        settings=settings,
    )


def _cluster(
    ctx: _Context,
    white: WhiteZones,
    codes: list[str],
    cluster_id: int,
    minimum_population: int | None,
) -> _Cluster:
    positions = ctx.index.positions(codes)
    main_region = main_zone(ctx.ref.units, ctx.index.codes[positions], level="region")
    neighbours = white.neighbours
    return _Cluster(
        cluster_id=cluster_id,
        positions=positions,
        population=float(ctx.index.population[positions].sum()),
        minimum=float(minimum_population or ctx.rules.minimum_for(str(main_region))),
        neighbours=neighbours[neighbours["cluster_id"] == cluster_id],
    )


# --------------------------------------------------------------------------
# Strategies: each takes a cluster (its drafts) or leaves it to the next one
# --------------------------------------------------------------------------

#: A strategy: the drafts it proposes for a cluster, or an empty list to pass.
Strategy = Callable[[_Context, _Cluster], list[_Draft]]


def _enclosed_attachment(ctx: _Context, cluster: _Cluster) -> list[_Draft]:
    """A small cluster enclosed by perimeters joins the neighbour with the longest border."""
    fits, share = _enclosed_fits(ctx, cluster)
    if fits.empty:
        return []
    row = _candidate_row(ctx, cluster.positions, cluster)
    row.update(_attachment(ctx, cluster, fits, enclosed=share))
    return [_Draft(row, cluster.positions)]


def _new_perimeters(ctx: _Context, cluster: _Cluster) -> list[_Draft]:
    """A cluster reaching the minimum becomes candidate perimeters (split when too big)."""
    if cluster.population < cluster.minimum:
        return []
    groups, oversize = _cluster_groups(ctx, cluster)
    split_block = cluster.population if oversize else None
    return [_Draft(_candidate_row(ctx, group, cluster), group, split_block) for group in groups]


def _small_attachment(ctx: _Context, cluster: _Cluster) -> list[_Draft]:
    """A cluster below the minimum joins its neighbour, or is left for examination."""
    row = _candidate_row(ctx, cluster.positions, cluster)
    row.update(_attachment(ctx, cluster, cluster.neighbours))
    return [_Draft(row, cluster.positions)]


#: The strategies, tried in this order; the last one takes every cluster.
STRATEGIES: tuple[Strategy, ...] = (_enclosed_attachment, _new_perimeters, _small_attachment)


def _drafts_for(ctx: _Context, cluster: _Cluster) -> list[_Draft]:
    """The drafts of the first strategy that takes the cluster."""
    for strategy in STRATEGIES:
        drafts = strategy(ctx, cluster)
        if drafts:
            return drafts
    raise AssertionError("the last strategy takes every cluster")  # pragma: no cover


def _proposals(ctx: _Context, drafts: list[_Draft]) -> Proposals:
    """Number the drafts, dissolve their geometries and write the evidence of new perimeters."""
    rows = [draft.row for draft in drafts]
    for i, row in enumerate(rows, start=1):
        row["proposal_id"] = f"PROP-{i:03d}"
    geometries = list(dissolve_groups(ctx.ref, [draft.group for draft in drafts]))
    unit_rows: list[tuple[str, str]] = []
    for draft, geom in zip(drafts, geometries, strict=True):
        row = draft.row
        row["compactness"] = polsby_popper(geom, epsg=ctx.epsg)
        if row["kind"] == "nouveau_perimetre":
            row["evidence"] = _new_perimeter_evidence(ctx, draft)
        for code in row["codes"]:  # type: ignore[attr-defined]
            unit_rows.append((str(row["proposal_id"]), str(code)))
    return Proposals(
        proposals=pd.DataFrame(rows, columns=PROPOSAL_COLUMNS),
        units=pd.DataFrame(unit_rows, columns=["proposal_id", "code"]),
        geometries=geometries,
    )


def _new_perimeter_evidence(ctx: _Context, draft: _Draft) -> str:
    """Why a candidate perimeter is proposed, in French (and the block it was cut from)."""
    row = draft.row
    text = (
        f"{_count(row['n_units'], 'commune', 'communes')}, "
        f"{_count(row['population'], 'habitant', 'habitants')} (taille "
        f"{row['size_class']}) ; "
        f"{_count(row['n_epci_whole'], 'EPCI entier', 'EPCI entiers')} sur "
        f"{row['n_epci']} ; compacité {fr_number(row['compactness'], 2)}."
    )
    if draft.split_block_population is None:
        return text
    group_pop = float(ctx.index.population[draft.group].sum())
    return _split_evidence(draft.split_block_population, group_pop, ctx.settings) + text


def _attachment(
    ctx: _Context, cluster: _Cluster, nb: pd.DataFrame, *, enclosed: float | None = None
) -> dict[str, object]:
    """Attach a cluster to the neighbour with the longest border.

    The cluster is below the minimum, or (``enclosed`` given: the share of its
    outline shared with perimeters) small and enclosed by perimeters. ``nb``
    lists the neighbouring perimeters, longest border first; without any, the
    cluster is left for examination.
    """
    cluster_pop, minimum = cluster.population, cluster.minimum
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
    target = ctx.per_index[best["perimeter_id"]]
    before = float(ctx.per_pop[target])
    after = before + cluster_pop
    size_after = int(size_class_table([after], rules=ctx.rules).iloc[0]["size_class"])
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


def _enclosed_fits(ctx: _Context, cluster: _Cluster) -> tuple[pd.DataFrame, float]:
    """Neighbours a small enclosed cluster may join, and the enclosed share of its outline.

    Empty unless the cluster reaches the minimum, stays below
    ``attach_enclosed_below`` and is enclosed; only neighbours that stay within
    ``max_population`` after the attachment are kept (longest border first).
    """
    nb, settings, cluster_pop = cluster.neighbours, ctx.settings, cluster.population
    none = nb.iloc[0:0]
    if not cluster.minimum <= cluster_pop < settings.attach_enclosed_below or nb.empty:
        return none, 0.0
    share = _enclosed_share(ctx.ref, ctx.border_coo, cluster.positions, ctx.covered, epsg=ctx.epsg)
    if share < settings.enclosed_border_share:
        return none, share
    before = ctx.per_pop[nb["perimeter_id"].map(ctx.per_index).to_numpy(dtype=np.int64)]
    return nb[before + cluster_pop <= settings.max_population], share


def _cluster_groups(ctx: _Context, cluster: _Cluster) -> tuple[list[np.ndarray], bool]:
    """Candidate groups of a cluster that reaches the minimum, and whether it was split.

    EPCI pieces are the blocks; a cluster above ``max_population`` is split
    with a cap and a target, its EPCI pieces above the cap cut into units.
    """
    index, settings, positions = ctx.index, ctx.settings, cluster.positions
    pop = index.population
    border = inner_borders(ctx.border_coo, positions, len(index.codes))
    blocks = epci_pieces(index.adjacency, positions, ctx.epci)
    oversize = float(pop[positions].sum()) > settings.max_population
    if oversize:
        blocks = split_large_pieces(blocks, positions, pop, settings.max_population)
    groups = partition_cluster(
        positions,
        population=pop,
        border=border,
        blocks=blocks,
        minimum=cluster.minimum,
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


def _candidate_row(ctx: _Context, group: np.ndarray, cluster: _Cluster) -> dict[str, object]:
    """The row of a new candidate perimeter made of ``group`` (unit positions)."""
    minimum, epci_units = cluster.minimum, ctx.epci_units
    population = float(ctx.index.population[group].sum())
    size = size_class_table([population], rules=ctx.rules).iloc[0]
    epci_counts = pd.Series([e for e in ctx.epci[group] if e is not None]).value_counts()
    whole = [e for e, n in epci_counts.items() if int(epci_units.get(e, -1)) == int(n)]
    return {
        "proposal_id": None,
        "kind": "nouveau_perimetre",
        "cluster_id": cluster.cluster_id,
        "n_units": len(group),
        "population": int(population),
        "minimum_population": int(minimum),
        "reaches_minimum": population >= minimum,
        "size_class": int(size["size_class"]),
        "n_epci": len(epci_counts),
        "n_epci_whole": len(whole),
        "epcis": " | ".join(
            f"{ctx.epci_names.get(e, e)}{'' if e in whole else ' (partiel)'}"
            for e in epci_counts.index
        ),
        "compactness": np.nan,
        "target_perimeter_id": None,
        "target_name": None,
        "target_population_before": None,
        "population_after": None,
        "size_class_after": None,
        "border_m": None,
        "codes": tuple(sorted(str(c) for c in ctx.index.codes[group])),
        "evidence": "",
    }
