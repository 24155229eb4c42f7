"""The one place where strings that may come from users are made safe to show.

A CPTS name, a commune name as written in a file, a file name or a sheet name
can carry HTML, JavaScript or Markdown. Everything the dashboard shows goes
through one of these two functions before reaching HTML (maps, legends, fiches)
or Markdown (captions, messages):

- :func:`html_text` for HTML contexts (Leaflet tooltips and layer names are
  inserted with ``innerHTML``);
- :func:`md_text` for Streamlit Markdown (``st.caption``, ``st.info``…), which
  would otherwise render links, images and HTML-like syntax.

Widgets that show plain text (``st.dataframe``, selectbox options, ``st.text``)
need neither.
"""

from __future__ import annotations

import html
import re

__all__ = ["html_text", "md_text"]

# Characters with a meaning in CommonMark or in Streamlit's Markdown extensions
# (":material/…:" icons, ":red[…]" colours, "$…$" maths).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")


def html_text(value: object) -> str:
    """``value`` as text safe inside HTML (``<``, ``>``, ``&``, quotes escaped).

    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


def md_text(value: object) -> str:
    r"""``value`` as literal text inside Streamlit Markdown (no link, image, HTML or icon).

    >>> md_text("![x](y.png)")
    '\\!\\[x\\]\\(y\\.png\\)'
    """
    text = "" if value is None else str(value)
    # Line breaks would start a new Markdown block (a heading, a list…).
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)
