"""Folium maps of Atlas CPTS, built by pure functions testable without a browser.

Leaflet is served by the app itself (Streamlit static serving of ``static/``,
filled by the data build from the npm ``leaflet`` package), so that maps draw
on networks without internet. Basemap tiles are optional; without them,
department and region outlines form the background. No element that pulls a
script from a CDN (branca colormaps, awesome markers, plugins) is used.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from diagnosis.paths import STATIC_VENDOR_DIR
from diagnosis.rules import status_legend

#: URL of Streamlit's static file serving (``server.enableStaticServing``).
STATIC_URL = "/app/static/vendor/leaflet"
LEAFLET_JS = f"{STATIC_URL}/leaflet.js"
LEAFLET_CSS = f"{STATIC_URL}/leaflet.css"

#: Sequential palette (ColorBrewer YlOrRd, 7 classes).
PALETTE_SEQ = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
NO_DATA_COLOR = "#d9d9d9"

#: Population classes of the commune choropleth (inhabitants).
POPULATION_BREAKS = (500, 1_000, 2_000, 5_000, 10_000, 50_000)


def leaflet_assets_available() -> bool:
    """Whether the data build copied Leaflet into the app's static folder."""
    return (STATIC_VENDOR_DIR / "leaflet.js").exists() and (
        STATIC_VENDOR_DIR / "leaflet.css"
    ).exists()


