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
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import shapely

from diagnosis.core.statuses import status_legend
from diagnosis.paths import STATIC_VENDOR_DIR
from ui import fmt
from ui import map_controls as controls
from ui.map_controls import HATCH_ID
from ui.safe import html_text

#: URL of Streamlit's static file serving (``server.enableStaticServing``).
STATIC_URL = "/app/static/vendor/leaflet"
LEAFLET_JS = f"{STATIC_URL}/leaflet.js"
LEAFLET_CSS = f"{STATIC_URL}/leaflet.css"


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
        control_scale=False,
        zoom_control=False,
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
    controls.FrenchZoom().add_to(fmap)
    controls.FrenchControls().add_to(fmap)
    controls.MetricScale().add_to(fmap)
    # A clicked shape keeps the browser's focus ring: a black rectangle around the commune.
    fmap.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element("<style>path.leaflet-interactive:focus { outline: none; }</style>")
    )
    controls.FitBounds([[miny, minx], [maxy, maxx]]).add_to(fmap)
    return fmap


def geojson_collection(
    frame: gpd.GeoDataFrame,
    *,
    properties: Sequence[str],
) -> dict[str, Any]:
    """A compact GeoJSON FeatureCollection of ``frame`` (WGS84) with chosen properties.

    Rows without geometry are left out (they have no shape to draw). Numeric
    properties are converted to plain Python numbers; missing values to None;
    text is HTML-escaped, because Leaflet tooltips insert it as HTML.
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
        elif isinstance(value, str):
            out[key] = html_text(value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class LegendEntry:
    """One line of a map legend."""

    color: str
    label: str


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
    controls.Legend(markup).add_to(fmap)


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
# Map layers: one typed spec, one builder shared by the three workflows
# --------------------------------------------------------------------------

#: Colours and labels of the four stages (and of an unknown status), from statuses.toml.
STATUS_COLORS = {key: colour for key, _label, colour in status_legend()}
STATUS_LABELS = {key: label for key, label, _colour in status_legend()}
WHITE_ZONE_COLORS = ["#4d4d4d", "#737373", "#969696", "#525252", "#636363", "#858585"]
OVERLAP_COLOR = "#d7191c"
TERRITORY_COLOR = "#2c7bb6"
CONTESTED_COLOR = controls.HATCH_STRIPE
PROPOSAL_COLOR = "#7b3294"
#: The hatching as a CSS background, for a legend swatch.
HATCH_SWATCH = f"repeating-linear-gradient(45deg,{CONTESTED_COLOR} 0 2px,#ffffff 2px 5px)"
#: Tooltip of a commune polygon: its name, code and inhabitants (French number).
COMMUNE_TOOLTIP = (("name", "Commune"), ("code", "Code INSEE"), ("population_fr", "Habitants"))

LayerStyle = Literal["fill", "outline"]


@dataclass(frozen=True)
class MapLayer:
    """One layer of a map: its features, how they are drawn and what the tooltip shows.

    Attributes
    ----------
    name
        French name shown in the layer switcher (escaped when drawn).
    frame
        Features in WGS84 with the columns named by ``tooltip`` and ``fill_column``.
    color
        Stroke colour, and fill colour unless ``fill_column`` is given.
    style
        ``fill`` (filled polygons) or ``outline`` (dashed border, light fill).
    fill_column
        Column holding each feature's fill colour.
    tooltip
        ``(column, French alias)`` pairs shown on hover; values are escaped.
    properties
        Other columns carried by each feature (e.g. an identifier returned on click).
    simplify_deg
        Display simplification tolerance in degrees (``None``: drawn as given).
    show
        Whether the layer is on when the map opens.
    control
        Whether the layer appears in the layer switcher.
    interactive
        Whether the layer reacts to the mouse (background outlines do not).
    hatch
        Fill with red diagonal stripes over what lies beneath (e.g. communes
        already claimed by a CPTS), instead of a plain colour.
    """

    name: str
    frame: gpd.GeoDataFrame
    color: str
    style: LayerStyle = "fill"
    fill_column: str | None = None
    fill_opacity: float = 0.6
    weight: float = 0.6
    dash: str | None = None
    tooltip: tuple[tuple[str, str], ...] = ()
    properties: tuple[str, ...] = ()
    simplify_deg: float | None = None
    show: bool = True
    control: bool = True
    interactive: bool = True
    hatch: bool = False


@dataclass(frozen=True)
class MapSpec:
    """Everything a map shows: extent, layers in drawing order and legend."""

    bounds: tuple[float, float, float, float]
    layers: tuple[MapLayer, ...]
    legend_title: str = ""
    legend: tuple[LegendEntry, ...] = ()
    legend_note: str = ""
    layer_control: bool = True


def _style_function(layer: MapLayer) -> Any:
    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        if layer.style == "outline":
            out: dict[str, Any] = {
                "color": layer.color,
                "weight": layer.weight,
                "dashArray": layer.dash or "6 4",
                "fillOpacity": 0.05,
                "fillColor": layer.color,
            }
        else:
            fill = (
                feature["properties"].get("fill", layer.color) if layer.fill_column else layer.color
            )
            out = {
                "fillColor": fill,
                "fillOpacity": layer.fill_opacity,
                "color": "#222222" if layer.fill_column else layer.color,
                "weight": layer.weight,
            }
            if not layer.interactive:
                out = {"color": layer.color, "weight": layer.weight, "fill": False}
            if layer.hatch:
                out.update(fillColor=f"url(#{HATCH_ID})", fillOpacity=1.0, color=CONTESTED_COLOR)
            if layer.dash:
                out["dashArray"] = layer.dash
        return out

    return style


def with_population_fr(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with ``population_fr``, its inhabitants as a French number (for tooltips)."""
    return frame.assign(population_fr=[fmt.number(v) for v in frame["population"]])


