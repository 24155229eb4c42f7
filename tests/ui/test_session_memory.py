"""The dashboard keeps what a session computed from its files within a memory budget."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest

from ui import data


def test_size_estimate_counts_frames_arrays_and_containers() -> None:
    frame = pd.DataFrame({"a": np.arange(100_000, dtype=np.int64), "b": ["x"] * 100_000})
    assert data.approx_nbytes(frame) >= 800_000  # the int64 column alone
    assert data.approx_nbytes(np.zeros(1000)) == 8000
    assert data.approx_nbytes({"f": frame, "g": [frame]}) >= 2 * 800_000
    assert data.approx_nbytes(b"12345") == 5


def test_budget_drops_the_oldest_entries_never_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "SESSION_MEMORY_BUDGET", 100)
    memo: dict[str, OrderedDict[str, object]] = {
        "import": OrderedDict(a=1, b=2),
        "diagnosis": OrderedDict(c=3),
    }
    sizes = {("import", "a"): 60, ("import", "b"): 30, ("diagnosis", "c"): 50}
    data._within_budget(memo, sizes, newest=("diagnosis", "c"))
    assert ("import", "a") not in sizes and "a" not in memo["import"]
    assert sum(sizes.values()) <= 100
    assert memo["diagnosis"] == OrderedDict(c=3)
    # A newest entry larger than the budget alone is kept (it is what the page shows).
    sizes = {("diagnosis", "c"): 500}
    data._within_budget(memo, sizes, newest=("diagnosis", "c"))
    assert sizes == {("diagnosis", "c"): 500}
