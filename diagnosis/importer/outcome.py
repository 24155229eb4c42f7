"""What an import came to, in one word: the verdict the dashboard and the command line show.

:func:`import_outcome` classifies a :class:`~diagnosis.core.model.PerimeterImport`:

- ``empty``: no usable perimeter (no data row, or every row rejected);
- ``outside_scope``: perimeters, but none of their communes in the study
  scope (the view): they lie outside it, or were rejected;
- ``partial``: imported, with rejected values or warnings to check;
- ``complete``: imported with nothing to check.

A file that could not be read at all has no import: the caller shows the
error (an :class:`~diagnosis.errors.AtlasError`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential

__all__ = ["ImportOutcome", "OutcomeKind", "import_outcome"]

OutcomeKind = Literal["empty", "outside_scope", "partial", "complete"]


@dataclass(frozen=True)
class ImportOutcome:
    """The verdict of an import and the counts behind it.

    Attributes
    ----------
    kind
        ``empty``, ``outside_scope``, ``partial`` or ``complete`` (see the module).
    n_perimeters
        Perimeters imported.
    n_units
        Distinct communes of the import in the view (all of them without a view).
    n_outside
        Distinct communes of the import outside the view. They are kept: a
        perimeter is evaluated whole (issue 17), they are context, not rejections.
    n_rejected
        Rejected values (rows or list items).
    n_warnings
        Warnings.
    """

    kind: OutcomeKind
    n_perimeters: int
    n_units: int
    n_outside: int
    n_rejected: int
    n_warnings: int

    @property
    def usable(self) -> bool:
        """Whether the import gives perimeters with communes in the scope."""
        return self.kind in ("partial", "complete")

    def message_fr(self) -> str:
        """A French sentence saying what the verdict means for the person who imported."""
        if self.kind == "empty":
            return (
                "Le fichier ne contient aucun périmètre exploitable : aucune ligne de données, "
                "ou toutes rejetées."
            )
        if self.kind == "outside_scope":
            return (
                "Aucune commune du fichier n'est retenue dans le périmètre d'étude : "
                "vérifiez le fichier, la région ou le département choisi."
            )
        if self.kind == "partial":
            return "Import partiel : des valeurs ont été rejetées ou sont à vérifier."
        return "Import complet : rien à signaler."


def import_outcome(imported: PerimeterImport, view: Referential | None = None) -> ImportOutcome:
    """The verdict of an import (see the module), with its counts.

    Parameters
    ----------
    imported
        The import, which keeps the communes outside the view (whole perimeters).
    view
        The referential of the study scope (a region's or a department's); None
        counts every commune of the import as in scope.
    """
    report = imported.report
    codes = imported.members["code"].drop_duplicates() if not imported.members.empty else None
    n_all = 0 if codes is None else len(codes)
    if codes is not None and view is not None:
        n_units = int(codes.isin(view.units.index).sum())
    else:
        n_units = n_all
    n_warnings = int((report["severity"] == "warning").sum())
    kind: OutcomeKind
    if imported.perimeters.empty:
        kind = "empty"
    elif n_units == 0:
        kind = "outside_scope"
    elif imported.n_rejected or n_warnings:
        kind = "partial"
    else:
        kind = "complete"
    return ImportOutcome(
        kind=kind,
        n_perimeters=len(imported.perimeters),
        n_units=n_units,
        n_outside=n_all - n_units,
        n_rejected=imported.n_rejected,
        n_warnings=n_warnings,
    )
