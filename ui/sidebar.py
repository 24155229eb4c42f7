"""The dashboard's sidebar: scope, perimeter file and its report, threshold, care data, sources."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from coverage import care_loaders, care_source_label
from diagnosis import (
    STATUS_KEYS,
    AtlasError,
    Diagnosis,
    PerimeterImport,
    Referential,
    StatusKey,
    status_name,
)
from diagnosis.core.numbers import fr_count
from diagnosis.core.textnorm import name_key
from diagnosis.importer.outcome import import_outcome
from diagnosis.outputs.labels import REPORT_KIND_LABELS, SEVERITY_LABELS
from diagnosis.outputs.people import for_people, people_csv
from ui import data, fmt, limits
from ui.safe import md_text
from ui.sources import embedded_care_lines, sources_markdown

PERIMETER_TYPES = ["csv", "txt", "tsv", "xlsx", "xls", "ods", "geojson", "json", "gpkg", "zip"]


@dataclass
class Context:
    """What the sidebar decided: scope, threshold, imported perimeters and care layers."""

    region: str | None
    department: str | None
    status_min: StatusKey
    imported: PerimeterImport | None
    import_key: str
    source_label: str
    is_example: bool
    care: dict[str, Any] = field(default_factory=dict)
    care_sources: list[str] = field(default_factory=list)
    care_keys: dict[str, str] = field(default_factory=dict)
    tiles: bool = False

    def diagnosis(self, status_min: StatusKey | None = None) -> Diagnosis:
        """The diagnosis of the imported file in this scope (the page's threshold by default)."""
        assert self.imported is not None, "callers check that a file was imported"
        return data.diagnosis_for(
            self.import_key,
            self.imported,
            region=self.region,
            department=self.department,
            status_min=status_min or self.status_min,
            example=self.is_example,
        )

    @property
    def scope_key(self) -> str:
        """A key of the scope, for caches and widget keys."""
        return f"{self.region or ''}-{self.department or ''}"

    @property
    def zone(self) -> dict[str, str | None]:
        """The view for the library's ``region=`` / ``department=`` (a department alone)."""
        return view_zone(self.region, self.department)


def view_zone(region: str | None, department: str | None) -> dict[str, str | None]:
    """``region`` and ``department`` as the library takes them: the department alone when set.

    The sidebar keeps the region of a chosen department; the registry and the
    contract follow-up refuse both at once.

    >>> view_zone("93", "83")
    {'region': None, 'department': '83'}
    >>> view_zone("93", None)
    {'region': '93', 'department': None}
    """
    return {"region": None if department else region, "department": department}


def _scope(ref: Referential) -> tuple[str | None, str | None]:
    # Sorted as people read them (accents ignored: Île-de-France among the I).
    regions = ref.regions.sort_values("region_name", key=lambda names: names.map(name_key))
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


#: Where the perimeters of the page come from.
PERIMETER_CHOICES = {
    "exemple": "Exemple fictif",
    "fichier": "Mon fichier",
    "registre": "Registre à une date",
}


def _perimeter_source(choice: str) -> tuple[bytes, str, bool] | None:
    """Bytes, name and example flag of the perimeter file; None when an upload was refused."""
    if choice == "fichier":
        upload = st.file_uploader(
            "Fichier de périmètres (CSV, Excel, ODS, GeoJSON, GeoPackage, Shapefile zippé)",
            type=PERIMETER_TYPES,
            key="perimeter_upload",
            help=limits.UPLOAD_HELP,
        )
        if upload is not None:
            refusal = limits.upload_refusal(upload.size)
            if refusal:
                st.error(refusal)
                return None
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


def _import_verdict(imported: PerimeterImport, view: Referential) -> None:
    """The import's outcome in one banner (:func:`diagnosis.importer.outcome.import_outcome`)."""
    outcome = import_outcome(imported, view)
    if outcome.kind == "empty":
        st.warning(f"{imported.summary_fr()} {outcome.message_fr()} Voir le rapport ci-dessous.")
    elif outcome.kind == "outside_scope":
        st.warning(f"{imported.summary_fr()} {outcome.message_fr()}")
    elif outcome.kind == "partial":
        st.warning(imported.summary_fr())
    else:
        st.success(imported.summary_fr())
    # Communes outside the view are context, not rejections (issue 17): one neutral line.
    outside = imported.outside_note()
    if outside:
        st.info(md_text(outside))


def _import_report(imported: PerimeterImport, view: Referential) -> None:
    """The import's outcome and report, for people: problems first, information folded."""
    _import_verdict(imported, view)
    report = imported.report
    problems = report[report["severity"] != "info"]
    with st.expander(
        f"Rapport d'import : {fr_count(len(problems), 'point', 'points')} à vérifier",
        expanded=bool(len(problems)) and imported.n_rejected > 0,
    ):
        groups = report_groups(report)
        if groups.empty:
            st.caption("Rien à signaler.")
        else:
            # A list, not a table: a table in the sidebar made every new page draw its map
            # about 0.3 s later (measured), and the summary is a few lines.
            st.markdown("**Résumé par type (informations comprises)**")
            st.markdown(report_summary_markdown(groups))
        if len(problems):
            st.markdown("**Lignes concernées (rejets et avertissements)**")
            st.dataframe(report_for_people(problems), hide_index=True, width="stretch")
        infos = report[report["severity"] == "info"]
        if len(infos) and st.toggle(
            f"Afficher les {fmt.number(len(infos))} information(s)", key="report_show_info"
        ):
            st.dataframe(report_for_people(infos), hide_index=True, width="stretch")
        st.download_button(
            "Télécharger le rapport complet (CSV)",
            lambda: people_csv(
                report,
                columns=REPORT_SHOWN,
                labels={"code": "valeur lue", "row": "ligne du fichier"},
            ),
            file_name="rapport_import.csv",
            mime="text/csv",
            key="report_download",
            on_click="ignore",
        )


REPORT_SHOWN = ["severity", "kind", "row", "perimeter", "code", "message", "action"]


def report_for_people(report: pd.DataFrame) -> pd.DataFrame:
    """Report lines in French, most serious first."""
    order = {k: i for i, k in enumerate(SEVERITY_LABELS)}
    ranked = report.assign(_rank=report["severity"].map(order)).sort_values(
        ["_rank", "row"], kind="stable", na_position="last"
    )
    return for_people(
        ranked, columns=REPORT_SHOWN, labels={"code": "valeur lue", "row": "ligne du fichier"}
    )


def report_summary_markdown(groups: pd.DataFrame) -> str:
    """The grouped report (:func:`report_groups`) as a Markdown list, one line per group."""
    lines = []
    for row in groups.to_dict("records"):
        where = f" (lignes {row['lignes']})" if row["lignes"] else ""
        lines.append("- " + md_text(f"{row['gravité']} · {row['type']} : {row['nombre']}{where}"))
    return "\n".join(lines)


def report_groups(report: pd.DataFrame) -> pd.DataFrame:
    """Report events grouped by severity and kind, with counts and the rows concerned."""
    if report.empty:
        return pd.DataFrame(columns=["gravité", "type", "nombre", "lignes"])
    order = {k: i for i, k in enumerate(SEVERITY_LABELS)}
    rows = []
    for (severity, kind), group in report.groupby(["severity", "kind"], sort=False):
        lines = sorted({int(r) for r in group["row"].dropna()})
        shown = ", ".join(str(r) for r in lines[:15]) + (" …" if len(lines) > 15 else "")
        rows.append(
            {
                "_rank": order.get(str(severity), 9),
                "gravité": SEVERITY_LABELS.get(str(severity), str(severity)),
                "type": REPORT_KIND_LABELS.get(str(kind), str(kind)),
                "nombre": fmt.number(len(group)),
                "lignes": shown,
            }
        )
    frame = pd.DataFrame(rows).sort_values("_rank", kind="stable")
    return frame.drop(columns="_rank")


def _care_uploads() -> tuple[dict[str, Any], list[str], dict[str, str]]:
    layers: dict[str, Any] = {}
    sources: list[str] = []
    keys: dict[str, str] = {}
    with st.expander("Données de soins"):
        st.markdown("**Déjà chargé (intégré au projet)**")
        for line in embedded_care_lines():
            st.caption(line)
        st.markdown("**À ajouter (facultatif)**")
        st.caption(
            "Fichiers officiels à charger pour les autres indicateurs d'offre et d'accès aux "
            "soins (professionnels, équipements, âges, APL d'autres professions ou millésimes). "
            "Sans eux, ces indicateurs sont regroupés dans la ligne « Non chargé » du profil."
        )
        for spec in care_loaders():
            upload = st.file_uploader(
                spec.label,
                type=list(spec.extensions),
                key=f"care_{spec.kind}",
                help=limits.UPLOAD_HELP,
            )
            if upload is None:
                continue
            refusal = limits.upload_refusal(upload.size)
            if refusal:
                st.error(refusal)
                continue
            outcome = data.care_layer(spec.kind, upload.getvalue(), upload.name)
            if outcome.error:
                # The loaders name the file in their messages.
                st.error(f"{md_text(outcome.error)} Fichier non utilisé.")
                continue
            layers[spec.kind] = outcome.value
            keys[spec.kind] = data.digest(upload.getvalue())
            source = care_source_label(outcome.value)
            sources.append(source)
            st.caption(f"Chargé : {md_text(source)}")
    return layers, sources, keys


def _status_notice(imported: PerimeterImport | None, status_min: StatusKey) -> None:
    """Say next to the stage selector when the file gives no stage."""
    if imported is None or imported.perimeters.empty:
        return
    known = imported.perimeters["status"].notna().sum()
    if known == 0:
        st.info(
            "Le fichier n'indique aucun stade : les périmètres sont comptés comme « statut non "
            "renseigné ». Ils ne sont pris en compte qu'avec « Tous les stades » ; un seuil plus "
            "élevé les exclut tous."
            + (
                " C'est le cas du seuil choisi : aucun périmètre n'est retenu."
                if status_min != "emergence"
                else ""
            )
        )
    elif known < len(imported.perimeters):
        missing = len(imported.perimeters) - int(known)
        st.caption(
            f"{fmt.number(missing)} périmètre(s) sans stade renseigné : ils ne sont retenus "
            "qu'avec « Tous les stades »."
        )


@dataclass(frozen=True)
class _PerimeterFile:
    """The perimeter file chosen in the sidebar, and its import (None when refused)."""

    blob: bytes
    name: str
    is_example: bool
    overrides: dict[str, str]
    imported: PerimeterImport | None
    #: The cache key of perimeters that are not a file's bytes (the registry on a date).
    key: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} (exemple fictif)" if self.is_example else self.name


