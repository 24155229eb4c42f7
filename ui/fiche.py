"""The printable "fiche diagnostic" of a territory: map, key figures, tables, sources (HTML).

The map is drawn as inline SVG from the display geometries, so the fiche
prints without internet and without a browser-side map library.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["FICHE_CSS", "KEEP_TOGETHER_ROWS", "fiche_html", "svg_map"]


def svg_map(
    layers: Sequence[tuple[gpd.GeoDataFrame, str, str]],
    *,
    width: int = 640,
    height: int = 480,
) -> str:
    """An SVG map of polygon layers (fill colour, stroke colour), drawn in order.

    Coordinates are projected with an equirectangular projection scaled by
    the cosine of the mean latitude (display only).
    """
    geoms = [
        g for frame, _, _ in layers for g in frame.geometry if g is not None and not g.is_empty
    ]
    if not geoms:
        return f'<svg width="{width}" height="{height}"></svg>'
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(geoms, dtype=object))
    k = np.cos(np.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * k, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    scale = min((width - 20) / span_x, (height - 20) / span_y)

    def path(geom: shapely.Geometry) -> str:
        parts = []
        for poly in shapely.get_parts(geom):
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                xs, ys = np.asarray(ring.coords).T
                px = 10 + (xs - minx) * k * scale
                py = 10 + (maxy - ys) * scale
                parts.append(
                    "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True)) + "Z"
                )
        return "".join(parts)

    body = []
    for frame, fill, stroke in layers:
        for geom in frame.geometry:
            if geom is None or geom.is_empty:
                continue
            body.append(
                f'<path d="{path(geom)}" fill="{fill}" stroke="{stroke}" stroke-width="0.6" '
                'fill-rule="evenodd"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">' + "".join(body) + "</svg>"
    )


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


#: A table of at most this many rows is kept on one page with its heading (print and PDF);
#: a longer one flows over pages, its header row repeated on each.
KEEP_TOGETHER_ROWS = 25

#: The fiche's style on screen and in print. The page rules (A4 portrait, the title and
#: "page 2 sur 3" in the footer) are honoured by WeasyPrint (``ui.pdf``) and by recent
#: browsers' "Imprimer / enregistrer en PDF"; ``string-set`` carries the title of the
#: ``h1`` into the footer (WeasyPrint only: a browser leaves that corner empty).
FICHE_CSS = """
@page {
  size: A4 portrait;
  margin: 14mm 14mm 18mm 14mm;
  @bottom-left {
    content: string(fiche-title); font-family: "DejaVu Sans", Arial, sans-serif;
    font-size: 7.5pt; color: #555; width: 75%; vertical-align: top; padding-top: 3mm;
  }
  @bottom-right {
    content: "page " counter(page) " sur " counter(pages);
    font-family: "DejaVu Sans", Arial, sans-serif; font-size: 7.5pt; color: #555;
    vertical-align: top; padding-top: 3mm;
  }
}
/* Browsers print the legend's colour swatches (WeasyPrint always does; it would warn
   about the unprefixed property, which browsers also read under this name). */
html { -webkit-print-color-adjust: exact; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #222; }
h1 { font-size: 17pt; margin: 0 0 4px 0; string-set: fiche-title content(); }
h2 { font-size: 12.5pt; margin: 16px 0 6px; break-after: avoid; page-break-after: avoid; }
.sub { color: #555; margin-bottom: 10px; }
.kfs { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0;
       break-inside: avoid; page-break-inside: avoid; }
.kf { border: 1px solid #bbb; border-radius: 4px; padding: 6px 10px; min-width: 130px; }
.kf .v { font-size: 13pt; font-weight: bold; } .kf .l { font-size: 9pt; color: #555; }
.block { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; margin-bottom: 6px; }
thead { display: table-header-group; }
th, td { border: 1px solid #ccc; padding: 3px 5px; text-align: left; font-size: 9pt; }
th { background: #f0f0f0; }
tr { break-inside: avoid; page-break-inside: avoid; }
.map { text-align: center; margin: 8px 0; break-inside: avoid; page-break-inside: avoid; }
.map svg { max-width: 100%; height: auto; }
.legend { font-size: 9pt; margin-top: 4px; } .lg { margin: 0 10px; white-space: nowrap; }
.sw { display: inline-block; width: 14px; height: 10px; border: 1px solid #555; margin-right: 4px; }
.sources { font-size: 8.5pt; color: #444; }
ul.sources li, .notes li { break-inside: avoid; page-break-inside: avoid; }
@media print { .noprint { display: none; } }
"""


def _section(name: str, frame: pd.DataFrame) -> str:
    """A heading and its table; a short table is kept on one page with its heading."""
    block = ' class="block"' if len(frame) <= KEEP_TOGETHER_ROWS else ""
    return f"<section{block}><h2>{html.escape(name)}</h2>{_table(frame)}</section>"


def _map_block(map_svg: str, legend_items: str) -> str:
    """The map and its legend; nothing when the fiche has no map."""
    if not map_svg:
        return ""
    return f'<div class="map">{map_svg}<div class="legend">{legend_items}</div></div>'


def fiche_html(
    *,
    title: str,
    key_figures: Mapping[str, str],
    map_svg: str,
    tables: Mapping[str, pd.DataFrame],
    sources: Sequence[str],
    notes: Sequence[str] = (),
    legend: Sequence[tuple[str, str]] = (),
    subtitle: str = "Fiche diagnostic",
) -> str:
    """A print-ready HTML page (A4) for a letter of intent or a committee file.

    Every text given (title, figures, table cells, sources, notes, legend) is
    escaped: names from users' files appear as text, never as markup.
    ``legend`` lists (colour, label) pairs drawn under the map; ``subtitle``
    names the kind of fiche ("Fiche diagnostic", "Fiche d'arbitrage").
    """
    figures = "".join(
        f'<div class="kf"><div class="v">{html.escape(v)}</div><div class="l">{html.escape(k)}</div></div>'
        for k, v in key_figures.items()
    )
    sections = "".join(_section(name, frame) for name, frame in tables.items())
    source_items = "".join(f"<li>{html.escape(s)}</li>" for s in sources)
    note_items = "".join(f"<li>{html.escape(n)}</li>" for n in notes if n)
    legend_items = "".join(
        f'<span class="lg"><span class="sw" style="background:{html.escape(color)}"></span>'
        f"{html.escape(label)}</span>"
        for color, label in legend
    )
    today = dt.date.today().strftime("%d/%m/%Y")
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
{FICHE_CSS}
</style></head><body>
<p class="noprint"><button onclick="window.print()">Imprimer / enregistrer en PDF</button></p>
<h1>{html.escape(title)}</h1>
<div class="sub">{html.escape(subtitle)} Atlas CPTS, édition du {today}</div>
<div class="kfs">{figures}</div>
{_map_block(map_svg, legend_items)}
{sections}
<h2>Remarques</h2><ul class="notes">{note_items or "<li>Aucune.</li>"}</ul>
<h2>Sources et millésimes</h2><ul class="sources">{source_items}</ul>
</body></html>"""
