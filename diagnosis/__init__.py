"""Diagnosis of CPTS territories: referential, perimeter import, checks, overlaps, white zones.

The public face: what a notebook, the command line or the app calls. Names are
loaded on first use, so ``import diagnosis`` stays cheap (only the error
classes are imported eagerly).

Examples
--------
>>> import diagnosis
>>> paca = diagnosis.load_referential(region="93")  # doctest: +SKIP
>>> imported = diagnosis.import_perimeters("perimetres.xlsx", region="93")  # doctest: +SKIP
>>> diag = diagnosis.run_diagnosis(imported, paca)  # doctest: +SKIP
>>> diagnosis.write_diagnosis(diag, "sortie")  # doctest: +SKIP

Layers
------
Small vocabulary modules sit at the bottom (``zones``, ``paths``, ``errors``,
``rules``, ``model``, ``communes``); the analysis (``membership``, ``checks``,
``overlaps``, ``white_zones``, ``rates``, ``proposals``, ``disputes``,
``pipeline``) imports only them and the referential. The importer
(``perimeters`` and ``import_*``) and the builder (``build`` and ``build_*``)
are imported by entry points only; ``tests/test_architecture.py`` checks it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from diagnosis.errors import AtlasError, DataError, FileReadError, ReferentialError

if TYPE_CHECKING:
    from diagnosis.communes import resolve_commune_codes
    from diagnosis.disputes import Dispute, compare_perimeters
    from diagnosis.export import write_diagnosis
    from diagnosis.model import PerimeterImport, perimeters_from_members
    from diagnosis.perimeter_csv import export_perimeters_csv
    from diagnosis.perimeters import import_perimeters
    from diagnosis.pipeline import Diagnosis, run_diagnosis
    from diagnosis.rates import coverage_rates
    from diagnosis.reading import PerimeterFileError
    from diagnosis.referential import Referential, ReferentialMissingError, load_referential
    from diagnosis.rules import STAGE_KEYS, StageKey, simulate_funding, stage_label

#: Public name -> module defining it (imported on first use).
_LAZY: dict[str, str] = {
    "resolve_commune_codes": "diagnosis.communes",
    "Dispute": "diagnosis.disputes",
    "compare_perimeters": "diagnosis.disputes",
    "write_diagnosis": "diagnosis.export",
    "PerimeterImport": "diagnosis.model",
    "perimeters_from_members": "diagnosis.model",
    "export_perimeters_csv": "diagnosis.perimeter_csv",
    "import_perimeters": "diagnosis.perimeters",
    "Diagnosis": "diagnosis.pipeline",
    "run_diagnosis": "diagnosis.pipeline",
    "coverage_rates": "diagnosis.rates",
    "PerimeterFileError": "diagnosis.reading",
    "Referential": "diagnosis.referential",
    "ReferentialMissingError": "diagnosis.referential",
    "load_referential": "diagnosis.referential",
    "STAGE_KEYS": "diagnosis.rules",
    "StageKey": "diagnosis.rules",
    "simulate_funding": "diagnosis.rules",
    "stage_label": "diagnosis.rules",
}

__all__ = [
    "STAGE_KEYS",
    "AtlasError",
    "DataError",
    "Diagnosis",
    "Dispute",
    "FileReadError",
    "PerimeterFileError",
    "PerimeterImport",
    "Referential",
    "ReferentialError",
    "ReferentialMissingError",
    "StageKey",
    "compare_perimeters",
    "coverage_rates",
    "export_perimeters_csv",
    "import_perimeters",
    "load_referential",
    "perimeters_from_members",
    "resolve_commune_codes",
    "run_diagnosis",
    "simulate_funding",
    "stage_label",
    "write_diagnosis",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'diagnosis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
