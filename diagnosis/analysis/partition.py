"""Greedy partition of a white-zone cluster into contiguous candidate perimeters.

The building blocks are the cluster's connected pieces of each EPCI
(:func:`epci_pieces`); pieces too big for the cap are cut into their units
(:func:`split_large_pieces`); :func:`partition_cluster` then merges the
smallest group, repeatedly, into the adjacent group with which it shares the
longest border. Used by :mod:`diagnosis.analysis.proposals`.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["epci_pieces", "inner_borders", "partition_cluster", "split_large_pieces"]


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
        smallest neighbour: reaching the minimum comes first.
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
    settled: set[int] = set()  # at the minimum, and every merge would cross the cap
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


def inner_borders(
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


def split_large_pieces(
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


def epci_pieces(adjacency: sp.csr_matrix, positions: np.ndarray, epci: np.ndarray) -> np.ndarray:
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
