"""Points of care map (Mon territoire): FINESS markers, French legend, escaped names."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coverage.loaders.finess import FINESS_COLUMNS, FinessTable
from ui import data, maps
from ui.profile.care_maps import care_points_figure


def test_care_points_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = gpd.GeoDataFrame(
        {"code": ["01053", "01451"], "name": ["Bourg", "Viriat"], "population": [41_365, 6_412]},
        geometry=[shapely.box(5.2, 46.19, 5.24, 46.22), shapely.box(5.24, 46.22, 5.28, 46.26)],
        crs=4326,
    )
    monkeypatch.setattr(data, "unit_display", lambda codes: frame[frame["code"].isin(codes)])
    points = pd.DataFrame(
        [
            [
                "1",
                "<script>x</script> PHARMACIE",
                "pharmacie",
                "Pharmacies d'officine",
                "01053",
                5.22,
                46.2,
            ],
            ["2", "CH", "hopital", "Établissements hospitaliers", "01451", 5.25, 46.23],
            [
                "3",
                "SANS POSITION",
                "msp",
                "Maisons de santé pluriprofessionnelles",
                "01053",
                float("nan"),
                float("nan"),
            ],
            ["4", "AILLEURS", "msp", "Maisons de santé pluriprofessionnelles", "13004", 4.6, 43.7],
        ],
        columns=FINESS_COLUMNS,
    )
    finess = FinessTable(
        points=points, report=pd.DataFrame(), source="FINESS 2026", rows_read=4, rows_used=4
    )
    html = maps.map_html(care_points_figure(["01053", "01451"], finess))
    assert "<script>x</script>" not in html
    assert "\\u0026lt;script\\u0026gt;x" in html  # escaped, then JSON-encoded
    assert "Points de soins (FINESS)" in html
    assert "pluriprofessionnelles" in html  # legend lists every category
    # Two points in the territory with coordinates (legend note, JSON-encoded or not).
    assert "2 \\u00e9tablissement(s)" in html or "2 établissement(s)" in html
    assert html.count("_pointToLayer(feature, latlng)") == 2  # circle markers, 2 categories
    assert "AILLEURS" not in html
    # The communes' tooltips give their inhabitants (French number, JSON-encoded).
    assert '"population_fr": "41\\u202f365"' in html and '"Habitants"' in html
