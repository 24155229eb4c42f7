"""The DREES APL method as data: one typed loader of ``data/rules/apl.toml``.

Every APL figure of the package (the 2SFCA engine, the workbook loaders, the
territory indicators) reads its parameters here: units and thresholds per
profession, decay bands, activity caps, age weights.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from typing import Any

from diagnosis.core.textnorm import label_key
from diagnosis.errors import DataError
from diagnosis.paths import RULES_DIR

__all__ = [
    "AplProfession",
    "apl_parameters",
    "apl_profession",
    "apl_professions",
    "find_profession",
]


@dataclass(frozen=True)
class AplProfession:
    """One profession of the DREES APL dataset.

    Attributes
    ----------
    key
        Stable id (``medecin_generaliste``, ``infirmier``, ...).
    short
        Short id used in indicator ids (``mg`` gives ``apl_mg``).
    label
        French plural used in citations ("APL aux médecins généralistes").
    unit
        Unit of the APL of this profession.
    threshold
        Under-service threshold, or ``None`` when DREES defines none (then no
        "share below the threshold" is computed).
    wording
        Wordings naming the profession in a workbook (accent- and case-free).
    decimals
        Digits shown for a value of this unit.
    """

    key: str
    short: str
    label: str
    unit: str
    threshold: float | None
    wording: tuple[str, ...]
    decimals: int = 1


@functools.lru_cache(maxsize=1)
def apl_parameters() -> dict[str, Any]:
    """The raw DREES APL method parameters (``data/rules/apl.toml``)."""
    with (RULES_DIR / "apl.toml").open("rb") as fh:
        return tomllib.load(fh)


@functools.lru_cache(maxsize=1)
def apl_professions() -> dict[str, AplProfession]:
    """The professions of ``apl.toml``, by key, in file order."""
    out: dict[str, AplProfession] = {}
    for key, spec in apl_parameters()["professions"].items():
        threshold = spec.get("threshold")
        if threshold is not None and math.isnan(float(threshold)):
            threshold = None
        out[key] = AplProfession(
            key=key,
            short=str(spec["short"]),
            label=str(spec["label"]),
            unit=str(spec["unit"]),
            threshold=None if threshold is None else float(threshold),
            wording=tuple(label_key(w) for w in spec.get("wording", [])),
            decimals=int(spec.get("decimals", 1)),
        )
    return out


def apl_profession(key: str) -> AplProfession:
    """One profession by key or short id; a French error lists the known ones."""
    professions = apl_professions()
    if key in professions:
        return professions[key]
    for prof in professions.values():
        if prof.short == key:
            return prof
    raise DataError(
        f"Profession APL inconnue : « {key} ». Attendu : "
        + ", ".join(f"{p.key} ({p.short})" for p in professions.values())
        + "."
    )


def find_profession(texts: list[str]) -> AplProfession | None:
    """The first profession whose wording appears in one of ``texts`` (titles, headers)."""
    keys = [f" {label_key(t)} " for t in texts if t]
    for text in keys:
        for prof in apl_professions().values():
            if any(f" {w}" in text for w in prof.wording):
                return prof
    return None


@functools.lru_cache(maxsize=1)
def professions() -> list[dict[str, str]]:
    """Professions recognised in the Annuaire santé extraction (``data/rules/professions.toml``)."""
    with (RULES_DIR / "professions.toml").open("rb") as fh:
        return list(tomllib.load(fh)["profession"])
