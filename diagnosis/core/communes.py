"""Commune codes and names as written in files, resolved onto the referential.

One resolver for every loader (:func:`resolve_token`, on the lookup tables of
:func:`commune_lookups`): leading zeros lost by spreadsheets, the former
Corsica numbering, typographic noise, former codes of merged communes, the
Paris, Lyon and Marseille parent codes, and names. Each resolution carries
structured event kinds (ids of :data:`diagnosis.core.model.EVENT_KINDS`) with their
French messages. The perimeter importer resolves token by token
(:class:`Resolver`, memoised); :func:`resolve_commune_codes` and the care
loaders' :func:`resolve_codes` tabulate the distinct values of a file.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import clean_code_token, looks_like_code, name_key
from diagnosis.core.zones import PLM_PARENTS

__all__ = [
    "CODE_EVENT_KINDS",
    "RESOLUTION_COLUMNS",
    "VIA_ORDER",
    "Lookups",
    "Resolution",
    "ResolutionStatus",
    "Resolver",
    "Via",
    "commune_lookups",
    "names_match",
    "resolve_codes",
    "resolve_commune_codes",
    "resolve_token",
    "written_text",
]

#: Columns of :func:`resolve_commune_codes`.
RESOLUTION_COLUMNS = ["written", "status", "code", "via", "units", "kinds", "events"]

# --------------------------------------------------------------------------
# Lookups on the national referential
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookups:
    """Lookup tables on the referential (codes, names, former codes, PLM parents)."""

    units: frozenset[str]
    unit_name: dict[str, str]
    unit_department: dict[str, str]
    unit_region: dict[str, str]
    plm: dict[str, tuple[str, ...]]
    former: dict[str, str]
    former_name: dict[str, str]
    names: dict[str, tuple[str, ...]]  # name key -> unit or PLM parent codes
    former_names: dict[str, tuple[str, ...]]  # name key -> former codes


def commune_lookups(ref: Referential) -> Lookups:
    """The lookup tables of a referential, built once and cached on it (every resolver's)."""

    def make() -> Lookups:
        units = ref.units
        plm_lists: dict[str, list[str]] = defaultdict(list)
        for parent, unit in zip(
            ref.aliases["parent_code"].tolist(), ref.aliases["unit_code"].tolist(), strict=True
        ):
            plm_lists[str(parent)].append(str(unit))
        plm = {parent: tuple(sorted(units_)) for parent, units_ in plm_lists.items()}
        unit_name = dict(zip(units.index, units["name"].astype(str).tolist(), strict=True))
        unit_department = dict(
            zip(units.index, units["department"].astype(str).tolist(), strict=True)
        )
        unit_region = dict(zip(units.index, units["region"].astype(str).tolist(), strict=True))
        for parent, arrs in plm.items():
            unit_name[parent] = PLM_PARENTS.get(parent, parent)
            unit_department[parent] = unit_department[arrs[0]]
            unit_region[parent] = unit_region[arrs[0]]
        names: dict[str, list[str]] = defaultdict(list)
        for code, name in unit_name.items():
            names[name_key(name)].append(code)
        former = dict(
            zip(
                ref.former_codes["former_code"].tolist(),
                ref.former_codes["current_code"].tolist(),
                strict=True,
            )
        )
        former_name: dict[str, str] = {}
        former_names: dict[str, list[str]] = defaultdict(list)
        for old, old_name in zip(
            ref.former_codes["former_code"], ref.former_codes["former_name"], strict=True
        ):
            if isinstance(old_name, str) and old_name:
                former_name[old] = old_name
                former_names[name_key(old_name)].append(old)
        return Lookups(
            units=frozenset(units.index),
            unit_name=unit_name,
            unit_department=unit_department,
            unit_region=unit_region,
            plm=plm,
            former=former,
            former_name=former_name,
            names={k: tuple(sorted(v)) for k, v in names.items()},
            former_names={k: tuple(sorted(v)) for k, v in former_names.items()},
        )

    lookups: Lookups = ref.cached("commune_lookups", make)
    return lookups


# --------------------------------------------------------------------------
# Token resolution: the one resolution function
# --------------------------------------------------------------------------

#: How a token was recognised, most direct first: the unit's own code, a former
#: code of a merged commune, a Paris/Lyon/Marseille parent code, a commune
#: name, a polygon (the importer's polygon reader). A member listed several
#: ways keeps the first of this order. French names: ``VIA_LABELS`` of
#: :mod:`diagnosis.outputs.labels`.
Via = Literal["code", "former_code", "plm_parent", "name", "polygon"]
VIA_ORDER: tuple[Via, ...] = ("code", "former_code", "plm_parent", "name", "polygon")

ResolutionStatus = Literal["unit", "plm_parent", "unknown", "ambiguous"]


@dataclass(frozen=True)
class Resolution:
    """What a code or name token of the file means."""

    status: ResolutionStatus
    code: str | None  # unit code, or PLM parent code; the cleaned code of an unknown code
    via: Via
    events: tuple[tuple[str, str], ...] = ()  # (kind, message)
    written: str = ""
    cleaned: str = ""  # the token without typographic noise (clean_code_token)


_NAME_WITH_DEP = re.compile(r"^(?P<name>.*?)\s*\((?P<dep>\d[0-9AB]|\d{2,3})\)\s*$", re.IGNORECASE)


def resolve_token(
    token: object,
    lookups: Lookups,
    *,
    names: bool = True,
    department_hint: str | None = None,
    scope_units: frozenset[str] | None = None,
) -> Resolution:
    """What one code or name written in a file means on the referential.

    The one resolution of the project, used by the perimeter importer
    (:class:`Resolver`), :func:`resolve_commune_codes` and the care loaders
    (:func:`resolve_codes`). A code loses its typographic noise, gets back a
    leading zero lost by a spreadsheet, the former Corsica numbering is read
    as 2A/2B, a former code of a merged commune becomes the current one, a
    Paris/Lyon/Marseille parent code is kept as such; a number with decimals
    is never a code. Other tokens are names (when ``names``).

    Parameters
    ----------
    token
        Value of a cell (text or number).
    lookups
        :func:`commune_lookups` of the referential.
    names
        Read tokens that do not look like a code as commune names (otherwise
        every token is a code).
    department_hint
        Department narrowing homonymous names.
    scope_units
        Units of the study scope, narrowing homonymous names.

    Returns
    -------
    Resolution
        Status, code, how it was recognised and the events, each a kind of
        :data:`diagnosis.core.model.EVENT_KINDS` with its French message.
    """
    written = written_text(token)
    cleaned = clean_code_token(token)
    if _is_fractional(token):
        # A number with decimals (Excel 1002.7) is no code: never read as another commune.
        code = _resolve_code(lookups, written, cleaned).code
        event = ("non_integer_code", _non_integer_message(written))
        return Resolution("unknown", code, "code", (event,), written, cleaned)
    if not names or looks_like_code(cleaned):
        return _resolve_code(lookups, written, cleaned)
    return _resolve_name(lookups, written, cleaned, department_hint, scope_units)


class Resolver:
    """Resolves tokens (codes or names) of a file, memoised on distinct tokens."""

    def __init__(self, lookups: Lookups, scope_units: frozenset[str] | None) -> None:
        self.lk = lookups
        self.scope_units = scope_units
        self._memo: dict[tuple[str, str | None], Resolution] = {}

    def resolve(self, token: object, *, department_hint: str | None) -> Resolution:
        """What ``token`` means (:func:`resolve_token`); ``department_hint`` narrows names."""
        key_token = token if isinstance(token, str) else repr(token)
        memo_key = (key_token, department_hint)
        if memo_key not in self._memo:
            self._memo[memo_key] = resolve_token(
                token, self.lk, department_hint=department_hint, scope_units=self.scope_units
            )
        return self._memo[memo_key]


def _resolve_code(lk: Lookups, written: str, cleaned: str) -> Resolution:
    """A token read as a code: noise, lost leading zero, former Corsica numbering."""
    events: list[tuple[str, str]] = []
    code = cleaned
    if written.strip() != cleaned and not _is_plain_number(written, cleaned):
        events.append(("code_cleaned", f"Code « {written} » lu comme {cleaned}."))
    if len(code) == 4 and code.isdigit():
        padded = "0" + code
        events.append(
            (
                "leading_zero_restored",
                f"Code {code} complété en {padded} (zéro initial perdu, par exemple par Excel).",
            )
        )
        code = padded
    if code.startswith("20") and code not in lk.units and code not in lk.former:
        matches = [c for c in ("2A" + code[2:], "2B" + code[2:]) if c in lk.units]
        if len(matches) == 1:
            events.append(
                (
                    "corsica_code",
                    f"Code {code} (ancienne numérotation de la Corse) lu comme {matches[0]}.",
                )
            )
            code = matches[0]
    return _classify_code(lk, written, cleaned, code, events)


def _classify_code(
    lk: Lookups, written: str, cleaned: str, code: str, events: list[tuple[str, str]]
) -> Resolution:
    """A normalised code: a unit, a PLM parent, a former code, or unknown."""
    if code in lk.units:
        return Resolution("unit", code, "code", tuple(events), written, cleaned)
    if code in lk.plm:
        return Resolution("plm_parent", code, "plm_parent", tuple(events), written, cleaned)
    if code in lk.former:
        current = lk.former[code]
        old_name = lk.former_name.get(code)
        label = f"{code} ({old_name})" if old_name else code
        events.append(
            (
                "former_code",
                f"Ancien code {label} : commune fusionnée, remplacé par {current} "
                f"({lk.unit_name.get(current, current)}).",
            )
        )
        status: ResolutionStatus = "plm_parent" if current in lk.plm else "unit"
        return Resolution(status, current, "former_code", tuple(events), written, cleaned)
    return Resolution("unknown", code, "code", tuple(events), written, cleaned)


def _resolve_name(
    lk: Lookups,
    written: str,
    cleaned: str,
    department_hint: str | None,
    scope_units: frozenset[str] | None,
) -> Resolution:
    """A token read as a commune name (optionally followed by its department in brackets)."""
    name = written.strip()
    dep = department_hint
    match = _NAME_WITH_DEP.match(name)
    if match:
        name = match.group("name")
        dep = match.group("dep").upper().zfill(2)
    key = name_key(name)
    if not key:
        return Resolution("unknown", None, "name", (), written, cleaned)
    candidates = list(lk.names.get(key, ()))
    via: Via = "name"
    events: list[tuple[str, str]] = []
    if not candidates and key in lk.former_names:
        candidates, event = _former_name_candidates(lk, name, key)
        via = "former_code"
        events.append(event)
    if dep and len(candidates) > 1:
        narrowed = [c for c in candidates if lk.unit_department.get(c) == dep]
        candidates = narrowed or candidates
    if len(candidates) > 1 and scope_units is not None:
        in_scope = [c for c in candidates if c in scope_units or c in lk.plm]
        candidates = in_scope or candidates
    if not candidates:
        return Resolution("unknown", None, "name", tuple(events), written, cleaned)
    if len(candidates) > 1:
        event = _ambiguous_name_event(lk, name, candidates)
        return Resolution("ambiguous", None, "name", (event,), written, cleaned)
    code = candidates[0]
    events.append(("name_resolved", f"Commune « {name} » identifiée par son nom : {code}."))
    status: ResolutionStatus = "plm_parent" if code in lk.plm else "unit"
    return Resolution(status, code, via, tuple(events), written, cleaned)


def _former_name_candidates(lk: Lookups, name: str, key: str) -> tuple[list[str], tuple[str, str]]:
    """The current communes of a former commune's name, and the event saying so."""
    olds = lk.former_names[key]
    currents = sorted({lk.former[o] for o in olds})
    message = (
        f"« {name} » est une ancienne commune ({', '.join(olds)}), remplacée par "
        + ", ".join(f"{c} ({lk.unit_name.get(c, c)})" for c in currents)
        + "."
    )
    return currents, ("former_code", message)


def _ambiguous_name_event(lk: Lookups, name: str, candidates: list[str]) -> tuple[str, str]:
    """The event of a name several communes bear (the first eight listed)."""
    listing = ", ".join(
        f"{c} ({lk.unit_name.get(c)}, dép. {lk.unit_department.get(c)})" for c in candidates[:8]
    )
    return (
        "name_ambiguous",
        f"Nom « {name} » porté par plusieurs communes : {listing}"
        + ("…" if len(candidates) > 8 else "")
        + ". Indiquez le code INSEE ou le département.",
    )


def written_text(value: object) -> str:
    """A token as the user wrote it (a spreadsheet's float ``1001.0`` as ``1001``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


_DECIMAL = re.compile(r"^\s*\d{1,5}[.,](?P<fraction>\d+)\s*$")


def _non_integer_message(written: str) -> str:
    return (
        f"Valeur « {written} » : un nombre à virgule n'est pas un code INSEE (attendu "
        "5 caractères, par exemple 01001 ou 2A004 ; la cellule a sans doute été "
        "calculée ou mise au format nombre)."
    )


def _is_fractional(token: object) -> bool:
    """A number with a non-zero fractional part (Excel ``1002.7``): never a commune code.

    ``13.001`` (three digits after the point, a thousands separator) and
    ``1001.0`` (an Excel integer) are codes.
    """
    if isinstance(token, float):
        return not math.isnan(token) and not token.is_integer()
    if not isinstance(token, str):
        return False
    match = _DECIMAL.match(token)
    if match is None:
        return False
    fraction = match.group("fraction")
    return fraction.strip("0") != "" and len(fraction) != 3


def _is_plain_number(written: str, cleaned: str) -> bool:
    # Excel numbers (1001, 1001.0) are covered by the leading-zero event.
    return written.strip().rstrip("0").rstrip(".,") == cleaned.rstrip("0") or written == cleaned


@functools.lru_cache(maxsize=65536)
def names_match(given: str, expected: str) -> bool:
    """Whether a name written in a file plausibly designates the expected commune.

    Accents, case, hyphens, apostrophes and saint/st are ignored; a leading
    article, one name containing the other, or a close spelling also match.

    Examples
    --------
    >>> names_match("ST REMY DE PROVENCE", "Saint-Rémy-de-Provence")
    True
    >>> names_match("Abergement-Clémenciat", "L'Abergement-Clémenciat")
    True
    >>> names_match("Marseille 1er", "Marseille 1er Arrondissement")
    True
    >>> names_match("Arles", "Tarascon")
    False
    """
    a, b = name_key(given), name_key(expected)
    if not a:
        return True
    if a == b:
        return True
    articles = re.compile(r"^(le|la|les|l)\s+")
    a2, b2 = articles.sub("", a), articles.sub("", b)
    if a2 == b2:
        return True
    if len(a2) >= 4 and (a2 in b2 or b2 in a2):
        return True
    return difflib.SequenceMatcher(None, a2, b2).ratio() >= 0.88


# --------------------------------------------------------------------------
# Tables of resolutions: one row per distinct value of a file
# --------------------------------------------------------------------------


def resolve_commune_codes(
    values: Iterable[object], *, referential: Referential | None = None
) -> pd.DataFrame:
    """How each distinct commune code (or name) of a file maps onto the referential.

    The resolution of the perimeter importer (:func:`resolve_token`): leading
    zeros, Corsica, typographic noise, former codes of merged communes,
    Paris/Lyon/Marseille parent codes, names.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value: written, status (``unit``,
        ``plm_parent``, ``unknown``, ``ambiguous``), code (unit code, or the
        PLM parent code), via (one of :data:`VIA_ORDER`), units (tuple of unit
        codes: the unit, or the parent's arrondissements), kinds (tuple of
        event kind ids of :data:`diagnosis.core.model.EVENT_KINDS`, e.g.
        ``leading_zero_restored``, ``corsica_code``, ``former_code``,
        ``name_resolved``), events (the French message of each kind, in the
        same order).

    Examples
    --------
    >>> table = resolve_commune_codes(["1001", "75056"])  # doctest: +SKIP
    >>> table[["written", "status", "code", "kinds"]]  # doctest: +SKIP
    """
    ref = referential if referential is not None else load_referential()
    lk = commune_lookups(ref)
    rows = []
    for value in pd.unique(pd.Series(list(values), dtype=object)):
        res = resolve_token(value, lk)
        if res.status == "unit":
            units: tuple[str, ...] = (str(res.code),)
        elif res.status == "plm_parent":
            units = lk.plm[str(res.code)]
        else:
            units = ()
        rows.append(
            {
                "written": value,
                "status": res.status,
                "code": res.code,
                "via": res.via,
                "units": units,
                "kinds": tuple(kind for kind, _ in res.events),
                "events": tuple(message for _, message in res.events),
            }
        )
    return pd.DataFrame(rows, columns=RESOLUTION_COLUMNS)


#: Structured kinds of what resolving a written code did.
CODE_EVENT_KINDS = (
    "non_integer_code",
    "code_cleaned",
    "leading_zero_restored",
    "corsica_code",
    "former_code",
    "unknown_code",
)

_CODE_RESOLUTION_COLUMNS = ["written", "cleaned", "status", "code", "events"]


def resolve_codes(values: pd.Series, *, referential: Referential) -> pd.DataFrame:
    """How each distinct commune code of a file maps onto the referential.

    The resolution of the perimeter importer (:func:`resolve_token`), every
    value read as a code (care loaders: no names): typographic noise, a
    leading zero lost (``1001``), Corsica written ``20xxx``, former codes of
    merged communes (through the referential's ``former_codes``), and the
    Paris/Lyon/Marseille parent codes (through its ``aliases``). Work is done
    once per distinct value.

    Parameters
    ----------
    values
        Written codes (strings or numbers; not modified).
    referential
        National referential.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value: ``written`` (the value), ``cleaned``,
        ``status`` (``unit``, ``plm_parent`` or ``unknown``), ``code`` (unit
        or PLM parent code; the cleaned code when unknown) and ``events``, a
        tuple of ``(kind, French message)`` with kinds from
        :data:`CODE_EVENT_KINDS`.
    """
    lk = commune_lookups(referential)
    written = pd.Series(pd.unique(values.to_numpy(dtype=object)), dtype=object)
    resolved = [resolve_token(value, lk, names=False) for value in written.tolist()]
    return pd.DataFrame(
        {
            "written": written,
            "cleaned": pd.Series([res.cleaned for res in resolved], dtype=str),
            "status": pd.Series([res.status for res in resolved], dtype=object),
            "code": pd.Series([res.code for res in resolved], dtype=object),
            "events": [res.events for res in resolved],
        },
        columns=_CODE_RESOLUTION_COLUMNS,
    )
