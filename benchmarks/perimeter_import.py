"""Benchmark of the perimeter importer: 1,000 perimeters / 40,000 rows, CSV and XLSX.

Run by hand::

    .venv/bin/python benchmarks/perimeter_import.py [--perimeters 1000] [--rows 40000]

Targets (issue "Perimeter import"): XLSX ≤ 3 s, CSV ≤ 1 s, including
normalisation and the report. The referential is loaded before timing (it is
cached in memory in the app and the CLI); the first import also builds the
lookup tables (name index, code sets), reported separately.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from diagnosis.core.referential import load_referential  # noqa: E402
from diagnosis.importer.perimeters import import_perimeters  # noqa: E402

STATUSES = ["ACI signé", "projet de santé validé", "lettre d'intention validée", "en émergence"]


def make_rows(n_perimeters: int, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """A realistic file: contiguous-ish blocks of communes, with the usual pitfalls."""
    ref = load_referential()
    rng = np.random.default_rng(seed)
    codes = ref.units.index.to_numpy()
    names = ref.units["name"].to_numpy()
    former = ref.former_codes["former_code"].to_numpy()
    per_size = n_rows // n_perimeters
    rows = []
    for p in range(n_perimeters):
        start = rng.integers(0, len(codes) - per_size)
        block = np.arange(start, start + per_size)
        status = STATUSES[p % len(STATUSES)]
        for i in block:
            code = str(codes[i])
            r = rng.random()
            if r < 0.05 and code[0] == "0":
                code = code[1:]  # Excel lost the zero
            elif r < 0.07:
                code = str(former[rng.integers(0, len(former))])
            rows.append((f"CPTS n°{p + 1}", code, names[i], status))
    return pd.DataFrame(rows, columns=["Nom CPTS", "Code INSEE", "Commune", "Statut"])


def to_xlsx(frame: pd.DataFrame) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("CPTS")
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def timed(data: bytes, filename: str, repeat: int) -> tuple[list[float], object]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = import_perimeters(data, filename=filename)
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perimeters", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    load_referential()
    frame = make_rows(args.perimeters, args.rows)
    csv_bytes = frame.to_csv(sep=";", index=False).encode("utf-8")
    xlsx_bytes = to_xlsx(frame)

    start = time.perf_counter()
    first = import_perimeters(csv_bytes, filename="bench.csv")
    first_s = time.perf_counter() - start
    csv_times, csv_result = timed(csv_bytes, "bench.csv", args.repeat)
    xlsx_times, xlsx_result = timed(xlsx_bytes, "bench.xlsx", args.repeat)
    assert csv_result is not None and xlsx_result is not None
    counts = csv_result.report_counts()  # type: ignore[attr-defined]
    print(
        f"file: {len(frame)} rows, {frame['Nom CPTS'].nunique()} perimeters, "
        f"CSV {len(csv_bytes) / 1e6:.1f} MB, XLSX {len(xlsx_bytes) / 1e6:.1f} MB"
    )
    print(f"first CSV import (builds lookups): {first_s:.3f} s")
    print(
        f"CSV import: median {statistics.median(csv_times):.3f} s "
        f"(min {min(csv_times):.3f}, max {max(csv_times):.3f}) — target ≤ 1 s"
    )
    print(
        f"XLSX import: median {statistics.median(xlsx_times):.3f} s "
        f"(min {min(xlsx_times):.3f}, max {max(xlsx_times):.3f}) — target ≤ 3 s"
    )
    print("report events:", dict(zip(counts["kind"], counts["n"], strict=True)))
    print(f"perimeters: {len(first.perimeters)}, members: {len(first.members)}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(
        f"reproduce: {sys.executable} benchmarks/perimeter_import.py "
        f"--perimeters {args.perimeters} --rows {args.rows}"
    )


if __name__ == "__main__":
    main()
