"""French wording of Streamlit's own widget texts that no option sets.

The file uploader's button ("Upload") and its instructions ("50MB per file •
CSV, …") are English in Streamlit; a small style sheet replaces them with
French text, and hides the size of an uploaded file (written "1.6KB"). Only texts written by the project are injected (no user data).
"""

from __future__ import annotations

import streamlit as st

from ui import limits

_CSS = f"""
<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{
  font-size: 0;
}}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: "Choisir un fichier";
  font-size: 0.875rem;
}}
[data-testid="stFileUploaderDropzoneInstructions"] span {{
  font-size: 0;
}}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{
  content: "ou glisser-déposer ici · {limits.MAX_UPLOAD_MIB} Mo au plus";
  font-size: 0.8rem;
}}
/* The size of an uploaded file is written the English way ("1.6KB"): not shown. */
[data-testid="stFileChipName"] + * {{
  display: none;
}}
</style>
"""


def apply() -> None:
    """Inject the French wording of Streamlit's widgets into the page."""
    st.html(_CSS)
