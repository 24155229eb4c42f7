"""Loaders of care supply and population files: Annuaire santé (RPPS), INSEE BPE, ages.

Each loader checks that the file is the one expected and raises one
``ValueError`` subclass naming the expected columns when it is not.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from coverage.loaders.normalise import as_float, attach_to_units, read_delimited
from coverage.rules import professions
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import label_key
from diagnosis.errors import FileReadError

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


def _profession_keys(codes: pd.Series, savoir_faire: pd.Series) -> pd.Series:
    """Profession key of each row, worked out once per distinct (code, savoir-faire) pair."""
    pairs = pd.DataFrame({"code": codes, "sf": savoir_faire}).drop_duplicates()
    keys = pd.Series(None, index=pairs.index, dtype=object)
    sf_key = pairs["sf"].map(label_key)
    for prof in professions():
        mask = (pairs["code"] == prof["code"]) & keys.isna()
        if "savoir_faire_contains" in prof:
            mask &= sf_key.str.contains(prof["savoir_faire_contains"], regex=False)
        if "savoir_faire_excludes" in prof:
            mask &= ~sf_key.str.contains(prof["savoir_faire_excludes"], regex=False)
        keys[mask] = prof["key"]
    lookup = pd.Series(
        keys.to_numpy(), index=pd.MultiIndex.from_frame(pairs[["code", "sf"]]), dtype=object
    )
    return pd.Series(
        lookup.reindex(pd.MultiIndex.from_arrays([codes, savoir_faire])).to_numpy(),
        index=codes.index,
        dtype=object,
    )


_RPPS_SAVOIR_FAIRE = "Libellé savoir-faire"
_RPPS_BLOCK_BYTES = 16 << 20


def _open_binary(source: str | Path | bytes | IO[bytes]) -> tuple[IO[bytes], str]:
    if isinstance(source, (str, Path)):
        return Path(source).open("rb"), Path(source).name
    if isinstance(source, bytes):
        return io.BytesIO(source), "fichier"
    return source, str(getattr(source, "name", "fichier"))


def _rpps_header(stream: IO[bytes], name: str) -> tuple[list[str], str]:
    """Column names and encoding, read from the first line; the stream is left after it."""
    line = stream.readline()
    encoding = "utf8"
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text, encoding = line.decode("cp1252"), "cp1252"
    columns = [c.strip() for c in text.rstrip("\r\n").split("|")]
    missing = [c for c in RPPS_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(c for c in columns[:15] if c)
        raise SupplyFileError(
            f"{name} : ce n'est pas l'extraction « PS_LibreAcces_Personne_activite » de "
            "l'Annuaire santé (fichier texte séparé par des « | »). Colonnes attendues "
            f"absentes : {', '.join(missing)}. Colonnes trouvées : {found}"
            + ("…" if len(columns) > 15 else "")
            + "."
        )
    # The official lines end with "|": an unnamed last column, given a name here.
    names = [c or f"_empty_{i}" for i, c in enumerate(columns)]
    return names, encoding


def _rpps_batches(stream: IO[bytes], names: list[str], encoding: str) -> Iterator[pd.DataFrame]:
    """The columns the counts need, one block of the file at a time (pyarrow's CSV reader)."""
    wanted = [*RPPS_COLUMNS[:2], RPPS_COLUMNS[3]]
    if _RPPS_SAVOIR_FAIRE in names:
        wanted.append(_RPPS_SAVOIR_FAIRE)
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(
            column_names=names, encoding=encoding, block_size=_RPPS_BLOCK_BYTES
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter="|", quote_char=False, invalid_row_handler=lambda _row: "skip"
        ),
        convert_options=pa_csv.ConvertOptions(
            include_columns=wanted, column_types=dict.fromkeys(wanted, pa.string())
        ),
    )
    for batch in reader:
        yield batch.to_pandas()


def load_rpps(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    extraction_date: str | None = None,
) -> SupplyTable:
    """Practitioners by profession and commune of practice from the Annuaire santé extraction.

    The file is the public extraction ``PS_LibreAcces_Personne_activite_*.txt``
    (pipe-separated, one row per activity, several hundred MB nationally). It
    is streamed block by block (pyarrow), keeping only the person, profession
    and commune columns, so memory stays far below the file's size. Each
    person (``Identifiant PP``) is counted once per profession and commune of
    practice, however many activities they have there.

    Returns
    -------
    SupplyTable
        ``by_unit``: one column per profession (number of practitioners) and
        ``estimated`` (counts given for a PLM parent, spread over arrondissements).
    """
    stream, name = _open_binary(source)
    try:
        names, encoding = _rpps_header(stream, name)
        counted = _rpps_counts(_rpps_batches(stream, names, encoding), name)
    finally:
        if isinstance(source, (str, Path)):
            stream.close()
    prof_cols = [c for c in counted.persons.columns if c != "commune"]
    ref = referential if referential is not None else load_referential()
    attached = attach_to_units(
        counted.persons, code_column="commune", referential=ref, sum_columns=prof_cols
    )
    report = pd.concat(
        [attached.report, pd.DataFrame(_no_commune_report(counted.no_commune))],
        ignore_index=True,
    )
    return SupplyTable(
        by_unit=attached.table,
        report=report,
        source=_rpps_label(name, extraction_date),
        rows_read=counted.rows_read,
        rows_used=counted.rows_used,
    )


