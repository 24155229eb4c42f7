"""The contract follow-up's vocabulary: a CPTS's ACI contract, its report, its output columns.

A contract (seed ``003``, II.4: the Assurance Maladie's contract tool records
"territoire couvert, taille, membres de la communauté, date d'adhésion,
missions") is what the schedule needs: the signature date, the start date of
each mission (none: not started, or not chosen for an optional one), the
declared health crises, the number of members, and the attainment rate of
each mission's indicators per contract year (100 % when absent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from diagnosis.core.model import Report, Severity
from diagnosis.errors import AtlasError

__all__ = [
    "BY_YEAR_COLUMNS",
    "CONTRACT_EVENT_KINDS",
    "SCHEDULE_COLUMNS",
    "Contract",
    "ContractFileError",
    "ContractsImport",
    "ReportAt",
]

#: ``funding_schedule.csv``: one row per line due in a contract year (the CLI contract).
SCHEDULE_COLUMNS = [
    "perimeter_id",
    "name",
    "contract_year",
    "period_start",
    "period_end",
    "line",
    "kind",
    "amount_max_eur",
    "amount_expected_eur",
]

#: ``funding_by_year.csv``: one row per calendar year and scope (the CLI contract).
BY_YEAR_COLUMNS = [
    "year",
    "scope",
    "fixed_eur",
    "variable_eur",
    "one_off_eur",
    "total_max_eur",
    "total_expected_eur",
    "n_contracts",
]

#: Kinds of events of the contracts report: severity and default action, in French.
CONTRACT_EVENT_KINDS: dict[str, tuple[Severity, str]] = {
    "file_read": ("info", "fichier lu"),
    "columns_detected": ("info", "colonnes utilisées"),
    "column_ignored": ("info", "colonne ignorée"),
    "blank_rows": ("info", "lignes vides ignorées"),
    "missing_perimeter": ("rejected", "contrat rejeté"),
    "bad_signature": ("rejected", "contrat rejeté"),
    "duplicate_contract": ("rejected", "contrat en double rejeté"),
    "unknown_perimeter": ("rejected", "contrat rejeté"),
    "ambiguous_perimeter": ("rejected", "contrat rejeté"),
    "outside_scope": ("info", "contrat hors du territoire choisi"),
    "bad_date": ("warning", "valeur ignorée"),
    "start_before_signature": ("warning", "démarrage ramené à la signature"),
    "late_start": ("warning", "date conservée"),
    "mission_not_started": ("info", "mission non financée"),
    "crisis_not_counted": ("warning", "crise non comptée"),
    "bad_number": ("warning", "valeur ignorée"),
    "aid_amount": ("info", "montant retenu"),
    "contract_ended": ("info", "années suivantes non calculées"),
}


@dataclass(frozen=True)
class ReportAt:
    """Where a value was read (row and CPTS of the contracts file), to report on it."""

    report: Report
    row: int | None
    perimeter: str | None = None

    def add(self, kind: str, message: str) -> None:
        """Record an event of ``kind`` at this row and CPTS."""
        self.report.add(kind, message, row=self.row, perimeter=self.perimeter)


class ContractFileError(AtlasError):
    """A contracts file that cannot be used at all; the message says what was expected."""


@dataclass(frozen=True)
class Contract:
    """One CPTS's ACI contract, as the schedule needs it.

    Attributes
    ----------
    perimeter
        The perimeter the contract covers: its identifier or its name.
    signature
        Signature date of the contract.
    mission_starts
        Mission key (``aci.toml``) → start date. A mission absent here has not
        started (a mandatory one) or was not chosen (an optional one): it is
        not funded.
    crises
        Dates of the health crises declared (one crisis payment each).
    members
        Number of members (professionals and structures), when known.
    attainment
        Mission key → attainment rate (0 to 1) of its indicators in contract
        years 1, 2, …; a year without a rate counts 100 %.
    letter_of_intent
        Date the letter of intent was validated (for the one-off aid), if given.
    letter_of_intent_aid_eur
        Amount of the one-off aid granted, if given.
    bonus_granted
        Whether the +10 % of a large taille-4 community was granted (None: the
        option chosen for every contract decides).
    row
        Row of the contracts file (for the report).
    """

    perimeter: str
    signature: dt.date
    mission_starts: Mapping[str, dt.date] = field(default_factory=dict)
    crises: tuple[dt.date, ...] = ()
    members: int | None = None
    attainment: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    letter_of_intent: dt.date | None = None
    letter_of_intent_aid_eur: float | None = None
    bonus_granted: bool | None = None
    row: int | None = None

    def rate(self, mission: str, contract_year: int) -> float:
        """Attainment rate (0 to 1) of a mission's indicators in a contract year (1-based)."""
        rates = self.attainment.get(mission, ())
        return rates[contract_year - 1] if 0 < contract_year <= len(rates) else 1.0


@dataclass
class ContractsImport:
    """The contracts read from a file, with the report of every problem.

    Attributes
    ----------
    contracts
        The contracts kept, in file order.
    report
        Every event (columns of :data:`diagnosis.core.model.REPORT_COLUMNS`):
        kind, severity, row, perimeter, code, message (French), action.
    source
        What was read and detected (format, encoding, sheet, columns used).
    """

    contracts: tuple[Contract, ...]
    report: pd.DataFrame
    source: dict[str, Any] = field(default_factory=dict)
