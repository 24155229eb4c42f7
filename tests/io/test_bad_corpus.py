"""The corpus of bad inputs (tests/corpus/bad), through the library and the command line.

Every input gets its expected outcome: a French refusal that shows no English
library text and no path, or an import whose report has the expected kinds of
lines and in which every data row is kept or named by a report line.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pyogrio
import pytest

from cli import main
from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.errors import AtlasError
from diagnosis.importer.perimeters import import_perimeters
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

GENERATOR = TESTS_DIR / "corpus" / "bad" / "make_bad_corpus.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_bad_corpus", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


BAD = _generator()
CASES = BAD.make_corpus()

#: Words and names of library messages (English) that a refusal must not show.
ENGLISH = re.compile(
    r"\b(error|errno|no such|not a|failed|invalid|unsupported|exception|traceback|expected|"
    r"cannot|unable|file is|line \d|field larger|gdal|ogr|calamine|pyogrio|zipfile|utf-8 "
    r"codec|decode)\b|[A-Z][a-z]+Error\b",
    re.IGNORECASE,
)
DANGEROUS = ("=", "+", "-", "@")


def _check_refusal(message: str, *, fragment: str, tmp: Path | None = None) -> None:
    assert message.strip(), "empty message"
    assert not ENGLISH.search(message), f"English library text in: {message}"
    assert "/tmp" not in message and "atlas-cpts-" not in message, message
    if tmp is not None:
        assert str(tmp) not in message, message
    assert fragment in message, (fragment, message)


def _accounted_rows(result: PerimeterImport) -> set[int]:
    rows: set[int] = set()
    for values in result.members["source_rows"]:
        rows.update(int(v) for v in values)
    for values in result.perimeters["source_rows"]:
        rows.update(int(v) for v in values)
    rows.update(int(v) for v in result.report["row"].dropna())
    return rows


def test_corpus_size_and_classes() -> None:
    assert len(CASES) >= 100
    classes = {case.klass for case in CASES}
    for required in (
        "zip slip",
        "zip bomb",
        "symlink member",
        "nested zip",
        "bare CR",
        "unbalanced quotes",
        "long cells",
        "random bytes",
        "empty file",
        "header only",
        "BOM variants",
        "UTF-16 without BOM",
        "mixed encodings",
        "float codes",
        "wrong separator",
        "GeoJSON in Lambert-93 without CRS",
        "invalid geometries",
        "empty geometries",
        "wrong extension",
        "html disguised as csv",
        "formula cells",
        "names with HTML/JS",
        "2A/2B",
    ):
        assert required in classes, required
    # Deterministic: generated twice, the same bytes.
    again = BAD.make_corpus()
    assert [c.data for c in again] == [c.data for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_library(case: object, real_referential: Referential) -> None:
    try:
        result = import_perimeters(
            case.data,  # type: ignore[attr-defined]
            filename=case.name,  # type: ignore[attr-defined]
            referential=real_referential,
        )
    except AtlasError as exc:
        assert case.outcome == "refused", f"refused: {exc}"  # type: ignore[attr-defined]
        _check_refusal(str(exc), fragment=case.fragment)  # type: ignore[attr-defined]
        return
    assert case.outcome == "imported"  # type: ignore[attr-defined]
    kinds = set(result.report["kind"])
    missing = set(case.kinds) - kinds  # type: ignore[attr-defined]
    assert not missing, (missing, result.report[["kind", "row", "message"]].to_string())
    lost = set(case.data_rows) - _accounted_rows(result)  # type: ignore[attr-defined]
    assert not lost, f"rows neither imported nor reported: {sorted(lost)}"


@pytest.mark.slow  # one CLI process per corpus file (about 30 s)
def test_command_line(
    tmp_path: Path, real_referential: Referential, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every input through `diagnose`: exit 0 or 2, French refusals, protected exports."""
    del real_referential  # the command loads it itself (the fixture skips when it is missing)
    problems = []
    for path, case in BAD.write_corpus(tmp_path / "corpus"):
        out = tmp_path / "out" / case.name
        code = main(
            [
                "diagnose",
                "--perimeters",
                str(path),
                "--department",
                "13",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        captured = capsys.readouterr()
        expected = 0 if case.outcome == "imported" else 2
        if code != expected:
            problems.append(f"{case.name}: exit {code}, expected {expected}: {captured.err}")
            continue
        if code == 2:
            message = captured.err.removeprefix("Erreur : ")
            try:
                _check_refusal(message, fragment=case.fragment, tmp=tmp_path)
            except AssertionError as exc:
                problems.append(f"{case.name}: {exc}")
            continue
        if case.klass == "formula cells":
            layer = pyogrio.read_dataframe(out / "diagnosis.gpkg", layer="perimeters")
            names = layer["name"].dropna().astype(str)
            if names.str.startswith(DANGEROUS).any():
                problems.append(f"{case.name}: GeoPackage name not protected: {list(names)}")
            table = pd.read_csv(out / "perimeters.csv", dtype=str, keep_default_na=False)
            if table["name"].str.startswith(DANGEROUS).any():
                problems.append(f"{case.name}: CSV name not protected")
    assert not problems, "\n".join(problems)
