"""A dispute for people: its tables in French, its workbook.

The analysis (:mod:`diagnosis.analysis.disputes`) returns identifiers and
numbers; this module names the options, the parties and the columns in
French, for the dashboard, the arbitration fiche and the committee's
workbook (names next to identifiers on every sheet).
"""

from __future__ import annotations

import pandas as pd

from diagnosis.analysis.disputes import Dispute
from diagnosis.core.numbers import NNBSP, fr_number, fr_share
from diagnosis.outputs.export import excel_bytes
from diagnosis.outputs.labels import dispute_option_label
from diagnosis.outputs.people import for_people

__all__ = [
    "contested_for_people",
    "dispute_tables",
    "dispute_workbook",
    "options_for_people",
    "parties_for_people",
    "totals_for_people",
]

#: Columns of a dispute's options shown to people, in order.
OPTION_COLUMNS = [
    "option_label",
    "side",
    "name",
    "population",
    "size_label",
    "below_minimum",
    "n_parts",
    "funding_max_eur",
]
#: French headers of the dispute tables (besides :data:`~diagnosis.outputs.labels.COLUMN_LABELS`).
HEADERS = {
    "name": "projet",
    "size_class": "taille ACI",
    "size_label": "taille ACI",
    "below_minimum": "sous le seuil",
    "perimeter_id": "identifiant",
    "n_contested_received": "communes disputées reçues",
    "n_contested": "dont disputées",
    "population_total": "habitants comptés (somme des projets)",
    "share": "part fixée",
    "part": "habitants comptés",
    "commune": "commune",
    "distances": "distances aux mairies principales (km)",
    "option_mairie_la_plus_proche": "mairie la plus proche",
    "option_epci_entiers": "EPCI entiers",
    "option_partage_population": "partage",
}


def _labels(dispute: Dispute) -> list[str]:
    return [str(p) for p in dispute.parties["party"]]


def parties_for_people(dispute: Dispute, *, as_text: bool = True) -> pd.DataFrame:
    """The parties: letter, identifier, name, communes and inhabitants."""
    columns = [
        "party",
        "perimeter_id",
        "name",
        "n_units",
        "n_contested",
        "population",
        "population_without",
    ]
    return for_people(dispute.parties, columns=columns, labels=HEADERS, as_text=as_text)


def options_for_people(
    dispute: Dispute, *, as_text: bool = True, short: bool = False
) -> pd.DataFrame:
    """The options, one row per side, with the French label of each option (``short``: screen)."""
    n = len(dispute.parties)
    options = dispute.options.assign(
        option_label=[
            dispute_option_label(
                str(k), p if isinstance(p, str) else None, n_parties=n, short=short
            )
            for k, p in zip(
                dispute.options["option_kind"], dispute.options["option_party"], strict=True
            )
        ]
    )
    return for_people(options, columns=OPTION_COLUMNS, labels=HEADERS, as_text=as_text)


def totals_for_people(
    dispute: Dispute, *, as_text: bool = True, short: bool = False
) -> pd.DataFrame:
    """Per option, the projects with inhabitants and their funding together (merge vs separate)."""
    totals = dispute.totals()
    kinds = dispute.options.drop_duplicates("option").set_index("option")
    n = len(dispute.parties)
    totals["option_label"] = [
        dispute_option_label(
            str(kinds.loc[o, "option_kind"]),
            p if isinstance(p := kinds.loc[o, "option_party"], str) else None,
            n_parties=n,
            short=short,
        )
        for o in totals["option"]
    ]
    totals = totals.rename(columns={"population": "population_total"})
    columns = ["option_label", "n_projects", "population_total", "funding_max_eur"]
    return for_people(totals, columns=columns, labels=HEADERS, as_text=as_text)


def _shared_cell(row: pd.Series, labels: list[str]) -> str:
    """Where the shared-population option puts a commune, in French."""
    value = str(row["option_partage_population"])
    shares = [
        (label, row.get(f"share_{label.lower()}")) for label in labels if label in value.split("+")
    ]
    shared = [(label, s) for label, s in shares if pd.notna(s)]
    if not shared:
        return value
    return " · ".join(f"{label} {fr_share(s, 0)}" for label, s in shared)


def contested_for_people(
    dispute: Dispute, *, as_text: bool = True, compact: bool = False
) -> pd.DataFrame:
    """The contested communes: who claims them, distances, where the options put them.

    ``compact`` (screen and fiche) writes the distances to every party in one
    column; otherwise one column per party (workbook).
    """
    contested = dispute.contested.copy()
    labels = _labels(dispute)
    distance_columns = [f"distance_{label.lower()}_km" for label in labels]
    headers = dict(HEADERS)
    for label, column in zip(labels, distance_columns, strict=True):
        headers[column] = f"distance à la mairie principale de {label} (km)"
    if "option_partage_population" in contested.columns:
        contested["option_partage_population"] = [
            _shared_cell(row, labels) for _, row in contested.iterrows()
        ]
    if compact:
        contested["distances"] = [
            " · ".join(
                f"{label}{NNBSP}{fr_number(row[c], 1)}"
                for label, c in zip(labels, distance_columns, strict=True)
            )
            for _, row in contested.iterrows()
        ]
        distance_columns = ["distances"]
    columns = [
        "code",
        "name",
        "population",
        "epci_name",
        "claimants",
        *distance_columns,
        "option_mairie_la_plus_proche",
        "option_epci_entiers",
        "option_partage_population",
    ]
    headers["name"] = "commune"
    kept = [c for c in columns if c in contested.columns]
    return for_people(contested, columns=kept, labels=headers, as_text=as_text)


def shares_for_people(dispute: Dispute, *, as_text: bool = True) -> pd.DataFrame:
    """The shares of the shared communes: one row per commune and party, with its part."""
    if dispute.shares.empty:
        return pd.DataFrame()
    parties = dispute.parties.set_index("perimeter_id")
    contested = dispute.contested.set_index("code")
    rows = []
    for perimeter_id, code, share in dispute.shares[["perimeter_id", "code", "share"]].itertuples(
        index=False, name=None
    ):
        party = str(parties.at[str(perimeter_id), "party"])
        rows.append(
            {
                "code": code,
                "commune": contested.at[str(code), "name"],
                "party": party,
                "perimeter_id": perimeter_id,
                "name": parties.at[str(perimeter_id), "name"],
                "share": share,
                "part": contested.at[str(code), f"part_{party.lower()}"],
            }
        )
    frame = pd.DataFrame(rows)
    frame["part"] = frame["part"].astype("Int64")
    return for_people(frame, labels=HEADERS, as_text=as_text)


def dispute_tables(dispute: Dispute, *, as_text: bool = True) -> dict[str, pd.DataFrame]:
    """The tables of a dispute for people (French): parties, options, totals, communes, shares."""
    tables = {
        "Parties": parties_for_people(dispute, as_text=as_text),
        "Options de partage": options_for_people(dispute, as_text=as_text),
        "Bilan des options": totals_for_people(dispute, as_text=as_text),
        "Communes disputées": contested_for_people(dispute, as_text=as_text),
    }
    if not dispute.shares.empty:
        tables["Parts des communes partagées"] = shares_for_people(dispute, as_text=as_text)
    return tables


def dispute_workbook(dispute: Dispute) -> bytes:
    """The dispute's workbook for a committee (French headers and values, names next to ids)."""
    return excel_bytes(dispute_tables(dispute, as_text=False))
