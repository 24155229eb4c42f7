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
``statuses``, ``aci``, ``model``, ``communes``); the analysis (``membership``, ``checks``,
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
    from diagnosis.analysis.dispute_shares import with_shares
    from diagnosis.analysis.disputes import Dispute, compare_parties, compare_perimeters
    from diagnosis.analysis.pipeline import Diagnosis, run_diagnosis
    from diagnosis.analysis.rates import coverage_rates
    from diagnosis.core.aci import simulate_funding
    from diagnosis.core.communes import resolve_commune_codes
    from diagnosis.core.model import PerimeterImport, perimeters_from_members
    from diagnosis.core.referential import Referential, ReferentialMissingError, load_referential
    from diagnosis.core.statuses import STATUS_KEYS, StatusKey, status_name
    from diagnosis.importer.perimeter_csv import export_perimeters_csv
    from diagnosis.importer.perimeters import import_perimeters
    from diagnosis.io.reading import PerimeterFileError
    from diagnosis.outputs.export import write_diagnosis

#: Public name -> module defining it (imported on first use).
_LAZY: dict[str, str] = {
    "resolve_commune_codes": "diagnosis.core.communes",
    "Dispute": "diagnosis.analysis.disputes",
    "compare_parties": "diagnosis.analysis.disputes",
    "compare_perimeters": "diagnosis.analysis.disputes",
    "with_shares": "diagnosis.analysis.dispute_shares",
    "write_diagnosis": "diagnosis.outputs.export",
    "PerimeterImport": "diagnosis.core.model",
    "perimeters_from_members": "diagnosis.core.model",
    "export_perimeters_csv": "diagnosis.importer.perimeter_csv",
    "import_perimeters": "diagnosis.importer.perimeters",
    "Diagnosis": "diagnosis.analysis.pipeline",
    "run_diagnosis": "diagnosis.analysis.pipeline",
    "coverage_rates": "diagnosis.analysis.rates",
    "PerimeterFileError": "diagnosis.io.reading",
    "Referential": "diagnosis.core.referential",
    "ReferentialMissingError": "diagnosis.core.referential",
    "load_referential": "diagnosis.core.referential",
    "STATUS_KEYS": "diagnosis.core.statuses",
    "StatusKey": "diagnosis.core.statuses",
    "simulate_funding": "diagnosis.core.aci",
    "status_name": "diagnosis.core.statuses",
}

__all__ = [
    "STATUS_KEYS",
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
    "StatusKey",
    "compare_parties",
    "compare_perimeters",
    "coverage_rates",
    "export_perimeters_csv",
    "import_perimeters",
    "load_referential",
    "perimeters_from_members",
    "resolve_commune_codes",
    "run_diagnosis",
    "simulate_funding",
    "status_name",
    "with_shares",
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
