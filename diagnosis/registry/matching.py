"""Match a dated listing against the registry's perimeters on that date.

A listing's perimeter is matched, in this order, by its identifier (when the
file has an identifier column), by its normalised name, then by the overlap of
its communes (Jaccard index ≥ 0.5). Each step only sees the perimeters no
earlier step took. A perimeter of the listing that two registry perimeters
fit at the same step, or a registry perimeter that two rows of the listing
claim, is *ambiguous*: it is reported with the candidates, never guessed, and
the import is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from diagnosis.core.textnorm import label_key

__all__ = ["JACCARD_MIN", "MatchResult", "jaccard", "match_listing"]

#: Minimum Jaccard index of the commune sets for a match by overlap.
JACCARD_MIN = 0.5

#: How a row was matched (stable ids; French labels in the service's preview).
REASONS = ("identifiant", "nom", "communes")


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard index of two sets of codes (0 when both are empty).

    >>> jaccard(["a", "b"], ["b", "c"])
    0.3333333333333333
    """
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


@dataclass
class MatchResult:
    """Matches (row → registry perimeter, reason, Jaccard) and ambiguities."""

    matches: dict[int, tuple[str, str, float]] = field(default_factory=dict)
    ambiguities: list[dict[str, object]] = field(default_factory=list)

    @property
    def ambiguous_rows(self) -> set[int]:
        """Rows of the listing that are ambiguous."""
        return {int(a["row"]) for a in self.ambiguities}  # type: ignore[call-overload]


def _step(
    rows: list[int],
    remaining: set[str],
    candidates_of: Callable[[int], list[str]],
    *,
    reason: str,
    result: MatchResult,
    scores: Callable[[int, str], float],
) -> None:
    """One matching step: unique fits are matched, others reported as ambiguous."""
    tentative: dict[int, str] = {}
    for row in rows:
        found = sorted(c for c in candidates_of(row) if c in remaining)
        if len(found) == 1:
            tentative[row] = found[0]
        elif len(found) > 1:
            result.ambiguities.append(
                {"row": row, "candidates": tuple(found), "reason": reason, "kind": "several"}
            )
    claimed: dict[str, list[int]] = {}
    for row, pid in tentative.items():
        claimed.setdefault(pid, []).append(row)
    for pid, claimers in claimed.items():
        if len(claimers) > 1:
            for row in claimers:
                result.ambiguities.append(
                    {"row": row, "candidates": (pid,), "reason": reason, "kind": "shared"}
                )
            continue
        row = claimers[0]
        result.matches[row] = (pid, reason, scores(row, pid))
        remaining.discard(pid)
    for pid in claimed:
        remaining.discard(pid)  # an ambiguous candidate is not offered to the next step


def match_listing(listing: pd.DataFrame, candidates: pd.DataFrame, *, has_id: bool) -> MatchResult:
    """Match the rows of a listing to registry perimeters.

    Parameters
    ----------
    listing
        One row per perimeter of the listing: ``external_id`` (None without an
        identifier column), ``name``, ``codes`` (tuple of unit codes).
    candidates
        The registry's perimeters valid on the listing's date in its scope:
        ``perimeter_id``, ``external_id``, ``name``, ``codes``.
    has_id
        Whether the listing has an identifier column.

    Returns
    -------
    MatchResult
        ``matches``: listing row position → (perimeter_id, reason, Jaccard);
        ``ambiguities``: one entry per ambiguous row (its candidates, the
        step, ``several`` when several perimeters fit, ``shared`` when several
        rows fit one perimeter).
    """
    result = MatchResult()
    remaining = set(candidates["perimeter_id"])
    cand_codes = dict(zip(candidates["perimeter_id"], candidates["codes"], strict=True))
    row_codes = listing["codes"].tolist()

    def score(row: int, pid: str) -> float:
        return jaccard(row_codes[row], cand_codes[pid])

    def index(values: Sequence[Hashable]) -> dict[Hashable, list[str]]:
        out: dict[Hashable, list[str]] = {}
        for pid, value in zip(candidates["perimeter_id"], values, strict=True):
            if value:
                out.setdefault(value, []).append(pid)
        return out

    def pending() -> list[int]:
        done = set(result.matches) | result.ambiguous_rows
        return [i for i in range(len(listing)) if i not in done]

    if has_id:
        by_id = index([str(v) if v else None for v in candidates["external_id"]])
        ids = [str(v) if v else None for v in listing["external_id"]]
        _step(
            pending(),
            remaining,
            lambda r: by_id.get(ids[r], []) if ids[r] else [],
            reason="identifiant",
            result=result,
            scores=score,
        )
    by_name = index([label_key(n) for n in candidates["name"]])
    names = [label_key(n) for n in listing["name"]]
    _step(
        pending(),
        remaining,
        lambda r: by_name.get(names[r], []),
        reason="nom",
        result=result,
        scores=score,
    )
    by_code: dict[str, list[str]] = {}
    for pid, codes in cand_codes.items():
        for code in codes:
            by_code.setdefault(code, []).append(pid)

    def overlapping(row: int) -> list[str]:
        near = {pid for code in row_codes[row] for pid in by_code.get(code, ())}
        return [pid for pid in near if pid in remaining and score(row, pid) >= JACCARD_MIN]

    _step(pending(), remaining, overlapping, reason="communes", result=result, scores=score)
    return result
