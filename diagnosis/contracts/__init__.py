"""The contract follow-up: the ACI funding due to each CPTS, year by year, and its forecast.

The 2019 instruction (seed ``003``, II.4) describes the Assurance Maladie's
contract tool: it records each contract and computes "les financements dus à
la CPTS en fonction de la taille du territoire couvert, de la date de
démarrage des missions et du taux d'atteinte des indicateurs", with a
schedule of payments. This package does that job:

- :func:`read_contracts` reads a contracts file (CSV or spreadsheet, French
  column names) with a report of every problem;
- :func:`contract_schedule` gives every line due under one contract, per
  contract year (maximum and expected amounts), and :func:`simulated_contract`
  a contract for a territory that has none yet (Mon territoire);
- :func:`funding_schedule` does it for many contracts, matched to their
  perimeters (size class from the whole perimeter's population);
- :func:`funding_by_year` totals them per calendar year for France, each
  region and each department (a CPAM's budget forecast), by payment date
  (:func:`payment_rows`) or by period.

The package reads the vocabulary (:mod:`diagnosis.core`) and the readers
(:mod:`diagnosis.io`); it never imports the importer, the outputs or the UI.

Examples
--------
>>> import datetime as dt
>>> contract = simulated_contract(dt.date(2025, 1, 1))
>>> schedule = contract_schedule(contract, size_class=2)
>>> float(schedule.loc[schedule["contract_year"] == 1, "amount_max_eur"].sum())
330000.0
"""

from __future__ import annotations

from diagnosis.contracts.forecast import (
    Basis,
    FundingForecast,
    funding_by_year,
    funding_schedule,
    perimeter_facts,
)
from diagnosis.contracts.model import (
    BY_YEAR_COLUMNS,
    SCHEDULE_COLUMNS,
    Contract,
    ContractFileError,
    ContractsImport,
)
from diagnosis.contracts.reading import read_contracts
from diagnosis.contracts.schedule import (
    contract_schedule,
    contract_years,
    payment_rows,
    simulated_contract,
)

__all__ = [
    "BY_YEAR_COLUMNS",
    "SCHEDULE_COLUMNS",
    "Basis",
    "Contract",
    "ContractFileError",
    "ContractsImport",
    "FundingForecast",
    "contract_schedule",
    "contract_years",
    "funding_by_year",
    "funding_schedule",
    "payment_rows",
    "perimeter_facts",
    "read_contracts",
    "simulated_contract",
]
