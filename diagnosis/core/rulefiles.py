"""Reading the rules tables of ``data/rules/`` (TOML) and citing their sources.

The stage vocabulary (:mod:`diagnosis.core.statuses`) and the ACI rules
(:mod:`diagnosis.core.aci`) both read their tables here, so that a table is
found, parsed and cited in one way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diagnosis.core.numbers import fr_date
from diagnosis.paths import RULES_DIR

__all__ = ["citation", "read_rules_toml"]


def read_rules_toml(name: str, directory: Path | str | None = None) -> dict[str, Any]:
    """The parsed rules table ``name`` of ``directory`` (default: ``data/rules/``)."""
    path = Path(directory or RULES_DIR) / name
    with path.open("rb") as fh:
        return tomllib.load(fh)


def citation(table: Mapping[str, Any]) -> str:
    """A table's source and date for people: "ACI du 20 juin 2019 (21 août 2019)".

    ``table`` holds a ``source`` (French, shown as is) and a ``date`` (ISO).
    """
    return f"{table['source']} ({fr_date(table['date'])})"
