"""Column roles found by their names, including the status columns of real listings."""

from __future__ import annotations

import pytest

from diagnosis.core.referential import Referential
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.io.columns import find_columns


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("stade_source", "status"),
        ("Statut du projet", "status"),
        ("Phase", "status"),
        ("État d'avancement", "status"),
        ("statutCPTS", "status"),
        ("Étape", "status"),
    ],
)
def test_status_columns_of_real_listings(header: str, role: str) -> None:
    found = find_columns(["code_insee", "nom_cpts", header])
    assert found.get(role) == header


@pytest.mark.parametrize("header", ["date de passage au stade", "Établissement", "Etatique"])
def test_headers_that_are_not_the_status(header: str) -> None:
    assert "status" not in find_columns(["code_insee", "nom_cpts", header])


@pytest.mark.referential
def test_ile_de_france_like_listing(real_referential: Referential) -> None:
    """A listing with `stade_source` and real wordings: every stage found, dates kept."""
    text = (
        "code_insee;nom_cpts;stade_source\n"
        "75101;CPTS Paris Centre;en activité (avril 2025)\n"
        "92012;CPTS Boulogne;en fonctionnement (15/09/2021)\n"
        "93066;CPTS Saint-Denis;lettre d'intention déposée (15/09/2021)\n"
        "94028;CPTS Créteil;début de formalisation\n"
        "95127;CPTS Cergy;déclaration d'intérêt sans formalisation\n"
    )
    imported = import_perimeters(
        text.encode("utf-8"), filename="idf.csv", referential=real_referential, region="11"
    )
    per = imported.perimeters.set_index("name")
    assert imported.source["columns"]["status"] == "stade_source"
    assert per.loc["CPTS Paris Centre", "status"] == "aci_signe"
    assert per.loc["CPTS Boulogne", "status"] == "aci_signe"
    assert per.loc["CPTS Saint-Denis", "status"] == "emergence"
    assert per.loc["CPTS Créteil", "status"] == "emergence"
    assert per.loc["CPTS Cergy", "status"] == "emergence"
    assert str(per.loc["CPTS Paris Centre", "date"]) == "avril 2025"
    assert not (imported.report["kind"] == "unknown_status").any()
