"""Commune-code resolution returns structured event kinds, not only French messages."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from diagnosis.core.communes import (
    RESOLUTION_COLUMNS,
    VIA_ORDER,
    Resolver,
    commune_lookups,
    resolve_codes,
    resolve_commune_codes,
    resolve_token,
)
from diagnosis.core.model import EVENT_KINDS
from diagnosis.core.referential import Referential
from diagnosis.outputs.labels import VIA_LABELS
from tests.grid import grid_referential


@pytest.mark.referential
def test_kinds_are_event_ids_parallel_to_the_messages(real_referential: Referential) -> None:
    former = real_referential.former_codes
    old = str(former.loc[former["former_kind"] == "ancienne_commune", "former_code"].iloc[0])
    values = ["1001", "13004", "75056", "20004", old, "99999", "13004"]
    table = resolve_commune_codes(values, referential=real_referential).set_index("written")
    assert list(table.reset_index().columns) == RESOLUTION_COLUMNS
    assert len(table) == 6  # one row per distinct value
    assert table.loc["1001", "kinds"] == ("leading_zero_restored",)
    assert table.loc["1001", "code"] == "01001"
    assert table.loc["13004", "kinds"] == ()
    assert table.loc["75056", "status"] == "plm_parent"
    assert len(table.loc["75056", "units"]) == 20
    # The former Corsica numbering is in the COG's former codes.
    assert table.loc["20004", "kinds"] == ("former_code",)
    assert table.loc["20004", "code"] == "2A004"
    assert table.loc[old, "kinds"] == ("former_code",)
    assert table.loc["99999", "status"] == "unknown"
    for kinds, events in zip(table["kinds"], table["events"], strict=True):
        assert len(kinds) == len(events)
        assert set(kinds) <= set(EVENT_KINDS)


# --------------------------------------------------------------------------
# One resolver on the hand grid: the importer's and the care loaders' agree
# --------------------------------------------------------------------------


def _grid_with_history() -> Referential:
    """The grid plus a merged commune (01099 → 01005) and a PLM parent over 01011-01012."""
    ref = grid_referential()
    return dataclasses.replace(
        ref,
        aliases=pd.DataFrame(
            {
                "parent_code": ["75056", "75056"],
                "parent_name": ["Paris", "Paris"],
                "unit_code": ["01011", "01012"],
            }
        ),
        former_codes=pd.DataFrame(
            {
                "former_code": ["01099"],
                "former_name": ["Ancienne"],
                "former_kind": ["ancienne_commune"],
                "current_code": ["01005"],
            }
        ),
        cache={},
    )


#: value -> (status, code, via, event kinds), worked out by hand on the grid.
GRID_CASES: dict[object, tuple[str, str | None, str, tuple[str, ...]]] = {
    "01001": ("unit", "01001", "code", ()),
    "1001": ("unit", "01001", "code", ("leading_zero_restored",)),
    1001.0: ("unit", "01001", "code", ("leading_zero_restored",)),
    " '01 001": ("unit", "01001", "code", ("code_cleaned",)),
    "01099": ("unit", "01005", "former_code", ("former_code",)),
    "75056": ("plm_parent", "75056", "plm_parent", ()),
    "20999": ("unit", "2A999", "code", ("corsica_code",)),
    "99999": ("unknown", "99999", "code", ()),
    "1002.7": ("unknown", "10027", "code", ("non_integer_code",)),
}


def test_one_resolution_for_the_importer_and_the_care_loaders() -> None:
    ref = _grid_with_history()
    lookups = commune_lookups(ref)
    resolver = Resolver(lookups, None)
    table = resolve_codes(pd.Series(list(GRID_CASES), dtype=object), referential=ref)
    for written, status, code, events in zip(
        table["written"], table["status"], table["code"], table["events"], strict=True
    ):
        want_status, want_code, want_via, want_kinds = GRID_CASES[written]
        res = resolver.resolve(written, department_hint=None)
        assert (res.status, res.code, res.via) == (want_status, want_code, want_via), written
        assert tuple(kind for kind, _ in res.events) == want_kinds, written
        assert (status, code, events) == (res.status, res.code, res.events), written


def test_names_are_read_only_by_the_importer() -> None:
    ref = _grid_with_history()
    lookups = commune_lookups(ref)
    by_name = resolve_token("Commune 01007", lookups)
    assert (by_name.status, by_name.code, by_name.via) == ("unit", "01007", "name")
    assert [kind for kind, _ in by_name.events] == ["name_resolved"]
    former = resolve_token("Ancienne", lookups)
    assert (former.status, former.code, former.via) == ("unit", "01005", "former_code")
    as_code = resolve_token("Commune 01007", lookups, names=False)
    assert (as_code.status, as_code.via) == ("unknown", "code")


def test_via_values_are_identifiers_with_french_labels() -> None:
    ref = _grid_with_history()
    table = resolve_commune_codes([*GRID_CASES, "Commune 01007"], referential=ref)
    assert set(table["via"]) <= set(VIA_ORDER)
    assert set(VIA_ORDER) == set(VIA_LABELS)
