"""Commune codes and names as written in files, resolved onto the referential.

One resolver for every loader: leading zeros lost by spreadsheets, the former
Corsica numbering, typographic noise, former codes of merged communes, the
Paris, Lyon and Marseille parent codes, and names. Each resolution carries
structured event kinds (ids of :data:`diagnosis.core.model.EVENT_KINDS`) with their
French messages.
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

import numpy as np
import pandas as pd

from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import clean_code_token, looks_like_code, name_key
from diagnosis.core.zones import PLM_PARENTS

__all__ = [
    "CODE_EVENT_KINDS",
    "RESOLUTION_COLUMNS",
    "Lookups",
    "Resolution",
    "Resolver",
    "commune_lookups",
    "display_token",
    "names_match",
    "resolve_codes",
    "resolve_commune_codes",
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
    """The lookup tables of a referential, built once and cached on it."""

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

    lookups: Lookups = ref.cached("perimeter_lookups", make)
    return lookups


# --------------------------------------------------------------------------
# Token resolution
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """What a code or name token of the file means."""

    status: Literal["unit", "plm_parent", "unknown", "ambiguous"]
    code: str | None  # unit code, or PLM parent code
    via: str  # code, ancien_code, commune_parente, nom
    events: tuple[tuple[str, str], ...] = ()  # (kind, message)
    written: str = ""


_NAME_WITH_DEP = re.compile(r"^(?P<name>.*?)\s*\((?P<dep>\d[0-9AB]|\d{2,3})\)\s*$", re.IGNORECASE)


class Resolver:
    """Resolves tokens (codes or names) of a file, memoised on distinct tokens."""

    def __init__(self, lookups: Lookups, scope_units: frozenset[str] | None) -> None:
        self.lk = lookups
        self.scope_units = scope_units
        self._memo: dict[tuple[str, str | None], Resolution] = {}

    def resolve(self, token: object, *, department_hint: str | None) -> Resolution:
        """What ``token`` means; ``department_hint`` narrows homonymous names."""
        key_token = token if isinstance(token, str) else repr(token)
        memo_key = (key_token, department_hint)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._resolve(token, department_hint)
        return self._memo[memo_key]

    def _resolve(self, token: object, department_hint: str | None) -> Resolution:
        written = display_token(token)
        if _is_fractional(token):
            message = _non_integer_message(written)
            return Resolution("unknown", None, "code", (("non_integer_code", message),), written)
        cleaned = clean_code_token(token)
        if looks_like_code(cleaned):
            return self._resolve_code(written, cleaned)
        return self._resolve_name(written, department_hint)

    def _resolve_code(self, written: str, cleaned: str) -> Resolution:
        lk = self.lk
        events: list[tuple[str, str]] = []
        code = cleaned
        if written.strip() != cleaned and not _is_plain_number(written, cleaned):
            events.append(("code_cleaned", f"Code « {written} » lu comme {cleaned}."))
        if len(code) == 4 and code.isdigit():
            padded = "0" + code
            events.append(
                (
                    "leading_zero_restored",
                    f"Code {code} complété en {padded} "
                    "(zéro initial perdu, par exemple par Excel).",
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
        return self._classify_code(written, code, events)

    def _classify_code(
        self, written: str, code: str, events: list[tuple[str, str]], via: str = "code"
    ) -> Resolution:
        lk = self.lk
        if code in lk.units:
            return Resolution("unit", code, via, tuple(events), written)
        if code in lk.plm:
            return Resolution("plm_parent", code, "commune_parente", tuple(events), written)
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
            status: Literal["unit", "plm_parent"] = "plm_parent" if current in lk.plm else "unit"
            return Resolution(status, current, "ancien_code", tuple(events), written)
        return Resolution("unknown", code, via, tuple(events), written)

    def _resolve_name(self, written: str, department_hint: str | None) -> Resolution:
        lk = self.lk
        name = written.strip()
        dep = department_hint
        match = _NAME_WITH_DEP.match(name)
        if match:
            name = match.group("name")
            dep = match.group("dep").upper().zfill(2)
        key = name_key(name)
        if not key:
            return Resolution("unknown", None, "nom", (), written)
        candidates = list(lk.names.get(key, ()))
        via = "nom"
        events: list[tuple[str, str]] = []
        if not candidates and key in lk.former_names:
            olds = lk.former_names[key]
            currents = sorted({lk.former[o] for o in olds})
            candidates = currents
            via = "ancien_code"
            events.append(
                (
                    "former_code",
                    f"« {name} » est une ancienne commune ({', '.join(olds)}), remplacée par "
                    + ", ".join(f"{c} ({lk.unit_name.get(c, c)})" for c in currents)
                    + ".",
                )
            )
        if dep and len(candidates) > 1:
            narrowed = [c for c in candidates if lk.unit_department.get(c) == dep]
            candidates = narrowed or candidates
        if len(candidates) > 1 and self.scope_units is not None:
            in_scope = [c for c in candidates if c in self.scope_units or c in lk.plm]
            candidates = in_scope or candidates
        if not candidates:
            return Resolution("unknown", None, "nom", tuple(events), written)
        if len(candidates) > 1:
            listing = ", ".join(
                f"{c} ({lk.unit_name.get(c)}, dép. {lk.unit_department.get(c)})"
                for c in candidates[:8]
            )
            return Resolution(
                "ambiguous",
                None,
                "nom",
                (
                    (
                        "name_ambiguous",
                        f"Nom « {name} » porté par plusieurs communes : {listing}"
                        + ("…" if len(candidates) > 8 else "")
                        + ". Indiquez le code INSEE ou le département.",
                    ),
                ),
                written,
            )
        code = candidates[0]
        events.append(("name_resolved", f"Commune « {name} » identifiée par son nom : {code}."))
        status: Literal["unit", "plm_parent"] = "plm_parent" if code in lk.plm else "unit"
        return Resolution(status, code, via, tuple(events), written)


def display_token(token: object) -> str:
    """A token as the user wrote it (Excel floats such as 1001.0 without decimals)."""
    if isinstance(token, float) and token.is_integer():
        return str(int(token))
    return str(token)


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
# Claims: one row per (perimeter, value) read from the file
# --------------------------------------------------------------------------


def resolve_commune_codes(
    values: Iterable[object], *, referential: Referential | None = None
) -> pd.DataFrame:
    """How each distinct commune code (or name) of a file maps onto the referential.

    The same normalisation as the perimeter importer: leading zeros, Corsica,
    typographic noise, former codes of merged communes, Paris/Lyon/Marseille
    parent codes, names.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value: written, status (``unit``,
        ``plm_parent``, ``unknown``, ``ambiguous``), code (unit code, or the
        PLM parent code), via, units (tuple of unit codes: the unit, or the
        parent's arrondissements), kinds (tuple of event kind ids of
        :data:`diagnosis.core.model.EVENT_KINDS`, e.g. ``leading_zero_restored``,
        ``corsica_code``, ``former_code``, ``name_resolved``), events (the
        French message of each kind, in the same order).

    Examples
    --------
    >>> table = resolve_commune_codes(["1001", "75056"])  # doctest: +SKIP
    >>> table[["written", "status", "code", "kinds"]]  # doctest: +SKIP
    """
    ref = referential if referential is not None else load_referential()
    lk = commune_lookups(ref)
    resolver = Resolver(lk, None)
    rows = []
    for value in pd.unique(pd.Series(list(values), dtype=object)):
        res = resolver.resolve(value, department_hint=None)
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


# --------------------------------------------------------------------------
# Vectorised resolution of code columns (care loaders: tens of thousands of rows)
# --------------------------------------------------------------------------

#: Structured kinds of what resolving a written code did.
CODE_EVENT_KINDS = (
    "non_integer_code",
    "code_cleaned",
    "leading_zero_restored",
    "corsica_code",
    "former_code",
    "unknown_code",
)

_RESOLUTION_COLUMNS = ["written", "cleaned", "status", "code", "events"]


@dataclass(frozen=True)
class _CodeTables:
    units: pd.Index
    unit_name: pd.Series  # by unit code
    plm_parents: pd.Index
    former_current: pd.Series  # current code by former code
    former_name: pd.Series  # name by former code


def _code_tables(referential: Referential) -> _CodeTables:
    def make() -> _CodeTables:
        former = referential.former_codes.drop_duplicates("former_code").set_index("former_code")
        return _CodeTables(
            units=pd.Index(referential.units.index.astype(str)),
            unit_name=referential.units["name"].astype(str),
            plm_parents=pd.Index(referential.aliases["parent_code"].astype(str).unique()),
            former_current=former["current_code"].astype(str),
            former_name=former["former_name"].fillna("").astype(str),
        )

    tables: _CodeTables = referential.cached("coverage_code_tables", make)
    return tables


def written_text(value: object) -> str:
    """A written code as text (a spreadsheet's float ``1001.0`` as ``1001``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def resolve_codes(values: pd.Series, *, referential: Referential) -> pd.DataFrame:
    """How each distinct commune code of a file maps onto the referential (vectorised).

    The normalisation of the perimeter importer for codes: typographic noise,
    a leading zero lost (``1001``), Corsica written ``20xxx``, former codes of
    merged communes (through the referential's ``former_codes``), and the
    Paris/Lyon/Marseille parent codes (through its ``aliases``). Work is done
    once per distinct value, with table look-ups, never row by row.

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
    tables = _code_tables(referential)
    written = pd.Series(pd.unique(values.to_numpy(dtype=object)), dtype=object)
    shown = written.map(written_text).astype(str)
    cleaned = written.map(clean_code_token).astype(str)
    code = cleaned.copy()
    events: list[list[tuple[str, str]]] = [[] for _ in range(len(written))]

    stripped = shown.str.strip()
    plain_number = stripped.str.rstrip("0").str.rstrip(".,") == cleaned.str.rstrip("0")
    noisy = (stripped != cleaned) & ~plain_number & ~(shown == cleaned)
    shown_list: list[str] = shown.tolist()
    cleaned_list: list[str] = cleaned.tolist()
    for i in np.flatnonzero(noisy.to_numpy()).tolist():
        events[i].append(("code_cleaned", f"Code « {shown_list[i]} » lu comme {cleaned_list[i]}."))

    lost_zero = (code.str.len() == 4) & code.str.isdigit()
    for i in np.flatnonzero(lost_zero.to_numpy()).tolist():
        events[i].append(
            (
                "leading_zero_restored",
                f"Code {cleaned_list[i]} complété en 0{cleaned_list[i]} "
                "(zéro initial perdu, par exemple par Excel).",
            )
        )
    code = code.where(~lost_zero, "0" + code)

    known = code.isin(tables.units) | code.isin(tables.former_current.index)
    corsica = code.str.startswith("20") & ~known
    code_list: list[str] = code.tolist()
    for i in np.flatnonzero(corsica.to_numpy()).tolist():
        tail = code_list[i][2:]
        matches = [c for c in ("2A" + tail, "2B" + tail) if c in tables.units]
        if len(matches) == 1:
            events[i].append(
                (
                    "corsica_code",
                    f"Code {code_list[i]} (ancienne numérotation de la Corse) lu comme "
                    f"{matches[0]}.",
                )
            )
            code_list[i] = matches[0]
    code = pd.Series(code_list, index=code.index, dtype=object)

    status = pd.Series("unknown", index=code.index, dtype=object)
    status[code.isin(tables.plm_parents)] = "plm_parent"
    status[code.isin(tables.units)] = "unit"
    former = (status == "unknown") & code.isin(tables.former_current.index)
    current = code[former].map(tables.former_current)
    for i, old, new in zip(
        np.flatnonzero(former.to_numpy()).tolist(), code[former], current, strict=True
    ):
        old_name = tables.former_name.get(old, "")
        label = f"{old} ({old_name})" if old_name else old
        events[i].append(
            (
                "former_code",
                f"Ancien code {label} : commune fusionnée, remplacé par {new} "
                f"({tables.unit_name.get(new, new)}).",
            )
        )
    code[former] = current
    status[former] = np.where(current.isin(tables.plm_parents), "plm_parent", "unit")
    # A number with decimals (Excel 1002.7) is no code: never read as another commune.
    fractional = written.map(_is_fractional).to_numpy(dtype=bool)
    for i in np.flatnonzero(fractional).tolist():
        events[i] = [("non_integer_code", _non_integer_message(shown_list[i]))]
    status[fractional] = "unknown"
    return pd.DataFrame(
        {
            "written": written,
            "cleaned": cleaned,
            "status": status,
            "code": code,
            "events": [tuple(e) for e in events],
        },
        columns=_RESOLUTION_COLUMNS,
    )
