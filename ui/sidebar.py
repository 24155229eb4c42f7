"""The dashboard's sidebar: scope, perimeter file and its report, threshold, care data, sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from diagnosis.model import PerimeterImport
from diagnosis.referential import Referential
from diagnosis.rules import STAGE_KEYS, StageKey, stage_label
from ui import data
from ui.sources import sources_markdown

PERIMETER_TYPES = ["csv", "txt", "tsv", "xlsx", "xls", "ods", "geojson", "json", "gpkg", "zip"]
CARE_UPLOADS = {
    "apl": ("Classeur APL de la DREES (.xlsx)", ["xlsx"]),
    "rpps": ("Extraction Annuaire santé, PS_LibreAcces_Personne_activite (.txt)", ["txt", "csv"]),
    "bpe": ("Base permanente des équipements de l'INSEE (.csv)", ["csv", "txt"]),
    "ages": ("Population par âge de l'INSEE (.csv)", ["csv", "txt"]),
    "travel": (
        "Temps de trajet entre communes (.csv : origine, destination, minutes)",
        ["csv", "txt"],
    ),
}
MAX_UPLOAD_MB = 50


@dataclass
class Context:
    """What the sidebar decided: scope, threshold, imported perimeters and care layers."""

    region: str | None
    department: str | None
    status_min: StageKey
    imported: PerimeterImport | None
    import_key: str
    source_label: str
    is_example: bool
    care: dict[str, Any] = field(default_factory=dict)
    care_sources: list[str] = field(default_factory=list)
    care_keys: dict[str, str] = field(default_factory=dict)
    tiles: bool = False

    @property
    def scope_key(self) -> str:
        """A key of the scope, for caches and widget keys."""
        return f"{self.region or ''}-{self.department or ''}"


def _scope(ref: Referential) -> tuple[str | None, str | None]:
    regions = ref.regions.sort_values("region_name")
    names = dict(zip(regions["region"], regions["region_name"], strict=True))
    options = ["", *names]
    default = options.index("93") if "93" in options else 0
    region = st.selectbox(
        "Région",
        options=options,
        index=default,
        format_func=lambda c: "France entière" if c == "" else f"{names[c]} ({c})",
        key="scope_region",
    )
    if not region:
        return None, None
    deps = ref.departments[ref.departments["region"] == region].sort_values("department")
    dep_names = dict(zip(deps["department"], deps["department_name"], strict=True))
    department = st.selectbox(
        "Département",
        options=["", *dep_names],
        format_func=lambda c: "Toute la région" if c == "" else f"{dep_names[c]} ({c})",
        key="scope_department",
    )
    return region, department or None


def _perimeter_source(region: str | None, department: str | None) -> tuple[bytes, str, bool]:
    choice = st.radio(
        "Périmètres",
        options=["exemple", "fichier"],
        format_func=lambda c: "Exemple fictif fourni" if c == "exemple" else "Mon fichier",
        horizontal=True,
        key="perimeter_choice",
    )
    if choice == "fichier":
        upload = st.file_uploader(
            f"Fichier de périmètres (CSV, Excel, GeoJSON, GeoPackage, Shapefile zippé ; "
            f"{MAX_UPLOAD_MB} Mo au plus)",
            type=PERIMETER_TYPES,
            key="perimeter_upload",
        )
        if upload is not None:
            return upload.getvalue(), upload.name, False
        st.info("Aucun fichier choisi : l'exemple fictif est utilisé en attendant.")
    kind = st.selectbox(
        "Exemple fictif",
        options=list(data.EXAMPLES),
        format_func=lambda k: data.EXAMPLES[k][1],
        key="example_kind",
    )
    blob, name = data.example_bytes(kind)
    return blob, name, True


def _column_overrides() -> dict[str, str]:
    with st.expander("Correspondance des colonnes (facultatif)"):
        st.caption(
            "Les colonnes sont reconnues par leur nom (code INSEE, codgeo, nom CPTS, statut…). "
            "Si votre fichier utilise d'autres intitulés, indiquez-les ici."
        )
        overrides = {}
        for role, label in (
            ("code", "Colonne du code INSEE"),
            ("perimeter", "Colonne du nom du périmètre"),
            ("status", "Colonne du statut"),
        ):
            value = st.text_input(label, key=f"override_{role}").strip()
            if value:
                overrides[role] = value
    return overrides


def _import_report(imported: PerimeterImport) -> None:
    st.success(imported.summary_fr())
    with st.expander("Rapport d'import", expanded=imported.n_rejected > 0):
        counts = imported.report_counts()
        st.dataframe(counts, hide_index=True, width="stretch")
        report = imported.report[["severity", "row", "perimeter", "code", "message", "action"]]
        st.dataframe(
            report.rename(
                columns={
                    "severity": "gravité",
                    "row": "ligne",
                    "perimeter": "périmètre",
                    "code": "valeur",
                    "message": "message",
                    "action": "action",
                }
            ),
            hide_index=True,
            width="stretch",
        )


def _care_uploads() -> tuple[dict[str, Any], list[str], dict[str, str]]:
    layers: dict[str, Any] = {}
    sources: list[str] = []
    keys: dict[str, str] = {}
    with st.expander("Données de soins (facultatif)"):
        st.caption(
            "Fichiers officiels à charger pour les indicateurs d'offre et d'accès aux soins. "
            "Sans eux, ces indicateurs sont affichés « non chargé »."
        )
        for kind, (label, types) in CARE_UPLOADS.items():
            upload = st.file_uploader(label, type=types, key=f"care_{kind}")
            if upload is None:
                continue
            outcome = data.care_layer(kind, upload.getvalue(), upload.name)
            if outcome.error:
                st.error(f"{upload.name} : {outcome.error} Fichier non utilisé.")
                continue
            layers[kind] = outcome.value
            keys[kind] = data.digest(upload.getvalue())
            source = _care_source(kind, outcome.value, upload.name)
            sources.append(source)
            st.caption(f"Chargé : {source}")
    return layers, sources, keys


def _care_source(kind: str, value: Any, name: str) -> str:
    if kind == "apl":
        return str(value.source_label())
    if hasattr(value, "source"):
        return str(value.source)
    return f"{name} (fourni par l'utilisateur)"


def render(ref: Referential) -> Context:
    """Draw the sidebar and return the context of the page."""
    with st.sidebar:
        st.header("Périmètre d'étude")
        region, department = _scope(ref)
        status_min: StageKey = st.selectbox(
            "Stade minimal pris en compte",
            options=list(STAGE_KEYS),
            format_func=lambda k: (
                "Tous les stades (dès l'émergence)"
                if k == "emergence"
                else stage_label(k) + " ou plus"
            ),
            key="status_min",
        )
        st.header("Périmètres de CPTS")
        blob, name, is_example = _perimeter_source(region, department)
        overrides = {} if is_example else _column_overrides()
        outcome = data.import_file(
            blob, name, region=region, department=department, columns=overrides
        )
        imported = None
        if outcome.error:
            st.error(f"Import impossible : {outcome.error}")
            st.caption(
                "Rien n'a été importé. Corrigez le fichier ou indiquez les colonnes, puis réessayez."
            )
        else:
            imported = outcome.result
            assert imported is not None
            label = f"{name} (exemple fictif)" if is_example else name
            st.caption(f"Fichier : {label}")
            _import_report(imported)
        st.header("Données de soins")
        care, care_sources, care_keys = _care_uploads()
        st.caption(f"Taille maximale d'un fichier : {MAX_UPLOAD_MB} Mo.")
        st.header("Affichage")
        tiles = st.checkbox(
            "Fond de carte OpenStreetMap (nécessite internet)",
            value=False,
            key="tiles",
            help="Sans fond de carte, les limites des départements servent de repère ; "
            "les cartes fonctionnent sans internet.",
        )
        with st.expander("Sources et millésimes"):
            st.markdown(sources_markdown(ref.manifest))
            for source in care_sources:
                st.markdown(f"- {source}")
    key = f"{data.digest(blob)}-{sorted(overrides.items())}-{region}-{department}"
    return Context(
        region=region,
        department=department,
        status_min=status_min,
        imported=imported,
        import_key=key,
        source_label=f"{name} (exemple fictif)" if is_example else name,
        is_example=is_example,
        care=care,
        care_sources=care_sources,
        care_keys=care_keys,
        tiles=tiles,
    )


def scope_label(ref: Referential, ctx: Context) -> str:
    """French name of the scope of the page."""
    if ctx.department:
        row = ref.departments.set_index("department").loc[ctx.department]
        return f"{row['department_name']} ({ctx.department})"
    if ctx.region:
        return str(ref.regions.set_index("region").loc[ctx.region, "region_name"])
    return "France entière"
