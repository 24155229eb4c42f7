"""The registry of care files: one small spec per kind of file a user may load.

The dashboard's "Données de soins" panel (one upload per kind) and the
``profile`` command (one option per kind) are both drawn from
:func:`care_loaders`; :func:`load_care_file` loads a file of a kind. Adding a
kind of care file is adding one :class:`CareLoaderSpec` here (and, when the
indicators should read it, a field of :class:`coverage.care.CareData` and the
indicator specs that use it).

Examples
--------
>>> [spec.kind for spec in care_loaders()]
['apl', 'rpps', 'bpe', 'ages', 'finess', 'travel']
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from coverage.loaders.apl import AplData, load_drees_apl
from coverage.loaders.finess import FinessTable, load_finess
from coverage.loaders.supply import SupplyTable, load_bpe, load_population_ages, load_rpps
from coverage.loaders.travel import TravelTable, load_travel_times
from diagnosis.core.referential import Referential
from diagnosis.errors import DataError

__all__ = [
    "CareLoaderSpec",
    "CareSourceInput",
    "care_loader",
    "care_loaders",
    "care_source_label",
    "load_care_file",
]

#: What a loader reads: a path, bytes or a binary stream.
CareSourceInput = str | Path | bytes | IO[bytes]
#: A loader: the file, the name to show (for bytes), the national referential.
Loader = Callable[[CareSourceInput, str | None, Referential], Any]


@dataclass(frozen=True)
class CareLoaderSpec:
    """One kind of care file.

    Attributes
    ----------
    kind
        Stable id (``apl``, ``rpps``…): the key of the layer in
        :func:`coverage.care.care_data`, the dashboard's widget key
        (``care_<kind>``) and the ``profile`` option (``--<kind>``).
    label
        French label of the file, as the dashboard shows it.
    extensions
        File extensions accepted (without the dot).
    load
        Reads a file of this kind (see :func:`load_care_file`).
    yields
        Type of what the loader returns.
    cli_help
        French help of the ``profile`` option.
    many
        Whether several files of this kind may be given (APL workbooks of
        several professions).
    """

    kind: str
    label: str
    extensions: tuple[str, ...]
    load: Loader
    yields: type
    cli_help: str
    many: bool = False


def _named(source: CareSourceInput, filename: str | None) -> CareSourceInput:
    """Bytes as a stream carrying the file's name (loaders read dates and vintages in it)."""
    if not isinstance(source, bytes):
        return source
    stream = io.BytesIO(source)
    if filename:
        stream.name = filename
    return stream


def _apl(source: CareSourceInput, filename: str | None, ref: Referential) -> AplData:
    return load_drees_apl(source, referential=ref, filename=filename)


def _rpps(source: CareSourceInput, filename: str | None, ref: Referential) -> SupplyTable:
    return load_rpps(_named(source, filename), referential=ref)


def _bpe(source: CareSourceInput, filename: str | None, ref: Referential) -> SupplyTable:
    return load_bpe(_named(source, filename), referential=ref)


def _ages(source: CareSourceInput, filename: str | None, ref: Referential) -> SupplyTable:
    return load_population_ages(_named(source, filename), referential=ref)


def _finess(source: CareSourceInput, filename: str | None, ref: Referential) -> FinessTable:
    return load_finess(_named(source, filename), referential=ref)


def _travel(source: CareSourceInput, filename: str | None, ref: Referential) -> TravelTable:
    return load_travel_times(_named(source, filename), referential=ref)


_SPECS = (
    CareLoaderSpec(
        kind="apl",
        label="Classeur APL de la DREES (.xlsx)",
        extensions=("xlsx",),
        load=_apl,
        yields=AplData,
        cli_help="classeur(s) APL de la DREES, ajoutés aux données intégrées (ou les remplaçant "
        "pour la même profession et le même millésime)",
        many=True,
    ),
    CareLoaderSpec(
        kind="rpps",
        label="Extraction Annuaire santé, PS_LibreAcces_Personne_activite (.txt)",
        extensions=("txt", "csv"),
        load=_rpps,
        yields=SupplyTable,
        cli_help="extraction PS_LibreAcces_Personne_activite (Annuaire santé)",
    ),
    CareLoaderSpec(
        kind="bpe",
        label="Base permanente des équipements de l'INSEE (.csv)",
        extensions=("csv", "txt"),
        load=_bpe,
        yields=SupplyTable,
        cli_help="base permanente des équipements de l'INSEE",
    ),
    CareLoaderSpec(
        kind="ages",
        label="Population par âge de l'INSEE (.csv)",
        extensions=("csv", "txt"),
        load=_ages,
        yields=SupplyTable,
        cli_help="population par âge de l'INSEE (par commune)",
    ),
    CareLoaderSpec(
        kind="finess",
        label="Extraction FINESS des établissements, etalab-cs1100507-stock (.csv)",
        extensions=("csv", "txt"),
        load=_finess,
        yields=FinessTable,
        cli_help="extraction FINESS des établissements (etalab-cs1100507-stock)",
    ),
    CareLoaderSpec(
        kind="travel",
        label="Temps de trajet entre communes (.csv : origine, destination, minutes)",
        extensions=("csv", "txt"),
        load=_travel,
        yields=TravelTable,
        cli_help="temps de trajet entre communes (origine, destination, minutes), à la place "
        "de l'estimation à vol d'oiseau du calcul d'accessibilité",
    ),
)


def care_loaders() -> tuple[CareLoaderSpec, ...]:
    """Every kind of care file, in the order the dashboard shows them."""
    return _SPECS


def care_loader(kind: str) -> CareLoaderSpec:
    """The spec of one kind; a French error lists the known kinds."""
    for spec in _SPECS:
        if spec.kind == kind:
            return spec
    raise DataError(
        f"Type de données de soins inconnu : « {kind} ». Attendu : "
        + ", ".join(s.kind for s in _SPECS)
        + "."
    )


def load_care_file(
    kind: str,
    source: CareSourceInput,
    *,
    referential: Referential,
    filename: str | None = None,
) -> Any:
    """Load one care file of a kind (``apl``, ``rpps``, ``bpe``, ``ages``, ``finess``, ``travel``).

    Parameters
    ----------
    kind
        Id of the kind of file (:func:`care_loaders`).
    source
        Path, bytes or binary stream.
    referential
        National referential (codes are attached to its units).
    filename
        Name of the file when ``source`` is bytes (shown in messages; dates and
        vintages written in it are read).

    Returns
    -------
    Any
        What the kind's loader yields (:attr:`CareLoaderSpec.yields`).

    Raises
    ------
    AtlasError
        The file is not the one expected (French message), or the kind is unknown.
    """
    return care_loader(kind).load(source, filename, referential)


def care_source_label(value: Any) -> str:
    """The citation of a loaded care layer (shown next to every figure drawn from it)."""
    if isinstance(value, AplData):
        return value.source_label()
    return str(value.source)
