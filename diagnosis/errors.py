"""One error family for everything a user can get wrong or miss.

Every error a user can meet derives from :class:`AtlasError`, itself a
``ValueError``, so that the dashboard and the command line catch one base
class. Messages are French, say what was expected, and never show a server
path nor a library's English text: the technical cause is kept in
``__cause__`` and in the log, never in ``str(error)``.

Classes
-------
AtlasError
    The base: a problem a person can act on.
FileReadError
    A file that cannot be read at all (format, encoding, archive, size limits).
PerimeterFileError
    A perimeter file that cannot be read (the readers, archives and limits).
DataError
    A file that was read but whose content cannot be used (no code column,
    unknown profession, no row left...).
ReferentialError
    The national referential is missing, stale or unreadable.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class AtlasError(ValueError):
    """A problem a person can act on, described in French."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Technical detail for the log only (never shown to a person).
        self.detail = detail
        if detail:
            logger.info("%s: %s (%s)", type(self).__name__, message, detail)

    def __str__(self) -> str:
        return self.message


class FileReadError(AtlasError):
    """A file that cannot be read (format, encoding, archive, limits)."""


class PerimeterFileError(FileReadError):
    """A perimeter file that cannot be read at all; the message says what was expected."""


class DataError(AtlasError):
    """A file read, whose content cannot be used."""


class ReferentialError(AtlasError):
    """The national referential is missing, stale or unreadable."""


__all__ = ["AtlasError", "DataError", "FileReadError", "PerimeterFileError", "ReferentialError"]
