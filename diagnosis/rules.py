"""Rules and tables kept as data files in ``data/rules/`` (stages, sizes, funding).

A later avenant or a region-specific setting is a data change, not a code
change: every table here comes with its source and date.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from diagnosis.paths import RULES_DIR
from diagnosis.textnorm import label_key

StageKey = Literal["emergence", "lettre_intention", "projet_sante", "aci_signe"]
STAGE_KEYS: tuple[StageKey, ...] = ("emergence", "lettre_intention", "projet_sante", "aci_signe")


def _read_toml(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or RULES_DIR) / name
    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Stage:
    """A stage of a CPTS project."""

    key: StageKey
    rank: int
    label_fr: str
    synonyms: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def stages() -> tuple[Stage, ...]:
    """The four stages, in order, with the labels that map to each."""
    data = _read_toml("statuses.toml")
    out = []
    for item in data["stage"]:
        synonyms = {label_key(s) for s in item["synonyms"]} | {label_key(item["key"])}
        synonyms.add(label_key(item["label_fr"]))
        out.append(
            Stage(
                key=item["key"],
                rank=int(item["rank"]),
                label_fr=item["label_fr"],
                synonyms=tuple(sorted(synonyms)),
            )
        )
    return tuple(sorted(out, key=lambda s: s.rank))


@functools.lru_cache(maxsize=1)
def _status_index() -> dict[str, StageKey]:
    index: dict[str, StageKey] = {}
    for stage in stages():
        for synonym in stage.synonyms:
            if synonym in index and index[synonym] != stage.key:
                raise ValueError(f"statuses.toml: {synonym!r} maps to two stages")
            index[synonym] = stage.key
    return index


def status_from_label(label: object) -> StageKey | None:
    """The stage a status label means, or None when the label is not known.

    Examples
    --------
    >>> status_from_label("ACI signé")
    'aci_signe'
    >>> status_from_label("Lettre d'intention validée")
    'lettre_intention'
    >>> status_from_label("bientôt") is None
    True
    """
    return _status_index().get(label_key(label))


def stage_rank(key: str | None) -> int:
    """Rank of a stage (1 to 4); 0 for an unknown or missing status."""
    for stage in stages():
        if stage.key == key:
            return stage.rank
    return 0


def stage_label(key: str | None) -> str:
    """French label of a stage ("statut inconnu" when missing)."""
    for stage in stages():
        if stage.key == key:
            return stage.label_fr
    return "statut inconnu"