def _registry_perimeters(region: str | None, department: str | None) -> _PerimeterFile:
    """The perimeters of the registry on a date chosen here (whole, in the view)."""
    day = st.date_input(
        "Date de l'état du registre",
        value=dt.date.today(),
        format="DD/MM/YYYY",
        key="registry_day",
        help="Les périmètres valides ce jour-là dans le registre (onglet Suivi).",
    )
    empty = _PerimeterFile(b"", "", False, {}, None)
    if day is None:
        st.info("Choisissez une date.")
        return empty
    try:
        state = data.registry_state(day, **view_zone(region, department))
    except AtlasError as exc:
        st.error(f"Registre indisponible : {md_text(str(exc))}")
        return empty
    if state.imported.perimeters.empty:
        st.warning(
            f"Le registre ne contient aucun périmètre valide le {fmt.date(day)} dans ce "
            "périmètre d'étude : importez une liste datée dans l'onglet Suivi."
        )
    st.text(f"Registre : {state.label}")
    _import_verdict(state.imported, data.scoped(region, department))
    return _PerimeterFile(b"", state.label, False, {}, state.imported, key=state.key)


def _perimeter_file(region: str | None, department: str | None) -> _PerimeterFile:
    """Choose the perimeters (an example, a file or the registry on a date) and import them."""
    choice = st.radio(
        "Périmètres",
        options=list(PERIMETER_CHOICES),
        format_func=PERIMETER_CHOICES.__getitem__,
        horizontal=True,
        key="perimeter_choice",
    )
    if choice == "registre":
        return _registry_perimeters(region, department)
    source = _perimeter_source(choice)
    blob, name, is_example = source if source is not None else (b"", "", False)
    overrides = {} if is_example or source is None else _column_overrides()
    chosen = _PerimeterFile(blob, name, is_example, overrides, None)
    if source is None:
        return chosen
    attempt = data.import_file(
        blob,
        name,
        region=region,
        department=department,
        columns=overrides,
        is_example=is_example,
    )
    if attempt.error or attempt.result is None:
        st.error(f"Import impossible : {md_text(attempt.error)}")
        st.caption(
            "Rien n'a été importé. Corrigez le fichier ou indiquez les colonnes, puis réessayez."
        )
        return chosen
    st.text(f"Fichier : {chosen.label}")
    _import_report(attempt.result, data.scoped(region, department))
    return dataclasses.replace(chosen, imported=attempt.result)


