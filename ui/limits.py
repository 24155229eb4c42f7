"""Upload limits of the dashboard, in the units people count (Mo = 1 048 576 octets)."""

from __future__ import annotations

from diagnosis.io.limits import MAX_UPLOAD_MB, MIB, limits_fr
from ui import fmt

#: Largest file accepted, in Mo as people count them (mebibytes): the library's limit.
MAX_UPLOAD_MIB = MAX_UPLOAD_MB
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * MIB

__all__ = ["MAX_UPLOAD_BYTES", "MAX_UPLOAD_MIB", "UPLOAD_HELP", "limits_fr", "upload_refusal"]

UPLOAD_HELP = (
    f"Taille maximale : {MAX_UPLOAD_MIB} Mo par fichier. Le fichier reste dans votre session "
    "et n'est ni conservé ni partagé."
)


def upload_refusal(size_bytes: int) -> str | None:
    """The French refusal of a file too large, or None when it is accepted."""
    if size_bytes <= MAX_UPLOAD_BYTES:
        return None
    return (
        f"Fichier refusé : il pèse {fmt.number(size_bytes / 1024 / 1024, 1)} Mo, au-delà de la "
        f"limite de {MAX_UPLOAD_MIB} Mo. Rien n'a été importé ; découpez le fichier ou "
        "retirez les colonnes inutiles, puis réessayez."
    )
