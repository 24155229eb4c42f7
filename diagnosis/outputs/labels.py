"""French words for people: column headers, report kinds, severities, options, caveats.

Identifiers stay English and stable in code, in the CLI's CSV contract and in
tests; every French label a person reads is a value of a dictionary here (or
of a wording function), keyed by the identifier. Tables are turned into
French text by :mod:`diagnosis.outputs.people`.
"""

from __future__ import annotations

__all__ = [
    "COLUMN_LABELS",
    "DISPUTE_DISTANCE_NOTE",
    "DISPUTE_OPTION_LABELS",
    "DISPUTE_OPTION_NOTES",
    "DISPUTE_OPTION_SHORT_LABELS",
    "LEVEL_LABELS",
    "PROPOSAL_CAVEAT",
    "REPORT_KIND_LABELS",
    "SEVERITY_LABELS",
    "dispute_option_label",
    "dispute_option_note",
    "proposal_caveat",
    "uncovered_communes",
    "uncovered_stem",
    "uncovered_wording",
]


#: French headers of the columns that reach people.
COLUMN_LABELS: dict[str, str] = {
    "perimeter_id": "identifiant",
    "name": "nom",
    "status": "stade",
    "status_label": "stade (tel qu'écrit)",
    "status_fr": "stade",
    "deemed_validated": "réputé validé",
    "caveat": "réserve",
    "date": "date",
    "population": "habitants",
    "population_year": "année de la population",
    "n_units": "communes",
    "size_class": "taille ACI",
    "size_label": "taille ACI (libellé)",
    "below_minimum": "sous le seuil",
    "minimum_population": "seuil de population",
    "missing_to_minimum": "habitants manquants",
    "margin_above": "habitants pour la taille suivante",
    "margin_below": "marge avant la taille inférieure",
    "n_parts": "parties",
    "n_enclaves": "enclaves",
    "n_shared": "communes partagées",
    "area_km2": "superficie (km²)",
    "density_per_km2": "densité (hab./km²)",
    "departments": "départements",
    "regions": "régions",
    "department": "département",
    "region": "région",
    "epci_code": "code EPCI",
    "epci_name": "EPCI",
    "epci_population": "habitants de l'EPCI",
    "population_included": "habitants inclus",
    "share_included": "part incluse",
    "cut": "EPCI coupé",
    "n_epcis": "nombre d'EPCI",
    "n_epcis_cut": "nombre d'EPCI coupés",
    "funding_max_eur": "financement maximal (€)",
    "code": "code INSEE",
    "commune": "commune",
    "n_perimeters": "nb de périmètres",
    "perimeters": "périmètres",
    "cluster_id": "groupe",
    "neighbour_perimeters": "périmètres voisins",
    "communes": "communes",
    "scope": "territoire",
    "status_min": "stade minimal",
    "population_total": "habitants",
    "population_covered": "habitants couverts",
    "population_white": "habitants en zone blanche",
    "share_covered": "part couverte",
    "share_white": "part en zone blanche",
    "proposal_id": "proposition",
    "kind": "type",
    "epcis": "EPCI",
    "evidence": "justification",
    "compactness": "compacité",
    "option": "option (code)",
    "option_label": "option",
    "side": "côté",
    "distance_a_km": "distance à la mairie principale de A (km)",
    "distance_b_km": "distance à la mairie principale de B (km)",
    "nearest": "mairie principale la plus proche",
    "declared_code": "code déclaré",
    "severity": "gravité",
    "row": "ligne",
    "perimeter": "périmètre",
    "perimeter_name": "nom du périmètre",
    "message": "message",
    "action": "action",
    "n": "nombre",
    "border_m": "frontière commune (m)",
    "n_units_adjacent": "communes limitrophes",
    "area_shared_km2": "superficie commune (km²)",
    "codes": "codes INSEE",
    "epci_n_units": "communes de l'EPCI",
    "is_island": "île",
    "level": "niveau",
    "margin_to_nearest_bound": "marge à la borne de taille la plus proche",
    "n_contested_received": "communes disputées reçues",
    "n_epci": "nombre d'EPCI",
    "n_epci_cut": "nombre d'EPCI coupés",
    "n_epci_whole": "nombre d'EPCI entiers",
    "n_neighbour_perimeters": "périmètres voisins (nombre)",
    "n_units_included": "communes incluses",
    "n_units_shared": "communes partagées",
    "name_a": "nom A",
    "name_b": "nom B",
    "nearest_bound": "borne de taille la plus proche",
    "option_epci_entiers": "EPCI entiers",
    "option_mairie_la_plus_proche": "mairie la plus proche",
    "option_tout_a": "tout à A",
    "option_tout_b": "tout à B",
    "option_partage_population": "partage",
    "part": "partie",
    "perimeter_a": "périmètre A",
    "perimeter_b": "périmètre B",
    "perimeter_ids": "identifiants des périmètres",
    "population_after": "habitants après",
    "population_label": "millésime de la population",
    "population_shared": "habitants en commun",
    "reaches_minimum": "atteint le seuil",
    "share_units_covered": "part des communes couvertes",
    "size_class_after": "taille ACI après",
    "size_lower_bound": "borne inférieure de la taille",
    "size_upper_bound": "borne supérieure de la taille",
    "source_rows": "lignes du fichier",
    "status_a": "stade A",
    "status_b": "stade B",
    "statuses": "stades",
    "target_name": "périmètre de rattachement",
    "target_perimeter_id": "identifiant du périmètre de rattachement",
    "target_population_before": "habitants du périmètre avant",
    "units_covered": "communes couvertes",
    "units_total": "communes (total)",
    "via": "reconnue par",
    "share_a": "part comptée pour A",
    "claimants": "revendiquée par",
    "party": "côté",
    "population_without": "habitants sans les communes disputées",
    "n_contested": "communes disputées",
    "n_projects": "projets",
    "n_units_without_apl": "communes sans APL",
    "indicator": "indicateur",
    "unit": "unité",
    "source": "source",
    "population_in_scope": "habitants dans la vue",
    "population_without_shared": "habitants hors communes partagées",
    "shared_units": "communes partagées (codes)",
    "outside_departments": "déborde sur (départements)",
    "size_class_without_shared": "taille ACI sans les communes partagées",
    "size_range": "taille ACI (fourchette)",
    "size_range_reason": "fourchette de taille : pourquoi",
    "outside_label": "déborde sur",
    "population_counted": "habitants comptés",
    "declared": "part déclarée",
    "with_ids": "partagée avec (identifiants)",
    "with_names": "partagée avec",
}

