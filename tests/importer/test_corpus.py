"""The perimeter importer on the corpus of hand-made files (tests/corpus/perimeters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.io.reading import PerimeterFileError
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

CORPUS = TESTS_DIR / "corpus" / "perimeters"
EXPECTED = sorted(CORPUS.glob("*.expected.json"))
INFORMATIVE = {"file_read", "columns_detected"}


def _input_of(expected: Path) -> Path:
    return expected.with_name(expected.name.removesuffix(".expected.json"))


def _key(event: list[Any]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in event)


def _events(result: PerimeterImport) -> list[tuple[str, ...]]:
    report = result.report[~result.report["kind"].isin(INFORMATIVE)]
    rows = []
    for kind, row, perimeter, code in report[["kind", "row", "perimeter", "code"]].itertuples(
        index=False
    ):
        rows.append(
            _key(
                [
                    kind,
                    None if pd.isna(row) else int(row),
                    perimeter if isinstance(perimeter, str) else None,
                    code if isinstance(code, str) else None,
                ]
            )
        )
    return sorted(rows)


def test_corpus_is_large_enough() -> None:
    inputs = [_input_of(p) for p in EXPECTED]
    assert len(inputs) >= 30
    assert all(p.exists() for p in inputs)
    # Every file of the corpus has its expected answer.
    files = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"make_corpus.py"}
    assert files == {p.name for p in inputs} | {p.name for p in EXPECTED}


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: _input_of(p).name)
def test_corpus_file(expected_path: Path, real_referential: Referential) -> None:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    source = _input_of(expected_path)
    options = expected.get("options", {})
    if "error" in expected:
        with pytest.raises(PerimeterFileError) as info:
            import_perimeters(source, referential=real_referential, **options)
        assert expected["error"] in str(info.value)
        return
    result = import_perimeters(source, referential=real_referential, **options)

    got_perimeters = [
        {
            "perimeter_id": p.perimeter_id,
            "name": p.name,
            "status": p.status if isinstance(p.status, str) else None,
            "date": p.date if isinstance(p.date, str) else None,
            "unit_codes": list(p.unit_codes),
            "source_rows": list(p.source_rows),
        }
        for p in result.perimeters.itertuples(index=False)
    ]
    assert got_perimeters == expected["perimeters"]
    assert _events(result) == sorted(_key(e) for e in expected["report"])
    for key, value in expected.get("source", {}).items():
        assert result.source.get(key) == value, key
    if "splits" in expected:
        got = sorted(
            map(
                list,
                result.splits[["perimeter_id", "code", "declared_code"]].itertuples(index=False),
            )
        )
        assert got == sorted(expected["splits"])
    if "split_count" in expected:
        assert len(result.splits) == expected["split_count"]
    # Members and perimeters agree.
    by_pid = result.members.groupby("perimeter_id")["code"].apply(lambda s: tuple(sorted(s)))
    for p in result.perimeters.itertuples(index=False):
        assert by_pid.get(p.perimeter_id, ()) == p.unit_codes
        assert p.n_units == len(p.unit_codes)
    # Every report line has a French message and an action.
    assert result.report["message"].str.len().gt(10).all()
    assert result.report["action"].str.len().gt(3).all()


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in CORPUS.glob("*.csv") if not p.name.startswith("broken")),
)
def test_no_row_lost_without_a_report_line(name: str, real_referential: Referential) -> None:
    """Every non-blank data row is in a perimeter or in the report."""
    from diagnosis.io.reading import read_table

    path = CORPUS / name
    expected = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    result = import_perimeters(path, referential=real_referential, **expected.get("options", {}))
    wanted = list(expected.get("options", {}).get("columns", {}).values())
    table = read_table(path.read_bytes(), file_format="csv", wanted=wanted)
    blank = table.frame.isna().all(axis=1).to_numpy()
    data_rows = set(table.row_numbers[~blank].tolist())
    kept = {r for rows in result.perimeters["source_rows"] for r in rows}
    reported = {int(r) for r in result.report["row"].dropna()}
    assert data_rows <= kept | reported
