"""The registry's small vocabulary: scopes, the content of a version, stage dates.

A *scope* is what a listing covers (France, a region or a department). A
perimeter *belongs* to a scope when its main zone (the region or department
holding most of its inhabitants, :func:`diagnosis.core.referential.main_zone`)
is in it, and *touches* a scope when at least one of its units is in it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from diagnosis.errors import AtlasError

__all__ = [
    "Content",
    "Scope",
    "ScopeLevel",
    "parse_day",
    "stage_date_end",
]

ScopeLevel = Literal["france", "region", "department"]


@dataclass(frozen=True)
class Scope:
    """What a listing covers: France, a region or a department.

    Examples
    --------
    >>> Scope.of(region="93").key
    'REG-93'
    >>> Scope.of().key
    'FR'
    """

    level: ScopeLevel = "france"
    code: str = ""

    @classmethod
    def of(cls, *, region: str | None = None, department: str | None = None) -> Scope:
        """The scope of a region or a department code (France when neither)."""
        if region and department:
            raise AtlasError("Choisissez une région ou un département, pas les deux.")
        if region:
            return cls("region", str(region).strip().upper())
        if department:
            return cls("department", str(department).strip().upper())
        return cls()

    @property
    def key(self) -> str:
        """``FR``, ``REG-xx`` or ``DEP-xx``, as in ``coverage.csv``."""
        if self.level == "region":
            return f"REG-{self.code}"
        if self.level == "department":
            return f"DEP-{self.code}"
        return "FR"

    def covers(self, region: str | None, department: str | None) -> bool:
        """Whether a zone (a perimeter's main region and department) lies in this scope."""
        if self.level == "france":
            return True
        if self.level == "region":
            return region == self.code
        return department == self.code


@dataclass(frozen=True)
class Content:
    """What a version says of a perimeter (everything but its dates and source).

    ``codes`` are unit codes, sorted; ``splits`` are (code, declared code)
    pairs and ``shares`` (code, share) pairs, sorted.
    """

    name: str
    status: str | None
    status_label: str | None
    status_date: str | None
    external_id: str | None
    codes: tuple[str, ...]
    splits: tuple[tuple[str, str], ...] = ()
    shares: tuple[tuple[str, float], ...] = ()

    def same_as(self, other: Content) -> bool:
        """Whether ``other`` says the same.

        The wording of the status and the listing's identifier aside: a new
        identifier alone opens no version (it is kept with the next one).
        """
        return (
            self.name == other.name
            and self.status == other.status
            and self.status_date == other.status_date
            and self.codes == other.codes
            and self.splits == other.splits
            and self.shares == other.shares
        )


_MONTH_NUMBERS = {
    "janv": 1, "janvier": 1, "fevr": 2, "févr": 2, "fevrier": 2, "février": 2, "mars": 3,
    "avr": 4, "avril": 4, "mai": 5, "juin": 6, "juil": 7, "juillet": 7, "aout": 8, "août": 8,
    "sept": 9, "septembre": 9, "oct": 10, "octobre": 10, "nov": 11, "novembre": 11,
    "dec": 12, "déc": 12, "decembre": 12, "décembre": 12,
}  # fmt: skip
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$")
_MY = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_WORDS = re.compile(r"^(?:(\d{1,2})(?:er)?\s+)?([a-zéû]+)\.?\s+(\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^((?:19|20)\d{2})$")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def stage_date_end(text: object) -> dt.date | None:
    """The last day of the stage date written in a listing, or None when it cannot be read.

    A stage is counted as reached only once the whole period written has
    passed ("avril 2025" is reached on 30 April 2025, "2021" on 31 December
    2021): coverage at a date never counts a stage that may not have been
    reached yet, the rule ``data/rules/statuses.toml`` follows for labels.

    Examples
    --------
    >>> stage_date_end("avril 2025")
    datetime.date(2025, 4, 30)
    >>> stage_date_end("15/09/2021")
    datetime.date(2021, 9, 15)
    >>> stage_date_end("1er avril 2025")
    datetime.date(2025, 4, 1)
    >>> stage_date_end("2021")
    datetime.date(2021, 12, 31)
    >>> stage_date_end("bientôt") is None
    True
    """
    if not isinstance(text, str):
        return None
    value = " ".join(text.strip().split())
    try:
        if found := _ISO.match(value):
            return dt.date(int(found[1]), int(found[2]), int(found[3]))
        if found := _DMY.match(value):
            year = int(found[3]) + (2000 if len(found[3]) == 2 else 0)
            return dt.date(year, int(found[2]), int(found[1]))
        if found := _MY.match(value):
            return _month_end(int(found[2]), int(found[1]))
        if found := _WORDS.match(value):
            month = _MONTH_NUMBERS.get(found[2].casefold())
            if month is None:
                return None
            if found[1]:
                return dt.date(int(found[3]), month, int(found[1]))
            return _month_end(int(found[3]), month)
        if found := _YEAR.match(value):
            return dt.date(int(found[1]), 12, 31)
    except ValueError:  # 31/02/2021 and the like
        return None
    return None


def parse_day(value: object, *, what: str = "date") -> dt.date:
    """A day given as a date or as ``YYYY-MM-DD`` text; a French error otherwise.

    Examples
    --------
    >>> parse_day("2025-01-01")
    datetime.date(2025, 1, 1)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise AtlasError(
            f"{what.capitalize()} illisible : « {value} ». Attendu : une date AAAA-MM-JJ, "
            "par exemple 2025-01-01."
        ) from None