#: French labels of the import report's kinds of events.
REPORT_KIND_LABELS: dict[str, str] = {
    "file_read": "fichier lu",
    "columns_detected": "colonnes reconnues",
    "blank_rows": "lignes vides",
    "single_perimeter": "un seul périmètre",
    "code_cleaned": "code nettoyé",
    "leading_zero_restored": "zéro initial rétabli",
    "corsica_code": "code corse (2A/2B)",
    "former_code": "ancien code de commune",
    "plm_parent_expanded": "Paris, Lyon ou Marseille en arrondissements",
    "name_resolved": "code retrouvé par le nom",
    "name_mismatch": "nom différent du code",
    "name_ambiguous": "nom ambigu",
    "unknown_code": "code inconnu",
    "unknown_name": "nom inconnu",
    "outside_scope": "hors du périmètre d'étude",
    "missing_perimeter": "périmètre manquant",
    "missing_code": "commune manquante",
    "duplicate_merged": "doublon",
    "empty_perimeter": "périmètre vide",
    "in_several_perimeters": "commune dans plusieurs périmètres",
    "infra_split": "découpage infra-communal déclaré",
    "split_single": "découpage déclaré d'un seul côté",
    "unknown_status": "stade non reconnu",
    "missing_status": "stade non renseigné",
    "status_conflict": "stades contradictoires",
    "deemed_validated": "projet de santé réputé validé",
    "validation_pending": "projet de santé déposé, délai de l'ARS en cours",
    "perimeter_name_variants": "graphies du nom",
    "perimeter_name_conflict": "noms contradictoires",
    "crs_guessed": "système de coordonnées supposé",
    "encoding_repaired": "encodage réparé",
    "geometry_repaired": "géométrie corrigée",
    "empty_geometry": "géométrie vide",
    "polygon_partial": "commune partiellement incluse",
    "polygon_edge_slivers": "recouvrements de bordure",
    "share_declared": "parts déclarées",
    "share_invalid": "part illisible",
    "share_over_total": "parts au-delà de 100 %",
    "share_completed": "parts complétées",
    # The contracts file (diagnosis.contracts): its reading and the schedules computed.
    "column_ignored": "colonne ignorée",
    "bad_signature": "date de signature illisible",
    "duplicate_contract": "contrat en double",
    "unknown_perimeter": "CPTS inconnue",
    "ambiguous_perimeter": "CPTS ambiguë",
    "bad_date": "date illisible",
    "start_before_signature": "démarrage avant la signature",
    "late_start": "démarrage tardif",
    "mission_not_started": "mission non démarrée",
    "crisis_not_counted": "crise non comptée",
    "bad_number": "nombre illisible",
    "aid_amount": "aide après la lettre d'intention",
    "contract_ended": "fin du contrat",
}

