"""The coverage map of "Couverture": a registry of layers, built without Streamlit.

Each layer is one :class:`CoverageLayerSpec` of :data:`COVERAGE_LAYERS`, in
drawing order: how its display data is made from the diagnosis (``frame``),
how it is drawn (``layer``) and what it adds to the legend (``legend``).
Adding a layer to the coverage map is adding one spec. :func:`coverage_layers`
computes the display data (kept in the session: panning never recomputes
it); :func:`coverage_map` turns it into a :class:`ui.maps.MapSpec`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import geopandas as gpd
import pandas as pd

from coverage import AplData
from diagnosis import Diagnosis, Referential
from diagnosis.analysis.white_zones import cluster_geometries
from diagnosis.core.referential import load_display_geometries, load_outlines
from diagnosis.outputs.labels import PROPOSAL_KIND_LABELS
from ui import care_panels, fmt, maps

__all__ = ["COVERAGE_LAYERS", "CoverageLayerSpec", "MapView", "coverage_layers", "coverage_map"]


@dataclass(frozen=True)
class MapView:
    """What every layer of the coverage map depends on besides the diagnosis.

    Attributes
    ----------
    national
        Whether the map shows all of France (coarser shapes, no commune layer).
    tolerance_deg
        Display simplification of the shapes, in degrees.
    apl
        The DREES APL to general practitioners, when its layer is wanted.
    """

    national: bool
    tolerance_deg: float
    apl: AplData | None = None


#: A layer's display data, or None when it has nothing to show.
Frame: TypeAlias = gpd.GeoDataFrame | None


@dataclass(frozen=True)
class CoverageLayerSpec:
    """One layer of the coverage map.

    Attributes
    ----------
    key
        Stable id of the layer: its display data is ``coverage_layers(...)[key]``.
    frame
        Display data of the layer (WGS84), or None when it has nothing to show.
    layer
        How the data is drawn (called only when ``frame`` gave data).
    legend
        Legend lines of the layer (given its data, possibly None).
    legend_rank
        Position of its lines in the legend (the legend reads perimeters first).
    """

    key: str
    frame: Callable[[Diagnosis, MapView], Frame]
    layer: Callable[[gpd.GeoDataFrame, MapView], maps.MapLayer]
    legend: Callable[[Frame, MapView], Sequence[maps.LegendEntry]]
    legend_rank: int


def _units_frame(ref: Referential, codes: list[str], **columns: Any) -> gpd.GeoDataFrame:
    """Communes with their code, name, display geometry and the ``columns`` given."""
    return gpd.GeoDataFrame(
        {
            "code": pd.Series(codes, dtype=object),
            "name": ref.units["name"].reindex(codes).to_numpy(),
            **columns,
        },
        geometry=load_display_geometries(codes).to_numpy(),
        crs=4326,
    )


# --------------------------------------------------------------------------
# Each layer: its data, its drawing, its legend
# --------------------------------------------------------------------------


def _apl_frame(diag: Diagnosis, view: MapView) -> Frame:
    # At national scale the layer would hold tens of thousands of communes: left out.
    if view.apl is None or view.national:
        return None
    return _units_frame(diag.referential, diag.referential.units.index.tolist())


def _apl_layer(frame: gpd.GeoDataFrame, view: MapView) -> maps.MapLayer:
    assert view.apl is not None
    return care_panels.apl_layer(frame, view.apl, simplify_deg=view.tolerance_deg)


def _apl_legend(frame: Frame, view: MapView) -> Sequence[maps.LegendEntry]:
    return care_panels.apl_legend_entries(view.apl) if frame is not None and view.apl else ()


def _white_frame(diag: Diagnosis, view: MapView) -> Frame:
    """The white-zone groups, one shape each (simplified for display), grey by group."""
    clusters = diag.white.clusters
    white = gpd.GeoDataFrame(
        {
            "cluster_id": clusters["cluster_id"].astype(str),
            "population_fr": clusters["population"].map(fmt.number),
            "n_units": clusters["n_units"],
            "fill": [
                maps.WHITE_ZONE_COLORS[i % len(maps.WHITE_ZONE_COLORS)]
                for i in range(len(clusters))
            ],
        },
        geometry=list(cluster_geometries(diag.membership, diag.referential, clusters)),
        crs=4326,
    )
    white["geometry"] = maps.simplify_for_display(white.geometry, tolerance_deg=view.tolerance_deg)
    return white


def _white_layer(frame: gpd.GeoDataFrame, _view: MapView) -> maps.MapLayer:
    return maps.units_layer(
        frame,
        name="Zones blanches",
        color="#333333",
        fill_column="fill",
        fill_opacity=0.55,
        tooltip=(
            ("cluster_id", "Groupe de zone blanche"),
            ("n_units", "Communes"),
            ("population_fr", "Habitants"),
        ),
    )


def _white_legend(_frame: Frame, _view: MapView) -> Sequence[maps.LegendEntry]:
    return (maps.LegendEntry(maps.WHITE_ZONE_COLORS[0], "Zone blanche (par groupe)"),)


def _perimeters_frame(diag: Diagnosis, _view: MapView) -> Frame:
    """The perimeters' shapes with their stage (French label, colour) and population."""
    perimeters = diag.perimeter_geometries()  # whole perimeters (issue 17)
    summary = diag.perimeters.summary
    per = perimeters.merge(summary[["perimeter_id", "population"]], on="perimeter_id", how="left")
    return per.assign(
        status_fr=[maps.STATUS_LABELS[maps.status_key(s)] for s in per["status"]],
        population_fr=per["population"].map(fmt.number),
        fill=[maps.STATUS_COLORS[maps.status_key(s)] for s in per["status"]],
    )


