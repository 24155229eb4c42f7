"""Shared fixtures: the real built referential (built by `make data`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from diagnosis.core.referential import Referential, clear_cache, load_referential
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR


@pytest.fixture(autouse=True)
def _fresh_referential_cache() -> Iterator[None]:
    # Tests build small referentials in temporary folders; never reuse a cached one.
    yield
    clear_cache()


@pytest.fixture(scope="session")
def real_referential() -> Referential:
    """The national referential built by `make data`.

    `make test` sets ATLAS_REQUIRE_REFERENTIAL=1 so that a missing build fails
    instead of skipping.
    """
    if not (DEFAULT_REFERENTIAL_DIR / "manifest.json").exists():
        if os.environ.get("ATLAS_REQUIRE_REFERENTIAL") == "1":
            pytest.fail("the national referential is missing: run `make data`")
        pytest.skip("national referential not built (run `make data`)")
    return load_referential()
