"""The fiches as PDF: a fiche's HTML rendered by WeasyPrint, offline, and its download buttons.

A fiche (:func:`ui.fiche.fiche_html`, :func:`ui.funding_fiche.funding_fiche_html`)
is one self-contained HTML page: its style is inline, its map an inline SVG.
:func:`fiche_pdf` lays it out on A4 pages with WeasyPrint, which draws the
SVG map as vector paths and honours the fiche's page rules (the title and
"page 2 sur 3" in the footer, short tables kept on one page).

Rendering never reaches the network nor the disk: the URL fetcher given to
WeasyPrint refuses every address but ``data:`` (a fiche built from a user's
file could otherwise make the server fetch what a name points to).

WeasyPrint draws text with Pango, HarfBuzz and fontconfig (system libraries)
and the DejaVu fonts; ``scripts/ensure-pdf.sh`` installs them on Debian. When
they are missing, :func:`pdf_unavailable_reason` says so in French, the
dashboard shows that sentence instead of the PDF button, and the tests of the
PDF fiches are skipped with it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import streamlit as st

from diagnosis import AtlasError
from ui.safe import md_text

__all__ = [
    "PDF_MIME",
    "PdfUnavailableError",
    "fiche_downloads",
    "fiche_pdf",
    "pdf_unavailable_reason",
]

logger = logging.getLogger(__name__)

PDF_MIME = "application/pdf"

#: What to install, for people (the set-up script and the Debian packages it installs).
_INSTALL_HINT = (
    "Sur Debian ou Ubuntu, lancez « make pdf » (ou « bash scripts/ensure-pdf.sh ») : il installe "
    "les paquets libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0 et fonts-dejavu-core."
)


class PdfUnavailableError(AtlasError):
    """WeasyPrint, or the system libraries it draws text with (Pango), are not installed."""


@functools.cache
def _load_weasyprint() -> tuple[ModuleType | None, str | None, str | None]:
    """(the weasyprint module, None, None), or (None, French reason, technical detail).

    Loaded once per process, on the first fiche that offers a PDF: the import
    takes about half a second and opens the system libraries.
    """
    # WeasyPrint prints its own English advice on stdout when a library is missing.
    with contextlib.redirect_stdout(io.StringIO()) as said:
        try:
            import weasyprint  # noqa: PLC0415 - heavy optional dependency, loaded on first use
        except ImportError as exc:
            reason = (
                "La fiche PDF n'est pas disponible : le paquet Python WeasyPrint n'est pas "
                "installé (« pip install -r requirements.txt »). La fiche HTML s'imprime "
                "en PDF depuis le navigateur."
            )
            return None, reason, repr(exc)
        except OSError as exc:
            reason = (
                "La fiche PDF n'est pas disponible : les bibliothèques Pango, HarfBuzz ou "
                f"fontconfig manquent sur ce serveur. {_INSTALL_HINT} La fiche HTML s'imprime "
                "en PDF depuis le navigateur."
            )
            return None, reason, f"{exc} {said.getvalue().strip()}"
    return weasyprint, None, None


def pdf_unavailable_reason() -> str | None:
    """Why PDF fiches cannot be made here, in French; None when they can.

    >>> pdf_unavailable_reason() is None or "Pango" in pdf_unavailable_reason()
    True
    """
    return _load_weasyprint()[1]


def _weasyprint() -> ModuleType:
    module, reason, detail = _load_weasyprint()
    if module is None:
        raise PdfUnavailableError(str(reason), detail=detail)
    return module


def _offline_fetcher(weasyprint: ModuleType) -> Any:
    """A WeasyPrint URL fetcher that refuses every address but ``data:``."""

    class OfflineFetcher(weasyprint.URLFetcher):  # type: ignore[name-defined]
        """Refuses http, https, file and every other scheme; inline ``data:`` is read."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            logger.info("PDF fiche: address refused (offline rendering): %.120s", url)
            raise ValueError(f"offline rendering: {url[:120]!r} refused")

    return OfflineFetcher(allowed_protocols=("data",), allow_redirects=False, timeout=1)


def fiche_pdf(html: str) -> bytes:
    """A fiche's HTML as a PDF file (A4 portrait, the map kept as vector paths).

    Parameters
    ----------
    html
        A whole fiche page, as :func:`ui.fiche.fiche_html` writes it: inline
        style, inline SVG map. Any address it names (an image, a style sheet)
        other than ``data:`` is refused, never fetched.

    Returns
    -------
    bytes
        The PDF document. Its page rules come from the fiche's style: the
        title of the fiche and "page n sur N" in each page's footer, short
        tables kept on one page with their heading.

    Raises
    ------
    PdfUnavailableError
        WeasyPrint or Pango is not installed; the French message says what
        to install.
    """
    weasyprint = _weasyprint()
    document = weasyprint.HTML(
        string=html, url_fetcher=_offline_fetcher(weasyprint), media_type="print"
    )
    return bytes(document.write_pdf())


def fiche_downloads(
    html: str | Callable[[], str],
    *,
    file_stem: str,
    key: str,
    html_label: str = "Fiche imprimable (HTML)",
    pdf_label: str = "Télécharger la fiche (PDF)",
) -> None:
    """The two download buttons of a fiche: HTML and PDF, one under the other.

    Parameters
    ----------
    html
        The fiche's HTML, or a function that builds it: then nothing is built
        before a button is clicked (Streamlit calls it on the click).
    file_stem
        File name without extension ("fiche_mon_territoire").
    key
        Widget key of the HTML button; the PDF button's key is ``key + "_pdf"``.
    html_label, pdf_label
        The buttons' French labels.

    Notes
    -----
    Where WeasyPrint or Pango is missing, a French note replaces the PDF
    button (:func:`pdf_unavailable_reason`).
    """
    build: Callable[[], str] = html if callable(html) else (lambda: html)
    st.download_button(
        html_label,
        lambda: build().encode("utf-8"),
        file_name=f"{file_stem}.html",
        mime="text/html",
        key=key,
        on_click="ignore",
    )
    reason = pdf_unavailable_reason()
    if reason is not None:
        st.caption(md_text(reason))
        return
    st.download_button(
        pdf_label,
        lambda: fiche_pdf(build()),
        file_name=f"{file_stem}.pdf",
        mime=PDF_MIME,
        key=f"{key}_pdf",
        on_click="ignore",
    )
