"""Perimeter import: helpers, round trip (hypothesis), options and invariants."""

from __future__ import annotations

import io
import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnosis.core.communes import names_match
from diagnosis.core.model import PerimeterImport, perimeters_from_members
from diagnosis.core.referential import Referential
from diagnosis.core.statuses import STATUS_KEYS, status_from_label
from diagnosis.core.textnorm import clean_code_token, label_key, name_key
from diagnosis.importer.perimeter_csv import export_perimeters_csv
from diagnosis.importer.perimeters import import_perimeters
from diagnosis.io.reading import (
    PerimeterFileError,
    decode_text,
    detect_separator,
    find_columns,
    split_list_cell,
)
from tests.paths import TESTS_DIR

# --------------------------------------------------------------------------
# Pure helpers (no referential needed)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "stage"),
    [
        ("ACI signé", "aci_signe"),
        ("contrat signé", "aci_signe"),
        ("Contrat ACI signé", "aci_signe"),
        ("projet de santé validé", "projet_sante"),
        ("Projet de santé", "projet_sante"),
        ("lettre d'intention validée", "lettre_intention"),
        ("Lettre d’intention validée", "lettre_intention"),  # typographic apostrophe
        ("LI validée", "lettre_intention"),
        ("en émergence", "emergence"),
        ("EMERGENCE", "emergence"),
        ("aci_signe", "aci_signe"),
        ("en réflexion", None),
        ("en projet", None),
        ("", None),
    ],
)
def test_status_labels(label: str, stage: str | None) -> None:
    assert status_from_label(label) == stage


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("01001", "01001"),
        (" 01001 ", "01001"),
        ("01 001", "01001"),
        ("'01001", "01001"),
        ('="01001"', "01001"),
        ("\u00a013004\u00a0", "13004"),
        (1001, "1001"),
        (1001.0, "1001"),
        ("1001.0", "1001"),
        ("2a004", "2A004"),
        ("2B 033", "2B033"),
        (float("nan"), ""),
        (None, ""),
    ],
)
def test_clean_code_token(raw: object, clean: str) -> None:
    assert clean_code_token(raw) == clean


def test_keys_ignore_case_accents_and_punctuation() -> None:
    assert label_key("Code_INSEE") == label_key("code insee") == label_key("CODE-Insée")
    assert name_key("Saint-Étienne-du-Grès") == name_key("st etienne du gres")
    assert name_key("Sainte-Marie") == name_key("Ste Marie")


@pytest.mark.parametrize(
    ("given_name", "expected", "match"),
    [
        ("Arles", "Arles", True),
        ("ARLES", "Arles", True),
        ("Les Baux de Provence", "Les Baux-de-Provence", True),
        ("Baux-de-Provence", "Les Baux-de-Provence", True),
        ("Marseille 8e", "Marseille 8e Arrondissement", True),
        ("Tarascon", "Saint-Martin-de-Crau", False),
        ("Aix", "Arles", False),
        ("", "Arles", True),
    ],
)
def test_names_match(given_name: str, expected: str, match: bool) -> None:
    assert names_match(given_name, expected) is match


def test_decode_text_encodings() -> None:
    text = "Nom;Code\nCPTS Pays d'Arlés;13004\n"
    assert decode_text(text.encode("utf-8")) == (text, "UTF-8")
    assert decode_text(("\ufeff" + text).encode("utf-8")) == (text, "UTF-8 avec BOM")
    assert decode_text(text.encode("cp1252")) == (text, "Windows-1252 (Latin-1)")
    assert decode_text(text.encode("utf-16")) == (text, "UTF-16")


@pytest.mark.parametrize("sep", [";", ",", "\t", "|"])
def test_detect_separator(sep: str) -> None:
    text = sep.join(["Nom CPTS", "Code INSEE", "Statut"]) + "\n"
    text += sep.join(['"CPTS A, B"' if sep == "," else "CPTS A, B", "13004", "ACI"]) + "\n"
    assert detect_separator(text) == sep


def test_split_list_cell() -> None:
    assert split_list_cell("13001;13002 | 13003") == ["13001", "13002", "13003"]
    assert split_list_cell("Aix-en-Provence, Les Baux-de-Provence") == [
        "Aix-en-Provence",
        "Les Baux-de-Provence",
    ]
    assert split_list_cell(13004) == ["13004"]
    assert split_list_cell(None) == []


def test_find_columns_with_override() -> None:
    headers = ["Nom CPTS", "Code INSEE", "Remarque"]
    assert find_columns(headers) == {"perimeter": "Nom CPTS", "code": "Code INSEE"}
    assert find_columns(headers, {"status": "Remarque"})["status"] == "Remarque"
    with pytest.raises(PerimeterFileError, match="introuvables"):
        find_columns(headers, {"status": "Statut"})
    with pytest.raises(PerimeterFileError, match="Rôles de colonnes inconnus"):
        find_columns(headers, {"couleur": "Remarque"})


# --------------------------------------------------------------------------
# On the real referential
# --------------------------------------------------------------------------


@pytest.mark.referential
def test_input_forms_bytes_stream_and_path(tmp_path, real_referential: Referential) -> None:
    data = b"Nom CPTS;Code INSEE\nCPTS X;13004\n"
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    a = import_perimeters(data, filename="x.csv", referential=real_referential)
    b = import_perimeters(io.BytesIO(data), filename="x.csv", referential=real_referential)
    c = import_perimeters(path, referential=real_referential)
    for result in (a, b, c):
        assert result.perimeters["unit_codes"].tolist() == [("13004",)]
    with pytest.raises(ValueError, match="filename"):
        import_perimeters(data, referential=real_referential)
    with pytest.raises(PerimeterFileError, match="introuvable"):
        import_perimeters(tmp_path / "absent.csv", referential=real_referential)


