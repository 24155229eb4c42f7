"""Column roles of users' tables: which column holds the code, the perimeter, the status...

Columns are recognised by their names in French or English, case- and
accent-insensitively (:func:`find_columns`), or set by the user.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from diagnosis.core.textnorm import label_key
from diagnosis.errors import PerimeterFileError

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Column roles
# --------------------------------------------------------------------------

#: Header labels (compared with :func:`label_key`) recognised for each role,
#: most specific first. ``contains`` patterns are tried after exact labels.
ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": (
        "code insee",
        "codgeo",
        "code geo",
        "insee",
        "code commune",
        "depcom",
        "code insee commune",
        "code commune insee",
        "code officiel geographique",
        "cog",
        "com",
        "code com",
        "insee com",
        "n insee",
        "num insee",
        "numero insee",
        "code",
        "code insee de la commune",
        "codecommune",
        "code_insee",
        "citycode",
        "city code",
        "municipality code",
        "commune code",
        "inseecode",
        "code insee com",
    ),
    "codes": (
        "communes",
        "liste des communes",
        "codes insee",
        "codes",
        "codes communes",
        "liste communes",
        "communes membres",
        "composition",
        "membres",
        "members",
        "liste des codes insee",
        "codes insee des communes",
        "communes du perimetre",
        "liste des communes du perimetre",
        "codes des communes",
    ),
    "commune_name": (
        "nom commune",
        "nom de la commune",
        "libgeo",
        "libelle commune",
        "libelle",
        "commune",
        "nom com",
        "nomcom",
        "ville",
        "municipality",
        "commune name",
        "nom communes",
        "libelle de la commune",
        "nom_commune",
        "city",
        "lib commune",
    ),
    "perimeter": (
        "nom cpts",
        "cpts",
        "perimetre",
        "nom perimetre",
        "nom du perimetre",
        "nom de la cpts",
        "nom du projet",
        "projet",
        "territoire",
        "perimeter",
        "perimeter name",
        "name",
        "nom",
        "communaute",
        "libelle cpts",
        "nom projet",
        "nom de la communaute",
        "perimetre cpts",
        "cpts nom",
        "intitule",
    ),
    "perimeter_id": (
        "perimeter id",
        "id cpts",
        "identifiant cpts",
        "identifiant",
        "id perimetre",
        "code cpts",
        "numero cpts",
        "id",
        "identifiant perimetre",
        "id projet",
    ),
    "status": (
        "statut",
        "etat",
        "stage",
        "stade",
        "avancement",
        "etat d avancement",
        "status",
        "etape",
        "statut cpts",
        "statut du projet",
        "niveau d avancement",
        "stade d avancement",
    ),
    "date": (
        "date",
        "date statut",
        "date de signature",
        "date de validation",
        "date signature aci",
        "date du statut",
        "date de mise a jour",
    ),
    "split": (
        "decoupage infra communal",
        "infra communal",
        "infracommunal",
        "decoupage infracommunal",
        "partage",
        "split",
        "infra",
        "decoupage infra",
        "commune partagee",
        "infra communal split",
        "infra split",
    ),
    "department": ("departement", "dep", "dept", "code departement", "department", "code dep"),
    # The declared share of a commune claimed by several perimeters (issue 17 §2).
    "share": (
        "part",
        "quote part",
        "quotepart",
        "parts",
        "part de la population",
        "part de la commune",
        "part des habitants",
        "quote part de la population",
        "share",
        "population share",
    ),
}

ROLE_CONTAINS: dict[str, tuple[str, ...]] = {
    "code": ("code insee", "codgeo", "depcom", "code commune"),
    "codes": ("liste des communes", "codes insee", "liste des codes"),
    "perimeter": ("nom de la cpts", "nom cpts", "nom du perimetre"),
    # A header about a date is never the status (see _role_of).
    "status": ("statut", "avancement"),
    "split": ("infra communal", "infracommunal"),
    "share": ("quote part", "part de la population", "part des habitants"),
}

#: Short words that name a role only as a whole word of the header ("stade_source",
#: "Phase du projet", "État"), never inside another word ("etablissement").
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "status": ("stade", "etat", "phase", "etape", "status"),
    "share": ("part", "quotepart"),
}

ROLE_LABELS_FR = {
    "code": "code INSEE de la commune",
    "codes": "liste des codes des communes",
    "commune_name": "nom de la commune",
    "perimeter": "nom du périmètre (CPTS)",
    "perimeter_id": "identifiant du périmètre",
    "status": "statut",
    "date": "date",
    "split": "découpage infra-communal",
    "department": "département",
    "share": "part de la commune (quote-part)",
}


def _role_of(header: str) -> str | None:
    key = label_key(header)
    if not key:
        return None
    for role, synonyms in ROLE_SYNONYMS.items():
        if key in synonyms:
            return role
    words = set(key.split())
    for role, patterns in ROLE_CONTAINS.items():
        if role == "status" and "date" in words:
            continue
        if any(p in key for p in patterns) or words & set(ROLE_WORDS.get(role, ())):
            return role
    return None


def find_columns(
    headers: Sequence[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map roles to column names by name variants; ``overrides`` (role → column) win.

    When several columns match one role, the one whose label is the more
    specific synonym (earlier in :data:`ROLE_SYNONYMS`) wins; ``nom`` and
    ``name`` go to the perimeter only when no commune-name column claims them.
    """
    found: dict[str, tuple[int, str]] = {}
    for header in headers:
        role = _role_of(header)
        if role is None:
            continue
        key = label_key(header)
        synonyms = ROLE_SYNONYMS[role]
        rank = synonyms.index(key) if key in synonyms else len(synonyms)
        if role not in found or rank < found[role][0]:
            found[role] = (rank, header)
    mapping = {role: header for role, (_, header) in found.items()}
    if overrides:
        unknown = [col for col in overrides.values() if col not in headers]
        if unknown:
            raise PerimeterFileError(
                "Colonnes indiquées introuvables dans le fichier : "
                + ", ".join(repr(c) for c in unknown)
                + ". Colonnes présentes : "
                + ", ".join(repr(str(h)) for h in headers)
            )
        bad_roles = [role for role in overrides if role not in ROLE_SYNONYMS]
        if bad_roles:
            raise PerimeterFileError(
                "Rôles de colonnes inconnus : "
                + ", ".join(bad_roles)
                + ". Rôles possibles : "
                + ", ".join(ROLE_SYNONYMS)
            )
        for role, col in overrides.items():
            mapping = {r: c for r, c in mapping.items() if c != col}
            mapping[role] = col
    return mapping


def header_score(row: Sequence[Any], wanted: Sequence[str] = ()) -> int:
    """How much a row looks like the header: recognised column names (``wanted`` ones first)."""
    cells = {str(v).strip() for v in row if v is not None and str(v).strip()}
    if wanted and set(wanted) <= cells:
        return 100  # the columns the user named are all on this row
    roles = {_role_of(v) for v in cells}
    roles.discard(None)
    score = len(roles)
    if not roles & {"code", "codes", "commune_name"}:
        score = min(score, 0)
    return score