def base_map(
    bounds: Sequence[float],
    *,
    tiles: bool = False,
    height_px: int = 560,
) -> folium.Map:
    """An empty map fitted to ``bounds`` (minx, miny, maxx, maxy in WGS84).

    Parameters
    ----------
    bounds
        Extent to show, in degrees.
    tiles
        Add the OpenStreetMap basemap (needs internet). Off by default.
    height_px
        Height of the map in pixels.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=8,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        height=f"{height_px}px",
    )
    if leaflet_assets_available():
        # Instance attributes shadow folium's CDN defaults (also read by streamlit-folium).
        fmap.default_js = [("leaflet", LEAFLET_JS)]
        fmap.default_css = [("leaflet_css", LEAFLET_CSS)]
    else:
        fmap.default_js = [fmap.default_js[0]]
        fmap.default_css = [fmap.default_css[0]]
    if tiles:
        folium.TileLayer(
            "OpenStreetMap", name="OpenStreetMap", attr="© contributeurs OpenStreetMap"
        ).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def geojson_collection(
    frame: gpd.GeoDataFrame,
    *,
    properties: Sequence[str],
) -> dict[str, Any]:
    """A compact GeoJSON FeatureCollection of ``frame`` (WGS84) with chosen properties.

    Rows without geometry are left out (they have no shape to draw). Numeric
    properties are converted to plain Python numbers; missing values to None.
    """
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError(f"Carte : géométries attendues en EPSG:4326, reçu {frame.crs}.")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    features = []
    geoms = json.loads(gpd.GeoSeries(frame.geometry.to_numpy(), crs=4326).to_json(drop_id=True))
    props = frame[list(properties)].astype(object).where(frame[list(properties)].notna(), None)
    records = props.to_dict("records")
    for feature, record in zip(geoms["features"], records, strict=True):
        features.append(
            {"type": "Feature", "geometry": feature["geometry"], "properties": _plain(record)}
        )
    return {"type": "FeatureCollection", "features": features}


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, np.integer):
            out[key] = int(value)
        elif isinstance(value, np.floating):
            out[key] = None if np.isnan(value) else round(float(value), 4)
        else:
            out[key] = value
    return out


def classify(values: pd.Series, breaks: Sequence[float]) -> pd.Series:
    """Class index (0..len(breaks)) of each value; -1 for missing values."""
    numeric = pd.to_numeric(values, errors="coerce")
    idx = np.searchsorted(np.asarray(breaks, dtype=float), numeric.to_numpy(), side="right")
    out = pd.Series(idx, index=values.index, dtype="int64")
    out[numeric.isna()] = -1
    return out


def class_labels(breaks: Sequence[float], *, unit: str = "") -> list[str]:
    """French labels of classes delimited by ``breaks``."""
    fmt = [_fr_number(b) for b in breaks]
    labels = [f"moins de {fmt[0]}{unit}"]
    labels += [f"{fmt[i]} à moins de {fmt[i + 1]}{unit}" for i in range(len(fmt) - 1)]
    labels.append(f"{fmt[-1]}{unit} ou plus")
    return labels


def _fr_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")


@dataclass(frozen=True)
class LegendEntry:
    """One line of a map legend."""

    color: str
    label: str


class _Legend(MacroElement):
    """A Leaflet control holding static HTML (no external script)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "atlas-legend");
            div.innerHTML = {{ this.markup|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._name = "AtlasLegend"
        self.markup = markup


def add_legend(
    fmap: folium.Map, title: str, entries: Sequence[LegendEntry], *, note: str = ""
) -> None:
    """Add a legend in the bottom-right corner of the map."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:12px;'
        f'background:{html.escape(e.color)};border:1px solid #555;margin-right:6px"></span>'
        f"{html.escape(e.label)}</div>"
        for e in entries
    )
    note_html = f'<div style="margin-top:4px;color:#444">{html.escape(note)}</div>' if note else ""
    markup = (
        '<div style="background:rgba(255,255,255,.92);padding:6px 8px;border:1px solid #888;'
        'font:12px/1.35 sans-serif;max-width:260px">'
        f"<b>{html.escape(title)}</b>{rows}{note_html}</div>"
    )
    _Legend(markup).add_to(fmap)


def add_outlines(
    fmap: folium.Map,
    outlines: gpd.GeoDataFrame,
    *,
    name: str,
    weight: float = 1.2,
    color: str = "#555555",
) -> None:
    """Draw outlines (departments, regions) as a non-interactive background layer."""
    if outlines.empty:
        return
    data = geojson_collection(outlines, properties=["code"])
    folium.GeoJson(
        data,
        name=name,
        style_function=lambda _f: {"color": color, "weight": weight, "fill": False},
        interactive=False,
        control=False,
    ).add_to(fmap)


def population_choropleth(
    fmap: folium.Map,
    units: gpd.GeoDataFrame,
    *,
    population_label: str,
    name: str = "Population par commune",
) -> None:
    """Colour units by population class, with a tooltip and a legend.

    ``units`` must hold ``code``, ``name``, ``population`` and a display
    geometry in WGS84.
    """
    classes = classify(units["population"], POPULATION_BREAKS)
    colors = [PALETTE_SEQ[i] if i >= 0 else NO_DATA_COLOR for i in classes]
    frame = units.assign(
        fill=colors,
        population_fr=units["population"].map(lambda v: _fr_number(float(v))),
    )
    data = geojson_collection(frame, properties=["code", "name", "population_fr", "fill"])
    folium.GeoJson(
        data,
        name=name,
        style_function=_fill_style,
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "population_fr"],
            aliases=["Commune", "Code INSEE", "Habitants"],
            localize=False,
            sticky=True,
        ),
        smooth_factor=1.0,
    ).add_to(fmap)
    labels = class_labels(POPULATION_BREAKS, unit=" hab.")
    add_legend(
        fmap,
        "Population par commune",
        [LegendEntry(c, label) for c, label in zip(PALETTE_SEQ, labels, strict=True)],
        note=population_label,
    )


def _fill_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"].get("fill", NO_DATA_COLOR),
        "fillOpacity": 0.75,
        "color": "#666666",
        "weight": 0.4,
    }


def map_html(fmap: folium.Map) -> str:
    """The full standalone HTML of a map (for payload measurements and exports)."""
    return str(fmap.get_root().render())


def bounds_of(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Extent of the non-empty geometries of ``frame`` (WGS84)."""
    geoms = frame.geometry[frame.geometry.notna()]
    if geoms.empty:
        return (-5.5, 41.0, 10.0, 51.5)  # mainland France
    minx, miny, maxx, maxy = shapely.total_bounds(geoms.to_numpy())
    return (float(minx), float(miny), float(maxx), float(maxy))


# --------------------------------------------------------------------------
# Layers of the three workflows
# --------------------------------------------------------------------------

#: Colours and labels of the four stages (and of an unknown status), from statuses.toml.
STATUS_COLORS = {key: colour for key, _label, colour in status_legend()}
STATUS_LABELS = {key: label for key, label, _colour in status_legend()}
WHITE_ZONE_COLORS = ["#4d4d4d", "#737373", "#969696", "#525252", "#636363", "#858585"]
OVERLAP_COLOR = "#d7191c"
TERRITORY_COLOR = "#2c7bb6"
CONTESTED_COLOR = "#d7191c"


def simplify_for_display(geoms: gpd.GeoSeries, *, tolerance_deg: float = 0.002) -> gpd.GeoSeries:
    """Simplified copies of geometries for maps (never used for computation)."""
    simplified = shapely.simplify(geoms.to_numpy(), tolerance_deg, preserve_topology=True)
    rounded = shapely.transform(simplified, lambda xy: np.round(xy, 5))
    return gpd.GeoSeries(rounded, index=geoms.index, crs=geoms.crs)


def _status_key(value: object) -> str | None:
    return value if isinstance(value, str) and value in STATUS_COLORS else None


def add_perimeters(
    fmap: folium.Map,
    perimeters: gpd.GeoDataFrame,
    *,
    name: str = "Périmètres",
    tolerance_deg: float = 0.002,
) -> None:
    """Dissolved perimeters coloured by status, with a tooltip (display-simplified)."""
    if perimeters.empty:
        return
    frame = perimeters[perimeters.geometry.notna()].copy()
    frame["geometry"] = simplify_for_display(frame.geometry, tolerance_deg=tolerance_deg)
    frame["fill"] = [STATUS_COLORS[_status_key(s)] for s in frame["status"]]
    frame["status_fr"] = [STATUS_LABELS[_status_key(s)] for s in frame["status"]]
    frame["population_fr"] = frame["population"].map(lambda v: _fr_number(float(v)))
    data = geojson_collection(
        frame, properties=["perimeter_id", "name", "status_fr", "population_fr", "fill"]
    )
    folium.GeoJson(
        data,
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.55,
            "color": "#333333",
            "weight": 1.2,
        },
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "status_fr", "population_fr"],
            aliases=["Périmètre", "Statut", "Habitants"],
            sticky=True,
        ),
    ).add_to(fmap)


