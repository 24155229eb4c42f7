"""Reading a contracts file (CSV or spreadsheet) into contracts and a complete report.

The file is read by :mod:`diagnosis.io.reading` (encodings, separators,
header rows, sheets), its columns recognised by their French names
(:mod:`diagnosis.contracts.columns`). Every problem is reported as the
perimeter import does: what was expected, what was kept, what was not; a
contract whose CPTS or signature date cannot be read is rejected, a value
that cannot be read is ignored and said.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from diagnosis.contracts.columns import (
    EXPECTED_COLUMNS_FR,
    contract_columns,
    header_score,
    role_label,
)
from diagnosis.contracts.model import (
    CONTRACT_EVENT_KINDS,
    Contract,
    ContractFileError,
    ContractsImport,
    ReportAt,
)
from diagnosis.core.aci import crisis_mission, mission_specs
from diagnosis.core.model import Report
from diagnosis.core.numbers import add_months, date_span, fr_date
from diagnosis.core.textnorm import label_key
from diagnosis.errors import FileReadError
from diagnosis.io.limits import MAX_UPLOAD_MB, MIB, check_input_path, check_upload_size
from diagnosis.io.reading import detect_format, read_table

__all__ = ["read_contracts"]

_LIST = re.compile(r"[;,|\n]+")


_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def read_contracts(
    source: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    sheet: str | int | None = None,
) -> ContractsImport:
    """Read a contracts file: one row per CPTS contract.

    Parameters
    ----------
    source
        Path of the file, its bytes, or a binary file object (CSV, XLSX, XLS, ODS).
    filename
        Name of the file (needed with bytes or file objects to know the format).
    sheet
        Sheet of a workbook (default: the one whose header is recognised best).

    Returns
    -------
    ContractsImport
        The contracts kept and the report of every problem.

    Raises
    ------
    ContractFileError
        When the file cannot be read or has no CPTS or signature column; the
        message says which columns are expected.

    Notes
    -----
    Columns (case, accents and punctuation ignored): "CPTS" (or its
    identifier), "date de signature", "début <mission>" for each mission
    (empty: not started, or not chosen for an optional one), "crise déclenchée
    (années)" (years or dates, separated by ``;``), "adhérents", "atteinte
    <mission> (%)" (one rate, or one per contract year separated by ``;``;
    100 % when absent), and optionally "validation lettre d'intention" and
    "aide lettre d'intention (€)".
    """
    data, name = _read_bytes(source, filename)
    try:
        file_format = detect_format(name)
        if file_format not in ("csv", "excel"):
            raise ContractFileError(
                f"« {Path(name).name} » n'est pas un tableau. Attendu : un fichier de contrats "
                "CSV, Excel (.xlsx, .xls) ou OpenDocument (.ods)."
            )
        table = read_table(data, file_format=file_format, sheet=sheet, header_score=header_score)
    except FileReadError as exc:
        if isinstance(exc, ContractFileError):
            raise
        raise ContractFileError(f"Fichier de contrats illisible. {exc}") from exc
    mapping, ignored = contract_columns(table.frame.columns)
    if "signature" not in mapping or not {"perimeter", "perimeter_id"} & set(mapping):
        raise ContractFileError(
            "Colonnes de contrats introuvables. Attendu : " + EXPECTED_COLUMNS_FR
        )
    report = Report(CONTRACT_EVENT_KINDS)
    info: dict[str, Any] = {"filename": name, **table.info, "header_row": table.header_row}
    info["columns"] = mapping
    _report_columns(report, mapping, ignored)
    contracts = _contracts_of(table.frame, table.row_numbers.tolist(), mapping, report)
    return ContractsImport(contracts=tuple(contracts), report=report.frame(), source=info)


def _read_bytes(source: str | Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ContractFileError(
                f"Fichier de contrats introuvable : « {path.name} ». Attendu : le chemin d'un "
                "fichier CSV ou d'un classeur existant."
            )
        check_input_path(path)
        return path.read_bytes(), filename or path.name
    if isinstance(source, bytes):
        if filename is None:
            raise ValueError("filename est nécessaire pour lire des octets (format du fichier).")
        return source, filename
    data = source.read(MAX_UPLOAD_MB * MIB + 1)
    check_upload_size(len(data))
    name = filename or getattr(source, "name", None)
    if name is None:
        raise ValueError("filename est nécessaire pour lire un flux (format du fichier).")
    return data, str(name)


def _report_columns(report: Report, mapping: Mapping[str, str], ignored: list[str]) -> None:
    used = "; ".join(f"{role_label(role)} ← « {header} »" for role, header in mapping.items())
    report.add("columns_detected", f"Colonnes utilisées : {used}.")
    for header in ignored:
        report.add("column_ignored", f"Colonne « {header} » non reconnue : ignorée.")


def _cell(value: object) -> object:
    """A cell's value, None when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _contracts_of(
    frame: Any, rows: list[int], mapping: Mapping[str, str], report: Report
) -> list[Contract]:
    contracts: list[Contract] = []
    seen: dict[str, int] = {}
    blank = 0
    for row, record in zip(rows, frame.to_dict("records"), strict=True):
        cells = {role: _cell(record[header]) for role, header in mapping.items()}
        if all(v is None for v in cells.values()):
            blank += 1
            continue
        contract = _contract_of(cells, row, report)
        if contract is None:
            continue
        key = label_key(contract.perimeter)
        if key in seen:
            report.add(
                "duplicate_contract",
                f"Deuxième contrat pour « {contract.perimeter} » (déjà ligne {seen[key]}) : "
                "un seul contrat par CPTS, le premier est gardé.",
                row=row,
                perimeter=contract.perimeter,
            )
            continue
        seen[key] = row
        contracts.append(contract)
    if blank:
        report.add("blank_rows", f"{blank} ligne(s) vide(s) ignorée(s).")
    return contracts


