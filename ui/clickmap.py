"""A clickable folium map whose base is rendered once, with one layer redrawn per run.

``streamlit_folium.st_folium`` renders the whole map on every run: it turns
every element into JavaScript through Jinja templates (compiled each time),
serialises the GeoJSON of every commune, scans the script with a regular
expression to hash it, and alters the map it is given (so a kept map must be
deep-copied first). For the clickable map of Mon territoire, about a thousand
communes, that cost about 0.4 s of every click.

Here the base map (the scope's communes, which do not change with the
territory) is rendered once into a :class:`RenderedBase` by streamlit-folium's
own helpers, and each run only renders the small territory layer and calls the
same front-end component with the same arguments as ``st_folium`` would. The
front end sees the same script, so it keeps the drawn map and swaps the layer.

streamlit-folium is pinned (``requirements.txt``); ``tests/test_clickmap.py``
checks that the arguments sent here are those ``st_folium`` sends, so that an
upgrade that changes its internals fails a test instead of the map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import branca.colormap
import folium
import folium.elements
import streamlit as st
import streamlit_folium as sf

from ui.map_controls import FIT_BOTTOM_RIGHT, FIT_TOP_LEFT

#: What the map sends back to the app (see ``st_folium``'s ``returned_objects``).
CLICK_OBJECTS = ("last_clicked", "last_object_clicked")


@dataclass(frozen=True)
class RenderedBase:
    """What ``st_folium`` derives from the map itself, computed once (immutable)."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    #: The widget key: the map's clicks land in ``st.session_state[key]``.
    key: str
    #: The component's key: st_folium's hash of the script and the widget key.
    hash_key: str


def _links(fmap: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CSS and JS links of the map's elements, as ``st_folium`` lists them."""
    css: list[str] = []
    js: list[str] = []

    def walk(element: Any) -> None:
        if isinstance(element, branca.colormap.ColorMap):
            js[:0] = [
                "https://d3js.org/d3.v4.min.js",
                "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js",
            ]
        if isinstance(element, (branca.colormap.ColorMap, folium.elements.JSCSSMixin)):
            css.extend(href for _, href in getattr(element, "default_css", []))
            js.extend(src for _, src in getattr(element, "default_js", []))
        for child in getattr(element, "_children", {}).values():
            walk(child)

    walk(fmap)
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def render_base(fmap: folium.Map, *, key: str) -> RenderedBase:
    """Render ``fmap`` once, as ``st_folium`` does on every run, for the widget ``key``.

    The map is altered: pass a map built for this purpose.
    """
    fmap.get_root().render()
    fmap.render()
    html = sf._get_html(fmap)
    header = sf._get_header(fmap)
    script = sf._get_map_string(fmap)
    css, js = _links(fmap)
    return RenderedBase(
        script=script,
        header=header,
        html=html,
        map_id=sf.get_full_id(fmap),
        css_links=css,
        js_links=js,
        key=key,
        hash_key=sf.generate_js_hash(script, key, False),
    )


def layer_script(
    group: folium.FeatureGroup, *, fit: tuple[float, float, float, float] | None = None
) -> str:
    """The JavaScript that adds ``group`` to the drawn map (st_folium's ``feature_group``).

    With ``fit`` (minx, miny, maxx, maxy in WGS84), the map is also fitted to
    those bounds when the front end runs the script (it runs it again only
    when the script changes).
    """
    # The group's script names its map through the map's id, which streamlit-folium
    # replaces by the front end's "map_div": any map does, an empty one is cheapest.
    holder = folium.Map(tiles=None)
    script = str(sf._get_feature_group_string(group, map=holder, idx=0))
    if fit is None:
        return script
    minx, miny, maxx, maxy = (float(b) for b in fit)
    bounds = json.dumps([[miny, minx], [maxy, maxx]])
    padding = json.dumps({"paddingTopLeft": FIT_TOP_LEFT, "paddingBottomRight": FIT_BOTTOM_RIGHT})
    return f"{script}\nmap_div.fitBounds({bounds}, {{...{padding}, maxZoom: 12}});\n"


def clickable_map(
    base: RenderedBase,
    *,
    layer: folium.FeatureGroup | None,
    height: int,
    fit: tuple[float, float, float, float] | None = None,
) -> None:
    """Draw ``base`` with ``layer`` on top; clicks land in ``st.session_state[base.key]``.

    Same component and arguments as ``st_folium(fmap, key=base.key, height=height,
    use_container_width=True, returned_objects=CLICK_OBJECTS,
    feature_group_to_add=layer)``; with ``fit``, the map is fitted to those
    bounds as the layer is drawn (see :func:`layer_script`).
    """
    hash_key = base.hash_key

    def on_change() -> None:
        st.session_state[base.key] = st.session_state.get(hash_key, {})

    sf._component_func(
        script=base.script,
        header=base.header,
        html=base.html,
        id=base.map_id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=list(CLICK_OBJECTS),
        default=dict.fromkeys(CLICK_OBJECTS),
        zoom=None,
        center=None,
        feature_group=layer_script(layer, fit=fit) if layer is not None else None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(base.css_links),
        js_links=list(base.js_links),
        on_change=on_change,
        wrap_longitude=False,
    )