def add_units_layer(
    fmap: folium.Map,
    units: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    fill_opacity: float = 0.6,
    weight: float = 0.6,
    dash: str | None = None,
    tooltip_fields: Sequence[str] = ("name", "code"),
    tooltip_aliases: Sequence[str] = ("Commune", "Code INSEE"),
    show: bool = True,
    fill_column: str | None = None,
) -> None:
    """A layer of unit polygons (display geometries) of one colour, or coloured by a column."""
    if units.empty:
        return
    props = list(dict.fromkeys([*tooltip_fields, *(["fill"] if fill_column else [])]))
    frame = units.copy()
    if fill_column:
        frame["fill"] = frame[fill_column]
    data = geojson_collection(frame, properties=props)

    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        fill = feature["properties"].get("fill", color) if fill_column else color
        out = {
            "fillColor": fill,
            "fillOpacity": fill_opacity,
            "color": color if not fill_column else "#222222",
            "weight": weight,
        }
        if dash:
            out["dashArray"] = dash
        return out

    folium.GeoJson(
        data,
        name=name,
        style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=list(tooltip_fields), aliases=list(tooltip_aliases), sticky=True
        ),
        show=show,
    ).add_to(fmap)


def add_outline_shapes(
    fmap: folium.Map,
    shapes: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    dash: str = "6 4",
    weight: float = 2.5,
    tooltip_fields: Sequence[str] = (),
    tooltip_aliases: Sequence[str] = (),
    show: bool = True,
) -> None:
    """Outlines only (proposals, a territory's border), dashed by default."""
    if shapes.empty:
        return
    frame = shapes[shapes.geometry.notna()].copy()
    frame["geometry"] = simplify_for_display(frame.geometry, tolerance_deg=0.001)
    data = geojson_collection(frame, properties=list(tooltip_fields))
    folium.GeoJson(
        data,
        name=name,
        style_function=lambda _f: {
            "color": color,
            "weight": weight,
            "dashArray": dash,
            "fillOpacity": 0.05,
            "fillColor": color,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=list(tooltip_fields), aliases=list(tooltip_aliases), sticky=True
        )
        if tooltip_fields
        else None,
        show=show,
    ).add_to(fmap)


def status_legend_entries() -> list[LegendEntry]:
    """Legend lines of the perimeter statuses."""
    return [LegendEntry(STATUS_COLORS[k], STATUS_LABELS[k]) for k in STATUS_COLORS]


def add_layer_control(fmap: folium.Map) -> None:
    """Leaflet's own layer switcher (no external script)."""
    folium.LayerControl(collapsed=True).add_to(fmap)
