"""Where the tests find the project and their own files."""

from __future__ import annotations

from pathlib import Path

#: The folder holding the tests (``tests/``).
TESTS_DIR = Path(__file__).resolve().parent
#: The project root (the folder holding ``app.py``).
PROJECT_DIR = TESTS_DIR.parent
