"""The clickable map rendered once (ui/clickmap.py) and the what-if warm-up of Mon territoire.

The click map calls streamlit-folium's front-end component itself, with a base
rendered once: these tests check that it sends exactly what ``st_folium``
would send for the same map and layer (so an upgrade of streamlit-folium that
changes its internals fails here), and that a click reaches the app.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import folium
import geopandas as gpd
import pytest
import streamlit_folium as sf

from coverage import whatif
from coverage.whatif import project_gp_whatif_model
from diagnosis.core.referential import Referential
from tests.grid import cell, grid_referential
from ui import care_panels, clickmap, maps


def _frame(codes: list[str]) -> gpd.GeoDataFrame:
    ref = grid_referential()
    units = ref.units.loc[codes]
    return gpd.GeoDataFrame(
        {"code": codes, "name": units["name"].to_numpy(), "population": units["population"]},
        geometry=units.geometry.to_numpy(),
        crs=4326,
    )


def _base_and_layer() -> tuple[folium.Map, folium.FeatureGroup]:
    frame = _frame([cell(c, r) for c in range(3) for r in range(3)])
    spec = maps.MapSpec(
        bounds=maps.bounds_of(frame),
        layers=(maps.units_layer(frame, name="Communes", color="#9e9e9e"),),
        legend_title="Mon territoire",
        legend=(maps.LegendEntry("#eeeeee", "Autre commune <b>"),),
        layer_control=False,
    )
    group = folium.FeatureGroup(name="Mon territoire")
    maps.add_layer(group, maps.units_layer(frame.iloc[:2], name="Mon territoire", color="#123456"))
    return maps.build_map(spec), group


def _recorded(monkeypatch: pytest.MonkeyPatch, call: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(sf, "_component_func", lambda **kwargs: seen.update(kwargs))
    call()
    return seen


def test_same_component_arguments_as_st_folium(monkeypatch: pytest.MonkeyPatch) -> None:
    fmap, group = _base_and_layer()
    expected = _recorded(
        monkeypatch,
        lambda: sf.st_folium(
            copy.deepcopy(fmap),
            key="k",
            height=520,
            use_container_width=True,
            returned_objects=list(clickmap.CLICK_OBJECTS),
            feature_group_to_add=copy.deepcopy(group),
        ),
    )
    base = clickmap.render_base(copy.deepcopy(fmap), key="k")
    got = _recorded(
        monkeypatch,
        lambda: clickmap.clickable_map(base, layer=copy.deepcopy(group), height=520),
    )
    assert set(got) == set(expected)
    for name in expected:
        if name != "on_change":
            assert got[name] == expected[name], name
    # The layer really is in the script sent, and the map's scripts are not.
    assert "#123456" in got["feature_group"]
    assert "#123456" not in got["script"]
    assert got["script"] and "leaflet" in " ".join(got["css_links"]).lower()


def test_base_rendered_once_serves_every_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    fmap, group = _base_and_layer()
    base = clickmap.render_base(fmap, key="k")
    empty = _recorded(monkeypatch, lambda: clickmap.clickable_map(base, layer=None, height=300))
    drawn = _recorded(monkeypatch, lambda: clickmap.clickable_map(base, layer=group, height=300))
    # Same script and component key whatever the layer: the front end keeps the drawn map.
    assert empty["script"] == drawn["script"] and empty["key"] == drawn["key"]
    assert empty["feature_group"] is None and "#123456" in drawn["feature_group"]


def test_a_click_reaches_the_widget_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The component's value is copied under the app's key, as st_folium does."""
    state: dict[str, Any] = {}
    monkeypatch.setattr(clickmap.st, "session_state", state)
    fmap, _ = _base_and_layer()
    base = clickmap.render_base(fmap, key="territory-map-84-")
    sent = _recorded(
        monkeypatch,
        lambda: clickmap.clickable_map(base, layer=None, height=300),
    )
    click = {"last_object_clicked": {"lat": 45.005, "lng": 5.005}, "last_clicked": None}
    state[sent["key"]] = click
    sent["on_change"]()
    assert state["territory-map-84-"] == click


# --------------------------------------------------------------------------
# The referential's per-key cache and the what-if warm-up
# --------------------------------------------------------------------------


def test_cached_computes_once_and_other_keys_do_not_wait() -> None:
    ref = grid_referential()
    calls: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def slow() -> str:
        calls.append("slow")
        started.set()
        release.wait(10)
        return "slow value"

    workers = [threading.Thread(target=ref.cached, args=("slow", slow)) for _ in range(3)]
    for w in workers:
        w.start()
    assert started.wait(10)
    # Another key is answered while "slow" is still being computed.
    t0 = time.perf_counter()
    assert ref.cached("quick", lambda: "quick value") == "quick value"
    assert time.perf_counter() - t0 < 1.0
    release.set()
    for w in workers:
        w.join(10)
    assert ref.cached("slow", slow) == "slow value"
    assert calls == ["slow"]


def _warm_up_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "atlas-whatif-warm-up"]


def test_prepare_whatif_builds_the_shared_model_once_in_the_background() -> None:
    ref: Referential = grid_referential()
    care_panels.prepare_whatif(ref)
    care_panels.prepare_whatif(ref)  # a second session: nothing more started
    threads = _warm_up_threads()
    assert len(threads) <= 1
    for t in threads:
        t.join(60)
    assert "whatif_model_legal" in ref.cache and "whatif_pairs" in ref.cache
    model = ref.cache["whatif_model_legal"]
    # The section then uses the very same model, without computing it again.
    assert project_gp_whatif_model(ref) is model
    assert set(model.codes) <= set(ref.units.index)


def test_prepare_whatif_failure_is_logged_and_the_section_reports_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ref = grid_referential()
    monkeypatch.setattr(whatif, "referential_pairs", lambda _ref: 1 / 0)
    care_panels.prepare_whatif(ref)
    for t in _warm_up_threads():
        t.join(60)
    assert "whatif_model_legal" not in ref.cache
    assert "what-if warm-up failed" in caplog.text
    with pytest.raises(ZeroDivisionError):
        project_gp_whatif_model(ref)  # computed again when drawn, not a stale failure