#: French labels of the report severities, in the order people read them.
SEVERITY_LABELS: dict[str, str] = {
    "rejected": "rejet",
    "warning": "avertissement",
    "info": "information",
}

#: French labels of proposal kinds.
PROPOSAL_KIND_LABELS: dict[str, str] = {
    "nouveau_perimetre": "nouveau périmètre",
    "rattachement": "rattachement à un périmètre voisin",
    "a_examiner": "à examiner",
}

#: What every proposal is, in the words of the texts: the regional mapping is
#: "un outil de référence, à valeur indicative, et non un document de
#: planification des CPTS" (2019 instruction, seed 003, I.6.1); extending an
#: existing CPTS is done "sous réserve de l'accord des acteurs et de la
#: cohérence pour la population" (Plan 100 % CPTS, seed 004).
PROPOSAL_CAVEAT = (
    "Proposition à valeur indicative, et non un document de planification des CPTS : "
    "elle se fait sous réserve de l'accord des acteurs"
)
_ATTACHMENT_CAVEAT = (
    "Extension d'une CPTS existante à valeur indicative, et non un document de planification "
    "des CPTS : sous réserve de l'accord des acteurs et de la cohérence pour la population"
)


def proposal_caveat(kind: str | None = None) -> str:
    """The caveat a white-zone proposal carries for people, by kind of proposal.

    >>> proposal_caveat("rattachement").startswith("Extension d'une CPTS existante")
    True
    """
    return _ATTACHMENT_CAVEAT if kind == "rattachement" else PROPOSAL_CAVEAT


def uncovered_wording(status_min: str | None, *, feminine: bool = False) -> str:
    """How people call the communes no perimeter covers at a stage threshold.

    A "zone blanche" is a territory without any CPTS project (seed 004: « zone
    blanche sans projet de CPTS »): the word is kept for the lowest threshold
    (every project counts). Above it, the communes may be in a project that
    has not reached the stage: they are "non couverts par une CPTS au stade …".

    >>> uncovered_wording("emergence")
    'zone blanche'
    >>> uncovered_wording("aci_signe")
    'non couverts par une CPTS au stade « ACI signé » ou au-delà'

    ``feminine`` agrees the words with a feminine noun ("communes non couvertes").

    >>> uncovered_wording("aci_signe", feminine=True)
    'non couvertes par une CPTS au stade « ACI signé » ou au-delà'
    """
    from diagnosis.core.statuses import STATUS_KEYS, status_name  # noqa: PLC0415 - read lazily

    if status_min is None or status_min == STATUS_KEYS[0]:
        return "zone blanche"
    covered = "couvertes" if feminine else "couverts"
    return f"non {covered} par une CPTS au stade « {status_name(status_min)} » ou au-delà"


def uncovered_communes(status_min: str | None) -> str:
    """What the communes no perimeter covers are at a threshold, after the word "communes".

    >>> uncovered_communes("emergence")
    'en zone blanche'
    >>> uncovered_communes("aci_signe")
    'non couvertes par une CPTS au stade « ACI signé » ou au-delà'
    """
    wording = uncovered_wording(status_min, feminine=True)
    return f"en {wording}" if wording == uncovered_wording(None) else wording


def uncovered_stem(status_min: str | None) -> str:
    """The file-name stem of the uncovered communes' export at a threshold.

    >>> uncovered_stem("emergence"), uncovered_stem("projet_sante")
    ('zones_blanches', 'communes_non_couvertes')
    """
    return (
        "zones_blanches"
        if uncovered_wording(status_min) == "zone blanche"
        else ("communes_non_couvertes")
    )