def add_layer(fmap: folium.Map | folium.FeatureGroup, layer: MapLayer) -> bool:
    """Draw ``layer`` on ``fmap`` (a map or a feature group); an empty layer is left out.

    Returns whether something was drawn.
    """
    frame = layer.frame
    if frame is None or frame.empty:
        return False
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        return False
    if layer.simplify_deg:
        frame = frame.assign(
            geometry=simplify_for_display(frame.geometry, tolerance_deg=layer.simplify_deg)
        )
    fields = [f for f, _ in layer.tooltip]
    if layer.fill_column:
        frame = frame.assign(fill=frame[layer.fill_column])
    props = list(
        dict.fromkeys([*fields, *layer.properties, *(["fill"] if layer.fill_column else [])])
    )
    data = geojson_collection(frame, properties=props)
    if layer.hatch:
        controls.HatchPattern().add_to(fmap)
    tooltip = (
        folium.GeoJsonTooltip(
            fields=fields, aliases=[a for _, a in layer.tooltip], sticky=True, localize=False
        )
        if fields and layer.interactive
        else None
    )
    folium.GeoJson(
        data,
        name=html_text(layer.name),
        style_function=_style_function(layer),
        highlight_function=(lambda _f: {"weight": 2.5, "color": "#000000"})
        if layer.interactive and layer.style == "fill"
        else None,
        tooltip=tooltip,
        show=layer.show,
        control=layer.control,
        interactive=layer.interactive,
    ).add_to(fmap)
    return True


def build_map(spec: MapSpec, *, tiles: bool = False, height_px: int = 560) -> folium.Map:
    """The folium map of ``spec`` (pure function: no Streamlit, no network).

    Every string that may come from a user (layer names, tooltip values, legend
    labels) is escaped here, at the one place where it becomes HTML.
    """
    fmap = base_map(spec.bounds, tiles=tiles, height_px=height_px)
    drawn = [add_layer(fmap, layer) for layer in spec.layers]
    if spec.legend:
        add_legend(fmap, spec.legend_title, spec.legend, note=spec.legend_note)
    if spec.layer_control and any(
        d and layer.control for d, layer in zip(drawn, spec.layers, strict=True)
    ):
        folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def simplify_for_display(geoms: gpd.GeoSeries, *, tolerance_deg: float = 0.002) -> gpd.GeoSeries:
    """Simplified copies of geometries for maps (never used for computation)."""
    simplified = shapely.simplify(geoms.to_numpy(), tolerance_deg, preserve_topology=True)
    rounded = shapely.transform(simplified, lambda xy: np.round(xy, 5))
    return gpd.GeoSeries(rounded, index=geoms.index, crs=geoms.crs)


def status_key(value: object) -> str | None:
    """The stage key of ``value``, or None when it is not a known stage."""
    return value if isinstance(value, str) and value in STATUS_COLORS else None


def status_legend_entries(*, statuses: Sequence[object] | None = None) -> list[LegendEntry]:
    """Legend lines of the perimeter statuses (only those present, when ``statuses`` is given)."""
    keys = list(STATUS_COLORS)
    if statuses is not None:
        present = {status_key(s) for s in statuses}
        keys = [k for k in keys if k in present]
    return [LegendEntry(STATUS_COLORS[k], STATUS_LABELS[k]) for k in keys]


def outline_layer(outlines: gpd.GeoDataFrame, *, name: str = "Départements") -> MapLayer:
    """Department or region outlines as a non-interactive background."""
    return MapLayer(
        name=name,
        frame=outlines,
        color="#555555",
        weight=1.2,
        control=False,
        interactive=False,
    )


def units_layer(
    units: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    fill_opacity: float = 0.6,
    weight: float = 0.6,
    tooltip: tuple[tuple[str, str], ...] = (("name", "Commune"), ("code", "Code INSEE")),
    fill_column: str | None = None,
    show: bool = True,
) -> MapLayer:
    """A layer of commune polygons of one colour (or coloured by ``fill_column``)."""
    return MapLayer(
        name=name,
        frame=units,
        color=color,
        fill_opacity=fill_opacity,
        weight=weight,
        tooltip=tooltip,
        fill_column=fill_column,
        show=show,
    )