def _status_min(imported: PerimeterImport | None) -> StatusKey:
    """The stage threshold of the page, with a notice when the file gives no stage."""
    status_min: StatusKey = st.selectbox(
        "Stade minimal pris en compte",
        options=list(STATUS_KEYS),
        format_func=lambda k: (
            "Tous les stades (dès l'émergence)" if k == "emergence" else status_name(k) + " ou plus"
        ),
        key="status_min",
    )
    _status_notice(imported, status_min)
    return status_min


def _display_and_sources(ref: Referential, care_sources: list[str]) -> bool:
    """The display options and the sources of every figure; returns whether tiles are on."""
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
        for line in embedded_care_lines():
            st.markdown(f"- {md_text(line)}")
        for care_source in care_sources:
            st.markdown(f"- {md_text(care_source)}")
    return bool(tiles)


def render(ref: Referential) -> Context:
    """Draw the sidebar and return the context of the page."""
    with st.sidebar:
        st.header("Périmètre d'étude")
        region, department = _scope(ref)
        st.header("Périmètres de CPTS")
        chosen = _perimeter_file(region, department)
        status_min = _status_min(chosen.imported)
        st.header("Données de soins")
        care, care_sources, care_keys = _care_uploads()
        st.caption(f"Taille maximale d'un fichier : {limits.MAX_UPLOAD_MIB} Mo.")
        with st.expander("Limites des fichiers acceptés"):
            for line in limits.limits_fr():
                st.caption(line[0].upper() + line[1:] + ".")
        tiles = _display_and_sources(ref, care_sources)
    key = chosen.key or data.import_key(
        chosen.blob, chosen.name, region=region, department=department, columns=chosen.overrides
    )
    return Context(
        region=region,
        department=department,
        status_min=status_min,
        imported=chosen.imported,
        import_key=key,
        source_label=chosen.label,
        is_example=chosen.is_example,
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
