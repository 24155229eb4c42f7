"""Mon territoire with a FINESS extraction and population by age (AppTest, no browser)."""

from __future__ import annotations

import pytest

from diagnosis.core.referential import Referential
from tests.app.test_workflows import app
from tests.paths import TESTS_DIR

pytestmark = pytest.mark.referential

FIXTURES = TESTS_DIR / "fixtures" / "coverage"


def test_territory_with_finess_and_ages(real_referential: Referential) -> None:
    at = app()
    at.radio(key="workflow").set_value("territoire").run()
    at.button(key="territory_example").click().run()
    uploaders = {u.key: u for u in at.sidebar.get("file_uploader")}
    uploaders["care_finess"].set_value(
        (
            "etalab-cs1100507-stock-20261005-0335.csv",
            (FIXTURES / "finess_fixture.csv").read_bytes(),
            "text/csv",
        )
    )
    uploaders["care_ages"].set_value(
        (
            "TD_POP1B_2021.csv",
            (FIXTURES / "TD_POP1B_2021_fixture.csv").read_bytes(),
            "text/csv",
        )
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    frames = [d.value for d in at.dataframe]
    rows = next(f for f in frames if "indicateur" in f.columns).set_index("indicateur")
    assert {"Pharmacies d'officine (FINESS)", "Part des 0-14 ans", "Part des 60-74 ans"} <= set(
        rows.index
    )
    labels = [e.label for e in at.expander]
    assert "Carte des points de soins du territoire (FINESS)" in labels
    captions = " ".join(c.value for c in at.caption)
    # The fixture: 5 kept of 7 complete lines; what was not kept is said, not dropped.
    assert "5 établissement(s) retenu(s) en France sur 7" in captions
    assert "Non retenus ou incomplets" in captions


def test_a_file_that_is_not_finess_is_refused_in_french(real_referential: Referential) -> None:
    at = app()
    at.radio(key="workflow").set_value("territoire").run()
    uploaders = {u.key: u for u in at.sidebar.get("file_uploader")}
    uploaders["care_finess"].set_value(("finess.csv", b"DEPCOM;TYPEQU\n13004;D201\n", "text/csv"))
    at.run()
    assert not at.exception
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "n'est pas une extraction FINESS" in errors
    assert "etalab\\-cs1100507" in errors  # Markdown-escaped by the sidebar
    assert "fichier \\:" not in errors  # no placeholder name
