"""Loader of the DREES APL workbooks (accessibilité potentielle localisée).

Any vintage and any of the five DREES professions.

Sheets and header rows are found by content: a sheet holds APL data when one
of its first rows has a "code commune" column and an "APL" column. The
vintage is read from the sheet ("Millésime : 2023", or the sheet name), the
profession from the title and headers, with the wordings of
``data/rules/apl.toml``. Paris, Lyon and Marseille come as arrondissements.

Aggregation follows DREES, as stated in every sheet of its workbooks: a
territory's mean APL is weighted by the **standardised** population; the
population living under a threshold is counted with the **total** population.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from coverage.loaders.normalise import Attached, as_float, attach_to_units
from coverage.rules import AplProfession, apl_profession, apl_professions, find_profession
from diagnosis.core.referential import Referential, load_referential
from diagnosis.core.textnorm import label_key
from diagnosis.errors import DataError, FileReadError

__all__ = [
    "APL_COLUMNS",
    "AplData",
    "AplFileError",
    "AplProfessionError",
    "AplVintage",
    "apl_data_from_rows",
    "apl_summary",
    "load_drees_apl",
    "read_apl_workbook",
]

APL_COLUMNS = ["apl", "apl_under65", "population_standardised", "population"]


class AplFileError(FileReadError):
    """The file is not a DREES APL workbook; the message says what was expected."""


class AplProfessionError(DataError):
    """The workbook's profession is not one of the five DREES professions."""


@dataclass
class AplVintage:
    """One vintage of a workbook: file rows and figures by unit."""

    vintage: int
    rows: pd.DataFrame  # the file's rows: code (as written), name, APL columns
    by_unit: pd.DataFrame  # indexed by unit code
    report: pd.DataFrame
    sheet: str


@dataclass
class AplData:
    """A loaded APL workbook (or the embedded data of one profession)."""

    profession: str
    profession_label: str
    vintages: dict[int, AplVintage] = field(default_factory=dict)
    filename: str = ""

    @property
    def latest(self) -> AplVintage:
        """The most recent vintage of the workbook."""
        return self.vintages[max(self.vintages)]

    @property
    def rules(self) -> AplProfession:
        """Unit, threshold and short id of the profession (``data/rules/apl.toml``)."""
        return apl_profession(self.profession)

    def source_label(self, vintage: int | None = None) -> str:
        """Citation shown next to any figure derived from this file."""
        year = vintage or max(self.vintages)
        return f"DREES, APL aux {self.profession_label}, millésime {year}"


def _find_header(frame: pd.DataFrame) -> tuple[int, dict[str, int]] | None:
    for i, row in enumerate(frame.head(40).itertuples(index=False)):
        keys = [label_key(v) if isinstance(v, str) else "" for v in row]
        code = next((j for j, k in enumerate(keys) if "code" in k and "commune" in k), None)
        apl = [j for j, k in enumerate(keys) if k.startswith("apl") or " apl " in f" {k} "]
        if code is None or not apl:
            continue
        columns = {"code": code}
        name = next(
            (j for j, k in enumerate(keys) if k in ("commune", "nom commune", "libelle commune")),
            None,
        )
        if name is not None:
            columns["name"] = name
        under = next((j for j in apl if "moins de 65" in keys[j]), None)
        main = next((j for j in apl if j != under), None)
        if main is None:
            continue
        columns["apl"] = main
        if under is not None:
            columns["apl_under65"] = under
        std = next((j for j, k in enumerate(keys) if "population standardisee" in k), None)
        tot = next((j for j, k in enumerate(keys) if "population totale" in k), None)
        if std is not None:
            columns["population_standardised"] = std
        if tot is not None:
            columns["population"] = tot
        return i, columns
    return None


def _vintage_of(frame: pd.DataFrame, sheet: str) -> int | None:
    for value in frame.head(12).iloc[:, 0].tolist():
        if isinstance(value, str):
            match = re.search(r"mill[ée]sime\s*:?\s*(\d{4})", value, re.IGNORECASE)
            if match:
                return int(match.group(1))
    match = re.search(r"(20\d{2})", sheet)
    return int(match.group(1)) if match else None


def _wording(frame: pd.DataFrame, sheet: str, header: int, columns: dict[str, int]) -> list[str]:
    """Texts that name the profession: the title block, the APL header, the sheet name."""
    texts = [v for v in frame.head(6).iloc[:, 0].tolist() if isinstance(v, str)]
    apl_header = frame.iat[header, columns["apl"]]
    if isinstance(apl_header, str):
        texts.append(apl_header)
    texts.append(sheet)
    return texts


@dataclass
class AplWorkbook:
    """The rows of an APL workbook, before attachment to units."""

    profession: AplProfession
    rows: dict[int, pd.DataFrame]  # by vintage: code (as written), name, APL columns
    sheets: dict[int, str]


