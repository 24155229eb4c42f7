"""Regional floors: the floor and its citation depend on the region (issue 10 item 10)."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from diagnosis.analysis.checks import diagnose_perimeters, minimum_citation, territory_summary
from diagnosis.analysis.membership import membership
from diagnosis.core.aci import size_rules
from diagnosis.core.model import perimeters_from_members
from diagnosis.core.referential import Referential
from diagnosis.paths import RULES_DIR
from tests.grid import ISLAND, cell, grid_referential

NATIONAL = "Seuil indicatif de 20 000 habitants, usage courant des ARS ; absent de l'ACI national"


def test_national_default_and_pays_de_la_loire_doctrine() -> None:
    rules = size_rules()
    floor, citation = rules.floor("93")  # Provence-Alpes-Côte d'Azur: no own doctrine
    assert floor == 20_000
    assert citation.startswith(NATIONAL)
    assert "Pays de la Loire" not in citation
    floor, citation = rules.floor("52")
    assert floor == 20_000
    assert "Pays de la Loire" in citation
    assert rules.floor(None) == (20_000, rules.minimum_source)


def test_every_regional_floor_has_a_source_and_an_address() -> None:
    with (RULES_DIR / "aci.toml").open("rb") as fh:
        by_region = tomllib.load(fh)["minimum_population"]["by_region"]
    assert by_region, "at least the Pays de la Loire doctrine"
    for code, entry in by_region.items():
        assert code.isdigit() or code in ("2A", "2B"), code
        assert entry["population"] > 0
        assert all(a.strip().startswith("http") for a in entry["address"].split(" ; "))
        assert entry["source"] and entry["date"]


def test_a_regional_floor_without_address_is_refused(tmp_path: Path) -> None:
    shutil.copy(RULES_DIR / "aci.toml", tmp_path / "aci.toml")
    text = (tmp_path / "aci.toml").read_text(encoding="utf-8")
    text = text.replace(
        '[minimum_population.by_region."52"]',
        '[minimum_population.by_region."11"]\npopulation = 30_000\nsource = "x"\n'
        'date = "2020"\n\n[minimum_population.by_region."52"]',
    )
    (tmp_path / "aci.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="address"):
        size_rules(str(tmp_path))


def test_a_floor_set_without_source_says_so() -> None:
    rules = replace(size_rules(), minimum_by_region={"84": 15_000})
    assert rules.floor("84")[0] == 15_000
    assert "source non précisée" in rules.floor("84")[1]
    assert "15\u202f000" in rules.floor("84")[1]


def test_diagnosis_cites_the_region_of_the_perimeter() -> None:
    ref = grid_referential()
    rules = replace(
        size_rules(),
        minimum_by_region={"84": 3_000},
        minimum_source_by_region={"84": "Doctrine de test (2020)"},
    )
    m = membership(perimeters_from_members({"A": [cell(0, 0), cell(0, 1)]}), ref)
    diag = diagnose_perimeters(m, ref, geometry=False, rules=rules)
    assert diag.notes["minimum_population"] == "Doctrine de test (2020)"
    assert diag.summary.loc[0, "minimum_population"] == 3_000
    assert bool(diag.summary.loc[0, "below_minimum"]) is True
    # The island (region 94) has no doctrine: national wording.
    island = territory_summary([ISLAND], ref, geometry=False, rules=rules)
    assert island.notes["minimum_population"] == rules.minimum_source
    assert island.summary.loc[0, "minimum_population"] == 20_000
    # Perimeters in both regions: each region's source is named.
    both = perimeters_from_members({"A": [cell(0, 0)], "I": [ISLAND]})
    diag = diagnose_perimeters(membership(both, ref), ref, geometry=False, rules=rules)
    note = diag.notes["minimum_population"]
    assert note.startswith("Auvergne-Rhône-Alpes : Doctrine de test (2020)")
    assert note.endswith(f"autres régions : {rules.minimum_source}")


def test_default_rules_cite_the_national_wording_on_the_grid() -> None:
    ref = grid_referential()
    diag = territory_summary([cell(0, 0)], ref, geometry=False)
    assert diag.notes["minimum_population"] == size_rules().minimum_source
    assert minimum_citation([], ref) == size_rules().minimum_source


@pytest.mark.referential
def test_real_territories_cite_their_region(real_referential: Referential) -> None:
    nantes = territory_summary(["44109"], real_referential, geometry=False)
    assert "Pays de la Loire" in nantes.notes["minimum_population"]
    arles = territory_summary(["13004"], real_referential, geometry=False)
    assert arles.notes["minimum_population"].startswith(NATIONAL)
