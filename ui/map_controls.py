"""The scripts Atlas CPTS adds to its folium maps: French controls, the fit, legend, hatching.

Each is a small ``MacroElement`` whose script runs with the map's own (no
script from a CDN); :mod:`ui.maps` adds them.
"""

from __future__ import annotations

from branca.element import MacroElement
from jinja2 import Template

#: Padding of every map's fit to its bounds, in pixels: room on the right for the legend.
FIT_TOP_LEFT = (10, 10)
FIT_BOTTOM_RIGHT = (200, 10)
#: Id of the SVG pattern of hatched shapes (see :class:`HatchPattern`).
HATCH_ID = "atlas-hatch"
#: Colour of the hatching's stripes (the colour of contested communes).
HATCH_STRIPE = "#d7191c"


#: Titles of Leaflet's zoom buttons (its own are English: "Zoom in", "Zoom out").
ZOOM_TITLES = {"zoomInTitle": "Zoom avant", "zoomOutTitle": "Zoom arrière"}


class FrenchZoom(MacroElement):
    """Leaflet's zoom buttons with French titles (folium's own control is switched off)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.zoom({{ this.options|tojson }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FrenchZoom"
        self.options = {"position": "topleft", **ZOOM_TITLES}


#: Leaflet's own English titles, in French: its attribution link, the layer switcher.
LEAFLET_TITLE = "Bibliothèque JavaScript de cartes interactives"
LAYERS_TITLE = "Calques"


class FrenchControls(MacroElement):
    """French titles of Leaflet's attribution link and layer switcher (English in Leaflet).

    The layer switcher is added after this script (last of the map's
    elements): its title is set once the map's script has run.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, leaflet, layers) {
            if (map.attributionControl) {
                map.attributionControl.setPrefix(
                    '<a href="https://leafletjs.com" title="' + leaflet + '">Leaflet</a>'
                );
            }
            setTimeout(function () {
                map.getContainer().querySelectorAll(".leaflet-control-layers-toggle")
                    .forEach(function (a) {
                        a.title = layers;
                        a.setAttribute("aria-label", layers);
                    });
            }, 0);
        })({{ this._parent.get_name() }}, {{ this.leaflet|tojson }}, {{ this.layers|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FrenchControls"
        self.leaflet = LEAFLET_TITLE
        self.layers = LAYERS_TITLE


class MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres only (folium's own also shows miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class FitBounds(MacroElement):
    """Fit the map to its bounds, now if it has a size, else the first time it gets one.

    A map drawn while hidden (in a closed expander) has no size. Leaflet's
    ``fitBounds`` then computes a zoom from a negative room (the size minus the
    legend's padding) and throws "Invalid LatLng object: (NaN, NaN)", which
    stopped the map's script before its layers and legend were added: the APL
    map of a territory opened grey and empty. So the fit waits for a size, and
    drops the padding when the map is too small for it; a ResizeObserver keeps
    Leaflet's size up to date and fits the map again at each new size until the
    person moves it (a fit during the expander's opening saw a smaller map).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds, padding) {
            var fitted = false;
            function fit() {
                var size = map.getSize();
                if (fitted || size.x <= 0 || size.y <= 0) { return; }
                var tl = padding.paddingTopLeft, br = padding.paddingBottomRight;
                // Room on the right for the legend, unless the map is too small for it.
                var roomy = size.x > 2 * (tl[0] + br[0]) && size.y > 2 * (tl[1] + br[1]);
                map.fitBounds(bounds, roomy ? padding : {});
                fitted = true;
            }
            fit();
            if (typeof ResizeObserver === "undefined") { return; }
            // Until the person moves the map, a new size fits it again: a map fitted
            // while its expander was still opening (a small size) ends up fitted.
            var touched = false;
            ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (name) {
                map.getContainer().addEventListener(name, function () { touched = true; });
            });
            new ResizeObserver(function () {
                map.invalidateSize();
                if (!touched) { fitted = false; }
                fit();
            }).observe(map.getContainer());
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }}, {{ this.padding|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds = bounds
        self.padding = {"paddingTopLeft": FIT_TOP_LEFT, "paddingBottomRight": FIT_BOTTOM_RIGHT}


class Legend(MacroElement):
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


class HatchPattern(MacroElement):
    """The SVG pattern of hatched shapes, defined once in the map's document.

    Leaflet writes a path's ``fillColor`` into its ``fill`` attribute, so a
    shape styled ``fillColor: "url(#atlas-hatch)"`` is filled with this
    pattern. It is a script (not header HTML), so that it also reaches a layer
    sent alone to the clickable map (:mod:`ui.clickmap`).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (id, stripe) {
            if (document.getElementById(id)) { return; }
            var ns = "http://www.w3.org/2000/svg";
            var svg = document.createElementNS(ns, "svg");
            svg.setAttribute("width", "0");
            svg.setAttribute("height", "0");
            svg.style.position = "absolute";
            svg.innerHTML = '<defs><pattern id="' + id + '" patternUnits="userSpaceOnUse"'
                + ' width="7" height="7" patternTransform="rotate(45)">'
                + '<rect width="7" height="7" fill="#ffffff" fill-opacity="0.15"></rect>'
                + '<line x1="0" y1="0" x2="0" y2="7" stroke="' + stripe + '"'
                + ' stroke-width="3"></line></pattern></defs>';
            document.body.appendChild(svg);
        })({{ this.pattern_id|tojson }}, {{ this.stripe|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "HatchPattern"
        self.pattern_id = HATCH_ID
        self.stripe = HATCH_STRIPE
