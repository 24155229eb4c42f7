"""Where the project keeps its data, rules and build outputs."""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the project (the folder holding ``app.py``).
PROJECT_DIR = Path(__file__).resolve().parent.parent
#: Versioned data: pinned sources, rules tables, example files.
DATA_DIR = PROJECT_DIR / "data"
RULES_DIR = DATA_DIR / "rules"
EXAMPLES_DIR = DATA_DIR / "examples"
#: Build outputs and downloads, ignored by git. ``ATLAS_CPTS_CACHE`` overrides it.
CACHE_DIR = Path(os.environ.get("ATLAS_CPTS_CACHE", DATA_DIR / "cache"))
DOWNLOADS_DIR = CACHE_DIR / "downloads"
DEFAULT_REFERENTIAL_DIR = CACHE_DIR / "referential"
#: Leaflet files served by Streamlit's static file serving (``/app/static/...``).
STATIC_VENDOR_DIR = PROJECT_DIR / "static" / "vendor" / "leaflet"

#: Files of a built referential, and its manifest (sources, checksums, counts).
OUTPUT_FILES = (
    "units.parquet",
    "units_display.parquet",
    "aliases.parquet",
    "former_codes.parquet",
    "epci.parquet",
    "departments.parquet",
    "regions.parquet",
    "adjacency.parquet",
    "outlines_display.parquet",
)
MANIFEST_NAME = "manifest.json"
