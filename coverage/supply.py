"""Loaders of care supply and population files: Annuaire santé (RPPS), INSEE BPE, ages.

Each loader checks that the file is the one expected and raises one
``ValueError`` subclass naming the expected columns when it is not.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from coverage.normalise import as_float, attach_to_units, read_delimited
from diagnosis.errors import FileReadError
from diagnosis.paths import RULES_DIR
from diagnosis.referential import Referential, load_referential
from diagnosis.textnorm import label_key

__all__ = [
    "AGE_BANDS",
    "SupplyFileError",
    "SupplyTable",
    "load_bpe",
    "load_population_ages",
    "load_rpps",
    "professions",
    "share_75_plus",
    "standardised_population",
]

#: 5-year age bands of the APL method (the last one is open).
AGE_BANDS = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]

RPPS_COLUMNS = [
    "Identifiant PP",
    "Code profession",
    "Libellé profession",
    "Code commune (coord. structure)",
]


class SupplyFileError(FileReadError):
    """The file is not the official file expected; the message says which columns were missing."""


@dataclass
class SupplyTable:
    """Figures by unit from one file, with what was done and the source to cite."""

    by_unit: pd.DataFrame  # indexed by unit code
    report: pd.DataFrame
    source: str
    rows_read: int
    rows_used: int


def _bytes(source: str | Path | bytes | IO[bytes]) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes(), Path(source).name
    if isinstance(source, bytes):
        return source, "fichier"
    return source.read(), str(getattr(source, "name", "fichier"))


@functools.lru_cache(maxsize=1)
def professions() -> list[dict[str, str]]:
    """Professions recognised in the Annuaire santé extraction (``data/rules/professions.toml``)."""
    with (RULES_DIR / "professions.toml").open("rb") as fh:
        return list(tomllib.load(fh)["profession"])


def _profession_keys(codes: pd.Series, savoir_faire: pd.Series) -> pd.Series:
    keys = pd.Series(None, index=codes.index, dtype=object)
    sf_key = savoir_faire.map(label_key)
    for prof in professions():
        mask = (codes == prof["code"]) & keys.isna()
        if "savoir_faire_contains" in prof:
            mask &= sf_key.str.contains(prof["savoir_faire_contains"], regex=False)
        if "savoir_faire_excludes" in prof:
            mask &= ~sf_key.str.contains(prof["savoir_faire_excludes"], regex=False)
        keys[mask] = prof["key"]
    return keys


def load_rpps(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    extraction_date: str | None = None,
) -> SupplyTable:
    """Practitioners by profession and commune of practice from the Annuaire santé extraction.

    The file is the public extraction ``PS_LibreAcces_Personne_activite_*.txt``
    (pipe-separated, one row per activity). Each person (``Identifiant PP``)
    is counted once per profession and commune of practice, however many
    activities they have there.

    Returns
    -------
    SupplyTable
        ``by_unit``: one column per profession (number of practitioners) and
        ``estimated`` (counts given for a PLM parent, spread over arrondissements).
    """
    data, name = _bytes(source)
    try:
        frame = read_delimited(data, expected=RPPS_COLUMNS, what="Annuaire santé (RPPS)")
    except ValueError as exc:
        raise SupplyFileError(
            f"{name} : ce n'est pas l'extraction « PS_LibreAcces_Personne_activite » de "
            f"l'Annuaire santé (fichier texte séparé par des « | »). {exc}"
        ) from exc
    rows_read = len(frame)
    savoir = frame.get("Libellé savoir-faire", pd.Series("", index=frame.index))
    frame = frame.assign(
        profession=_profession_keys(frame["Code profession"].str.strip(), savoir.fillna("")),
        commune=frame["Code commune (coord. structure)"].str.strip(),
    )
    usable = frame["profession"].notna() & (frame["commune"] != "")
    report_extra = []
    no_commune = int(((frame["commune"] == "") & frame["profession"].notna()).sum())
    if no_commune:
        report_extra.append(
            {
                "kind": "no_commune",
                "code": "",
                "n_rows": no_commune,
                "message": f"{no_commune} activité(s) sans code commune de la structure (exercice "
                "hors structure géolocalisée ou à l'étranger).",
                "action": "non comptée(s)",
            }
        )
    persons = (
        frame.loc[usable, ["Identifiant PP", "profession", "commune"]]
        .drop_duplicates()
        .groupby(["commune", "profession"])
        .size()
        .unstack(fill_value=0)
        .reset_index()
    )
    prof_cols = [c for c in persons.columns if c != "commune"]
    ref = referential if referential is not None else load_referential()
    attached = attach_to_units(
        persons, code_column="commune", referential=ref, sum_columns=prof_cols
    )
    report = pd.concat([attached.report, pd.DataFrame(report_extra)], ignore_index=True)
    label = "Annuaire santé (ANS), extraction publique PS_LibreAcces_Personne_activite"
    if extraction_date:
        label += f" du {extraction_date}"
    else:
        match = re.search(r"(20\d{2})(\d{2})(\d{2})", name)
        if match:
            label += f" du {match.group(3)}/{match.group(2)}/{match.group(1)}"
    return SupplyTable(
        by_unit=attached.table,
        report=report,
        source=label,
        rows_read=rows_read,
        rows_used=int(usable.sum()),
    )


def load_bpe(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    prefix: str = "D2",
    vintage: str | None = None,
) -> SupplyTable:
    """Counts of equipment types by commune from the INSEE BPE.

    Accepts the aggregated file (``DEPCOM``, ``TYPEQU``, ``NB_EQUIP``) and
    the one-row-per-equipment file (``DEPCOM``, ``TYPEQU``); keeps the types
    starting with ``prefix`` (``D2``: medical and paramedical functions).
    """
    data, name = _bytes(source)
    try:
        frame = read_delimited(
            data, expected=["DEPCOM", "TYPEQU"], what="Base permanente des équipements"
        )
    except ValueError as exc:
        raise SupplyFileError(
            f"{name} : ce n'est pas un fichier de la BPE de l'INSEE. {exc}"
        ) from exc
    rows_read = len(frame)
    frame = frame[frame["TYPEQU"].str.upper().str.startswith(prefix.upper())]
    counts = (
        as_float(frame["NB_EQUIP"])
        if "NB_EQUIP" in frame.columns
        else pd.Series(1.0, index=frame.index)
    )
    table = (
        pd.DataFrame(
            {
                "commune": frame["DEPCOM"].str.strip(),
                "type": frame["TYPEQU"].str.upper(),
                "n": counts,
            }
        )
        .groupby(["commune", "type"])["n"]
        .sum()
        .unstack(fill_value=0)
        .reset_index()
    )
    types = [c for c in table.columns if c != "commune"]
    ref = referential if referential is not None else load_referential()
    attached = attach_to_units(table, code_column="commune", referential=ref, sum_columns=types)
    label = "INSEE, Base permanente des équipements" + (f" {vintage}" if vintage else "")
    if vintage is None:
        match = re.search(r"bpe\D?(\d{2,4})", name, re.IGNORECASE)
        if match:
            year = match.group(1)
            label += f" {'20' + year if len(year) == 2 else year}"
    return SupplyTable(
        by_unit=attached.table,
        report=attached.report,
        source=label,
        rows_read=rows_read,
        rows_used=len(frame),
    )


_BAND = re.compile(r"^\D*(\d{1,3})\D+(\d{1,3})\D*$")


def _band_of_age(age: int) -> str:
    return "90+" if age >= 90 else AGE_BANDS[age // 5]


def load_population_ages(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    vintage: str | None = None,
) -> SupplyTable:
    """Population by 5-year age band and commune from an INSEE census table.

    Accepts the INSEE detailed table by single year of age (``CODGEO``,
    ``AGED100``, ``NB``, one row per sex and age, as in ``TD_POP1B``) and
    tables already by band (``CODGEO`` plus one column per band such as
    ``0-4``, ``5 à 9 ans``, ``90+``). Single ages are grouped into the 19
    bands of the APL method (0-4, …, 85-89, 90+).
    """
    data, name = _bytes(source)
    try:
        frame = read_delimited(data, expected=["CODGEO"], what="Population par âge")
    except ValueError as exc:
        raise SupplyFileError(
            f"{name} : population par âge non reconnue. Attendu : un tableau INSEE avec CODGEO et "
            "AGED100/NB (âge détaillé) ou une colonne par tranche d'âge quinquennale. " + str(exc)
        ) from exc
    rows_read = len(frame)
    if {"AGED100", "NB"} <= set(frame.columns):
        ages = pd.to_numeric(frame["AGED100"], errors="coerce")
        values = as_float(frame["NB"])
        valid = ages.notna() & values.notna()
        bands = ages[valid].astype(int).map(_band_of_age)
        table = (
            pd.DataFrame(
                {
                    "commune": frame.loc[valid, "CODGEO"].str.strip(),
                    "band": bands,
                    "n": values[valid],
                }
            )
            .groupby(["commune", "band"])["n"]
            .sum()
            .unstack(fill_value=0)
            .astype(float)
        )
    else:
        mapping = {}
        for col in frame.columns:
            if col == "CODGEO":
                continue
            key = label_key(col)
            if re.search(r"90\s*(\+|ans et plus|et plus|plus)", key) or key in ("90", "90 plus"):
                mapping[col] = "90+"
                continue
            match = _BAND.match(key)
            if (
                match
                and int(match.group(2)) - int(match.group(1)) == 4
                and int(match.group(1)) % 5 == 0
            ):
                mapping[col] = f"{int(match.group(1))}-{int(match.group(2))}"
        if len(set(mapping.values())) != len(AGE_BANDS):
            missing = sorted(set(AGE_BANDS) - set(mapping.values()))
            raise SupplyFileError(
                f"{name} : tranches d'âge incomplètes ; manquent {', '.join(missing)}. "
                "Attendu : une colonne par tranche de 5 ans (0-4, 5-9, …, 85-89, 90+) ou le "
                "tableau INSEE par âge détaillé (AGED100, NB)."
            )
        table = pd.DataFrame(
            {
                band: sum(as_float(frame[c]) for c, b in mapping.items() if b == band)
                for band in AGE_BANDS
            }
        )
        table.index = frame["CODGEO"].str.strip()
        table = table.groupby(level=0).sum()
    table = table.reindex(columns=AGE_BANDS, fill_value=0.0).reset_index(names="commune")
    ref = referential if referential is not None else load_referential()
    attached = attach_to_units(table, code_column="commune", referential=ref, sum_columns=AGE_BANDS)
    label = "INSEE, recensement de la population, population par âge" + (
        f" {vintage}" if vintage else ""
    )
    if vintage is None:
        match = re.search(r"(20\d{2})", name)
        if match:
            label += f" {match.group(1)}"
    by_unit = attached.table.copy()
    by_unit["population_ages"] = by_unit[AGE_BANDS].sum(axis=1)
    return SupplyTable(
        by_unit=by_unit,
        report=attached.report,
        source=label,
        rows_read=rows_read,
        rows_used=rows_read,
    )


def standardised_population(ages: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """Population weighted by each band's relative consumption (APL demand)."""
    missing = [b for b in AGE_BANDS if b not in weights]
    if missing:
        raise ValueError(f"poids manquants pour les tranches : {missing}")
    return sum(ages[band] * weights[band] for band in AGE_BANDS)  # type: ignore[return-value]


def share_75_plus(ages: pd.DataFrame) -> pd.Series:
    """Share of inhabitants aged 75 and over (NaN when no population)."""
    old = ages[["75-79", "80-84", "85-89", "90+"]].sum(axis=1)
    total = ages[AGE_BANDS].sum(axis=1)
    return (old / total.where(total > 0)).astype(np.float64)
