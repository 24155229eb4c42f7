"""Imports point one way: vocabulary at the bottom, entry points at the top.

The checker reads the imports of every module of ``diagnosis/`` and ``coverage/``
(with ``ast``, so without importing anything) and reports each import that
points the wrong way:

- no library module imports an entry point (``cli``, ``app``, ``ui``) or UI
  code (streamlit, folium); ``diagnosis/__main__.py`` is itself an entry point
  (``python -m diagnosis``) and may import ``cli``;
- the analysis (every other module of ``diagnosis/``) and ``coverage/`` never
  import the builder (``diagnosis.build*``) nor the importer
  (``diagnosis.perimeters``, ``diagnosis.import_*``,
  ``diagnosis.perimeter_csv``); the package face ``diagnosis/__init__.py``
  names them for its lazy exports only;
- the importer does not import the builder.

It is checked on synthetic sources too, so that it is known to catch a
violation (a checker that never fails would pass on any tree).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("diagnosis", "coverage")

ENTRY_POINTS = ("cli", "app", "ui")
UI_LIBRARIES = ("streamlit", "folium", "streamlit_folium")
ENTRY_MODULES = {"diagnosis.__main__"}
FACE_MODULES = {"diagnosis"}


def _is_builder(module: str) -> bool:
    return _within(module, ("diagnosis.build",)) or module.startswith("diagnosis.build_")


def _is_importer(module: str) -> bool:
    importer = ("diagnosis.perimeters", "diagnosis.perimeter_csv")
    return _within(module, importer) or module.startswith("diagnosis.import_")


def _within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


@dataclass(frozen=True)
class Violation:
    """One import pointing the wrong way."""

    module: str
    imported: str
    line: int
    rule: str


def imported_modules(source: str, module: str, *, is_package: bool) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of a module, at any depth.

    ``from a import b`` yields ``a`` and ``a.b`` (``b`` may be a submodule);
    relative imports are resolved against ``module``.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def import_violations(sources: Mapping[str, tuple[str, bool]]) -> list[Violation]:
    """Every import pointing the wrong way, for sources by module name (text, is_package)."""
    found: list[Violation] = []
    for module, (source, is_package) in sorted(sources.items()):
        importer = _is_importer(module)
        builder = _is_builder(module)
        analysis = not (importer or builder or module in ENTRY_MODULES or module in FACE_MODULES)
        for imported, line in imported_modules(source, module, is_package=is_package):
            rule = None
            if _within(imported, UI_LIBRARIES):
                rule = "UI library in the library"
            elif _within(imported, ENTRY_POINTS) and module not in ENTRY_MODULES:
                rule = "entry point imported by the library"
            elif analysis and _is_builder(imported):
                rule = "builder imported by the analysis or coverage"
            elif analysis and _is_importer(imported):
                rule = "importer imported by the analysis or coverage"
            elif importer and _is_builder(imported):
                rule = "builder imported by the importer"
            if rule and not any((v.module, v.line, v.rule) == (module, line, rule) for v in found):
                found.append(Violation(module, imported, line, rule))
    return found


def package_sources(
    root: Path, packages: tuple[str, ...] = PACKAGES
) -> dict[str, tuple[str, bool]]:
    """Source of every module of the packages under ``root``, by module name."""
    sources: dict[str, tuple[str, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            sources[name] = (path.read_text(encoding="utf-8"), is_package)
    return sources


# --------------------------------------------------------------------------
# The real tree
# --------------------------------------------------------------------------


def test_the_library_imports_point_one_way() -> None:
    sources = package_sources(PROJECT)
    assert {"diagnosis.membership", "diagnosis.build", "coverage.access"} <= set(sources)
    assert import_violations(sources) == []


def test_the_checker_sees_the_real_imports() -> None:
    # Guards against a walker that reads nothing: known edges are found.
    sources = package_sources(PROJECT)
    edges = {
        (module, imported)
        for module, (source, is_package) in sources.items()
        for imported, _ in imported_modules(source, module, is_package=is_package)
    }
    assert ("diagnosis.membership", "diagnosis.model") in edges
    assert ("diagnosis.build", "diagnosis.build_assemble") in edges
    assert ("diagnosis.__main__", "cli") in edges
    assert ("coverage.normalise", "diagnosis.communes") in edges


def test_importing_the_face_is_cheap_and_every_public_name_resolves() -> None:
    code = (
        "import sys, diagnosis\n"
        "heavy = [m for m in ('pandas', 'geopandas', 'diagnosis.perimeters') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "missing = [n for n in diagnosis.__all__ if getattr(diagnosis, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT)


# --------------------------------------------------------------------------
# The checker catches planted violations
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("diagnosis.rates", "from diagnosis.perimeters import PerimeterImport\n", "importer"),
        ("diagnosis.checks", "from diagnosis import perimeters\n", "importer"),
        ("diagnosis.geometry", "from diagnosis.build import ZONE_CRS\n", "builder"),
        ("diagnosis.geometry", "from .build_assemble import BuildResult\n", "builder"),
        ("coverage.access", "from diagnosis.build import zone_of\n", "builder"),
        ("coverage.normalise", "import diagnosis.import_table\n", "importer"),
        ("diagnosis.pipeline", "def f():\n    from cli import main\n", "entry point"),
        ("coverage.supply", "import ui.maps\n", "entry point"),
        ("diagnosis.export", "from app import main\n", "entry point"),
        ("diagnosis.white_zones", "import streamlit as st\n", "UI library"),
        ("coverage.indicators", "from folium import Map\n", "UI library"),
        ("diagnosis.import_polygons", "from diagnosis.build import ZONE_CRS\n", "builder"),
    ],
)
def test_a_planted_violation_is_reported(module: str, source: str, rule: str) -> None:
    found = import_violations({module: (source, False)})
    assert len(found) >= 1
    assert all(v.module == module and rule in v.rule for v in found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("diagnosis.__main__", "from cli import main\n"),
        ("diagnosis.perimeters", "from diagnosis.import_table import claims_from_table\n"),
        ("diagnosis.build", "from diagnosis.build_fetch import load_sources\n"),
        ("diagnosis.membership", "from diagnosis.model import PerimeterImport\n"),
        ("coverage.normalise", "from diagnosis.communes import resolve_commune_codes\n"),
        ("diagnosis", "from diagnosis.perimeters import import_perimeters\n"),
    ],
)
def test_allowed_imports_are_not_reported(module: str, source: str) -> None:
    assert import_violations({module: (source, module == "diagnosis")}) == []


def test_a_violation_in_a_fake_tree_on_disk_is_reported(tmp_path: Path) -> None:
    (tmp_path / "diagnosis").mkdir()
    (tmp_path / "coverage").mkdir()
    (tmp_path / "diagnosis" / "__init__.py").write_text('"""Face."""\n')
    (tmp_path / "diagnosis" / "build.py").write_text("ZONE_CRS = {}\n")
    (tmp_path / "diagnosis" / "zones.py").write_text("ZONE_CRS = {}\n")
    (tmp_path / "coverage" / "__init__.py").write_text("")
    (tmp_path / "coverage" / "access.py").write_text(
        "from diagnosis.zones import ZONE_CRS\nfrom diagnosis.build import ZONE_CRS as OLD\n"
    )
    found = import_violations(package_sources(tmp_path))
    assert found == [
        Violation(
            "coverage.access",
            "diagnosis.build",
            2,
            "builder imported by the analysis or coverage",
        ),
    ]
