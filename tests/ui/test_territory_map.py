"""The Mon territoire map: claimed communes hatched and named, inhabitants in tooltips, the fit.

Issue 17 §4: communes of the territory already claimed by a CPTS appeared only
in a paragraph, a commune added was not zoomed to, tooltips gave no
population, and a map drawn hidden stopped its script before its layers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import pytest
import streamlit_folium as sf
from streamlit.testing.v1 import AppTest

from tests.grid import cell, grid_referential
from ui import clickmap, maps, territory_tab

CODES = [cell(c, r) for c in range(3) for r in range(3)]


def _frame() -> gpd.GeoDataFrame:
    units = grid_referential().units.loc[CODES]
    return gpd.GeoDataFrame(
        {
            "code": CODES,
            "name": units["name"].to_numpy(),
            "population": [1_000 * (k + 1) for k in range(len(CODES))],
        },
        geometry=units.geometry.to_numpy(),
        crs=4326,
    )


def _features(group: folium.FeatureGroup) -> list[list[dict[str, Any]]]:
    """The features of each GeoJSON layer of ``group`` (as the front end receives them)."""
    script = clickmap.layer_script(group)
    found = re.findall(r'_add\((\{"features".*?"type": "FeatureCollection"\})\);', script)
    return [json.loads(m)["features"] for m in found]


def test_claimed_communes_are_hatched_and_name_their_cpts() -> None:
    frame = _frame()
    claims = pd.DataFrame({"code": [CODES[1]], "cpts": ["CPTS <Nord> ; CPTS Sud"]})
    group = territory_tab.territory_layer(frame, CODES[:3], claims)
    script = clickmap.layer_script(group)
    territory, claimed = _features(group)
    assert [f["properties"]["code"] for f in territory] == CODES[:3]
    assert [f["properties"]["code"] for f in claimed] == [CODES[1]]
    # The CPTS' names are escaped (Leaflet tooltips insert HTML) and shown in the tooltip.
    assert claimed[0]["properties"]["cpts"] == "CPTS &lt;Nord&gt; ; CPTS Sud"
    assert "D\\u00e9j\\u00e0 revendiqu\\u00e9e par" in script  # its alias, JSON-escaped
    # Hatched: filled by the SVG pattern that the same script defines.
    assert f'"fillColor": "url(#{maps.HATCH_ID})"' in script
    assert "document.getElementById(id)" in script and f'"{maps.HATCH_ID}"' in script
    # Inhabitants in every tooltip, as a French number.
    assert territory[1]["properties"]["population_fr"] == "2\u202f000"
    assert "Habitants" in script


def test_no_claims_no_hatching() -> None:
    group = territory_tab.territory_layer(_frame(), CODES[:3])
    assert len(_features(group)) == 1
    assert maps.HATCH_ID not in clickmap.layer_script(group)


def test_the_base_map_gives_inhabitants_and_explains_the_hatching() -> None:
    outlines = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4326)
    spec = territory_tab.territory_base_map(_frame(), outlines)
    communes = spec.layers[1]
    assert ("population_fr", "Habitants") in communes.tooltip
    assert communes.frame.set_index("code").loc[CODES[8], "population_fr"] == "9\u202f000"
    hatch = [e for e in spec.legend if e.color == maps.HATCH_SWATCH]
    assert [e.label for e in hatch] == ["Commune déjà revendiquée par une CPTS (hachures)"]
    html = maps.map_html(maps.build_map(spec))
    assert "repeating-linear-gradient" in html


def test_the_layer_script_fits_the_territory_only_when_asked() -> None:
    group = territory_tab.territory_layer(_frame(), CODES[:2])
    assert "fitBounds" not in clickmap.layer_script(group)
    group = territory_tab.territory_layer(_frame(), CODES[:2])
    fitted = clickmap.layer_script(group, fit=(5.0, 45.0, 5.2, 45.1))
    assert "map_div.fitBounds([[45.0, 5.0], [45.1, 5.2]]" in fitted


def test_a_map_fits_its_bounds_only_once_it_has_a_size() -> None:
    """Leaflet's fitBounds on a hidden map throws and stops the script (the blank APL map)."""
    html = maps.map_html(maps.build_map(maps.MapSpec(bounds=(5, 45, 6, 46), layers=())))
    script = html[html.index("L.map(") :]
    fits = [m.start() for m in re.finditer(r"\.fitBounds\(", script)]
    assert fits, "the map is never fitted"
    for start in fits:
        # Every fit is guarded by the map's size (inside the size-checking function).
        before = script[max(0, start - 600) : start]
        assert "size.x <= 0 || size.y <= 0" in before, script[start - 200 : start + 50]


def _territory_app() -> None:
    import streamlit as st

    from ui.territory_builders import FIT, set_territory, territory

    step = st.session_state.get("step", 0)
    if step == 1:
        set_territory(["A", "B"])  # a builder adds: fit
    elif step == 2:
        set_territory([*territory(), "C"], fit=False)  # a click adds: the commune is in view
    elif step == 3:
        set_territory(["A"])  # a removal: nothing to zoom to
    st.write(str(st.session_state.pop(FIT, False)))


@pytest.mark.parametrize(("step", "fit"), [(1, "True"), (2, "False"), (3, "False")])
def test_adding_by_a_builder_fits_the_map_once(step: int, fit: str) -> None:
    at = AppTest.from_function(_territory_app)
    at.session_state["territory_codes"] = ["A", "B"] if step > 1 else []
    at.session_state["step"] = step
    at.run()
    assert not at.exception
    assert at.markdown[0].value == fit


def test_fit_keeps_streamlit_folium_s_layer_script() -> None:
    """The fit is appended to st_folium's own layer script, which stays as it was."""
    group = territory_tab.territory_layer(_frame(), CODES[:2])
    plain = clickmap.layer_script(group)
    holder = folium.Map(tiles=None)
    group = territory_tab.territory_layer(_frame(), CODES[:2])
    expected = str(sf._get_feature_group_string(group, map=holder, idx=0))
    assert re.sub(r"_[0-9a-f]{32}", "", plain) == re.sub(r"_[0-9a-f]{32}", "", expected)
