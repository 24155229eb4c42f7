"""Shares of a commune claimed by several perimeters: parts in whole inhabitants.

A committee (or a listing) may give each perimeter claiming a shared city a
share of its inhabitants. :func:`whole_parts` turns the shares of one city
into parts in whole inhabitants that add up exactly to its population;
:func:`share_table` checks a table of shares (:data:`SHARE_COLUMNS`) and
:func:`with_shares` returns a new import carrying them, so that every view of
a session counts the city the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from diagnosis.core.model import SHARE_COLUMNS, PerimeterImport
from diagnosis.core.numbers import fr_share
from diagnosis.errors import DataError

__all__ = ["SHARE_TOLERANCE", "merge_shares", "share_table", "whole_parts", "with_shares"]

#: Shares of one commune may add up to 1 + this (float sums of percentages).
SHARE_TOLERANCE = 1e-9


def whole_parts(
    population: int, shares: Sequence[float], *, commune: str = "cette commune"
) -> tuple[int, ...]:
    """The parts of a commune's inhabitants given each party's share, in whole inhabitants.

    Parameters
    ----------
    population
        Inhabitants of the commune.
    shares
        Share of each party (0 to 1), summing to at most 1.
    commune
        How the commune is named in an error message ("la commune 13001").

    Returns
    -------
    tuple of int
        One part per party, adding up exactly to ``population``.

    Raises
    ------
    DataError
        A share outside 0..1, or shares adding up to more than 100 %.

    Notes
    -----
    Each part is its share of the population rounded to the nearest
    inhabitant (half to even, as :func:`round`); what rounding leaves over or
    short, and the inhabitants of shares adding up to less than 100 %, go to
    the largest part (the last of equal largest parts). For two parties whose
    shares add up to 100 % this is A's rounded share and B the rest, except
    when both exact parts end in a half inhabitant and A's is the larger:
    the half then goes to A, the largest part.

    >>> whole_parts(100, [1 / 3, 1 / 3, 1 / 3])
    (33, 33, 34)
    >>> whole_parts(1001, [0.3, 0.7])
    (300, 701)
    """
    values = [float(s) for s in shares]
    _check_shares(values, what=commune)
    if not values:
        return ()
    exact = [population * s for s in values]
    parts = [round(x) for x in exact]
    largest = max(range(len(exact)), key=lambda i: (exact[i], i))
    parts[largest] += population - sum(parts)
    return tuple(int(p) for p in parts)


def _check_shares(values: Sequence[float], *, what: str) -> None:
    """Refuse shares outside 0..1 or adding up to more than 100 %, in French."""
    wrong = [v for v in values if not 0.0 <= v <= 1.0]
    if wrong:
        raise DataError(
            f"Part de {what} attendue entre 0 et 1 (0 à 100 %) ; reçu {fr_share(wrong[0])}. "
            "Ce partage n'est pas appliqué : la commune reste comptée en entier."
        )
    total = float(np.sum(values))
    if total > 1.0 + SHARE_TOLERANCE:
        raise DataError(
            f"Les parts de {what} dépassent 100 % ({fr_share(total)}) ; attendu au plus "
            "100 %. Ce partage n'est pas appliqué : la commune reste comptée en entier."
        )


def share_table(shares: pd.DataFrame, *, sums: bool = True) -> pd.DataFrame:
    """A checked copy of a table of shares (:data:`SHARE_COLUMNS`).

    ``sums=False`` leaves the check of each commune's total to the caller
    (:func:`whole_parts` checks the shares it splits).

    Raises
    ------
    DataError
        A missing column, a (perimeter, commune) given twice, a share that is
        not a number between 0 and 1, or the shares of a commune adding up to
        more than 100 %.
    """
    missing = [c for c in SHARE_COLUMNS if c not in shares.columns]
    if missing:
        raise DataError(
            "Tableau de parts incomplet : colonnes attendues "
            f"{', '.join(SHARE_COLUMNS)} ; absentes : {', '.join(missing)}."
        )
    table = shares.loc[:, SHARE_COLUMNS].copy()
    table["perimeter_id"] = table["perimeter_id"].astype(str)
    table["code"] = table["code"].astype(str)
    table["share"] = pd.to_numeric(table["share"], errors="coerce").astype("float64")
    twice = table.duplicated(["perimeter_id", "code"])
    if twice.any():
        row = table[twice].iloc[0]
        raise DataError(
            f"Part donnée deux fois pour le périmètre {row['perimeter_id']} et la commune "
            f"{row['code']} : une seule part par périmètre et par commune est attendue."
        )
    if table["share"].isna().any():
        code = table.loc[table["share"].isna(), "code"].iloc[0]
        raise DataError(f"Part illisible pour la commune {code} : attendu un nombre entre 0 et 1.")
    if sums:
        for code, group in table.groupby("code", sort=True):
            _check_shares(group["share"].tolist(), what=f"la commune {code!s}")
    return table.reset_index(drop=True)


def merge_shares(kept: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Shares ``new`` replacing the same (perimeter, commune) rows of ``kept``; both checked.

    Raises
    ------
    DataError
        Either table is not a valid table of shares, or the shares of a
        commune add up to more than 100 % once combined.
    """
    new = share_table(new)
    old = share_table(kept)
    replaced = pd.MultiIndex.from_frame(old[["perimeter_id", "code"]]).isin(
        pd.MultiIndex.from_frame(new[["perimeter_id", "code"]])
    )
    parts = [frame for frame in (old.loc[~replaced], new) if len(frame)]
    combined = pd.concat(parts, ignore_index=True) if parts else new
    return share_table(combined).sort_values(["code", "perimeter_id"], ignore_index=True)


def with_shares(imported: PerimeterImport, shares: pd.DataFrame) -> PerimeterImport:
    """A new import whose shares are ``shares``, replacing the same (perimeter, commune) rows.

    Rows of ``imported.shares`` for other (perimeter, commune) pairs are kept.
    Neither input is modified.

    Parameters
    ----------
    imported
        An import (from a file, the registry or built in code).
    shares
        Shares to apply (:data:`SHARE_COLUMNS`), e.g. those chosen in Arbitrage
        (:attr:`diagnosis.analysis.disputes.Dispute.shares`).

    Raises
    ------
    DataError
        ``shares`` is not a valid table of shares, or the shares of a commune
        would add up to more than 100 % once combined with those kept.
    """
    return dataclasses.replace(imported, shares=merge_shares(imported.shares, shares))