#: How a commune of a perimeter was recognised (column ``via`` of the members).
VIA_LABELS: dict[str, str] = {
    "code": "code INSEE",
    "former_code": "ancien code (commune fusionnée)",
    "plm_parent": "commune parente (Paris, Lyon, Marseille)",
    "name": "nom de la commune",
    "polygon": "polygone",
}

#: French labels of the dispute options, by option kind (:mod:`diagnosis.analysis.dispute_options`).
DISPUTE_OPTION_LABELS: dict[str, str] = {
    "en_l_etat": "Situation déclarée (communes disputées comptées en entier {each})",
    "tout": "Toutes les communes disputées à {party}",
    "mairie_la_plus_proche": (
        "Chaque commune au projet dont la mairie principale est la plus proche"
    ),
    "epci_entiers": "EPCI entiers (au projet qui en détient déjà le plus d'habitants)",
    "partage_population": (
        "Communes partagées : population répartie selon la part fixée, "
        "autres communes à la mairie principale la plus proche"
    ),
    "reunir": "Projets réunis : un seul périmètre, union des communes",
}

#: Short labels of the dispute options, for the dashboard's tables (the long ones explain them).
DISPUTE_OPTION_SHORT_LABELS: dict[str, str] = {
    "en_l_etat": "Situation déclarée",
    "tout": "Toutes les communes disputées à {party}",
    "mairie_la_plus_proche": "Mairie principale la plus proche",
    "epci_entiers": "EPCI entiers",
    "partage_population": "Communes partagées : population répartie selon la part fixée",
    "reunir": "Projets réunis",
}

#: What each dispute option does, said under its short label on the dashboard.
DISPUTE_OPTION_NOTES: dict[str, str] = {
    "en_l_etat": "chaque projet garde toutes les communes qu'il revendique : les communes "
    "disputées sont comptées en entier {each}",
    "tout": "les communes disputées que {party} revendique vont à {party} ; les autres, à la "
    "mairie principale la plus proche",
    "mairie_la_plus_proche": "chaque commune disputée va au projet dont la mairie principale "
    "est la plus proche, à vol d'oiseau",
    "epci_entiers": "les communes disputées d'un même EPCI vont ensemble au projet qui détient "
    "déjà le plus d'habitants de cet EPCI",
    "partage_population": "chaque commune partagée compte pour chaque projet selon la part "
    "fixée, en habitants entiers ; les autres communes disputées vont à la mairie principale "
    "la plus proche",
    "reunir": "les projets s'unissent en un seul périmètre (union de leurs communes) : une "
    "seule taille, un seul financement",
}

#: How the distances of a dispute are measured (said under its tables and in its fiche).
DISPUTE_DISTANCE_NOTE = (
    "distances à vol d'oiseau entre mairies (approximation, pas de temps de trajet)"
)


def dispute_option_label(
    kind: str, party: str | None, *, n_parties: int, short: bool = False
) -> str:
    """The French label of a dispute option (``kind`` from the registry, ``party`` a letter).

    ``short`` gives the short label of the dashboard's tables.

    >>> dispute_option_label("tout", "B", n_parties=2)
    'Toutes les communes disputées à B'
    >>> dispute_option_label("en_l_etat", None, n_parties=3)
    'Situation déclarée (communes disputées comptées en entier pour chaque projet)'
    """
    each = "des deux côtés" if n_parties == 2 else "pour chaque projet"
    labels = DISPUTE_OPTION_SHORT_LABELS if short else DISPUTE_OPTION_LABELS
    template = labels.get(kind, kind)
    return template.format(party=party or "", each=each)


def dispute_option_note(kind: str, *, n_parties: int) -> str:
    """What a dispute option does, in one French sentence (for the dashboard)."""
    each = "des deux côtés" if n_parties == 2 else "pour chaque projet"
    return DISPUTE_OPTION_NOTES.get(kind, "").format(party="A", each=each)


#: French names of the scope levels (column ``level`` of the coverage rates).
LEVEL_LABELS: dict[str, str] = {
    "france": "France",
    "region": "Région",
    "department": "Département",
    "epci": "EPCI",
}
