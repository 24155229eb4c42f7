"""Generate the fictitious example perimeter files shipped with the project.

Run from the project folder once the referential is built::

    .venv/bin/python data/examples/make_examples.py

The perimeters are invented ("exemple fictif"): they are built from real EPCIs
of the embedded referential so that they look like real CPTS territories, with
white zones, overlaps, a disputed area and varied statuses. Outputs are
committed; rerun only to change them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from diagnosis.core.referential import load_referential  # noqa: E402

STATUSES = ["ACI signé", "projet de santé validé", "lettre d'intention validée", "en émergence"]
TITLE = "Exemple fictif : périmètres inventés à partir des EPCI réels, pour essayer Atlas CPTS"


def regional_example(region: str) -> pd.DataFrame:
    ref = load_referential(region=region)
    units = ref.units
    rows: list[tuple[str, str, str, str]] = []
    n = 0
    for dep in sorted(units["department"].astype(str).unique()):
        dep_units = units[units["department"] == dep]
        epcis = sorted(dep_units["epci_code"].dropna().unique())
        # Two EPCIs out of three form perimeters (one or two EPCIs each); the rest stays white.
        chosen = [e for i, e in enumerate(epcis) if i % 3 != 2]
        for i in range(0, len(chosen), 2):
            group = chosen[i : i + 2]
            n += 1
            status = STATUSES[n % len(STATUSES)]
            names = ref.epci.set_index("epci_code").loc[group, "epci_name"].tolist()
            label = f"CPTS {names[0].replace('CC ', '').replace('CA ', '')[:40]} (exemple)"
            codes = dep_units[dep_units["epci_code"].isin(group)]
            for code, row in codes.iterrows():
                if row["kind"] == "arrondissement":
                    continue
                rows.append((label, str(code), str(row["name"]), status))
    frame = pd.DataFrame(rows, columns=["Nom CPTS", "Code INSEE", "Commune", "Statut"])
    # An overlap: the first perimeter also claims three communes of the second one.
    first, second = frame["Nom CPTS"].unique()[:2]
    borrowed = frame[frame["Nom CPTS"] == second].head(3).assign(**{"Nom CPTS": first})
    borrowed["Statut"] = frame.loc[frame["Nom CPTS"] == first, "Statut"].iloc[0]
    frame = pd.concat([frame, borrowed], ignore_index=True)
    return frame


def marseille_example(frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        ("CPTS Marseille Nord (exemple)", "13055", "Marseille", "ACI signé"),
        ("CPTS Marseille Sud (exemple)", "13208", "Marseille 8e", "projet de santé validé"),
        ("CPTS Marseille Sud (exemple)", "13209", "Marseille 9e", "projet de santé validé"),
        ("CPTS Marseille Sud (exemple)", "13210", "Marseille 10e", "projet de santé validé"),
        ("CPTS Marseille Sud (exemple)", "13211", "Marseille 11e", "projet de santé validé"),
        ("CPTS Marseille Sud (exemple)", "13212", "Marseille 12e", "projet de santé validé"),
        ("CPTS Marseille Sud (exemple)", "13201", "Marseille 1er", "projet de santé validé"),
    ]
    return pd.concat([frame, pd.DataFrame(rows, columns=frame.columns)], ignore_index=True)


def write(frame: pd.DataFrame, name: str) -> None:
    path = HERE / name
    text = TITLE + "\n" + frame.to_csv(sep=";", index=False)
    path.write_text(text, encoding="utf-8")


def territory_example() -> pd.DataFrame:
    """A CPTS leader's territory: the communes of two EPCIs of the Alpilles."""
    ref = load_referential(department="13")
    units = ref.units
    epcis = units.loc[["13100", "13027"], "epci_code"].tolist()
    codes = units[units["epci_code"].isin(epcis)]
    return pd.DataFrame({"Code INSEE": codes.index, "Commune": codes["name"].to_numpy()})


def dispute_example() -> pd.DataFrame:
    """Two projects claiming the same communes (a regional committee's case)."""
    ref = load_referential(department="13")
    units = ref.units
    arles = units[units["epci_code"] == units.loc["13004", "epci_code"]]
    alpilles = units[units["epci_code"] == units.loc["13100", "epci_code"]]
    contested = ["13038", "13094", "13058"]  # Fontvieille, Saint-Étienne-du-Grès, Maussane
    rows = [
        ("CPTS Rhône-Camargue (exemple)", c, units.loc[c, "name"], "projet de santé validé")
        for c in arles.index
    ] + [
        ("CPTS Rhône-Camargue (exemple)", c, units.loc[c, "name"], "projet de santé validé")
        for c in contested
    ]
    rows += [
        ("CPTS Alpilles (exemple)", c, units.loc[c, "name"], "lettre d'intention validée")
        for c in alpilles.index
    ]
    frame = pd.DataFrame(rows, columns=["Nom CPTS", "Code INSEE", "Commune", "Statut"])
    return frame.drop_duplicates(["Nom CPTS", "Code INSEE"])


if __name__ == "__main__":
    paca = marseille_example(regional_example("93"))
    write(paca, "exemple_fictif_paca_couverture.csv")
    write(territory_example(), "exemple_fictif_mon_territoire.csv")
    write(dispute_example(), "exemple_fictif_arbitrage.csv")
