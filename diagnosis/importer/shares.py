"""Importer step for declared shares of communes claimed by several perimeters.

A listing may say which part of a shared city each CPTS serves, in a column
such as "part", "quote-part" or "part de la population (%)" on the city's row
(:mod:`diagnosis.io.columns`, role ``share``). Values are read as people write
them (``33``, ``33 %``, ``0,33``, ``1/3``); unreadable values and shares of one
commune summing above 100 % are reported and refused (the commune is then
counted whole for each perimeter, as without shares). The parts in whole
inhabitants are computed by the analysis
(:func:`diagnosis.analysis.dispute_shares.whole_parts`, the rounding Arbitrage uses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from diagnosis.core.communes import Lookups
from diagnosis.core.model import SHARE_TOLERANCE, Report, share_frame, share_text
from diagnosis.core.numbers import NNBSP

__all__ = ["parse_share", "read_shares"]

_FRACTION = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*/\s*(\d+(?:[.,]\d+)?)\s*$")
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(%?)\s*$")


def parse_share(text: str) -> float | None:
    """A share written in a cell, as a fraction of 1; None when it is not a share.

    A value with "%" is a percentage, ``a/b`` a fraction; a bare number above
    1 is a percentage (``33`` is 33 %), up to 1 a fraction (``0,33``; ``1`` is
    the whole commune). The result is in ]0, 1]; anything else is None.

    >>> parse_share("33 %"), parse_share("33"), parse_share("0,25"), parse_share("1/4")
    (0.33, 0.33, 0.25, 0.25)
    >>> parse_share("120 %"), parse_share("moitié"), parse_share("0")
    (None, None, None)
    """
    value: float | None = None
    fraction = _FRACTION.match(text)
    number = _NUMBER.match(text.replace("\u202f", "").replace("\xa0", ""))
    if fraction:
        denominator = float(fraction.group(2).replace(",", "."))
        if denominator > 0:
            value = float(fraction.group(1).replace(",", ".")) / denominator
    elif number:
        value = float(number.group(1).replace(",", "."))
        if number.group(2) or value > 1:
            value /= 100
    if value is None or not 0 < value <= 1 + SHARE_TOLERANCE:
        return None
    return round(min(value, 1.0), 12)


def read_shares(
    claims: pd.DataFrame,
    resolved: Sequence[tuple[Any, ...]],
    members: pd.DataFrame,
    *,
    lk: Lookups,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> pd.DataFrame:
    """The declared shares of a file (:data:`diagnosis.core.model.SHARE_COLUMNS`), reported.

    ``claims`` carries the share cell of each claim (column ``share``, absent
    for formats without one); ``resolved`` lists the units each claim's row
    gave (row, perimeter id, unit code first); ``members`` the perimeters'
    units after duplicates were merged.
    """
    if "share" not in claims.columns:
        return share_frame()
    by_row = _shares_by_row(claims, report, pname_of_id)
    if not by_row:
        return share_frame()
    declared: dict[tuple[str, str], float] = {}
    for item in resolved:
        row, pid, code = item[0], item[1], item[2]
        if row in by_row:
            declared.setdefault((str(pid), str(code)), by_row[row])
    claimants = members.groupby("code")["perimeter_id"].agg(list).to_dict() if len(members) else {}
    kept: list[tuple[str, str, float]] = []
    for code in sorted({c for _, c in declared}):
        owners = [str(p) for p in claimants.get(code, [])]
        given = {p: declared[(p, code)] for p in owners if (p, code) in declared}
        if _report_commune(code, owners, given, lk=lk, report=report, pname_of_id=pname_of_id):
            kept += [(p, code, s) for p, s in given.items()]
    return share_frame(kept)


def _shares_by_row(
    claims: pd.DataFrame, report: Report, pname_of_id: Mapping[str, str]
) -> dict[int, float]:
    """The readable share of each row that gives one; unreadable values are reported."""
    shares: dict[int, float] = {}
    seen: set[int] = set()
    for row, pname, pid, cell in zip(
        claims["row"].tolist(),
        claims["pname"].tolist(),
        claims["pid"].tolist(),
        claims["share"].tolist(),
        strict=True,
    ):
        if cell is None or row is None or row in seen:
            continue
        seen.add(int(row))
        value = parse_share(str(cell))
        if value is None:
            report.add(
                "share_invalid",
                f"Part « {cell} » illisible : attendu un pourcentage (33{NNBSP}%, 33), une "
                f"fraction (0,33 ou 1/3) entre 0 et 100{NNBSP}%. La commune est comptée entière.",
                row=int(row),
                perimeter=pname or pid,
                code=str(cell),
            )
            continue
        shares[int(row)] = value
    return shares


def _report_commune(
    code: str,
    owners: Sequence[str],
    given: Mapping[str, float],
    *,
    lk: Lookups,
    report: Report,
    pname_of_id: Mapping[str, str],
) -> bool:
    """Report the shares declared for one commune; False when they are refused."""
    label = f"{lk.unit_name.get(code, '')} ({code})"
    listed = " ; ".join(f"{pname_of_id.get(p, p)} {share_text(s)}" for p, s in given.items())
    total = sum(given.values())
    if total > 1 + SHARE_TOLERANCE:
        report.add(
            "share_over_total",
            f"{label} : parts déclarées de {share_text(total)} au total ({listed}), au-delà de "
            f"100{NNBSP}%. Parts refusées : la commune est comptée entière pour chaque "
            "périmètre.",
            code=code,
        )
        return False
    report.add(
        "share_declared",
        f"{label} : parts déclarées ({listed}) ; chaque périmètre compte sa part des habitants.",
        code=code,
    )
    free = [pname_of_id.get(p, p) for p in owners if p not in given]
    if free:
        report.add(
            "share_completed",
            f"{label} : sans part déclarée pour {', '.join(free)} ; le reste "
            f"({share_text(max(1 - total, 0.0))}) est réparti à parts égales entre eux.",
            code=code,
        )
    elif total < 1 - SHARE_TOLERANCE:
        report.add(
            "share_completed",
            f"{label} : parts déclarées de {share_text(total)} au total ; ramenées à 100{NNBSP}% "
            "entre les périmètres qui la revendiquent.",
            code=code,
        )
    return True