@dataclass
class _RppsCounts:
    """Practitioners by commune and profession counted from the streamed extraction."""

    persons: pd.DataFrame  # commune, then one column per profession key
    rows_read: int
    rows_used: int
    no_commune: int


def _rpps_counts(batches: Iterator[pd.DataFrame], name: str) -> _RppsCounts:
    """Count each person once per profession and commune of practice, block by block."""
    rows_read = rows_used = no_commune = 0
    kept: list[pd.DataFrame] = []
    try:
        for batch in batches:
            rows_read += len(batch)
            savoir = batch.get(_RPPS_SAVOIR_FAIRE, pd.Series("", index=batch.index))
            profession = _profession_keys(
                batch["Code profession"].fillna("").str.strip(), savoir.fillna("")
            )
            commune = batch["Code commune (coord. structure)"].fillna("").str.strip()
            known = profession.notna()
            no_commune += int((known & (commune == "")).sum())
            usable = known & (commune != "")
            rows_used += int(usable.sum())
            kept.append(
                pd.DataFrame(
                    {
                        "person": batch.loc[usable, "Identifiant PP"].str.strip(),
                        "profession": profession[usable],
                        "commune": commune[usable],
                    }
                ).drop_duplicates()
            )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SupplyFileError(
            f"{name} : fichier illisible. Attendu : l'extraction "
            "« PS_LibreAcces_Personne_activite » de l'Annuaire santé (texte séparé par des "
            "« | »).",
            detail=str(exc),
        ) from exc
    triples = (
        pd.concat(kept, ignore_index=True)
        if kept
        else pd.DataFrame(columns=["person", "profession", "commune"])
    )
    persons = (
        triples.drop_duplicates()
        .groupby(["commune", "profession"])
        .size()
        .unstack(fill_value=0)
        .reset_index()
    )
    return _RppsCounts(persons, rows_read, rows_used, no_commune)


def _no_commune_report(no_commune: int) -> list[dict[str, object]]:
    """The report line of the activities without a commune (none when there are none)."""
    if not no_commune:
        return []
    return [
        {
            "kind": "no_commune",
            "code": "",
            "n_rows": no_commune,
            "message": f"{no_commune} activité(s) sans code commune de la structure (exercice "
            "hors structure géolocalisée ou à l'étranger).",
            "action": "non comptée(s)",
            "event": "no_commune",
        }
    ]


def _rpps_label(name: str, extraction_date: str | None) -> str:
    """Citation of the extraction, with its date (given, or read in the file's name)."""
    label = "Annuaire santé (ANS), extraction publique PS_LibreAcces_Personne_activite"
    if extraction_date:
        return label + f" du {extraction_date}"
    match = re.search(r"(20\d{2})(\d{2})(\d{2})", name)
    if match:
        label += f" du {match.group(3)}/{match.group(2)}/{match.group(1)}"
    return label


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


def _ages_by_single_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Population by commune (index) and 5-year band (columns) from single years of age."""
    ages = pd.to_numeric(frame["AGED100"], errors="coerce")
    values = as_float(frame["NB"])
    valid = ages.notna() & values.notna()
    bands = ages[valid].astype(int).map(_band_of_age)
    return (
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


def _band_columns(columns: pd.Index) -> dict[str, str]:
    """Column of the file → 5-year band it holds ("5 à 9 ans" → "5-9", "90 ans et plus" → "90+")."""
    mapping = {}
    for col in columns:
        if col == "CODGEO":
            continue
        key = label_key(col)
        if re.search(r"90\s*(\+|ans et plus|et plus|plus)", key) or key in ("90", "90 plus"):
            mapping[col] = "90+"
            continue
        match = _BAND.match(key)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if high - low == 4 and low % 5 == 0:
                mapping[col] = f"{low}-{high}"
    return mapping


def _ages_by_band(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Population by commune (index) and 5-year band (columns) from a table already by band."""
    mapping = _band_columns(frame.columns)
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
    return table.groupby(level=0).sum()


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
        table = _ages_by_single_year(frame)
    else:
        table = _ages_by_band(frame, name)
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
