"""Commune-code resolution returns structured event kinds, not only French messages."""

from __future__ import annotations

import pytest

from diagnosis.core.communes import RESOLUTION_COLUMNS, resolve_commune_codes
from diagnosis.core.model import EVENT_KINDS
from diagnosis.core.referential import Referential

pytestmark = pytest.mark.referential


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