def _perimeters_layer(frame: gpd.GeoDataFrame, view: MapView) -> maps.MapLayer:
    return maps.MapLayer(
        name="Périmètres",
        frame=frame,
        color="#333333",
        fill_column="fill",
        fill_opacity=0.55,
        weight=1.2,
        simplify_deg=view.tolerance_deg,
        properties=("perimeter_id",),
        tooltip=(("name", "Périmètre"), ("status_fr", "Stade"), ("population_fr", "Habitants")),
    )


def _perimeters_legend(frame: Frame, _view: MapView) -> Sequence[maps.LegendEntry]:
    statuses = list(frame["status"]) if frame is not None else []
    return maps.status_legend_entries(statuses=statuses)


def _overlaps_frame(diag: Diagnosis, _view: MapView) -> Frame:
    return _units_frame(
        diag.referential,
        diag.overlaps["code"].tolist(),
        perimeters=diag.overlaps["perimeters"].to_numpy(),
    )


def _overlaps_layer(frame: gpd.GeoDataFrame, _view: MapView) -> maps.MapLayer:
    return maps.units_layer(
        frame,
        name="Chevauchements",
        color=maps.OVERLAP_COLOR,
        fill_opacity=0.75,
        weight=1.5,
        tooltip=(("name", "Commune"), ("code", "Code INSEE"), ("perimeters", "Revendiquée par")),
    )


def _overlaps_legend(_frame: Frame, _view: MapView) -> Sequence[maps.LegendEntry]:
    return (maps.LegendEntry(maps.OVERLAP_COLOR, "Commune en chevauchement"),)


def _proposals_frame(diag: Diagnosis, _view: MapView) -> Frame:
    """The proposals for the white zones, or None when there are none."""
    if diag.proposals is None or not len(diag.proposals.proposals):
        return None
    table = diag.proposals.proposals
    return gpd.GeoDataFrame(
        {
            "proposal_id": table["proposal_id"],
            "kind_fr": table["kind"].map(PROPOSAL_KIND_LABELS),
            "population_fr": table["population"].map(fmt.number),
        },
        geometry=list(diag.proposals.geometries),
        crs=4326,
    )


def _proposals_layer(frame: gpd.GeoDataFrame, _view: MapView) -> maps.MapLayer:
    return maps.MapLayer(
        name="Propositions pour les zones blanches",
        frame=frame,
        color=maps.PROPOSAL_COLOR,
        style="outline",
        weight=2.5,
        simplify_deg=0.001,
        show=False,
        tooltip=(
            ("proposal_id", "Proposition"),
            ("kind_fr", "Type"),
            ("population_fr", "Habitants"),
        ),
    )


def _proposals_legend(_frame: Frame, _view: MapView) -> Sequence[maps.LegendEntry]:
    return (maps.LegendEntry(maps.PROPOSAL_COLOR, "Proposition (contour, calque à activer)"),)


#: The layers of the coverage map, in drawing order (over the department or region outlines).
COVERAGE_LAYERS: tuple[CoverageLayerSpec, ...] = (
    CoverageLayerSpec("apl", _apl_frame, _apl_layer, _apl_legend, legend_rank=5),
    CoverageLayerSpec("white", _white_frame, _white_layer, _white_legend, legend_rank=3),
    CoverageLayerSpec(
        "perimeters", _perimeters_frame, _perimeters_layer, _perimeters_legend, legend_rank=1
    ),
    CoverageLayerSpec("overlaps", _overlaps_frame, _overlaps_layer, _overlaps_legend, 2),
    CoverageLayerSpec("proposals", _proposals_frame, _proposals_layer, _proposals_legend, 4),
)


def coverage_layers(diag: Diagnosis, *, apl: AplData | None = None) -> dict[str, Any]:
    """Display data of the coverage map: each layer's data by key, the outlines, the bounds.

    Pure function of the diagnosis (no Streamlit call): geometries are dissolved
    from the referential and simplified for display only. With ``apl`` (the
    DREES APL to GPs), a layer of communes coloured by APL is added: every
    commune of a region or department (at national scale the layer would hold
    tens of thousands of communes: it is left out, and the page says so).
    """
    ref = diag.referential
    national = ref.scope.get("level") == "france"
    # Coarser display at national scale keeps the map light (about 1 km instead of 200 m).
    view = MapView(national=national, tolerance_deg=0.01 if national else 0.002, apl=apl)
    units = ref.units
    outline_level = "region" if national else "department"
    return {
        **{spec.key: spec.frame(diag, view) for spec in COVERAGE_LAYERS},
        "view": view,
        "outlines": load_outlines(outline_level, sorted(units[outline_level].astype(str).unique())),
        "bounds": maps.bounds_of(gpd.GeoDataFrame(geometry=units.geometry.dropna(), crs=4326)),
    }


def coverage_map(layers: dict[str, Any]) -> maps.MapSpec:
    """The coverage map's layers and legend (pure function of :func:`coverage_layers`)."""
    view: MapView = layers["view"]
    drawn = [maps.outline_layer(layers["outlines"])]
    drawn += [
        spec.layer(layers[spec.key], view)
        for spec in COVERAGE_LAYERS
        if layers.get(spec.key) is not None
    ]
    legend = [
        entry
        for spec in sorted(COVERAGE_LAYERS, key=lambda s: s.legend_rank)
        for entry in spec.legend(layers.get(spec.key), view)
    ]
    return maps.MapSpec(
        bounds=layers["bounds"],
        layers=tuple(drawn),
        legend_title="Couverture CPTS",
        legend=tuple(legend),
    )