def _read_bytes(source: str | Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes(), filename or Path(source).name
    if isinstance(source, bytes):
        return source, filename or "classeur APL"
    return source.read(), filename or "classeur APL"


def read_apl_workbook(
    source: str | Path | bytes | IO[bytes], *, filename: str | None = None
) -> AplWorkbook:
    """Read the APL sheets of a DREES workbook (rows as written, no attachment to units).

    Raises
    ------
    AplFileError
        When the file is no workbook, or no sheet looks like an APL table.
    AplProfessionError
        When the profession is not one of the five DREES professions; the
        message quotes the wording found.
    """
    data, name = _read_bytes(source, filename)
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine's own errors
        raise AplFileError(
            f"{name} : classeur illisible. Attendu : le classeur xlsx de la "
            "DREES « L'accessibilité potentielle localisée (APL) ».",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    profession: AplProfession | None = None
    found_texts: list[str] = []
    rows_by_vintage: dict[int, pd.DataFrame] = {}
    sheet_by_vintage: dict[int, str] = {}
    for sheet, frame in sheets.items():
        found = _find_header(frame)
        if found is None:
            continue
        header, columns = found
        vintage = _vintage_of(frame, str(sheet))
        if vintage is None:
            continue
        texts = _wording(frame, str(sheet), header, columns)
        found_texts.extend(texts)
        profession = profession or find_profession(texts)
        body = frame.iloc[header + 1 :]
        rows = pd.DataFrame({"code": body.iloc[:, columns["code"]].map(_code_text)})
        rows["name"] = body.iloc[:, columns["name"]].astype(str) if "name" in columns else ""
        for col in APL_COLUMNS:
            rows[col] = as_float(body.iloc[:, columns[col]]) if col in columns else np.nan
        # Unit lines under the header (e.g. "En nombre de ...") have no code.
        rows = rows[rows["code"].str.len() > 0]
        rows = rows[rows["apl"].notna() | rows["population"].notna()].reset_index(drop=True)
        rows_by_vintage[vintage] = rows
        sheet_by_vintage[vintage] = str(sheet)
    if not rows_by_vintage:
        raise AplFileError(
            f"{name} : aucune feuille d'APL trouvée. Attendu : une feuille avec une ligne "
            "d'en-tête contenant « Code commune INSEE » et « APL aux … », et le millésime "
            "(« Millésime : 2023 » ou l'année dans le nom de la feuille), comme dans le "
            "classeur open data de la DREES."
        )
    if profession is None:
        shown = " ; ".join(f"« {t.strip()[:90]} »" for t in dict.fromkeys(found_texts) if t)
        raise AplProfessionError(
            f"{name} : profession non reconnue. Textes trouvés : {shown}. Attendu : l'une des "
            "professions de la DREES ("
            + ", ".join(p.label for p in apl_professions().values())
            + "), nommée dans le titre ou l'en-tête « APL aux … »."
        )
    return AplWorkbook(profession=profession, rows=rows_by_vintage, sheets=sheet_by_vintage)


def apl_data_from_rows(
    profession: AplProfession,
    rows: dict[int, pd.DataFrame],
    *,
    referential: Referential,
    sheets: dict[int, str] | None = None,
    filename: str = "",
) -> AplData:
    """Attach APL rows (one frame per vintage, columns of :data:`APL_COLUMNS`) to units.

    Former communes of a vintage are combined into the current commune:
    populations summed, APL averaged weighted by the standardised population
    (the total population when a row has no standardised population).
    """
    result = AplData(
        profession=profession.key, profession_label=profession.label, filename=filename
    )
    for vintage, given in sorted(rows.items()):
        frame = given.assign(_weight=given["population_standardised"].fillna(given["population"]))
        attached: Attached = attach_to_units(
            frame,
            code_column="code",
            referential=referential,
            sum_columns=["population_standardised", "population"],
            mean_columns=["apl", "apl_under65"],
            weight_column="_weight",
        )
        result.vintages[vintage] = AplVintage(
            vintage=vintage,
            rows=frame.drop(columns="_weight"),
            by_unit=attached.table,
            report=attached.report,
            sheet=(sheets or {}).get(vintage, f"APL {vintage}"),
        )
    return result


def load_drees_apl(
    source: str | Path | bytes | IO[bytes],
    *,
    referential: Referential | None = None,
    filename: str | None = None,
) -> AplData:
    """Load every APL sheet of a DREES workbook.

    Parameters
    ----------
    source
        Path, bytes or binary file object of the workbook (xlsx).
    referential
        National referential for code normalisation (default: the embedded one).
    filename
        Name shown in messages when ``source`` is bytes.

    Returns
    -------
    AplData
        One :class:`AplVintage` per APL sheet, with the file's rows and the
        figures attached to units.

    Raises
    ------
    AplFileError
        When no sheet looks like an APL table.
    AplProfessionError
        When the profession is not recognised.
    """
    data, name = _read_bytes(source, filename)
    workbook = read_apl_workbook(data, filename=name)
    ref = referential if referential is not None else load_referential()
    return apl_data_from_rows(
        workbook.profession, workbook.rows, referential=ref, sheets=workbook.sheets, filename=name
    )


def _code_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def apl_summary(
    table: pd.DataFrame,
    *,
    threshold: float | None = 2.5,
    weight: str = "population_standardised",
) -> dict[str, float]:
    """Mean APL and share of the population below a threshold (DREES rules).

    Parameters
    ----------
    table
        Rows with ``apl``, ``population`` and the ``weight`` column.
    threshold
        Under-service threshold; ``None`` when the profession has none (the
        share below is then NaN).
    weight
        Weight of the mean: the standardised population (DREES), or
        ``"population"`` for a total-population-weighted mean.

    Notes
    -----
    DREES states in every sheet of its workbooks that a territory's mean APL
    is weighted by the standardised population, and that the population under
    a threshold is counted with the total (non-standardised) population.
    """
    valid = table["apl"].notna() & table[weight].notna()
    apl = table.loc[valid, "apl"].to_numpy(dtype=float)
    w = table.loc[valid, weight].to_numpy(dtype=float)
    pop = table.loc[valid, "population"].to_numpy(dtype=float)
    total = w.sum()
    share = float("nan")
    if threshold is not None and np.nansum(pop):
        share = float(np.nansum(pop[apl < threshold]) / np.nansum(pop))
    return {
        "mean_apl": float((apl * w).sum() / total) if total else float("nan"),
        "share_below": share,
        "population": float(np.nansum(pop)),
        "n_communes": int(valid.sum()),
    }
