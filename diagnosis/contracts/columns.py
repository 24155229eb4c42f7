"""The columns of a contracts file, recognised by their French names.

Headers are compared without case, accents or punctuation (``label_key``):
"Début accès aux soins", "DEBUT ACCES AUX SOINS" and "début - accès aux soins"
are one column. A column is a *role*: the CPTS, the signature date, the start
date or the attainment rate of a mission, and so on. Adding a wording is one
entry of :data:`_ROLE_NAMES` or :data:`_MISSION_NAMES`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from diagnosis.core.aci import mission_specs
from diagnosis.core.textnorm import label_key

__all__ = ["EXPECTED_COLUMNS_FR", "contract_columns", "header_score", "role_label", "role_of"]

#: Roles of one column each, with the French names (normalised) that mean them.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "perimeter": (
        "cpts", "nom cpts", "nom de la cpts", "perimetre", "nom du perimetre", "communaute",
        "nom", "perimeter",
    ),
    "perimeter_id": (
        "identifiant", "identifiant cpts", "identifiant du perimetre", "id", "perimeter id",
    ),
    "signature": (
        "date de signature", "signature", "date signature", "date de signature aci",
        "date de signature du contrat", "signature aci", "signature du contrat",
        "date d adhesion", "adhesion",
    ),
    "members": ("adherents", "nombre d adherents", "nb adherents", "membres", "nombre de membres"),
    "crises": (
        "crise declenchee annees", "crise declenchee", "crises declenchees",
        "crises declenchees annees", "annees de crise", "crises sanitaires declenchees",
        "crise sanitaire declenchee", "survenue de crise", "crises",
    ),
    "letter_of_intent": (
        "validation lettre d intention", "date de validation de la lettre d intention",
        "lettre d intention validee", "lettre d intention validee le", "validation de la li",
    ),
    "letter_of_intent_aid": (
        "aide lettre d intention", "aide lettre d intention eur", "aide forfaitaire",
        "aide forfaitaire lettre d intention", "aide apres lettre d intention",
    ),
    "bonus": ("majoration", "majoration 10", "majoration accordee", "majoration 10 accordee"),
}  # fmt: skip

#: The French names of each mission in a column header (after "début" or "atteinte").
_MISSION_NAMES: dict[str, tuple[str, ...]] = {
    "acces_aux_soins": ("acces aux soins", "acces soins", "acces"),
    "parcours": ("parcours", "parcours pluriprofessionnels", "parcours pluri professionnels"),
    "prevention": ("prevention",),
    "crises_sanitaires": ("crises sanitaires", "crise sanitaire", "crises sanitaires graves"),
    "qualite_pertinence": ("qualite et pertinence", "qualite pertinence", "qualite"),
    "accompagnement": (
        "accompagnement des professionnels", "accompagnement", "accompagnement des ps",
    ),
}  # fmt: skip
_START_WORDS = ("debut", "date de debut", "demarrage", "date de demarrage")
_RATE_WORDS = ("atteinte", "taux d atteinte", "taux atteinte")

#: The columns a contracts file needs, in French (for error messages).
EXPECTED_COLUMNS_FR = (
    "« CPTS » (nom ou identifiant du périmètre) et « date de signature » ; puis, pour chaque "
    "mission, « début accès aux soins », « début parcours », « début prévention », « début "
    "crises sanitaires », « début qualité et pertinence », « début accompagnement des "
    "professionnels » (vide : mission non démarrée ou non choisie), « crise déclenchée "
    "(années) », « adhérents » et « atteinte accès aux soins (%) »…"
)


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Normalised header → role (``start:<mission>``, ``rate:<mission>`` or a plain role)."""
    index = {name: role for role, names in _ROLE_NAMES.items() for name in names}
    known = {m.key for m in mission_specs()}
    for mission, names in _MISSION_NAMES.items():
        if mission not in known:
            raise ValueError(f"contracts: mission {mission!r} is not in aci.toml")
        for name in names:
            index |= {f"{word} {name}": f"start:{mission}" for word in _START_WORDS}
            index |= {f"{word} {name}": f"rate:{mission}" for word in _RATE_WORDS}
    return index


def role_of(header: object) -> str | None:
    """The role of a column from its header, or None when it is not a contracts column.

    >>> role_of("Début accès aux soins"), role_of("atteinte parcours (%)")
    ('start:acces_aux_soins', 'rate:parcours')
    >>> role_of("Crise déclenchée (années)"), role_of("remarques") is None
    ('crises', True)
    """
    key = label_key(header)
    for suffix in (" en", " eur", " euros"):
        if key.endswith(suffix) and key[: -len(suffix)] in _index():
            key = key[: -len(suffix)]
    return _index().get(key)


def role_label(role: str) -> str:
    """A role in French, for the report ("début de la mission Accès aux soins")."""
    labels = {m.key: m.label for m in mission_specs()}
    kind, _, mission = role.partition(":")
    if kind == "start":
        return f"début de la mission « {labels[mission]} »"
    if kind == "rate":
        return f"taux d'atteinte de la mission « {labels[mission]} »"
    return {
        "perimeter": "CPTS",
        "perimeter_id": "identifiant du périmètre",
        "signature": "date de signature",
        "members": "adhérents",
        "crises": "crises déclenchées",
        "letter_of_intent": "validation de la lettre d'intention",
        "letter_of_intent_aid": "aide après la lettre d'intention",
        "bonus": "majoration de 10 % accordée",
    }[role]


def header_score(row: Sequence[Any]) -> int:
    """How much a row looks like a contracts header: 10 per role recognised.

    A row with two cells or more and no role scores 1, so that a file whose
    header is not recognised is read and then refused with the columns
    expected (:data:`EXPECTED_COLUMNS_FR`), not with a perimeter file's message.
    """
    cells = [v for v in row if v is not None and str(v).strip()]
    roles = {role_of(v) for v in cells} - {None}
    return 10 * len(roles) + (1 if len(cells) >= 2 else 0)


def contract_columns(headers: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """(role → header of its first column, headers not recognised) of a contracts table."""
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    for header in headers:
        role = role_of(header)
        if role is None or role in mapping:
            ignored.append(str(header))
        else:
            mapping[role] = str(header)
    return mapping, ignored
