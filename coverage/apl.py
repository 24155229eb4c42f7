"""Loader of the DREES APL workbooks (accessibilité potentielle localisée).

Any vintage and any profession.

Sheets and header rows are found by content: a sheet holds APL data when one
of its first rows has a "code commune" column and an "APL" column. The
vintage is read from the sheet ("Millésime : 2023", or the sheet name), the
profession from the title. Paris, Lyon and Marseille come as arrondissements.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from coverage.normalise import Attached, as_float, attach_to_units
from diagnosis.errors import FileReadError
from diagnosis.referential import Referential, load_referential
from diagnosis.textnorm import label_key

__all__ = ["APL_COLUMNS", "AplData", "AplFileError", "apl_summary", "load_drees_apl"]

APL_COLUMNS = ["apl", "apl_under65", "population_standardised", "population"]

PROFESSIONS = {
    "medecins generalistes": ("medecin_generaliste", "médecins généralistes"),
    "infirmiers": ("infirmier", "infirmiers"),
    "masseurs kinesitherapeutes": ("masseur_kinesitherapeute", "masseurs-kinésithérapeutes"),
    "kinesitherapeutes": ("masseur_kinesitherapeute", "masseurs-kinésithérapeutes"),
    "sages femmes": ("sage_femme", "sages-femmes"),
    "chirurgiens dentistes": ("chirurgien_dentiste", "chirurgiens-dentistes"),
}


class AplFileError(FileReadError):
    """The file is not a DREES APL workbook; the message says what was expected."""


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
    """A loaded APL workbook."""

    profession: str
    profession_label: str
    vintages: dict[int, AplVintage] = field(default_factory=dict)
    filename: str = ""

    @property
    def latest(self) -> AplVintage:
        """The most recent vintage of the workbook."""
        return self.vintages[max(self.vintages)]

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


def _profession_of(frame: pd.DataFrame, sheet: str) -> tuple[str, str] | None:
    texts = [sheet] + [v for v in frame.head(6).iloc[:, 0].tolist() if isinstance(v, str)]
    for text in texts:
        key = label_key(text)
        for pattern, profession in PROFESSIONS.items():
            if pattern in key:
                return profession
    return None


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
    """
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
        filename = filename or Path(source).name
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    name = filename or "classeur APL"
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine's own errors
        raise AplFileError(
            f"{name} : classeur illisible ({type(exc).__name__}). Attendu : le classeur xlsx de la "
            "DREES « L'accessibilité potentielle localisée (APL) »."
        ) from exc
    ref = referential if referential is not None else load_referential()
    profession: tuple[str, str] | None = None
    result: AplData | None = None
    for sheet, frame in sheets.items():
        found = _find_header(frame)
        if found is None:
            continue
        header, columns = found
        vintage = _vintage_of(frame, str(sheet))
        if vintage is None:
            continue
        profession = profession or _profession_of(frame, str(sheet))
        body = frame.iloc[header + 1 :]
        rows = pd.DataFrame({"code": body.iloc[:, columns["code"]].map(_code_text)})
        rows["name"] = body.iloc[:, columns["name"]].astype(str) if "name" in columns else ""
        for col in APL_COLUMNS:
            rows[col] = as_float(body.iloc[:, columns[col]]) if col in columns else np.nan
        # Unit lines under the header (e.g. "En nombre de ...") have no code.
        rows = rows[rows["code"].str.len() > 0].reset_index(drop=True)
        rows = rows[rows["apl"].notna() | rows["population"].notna()].reset_index(drop=True)
        attached: Attached = attach_to_units(
            rows,
            code_column="code",
            referential=ref,
            sum_columns=["population_standardised", "population"],
            mean_columns=["apl", "apl_under65"],
            weight_column="population",
        )
        if result is None:
            key, label = profession or ("inconnue", "professionnels (profession non reconnue)")
            result = AplData(profession=key, profession_label=label, filename=name)
        result.vintages[vintage] = AplVintage(
            vintage=vintage,
            rows=rows,
            by_unit=attached.table,
            report=attached.report,
            sheet=str(sheet),
        )
    if result is None:
        raise AplFileError(
            f"{name} : aucune feuille d'APL trouvée. Attendu : une feuille avec une ligne "
            "d'en-tête contenant « Code commune INSEE » et « APL aux … », et le millésime "
            "(« Millésime : 2023 » ou l'année dans le nom de la feuille), comme dans le "
            "classeur open data de la DREES."
        )
    return result


def _code_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def apl_summary(
    table: pd.DataFrame, *, threshold: float = 2.5, weight: str = "population"
) -> dict[str, float]:
    """Population-weighted mean APL and share of the population below a threshold.

    Notes
    -----
    A territory's APL is the mean of its communes' APL weighted by population
    (domain reference, section 3); the share below the threshold counts the
    (non-standardised) population of communes under it. DREES also suggests
    weighting the mean by the standardised population: pass
    ``weight="population_standardised"``.
    """
    valid = table["apl"].notna() & table[weight].notna()
    apl = table.loc[valid, "apl"].to_numpy(dtype=float)
    w = table.loc[valid, weight].to_numpy(dtype=float)
    pop = table.loc[valid, "population"].to_numpy(dtype=float)
    total = w.sum()
    return {
        "mean_apl": float((apl * w).sum() / total) if total else float("nan"),
        "share_below": float(pop[apl < threshold].sum() / pop.sum()) if pop.sum() else float("nan"),
        "population": float(pop.sum()),
        "n_communes": int(valid.sum()),
    }
