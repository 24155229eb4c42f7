"""Loader of a commune-to-commune travel-time table (origin, destination, minutes).

A user may replace the crow-fly proxy of the 2SFCA by road travel times, for
example the INSEE Metric distancier: a delimited text file with one row per
pair of communes. Encoding and separator are detected by the readers of
:mod:`diagnosis.io.reading`; the size limit is the one of every uploaded file
(:data:`diagnosis.io.limits.MAX_UPLOAD_MB`). Columns are found by their names
(``origine``/``code_origine``/``depart``…, ``destination``/``arrivee``…,
``minutes``/``temps``/``duree``…), else the first three columns are used when
they hold two codes and a number. Codes are normalised like every commune
code of the project; rows that cannot be used are counted in the report,
never dropped silently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from diagnosis.core.communes import resolve_codes
from diagnosis.core.numbers import fr_number
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import label_key
from diagnosis.errors import FileReadError
from diagnosis.io.limits import MAX_COLUMNS, MAX_UPLOAD_MB, MIB, format_mb
from diagnosis.io.reading import decode_text, detect_separator

__all__ = [
    "TRAVEL_COLUMNS",
    "TravelFileError",
    "TravelTable",
    "load_travel_times",
]

#: Columns of :attr:`TravelTable.pairs`.
TRAVEL_COLUMNS = ["origin", "destination", "minutes"]
#: Columns of :attr:`TravelTable.report`: a stable ``kind`` id, a row count, a French detail.
REPORT_COLUMNS = ["kind", "rows", "detail"]

#: Header words naming each column (accent-, case- and punctuation-free, see ``label_key``).
_HEADER_WORDS = {
    "origin": ("origine", "origin", "depart", "from", "source", "code origine", "commune origine"),
    "destination": (
        "destination",
        "arrivee",
        "to",
        "target",
        "code destination",
        "commune destination",
    ),
    "minutes": ("minutes", "minute", "temps", "duree", "time", "min", "temps minutes"),
}

_EXPECTED = (
    "Attendu : un tableau délimité (; , tabulation ou |) avec une ligne d'en-tête et trois "
    "colonnes : commune d'origine (code INSEE), commune de destination (code INSEE) et temps "
    "de trajet en minutes, par exemple « origine;destination;minutes »."
)


class TravelFileError(FileReadError):
    """The file is not a travel-time table; the message says what was expected."""


@dataclass
class TravelTable:
    """Travel times between communes read from a user's file.

    Attributes
    ----------
    pairs
        One row per usable pair (:data:`TRAVEL_COLUMNS`): unit codes of origin
        and destination, minutes (a non-negative float).
    report
        What was not used and why (``kind``: ``bad_minutes``, ``unknown_code``,
        ``duplicate_pair``; ``rows``; ``detail`` in French).
    source
        Citation of the file.
    rows_read
        Data rows read.
    rows_used
        Pairs kept.
    """

    pairs: pd.DataFrame
    report: pd.DataFrame
    source: str
    rows_read: int
    rows_used: int


def _read_bytes(source: str | Path | bytes | IO[bytes]) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes(), Path(source).name
    if isinstance(source, bytes):
        return source, ""
    return source.read(), Path(str(getattr(source, "name", ""))).name


def _refused(name: str, why: str) -> TravelFileError:
    # An upload without a name is named by the caller: no "fichier : " prefix.
    prefix = f"{name} : " if name else ""
    return TravelFileError(f"{prefix}{why} {_EXPECTED}")


def _frame(data: bytes, name: str) -> pd.DataFrame:
    """The file's cells as text, after the checks of size, text and width."""
    if len(data) > MAX_UPLOAD_MB * MIB:
        raise _refused(
            name,
            f"Fichier trop volumineux ({format_mb(len(data))}, la limite est de "
            f"{MAX_UPLOAD_MB} Mo) : gardez les paires de moins de 20 minutes ou découpez-le "
            "par région.",
        )
    text, _ = decode_text(data)
    if not text.strip():
        raise _refused(name, "Le fichier est vide.")
    if "\x00" in text[:10_000]:
        raise _refused(name, "Le fichier n'est pas un texte lisible (données binaires).")
    sep = detect_separator(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, engine="c"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _refused(
            name,
            "Fichier illisible (lignes de longueurs différentes, guillemets mal fermés ou "
            "séparateur inattendu).",
        ) from exc
    if len(frame.columns) > MAX_COLUMNS:
        raise _refused(
            name,
            f"Tableau trop large : {fr_number(len(frame.columns))} colonnes "
            f"(la limite est de {fr_number(MAX_COLUMNS)}).",
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _columns(frame: pd.DataFrame, name: str) -> dict[str, str]:
    """The file's column of each role (named, or the first three columns)."""
    keys = {label_key(c): c for c in frame.columns}
    found = {}
    for role, words in _HEADER_WORDS.items():
        column = next((keys[w] for w in words if w in keys), None)
        if column is not None:
            found[role] = column
    if len(found) == 3 and len(set(found.values())) == 3:
        return found
    if len(frame.columns) >= 3:
        first = list(frame.columns[:3])
        sample = frame[first].head(200)
        codes = sample[first[:2]].apply(lambda s: s.str.strip().str.fullmatch(r"\w{4,5}"))
        minutes = pd.to_numeric(sample[first[2]].str.replace(",", "."), errors="coerce")
        if len(sample) and codes.to_numpy().mean() > 0.9 and minutes.notna().mean() > 0.9:
            return dict(zip(TRAVEL_COLUMNS, first, strict=True))
    shown = ", ".join(map(str, frame.columns[:10])) + ("…" if len(frame.columns) > 10 else "")
    raise _refused(
        name, f"Colonnes d'origine, de destination et de minutes introuvables (lues : {shown})."
    )


def _unit_codes(written: pd.Series, ref: Referential) -> pd.Series:
    """Unit code of each written commune code (missing when unknown or a PLM parent)."""
    resolved = resolve_codes(written, referential=ref).set_index("written")
    unit = resolved["code"].where(resolved["status"] == "unit")
    return written.map(unit)


def load_travel_times(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
) -> TravelTable:
    """Travel times between communes (for the 2SFCA) from a user's delimited text file.

    Parameters
    ----------
    source
        The table (path, bytes or binary stream).
    referential
        National referential (codes are normalised through it).

    Returns
    -------
    TravelTable
        The usable pairs and the report of the rows left out.

    Raises
    ------
    TravelFileError
        The file is too large, empty, binary, unreadable, or has no origin,
        destination and minutes columns (French message saying what was expected).
    """
    data, name = _read_bytes(source)
    frame = _frame(data, name)
    roles = _columns(frame, name)
    ref = referential if referential is not None else load_referential()
    minutes = pd.to_numeric(
        frame[roles["minutes"]].str.strip().str.replace(",", ".", regex=False), errors="coerce"
    )
    origin = _unit_codes(frame[roles["origin"]].str.strip(), ref)
    destination = _unit_codes(frame[roles["destination"]].str.strip(), ref)
    bad_minutes = minutes.isna() | (minutes < 0) | ~np.isfinite(minutes.fillna(0.0))
    unknown = ~bad_minutes & (origin.isna() | destination.isna())
    pairs = pd.DataFrame(
        {
            "origin": origin[~bad_minutes & ~unknown].astype(str),
            "destination": destination[~bad_minutes & ~unknown].astype(str),
            "minutes": minutes[~bad_minutes & ~unknown].astype(np.float64),
        },
        columns=TRAVEL_COLUMNS,
    )
    unique = pairs.drop_duplicates(["origin", "destination"]).reset_index(drop=True)
    counts = {
        "bad_minutes": (
            int(bad_minutes.sum()),
            "lignes sans temps de trajet valide (vide, négatif ou non numérique), non utilisées",
        ),
        "unknown_code": (
            int(unknown.sum()),
            "lignes dont une commune est inconnue du "
            "référentiel (ou donnée par sa commune parente), non utilisées",
        ),
        "duplicate_pair": (len(pairs) - len(unique), "paires en double : la première est gardée"),
    }
    report = pd.DataFrame(
        [{"kind": k, "rows": n, "detail": d} for k, (n, d) in counts.items() if n],
        columns=REPORT_COLUMNS,
    )
    if unique.empty:
        raise _refused(name, "Aucune paire de communes utilisable.")
    label = "temps de trajet entre communes fournis par l'utilisateur" + (
        f" ({name})" if name else ""
    )
    return TravelTable(
        pairs=unique, report=report, source=label, rows_read=len(frame), rows_used=len(unique)
    )