def _contract_of(cells: Mapping[str, object], row: int, report: Report) -> Contract | None:
    """One contract from a row's cells, or None when its CPTS or signature is unusable."""
    perimeter = cells.get("perimeter_id") or cells.get("perimeter")
    if perimeter is None:
        report.add("missing_perimeter", "Ligne sans CPTS : contrat rejeté.", row=row)
        return None
    at = ReportAt(report, row, str(perimeter).strip())
    signature = _day(cells.get("signature"))
    if signature is None:
        at.add(
            "bad_signature",
            f"Date de signature « {_text(cells.get('signature'))} » illisible ou imprécise. "
            "Attendu : un jour (jj/mm/aaaa ou aaaa-mm-jj).",
        )
        return None
    starts = _mission_starts(cells, signature, at)
    return Contract(
        perimeter=str(at.perimeter),
        signature=signature,
        mission_starts=starts,
        crises=_crises(cells.get("crises"), signature, starts, at),
        members=_count(cells.get("members"), at),
        attainment=_attainment(cells, at),
        letter_of_intent=_optional_day(cells, "letter_of_intent", at),
        letter_of_intent_aid_eur=_amount(cells.get("letter_of_intent_aid"), at),
        bonus_granted=_yes_no(cells.get("bonus")),
        row=row,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _day(value: object) -> dt.date | None:
    """A cell holding one day, or None (empty, unreadable, or only a month or a year)."""
    span = date_span(value)
    return span[0] if span is not None and span[0] == span[1] else None


def _optional_day(cells: Mapping[str, object], role: str, at: ReportAt) -> dt.date | None:
    value = cells.get(role)
    if value is None:
        return None
    day = _day(value)
    if day is None:
        at.add(
            "bad_date",
            f"{role_label(role).capitalize()} : « {_text(value)} » n'est pas un jour "
            "(jj/mm/aaaa) : ignorée.",
        )
    return day


def _mission_starts(
    cells: Mapping[str, object], signature: dt.date, at: ReportAt
) -> dict[str, dt.date]:
    """Start date of each mission; late starts and starts before signature reported."""
    starts: dict[str, dt.date] = {}
    for mission in mission_specs():
        role = f"start:{mission.key}"
        start = _optional_day(cells, role, at)
        if start is None:
            if mission.mandatory and cells.get(role) is None:
                at.add(
                    "mission_not_started",
                    f"Mission obligatoire « {mission.label} » sans date de début : pas de "
                    "financement compté pour elle.",
                )
            continue
        if start < signature:
            at.add(
                "start_before_signature",
                f"Mission « {mission.label} » démarrée le {fr_date(start)}, avant la signature "
                f"({fr_date(signature)}) : son financement court à compter de la signature.",
            )
            start = signature
        _check_calendar(mission.key, start, signature, at)
        starts[mission.key] = start
    return starts


def _check_calendar(mission: str, start: dt.date, signature: dt.date, at: ReportAt) -> None:
    """Report a mission starting later than the ACI's deployment calendar allows."""
    spec = next(m for m in mission_specs() if m.key == mission)
    if spec.start_within_months is None:
        return
    latest = add_months(signature, spec.start_within_months)
    if start > latest:
        at.add(
            "late_start",
            f"Mission « {spec.label} » démarrée le {fr_date(start)}, plus de "
            f"{spec.start_within_months} mois après la signature (au plus tard le "
            f"{fr_date(latest)} selon le calendrier de l'ACI) : date conservée.",
        )


def _crises(
    value: object, signature: dt.date, starts: Mapping[str, dt.date], at: ReportAt
) -> tuple[dt.date, ...]:
    """Dates of the declared crises paid: on or after the crisis plan's mission start.

    A year alone counts from the later of its 1 January, the signature and
    the start of the crisis mission (the payment goes to a CPTS that has
    written its plan, seed ``004``).
    """
    if value is None:
        return ()
    start = starts.get(crisis_mission())
    dates: list[dt.date] = []
    for token in _LIST.split(_text(value)):
        if not token.strip():
            continue
        span = date_span(token.strip())
        if span is None:
            at.add("bad_date", f"Crise « {token.strip()} » : ni une année ni une date : ignorée.")
            continue
        paid_from = max(d for d in (span[0], signature, start) if d is not None)
        if span[1] < signature:
            why = f"antérieure à la signature du contrat ({fr_date(signature)})"
        elif start is None or paid_from > span[1]:
            why = (
                "la mission « crises sanitaires » n'avait pas démarré (le paiement va aux CPTS "
                "ayant rédigé leur plan)"
            )
        else:
            dates.append(paid_from)
            continue
        at.add("crisis_not_counted", f"Crise de « {token.strip()} » {why} : non comptée.")
    return tuple(sorted(dates))


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if math.isnan(float(value)) else float(value)
    text = re.sub(r"[\s\u202f\u00a0€%]", "", _text(value))
    return float(text.replace(",", ".")) if _NUMBER.match(text) else None


def _count(value: object, at: ReportAt) -> int | None:
    if value is None:
        return None
    number = _number(value)
    if number is None or number < 0 or not float(number).is_integer():
        at.add("bad_number", f"Nombre d'adhérents « {_text(value)} » illisible : ignoré.")
        return None
    return int(number)


def _amount(value: object, at: ReportAt) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is None or number < 0:
        at.add("bad_number", f"Montant de l'aide « {_text(value)} » illisible : ignoré.")
        return None
    return number


def _attainment(cells: Mapping[str, object], at: ReportAt) -> dict[str, tuple[float, ...]]:
    """Attainment rates (0 to 1) of each mission per contract year; a bad value counts 100 %."""
    out: dict[str, tuple[float, ...]] = {}
    for mission in mission_specs():
        value = cells.get(f"rate:{mission.key}")
        if value is None:
            continue
        tokens: list[object] = list(_LIST.split(value)) if isinstance(value, str) else [value]
        rates: list[float] = []
        for token in tokens:
            number = _number(token)
            if number is None or not 0 <= number <= 100:
                at.add(
                    "bad_number",
                    f"Taux d'atteinte « {_text(token)} » de la mission « {mission.label} » : "
                    "attendu un pourcentage entre 0 et 100 ; compté 100 %.",
                )
                number = 100.0
            rates.append(number / 100)
        out[mission.key] = tuple(rates)
    return out


def _yes_no(value: object) -> bool | None:
    key = label_key(value) if value is not None else ""
    if key in ("oui", "o", "yes", "vrai", "true", "1", "x"):
        return True
    if key in ("non", "n", "no", "faux", "false", "0"):
        return False
    return None