@pytest.mark.referential
def test_import_does_not_mutate_the_referential(real_referential: Referential) -> None:
    before = pd.util.hash_pandas_object(real_referential.units.drop(columns="geometry")).sum()
    former_before = real_referential.former_codes.copy()
    import_perimeters(
        b"Nom CPTS;Code INSEE\nA;13055\nA;04003\nB;1001\n",
        filename="x.csv",
        referential=real_referential,
        region="93",
    )
    after = pd.util.hash_pandas_object(real_referential.units.drop(columns="geometry")).sum()
    assert before == after
    pd.testing.assert_frame_equal(former_before, real_referential.former_codes)


@pytest.mark.referential
def test_department_scope_and_threshold(real_referential: Referential) -> None:
    data = b"Nom CPTS;Code INSEE\nA;13004\nA;84007\n"
    result = import_perimeters(
        data, filename="x.csv", referential=real_referential, department="84"
    )
    # Issue 17: a commune outside the scope is kept (the perimeter is evaluated whole) and
    # said in one neutral line, not rejected.
    assert result.perimeters["unit_codes"].tolist() == [("13004", "84007")]
    outside = result.report[result.report["kind"] == "outside_scope"]
    assert outside["severity"].tolist() == ["info"]
    assert outside["message"].iloc[0].startswith("1 commune du fichier est hors de la vue")
    assert result.n_rejected == 0
    with pytest.raises(ValueError, match="min_area_share"):
        import_perimeters(data, filename="x.csv", referential=real_referential, min_area_share=0)


@pytest.mark.referential
@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
def test_polygon_threshold_decides_partial_units(
    threshold: float, real_referential: Referential
) -> None:

    path = TESTS_DIR / "corpus" / "perimeters" / "polygons.geojson"
    result = import_perimeters(path, referential=real_referential, min_area_share=threshold)
    codes = set(result.perimeters.loc[0, "unit_codes"])
    # Maussane (13058) is 70 % inside, Mouriès (13065) 30 %.
    assert ("13058" in codes) is (threshold <= 0.70)
    assert ("13065" in codes) is (threshold <= 0.30)
    assert {"13011", "13038"} <= codes


@pytest.mark.referential
def test_summary_and_counts(real_referential: Referential) -> None:
    data = b"Nom CPTS;Code INSEE\nA;13004\nA;99999\nB;\n"
    result = import_perimeters(data, filename="x.csv", referential=real_referential)
    counts = result.report_counts().set_index("kind")["n"].to_dict()
    assert counts["unknown_code"] == 1
    assert counts["empty_perimeter"] == 1
    assert result.n_rejected == 1
    assert result.summary_fr().startswith(
        "2 périmètre(s) importé(s), 1 commune(s) distincte(s) ; 1"
    )


# --------------------------------------------------------------------------
# Round trip: import → export → import is the identity
# --------------------------------------------------------------------------

_TEXT = (
    st.text(
        alphabet=string.ascii_letters + string.digits + " éèàçôÉÈœ'’;,\"-|\t()",
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def perimeter_sets(draw: st.DrawFn, codes: list[str]) -> PerimeterImport:
    n = draw(st.integers(min_value=1, max_value=6))
    ids = draw(
        st.lists(
            st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)
            .map(lambda s: s.strip("-"))
            .filter(bool),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    members = {pid: draw(st.lists(st.sampled_from(codes), max_size=15)) for pid in ids}
    statuses = {pid: draw(st.sampled_from([None, *STATUS_KEYS])) for pid in ids}
    names = {pid: draw(_TEXT) for pid in ids}
    result = perimeters_from_members(members, statuses=statuses, names=names)
    dates = [draw(st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))) for _ in ids]
    result.perimeters["date"] = pd.Series(dates, dtype=object)
    pairs = [(m.perimeter_id, m.code) for m in result.members.itertuples(index=False)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    result.splits = pd.DataFrame(
        [(p, c, c) for p, c in chosen], columns=["perimeter_id", "code", "declared_code"]
    )
    return result


def _comparable(result: PerimeterImport) -> tuple[list[tuple], set[tuple[str, str]]]:
    perimeters = [
        (
            p.perimeter_id,
            p.name,
            p.status if isinstance(p.status, str) else None,
            p.date if isinstance(p.date, str) else None,
            tuple(p.unit_codes),
        )
        for p in result.perimeters.itertuples(index=False)
    ]
    splits = set(zip(result.splits["perimeter_id"], result.splits["code"], strict=True))
    return perimeters, splits


@pytest.mark.referential
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_round_trip_export_import(data: st.DataObject, real_referential: Referential) -> None:
    units = real_referential.units
    sample = sorted(units[units["department"].isin(["13", "2A", "01", "69", "971"])].index)[::7]
    original = data.draw(perimeter_sets(sample))
    exported = export_perimeters_csv(original, referential=real_referential)
    again = import_perimeters(exported, filename="export.csv", referential=real_referential)
    assert _comparable(again) == _comparable(original)
    # And once more: the export of the re-import is byte-identical.
    assert export_perimeters_csv(again, referential=real_referential) == exported
