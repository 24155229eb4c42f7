"""Shared work on one registry in Chromium: several people signed in at once.

One app server with sign-in (``st.login`` against ``oidc-provider-mock``
started locally) on a registry in a temporary SQLite file, where an
administrator granted roles through the library. Each person has their own
browser context (own cookies, own Streamlit session):

- a CPTS leader saves a draft in Mon territoire and submits it; the ARS
  analyst of the region sees it in Suivi with its overlaps and returns it
  with a comment; the leader reads the comment, submits again, and the ARS
  accepts it: a new perimeter of the registry. A third user, a leader too,
  opening the draft's link (``?brouillon=N``) is refused and never sees it;
- a committee member records the decision on the three-party dispute around
  Aix-en-Provence in Arbitrage; the analyst reads it, signed with the
  member's name, in Suivi; a reader without a role sees no decision form.

What is drawn is asserted (texts, tables, map shapes), then what the registry
holds, read through the library.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from diagnosis.core.referential import Referential
from diagnosis.paths import EXAMPLES_DIR
from diagnosis.registry import (
    AccessDeniedError,
    Actor,
    close_registry,
    decisions_of,
    get_draft,
    grant_role,
    import_listing,
    local_actor,
    open_registry,
    state_at,
)
from tests.app.test_journeys import choose, settle
from tests.browser import (
    PROJECT_DIR,
    browser_or_skip,
    chromium_pages,
    free_port,
    streamlit_server,
    wait_for_map,
)
from tests.signin import oidc_provider, provider_or_skip, sign_in, write_secrets

pytestmark = [pytest.mark.referential, pytest.mark.browser]

ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
PACA = EXAMPLES_DIR / "exemple_fictif_paca_couverture.csv"
ALPILLES = EXAMPLES_DIR / "exemple_fictif_mon_territoire.csv"
ARS_REGIONAL = PROJECT_DIR / "tests" / "fixtures" / "listings" / "ars_regional.csv"

ADMIN = Actor("admin@ars-paca.example", "Admin ARS")
LEADER = {"sub": "leader", "email": "leader@cpts-alpilles.example", "name": "Léa Porteur"}
ANALYST = {"sub": "ars", "email": "ars@ars-paca.example", "name": "Camille Analyste"}
OTHER = {"sub": "other", "email": "other@cpts-voisine.example", "name": "Olivier Voisin"}
COMMITTEE = {"sub": "comite", "email": "comite@ars-paca.example", "name": "Claire Comité"}
READER = {"sub": "lecteur", "email": "lecteur@cpam.example", "name": "Luc Lecteur"}

#: The draft's name: markup typed by the leader must come back as typed, never as HTML.
DRAFT_NAME = "CPTS Alpilles <i>Durance</i>"
COMMENT = "Ajoutez le compte rendu de la réunion des professionnels."

#: Seconds a journey may take at most (a stuck step fails instead of hanging CI).
STEP_MS = 90_000

#: Rows of the Streamlit table (glide data grid) having the column ``header``. The grid
#: draws only the columns in view: scroll it sideways and gather the cells by index.
TABLE_ROWS = """async (header) => {
    const pause = () => new Promise(done => setTimeout(done, 250));
    for (const df of document.querySelectorAll("[data-testid='stDataFrame']")) {
        const scroller = df.querySelector('.dvn-scroller');
        if (!scroller) continue;
        const heads = {}, rows = {};
        for (let left = 0; ; left += scroller.clientWidth / 2) {
            scroller.scrollLeft = left;
            await pause();
            for (const h of df.querySelectorAll('[role=columnheader]'))
                heads[h.getAttribute('aria-colindex')] = h.innerText.trim();
            for (const r of df.querySelectorAll('tbody [role=row]')) {
                const row = rows[r.getAttribute('aria-rowindex')] ??= {};
                for (const c of r.querySelectorAll('[role=gridcell]'))
                    row[c.getAttribute('aria-colindex')] = c.innerText.trim();
            }
            if (left + scroller.clientWidth >= scroller.scrollWidth) break;
        }
        scroller.scrollLeft = 0;
        if (!Object.values(heads).includes(header)) continue;
        return Object.keys(rows).sort((a, b) => a - b).map(i => Object.fromEntries(
            Object.entries(heads).map(([c, h]) => [h, rows[i][c] ?? ''])));
    }
    return [];
}"""


def table_rows(page: object, header: str) -> list[dict[str, str]]:
    """The rows of the table having the column ``header``, once it has some."""
    deadline = time.monotonic() + STEP_MS / 1000
    while True:
        rows = list(page.evaluate(TABLE_ROWS, header))  # type: ignore[attr-defined]
        if rows or time.monotonic() > deadline:
            return rows
        page.wait_for_timeout(500)  # type: ignore[attr-defined]


def registry_with(
    path: Path, listing: Path, grants: Sequence[tuple[str, str]], ref: Referential
) -> None:
    """A registry holding ``listing`` (region 93, 1 January 2025) and roles granted by an admin."""
    registry = open_registry(path)
    try:
        import_listing(
            registry, listing, as_of="2025-01-01", region="93", referential=ref, actor="ars-paca"
        )
        grant_role(registry, local_actor(), ADMIN.user_id, "admin")
        for email, role in grants:
            region = None if role == "leader" else "93"
            grant_role(registry, ADMIN, email, role, region=region)
    finally:
        close_registry(registry)


@contextlib.contextmanager
def signed_in_app(
    tmp_path: Path, database: Path, users: Sequence[Mapping[str, str]]
) -> Iterator[str]:
    """The provider knowing ``users`` and one app server with sign-in on ``database``."""
    port = free_port()
    with oidc_provider(users) as provider:
        secrets = write_secrets(tmp_path, app_port=port, provider=provider)
        with streamlit_server(
            port=port,
            args=["--secrets.files", str(secrets)],
            env={"ATLAS_DATABASE_URL": str(database)},
        ) as base:
            yield base


@contextlib.contextmanager
def people(count: int, blocked: list[str], shots: str) -> Iterator[list[object]]:
    """``count`` browsers (one context each); screenshots of each at the end, kept on failure."""
    executable = browser_or_skip()
    with chromium_pages(executable, count, blocked=blocked) as pages:
        for page in pages:
            page.set_default_timeout(STEP_MS)  # type: ignore[attr-defined]
        try:
            yield pages
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for i, page in enumerate(pages):
                with contextlib.suppress(Exception):
                    page.screenshot(  # type: ignore[attr-defined]
                        path=str(ARTIFACTS / f"{shots}-{i + 1}.png"), full_page=True
                    )


def arrive(page: object, base: str, subject: str) -> None:
    """Open the app and sign in at the provider as ``subject``."""
    page.goto(base)  # type: ignore[attr-defined]
    sign_in(page, subject, timeout_ms=STEP_MS)
    settle(page)


def open_workflow(page: object, label: str, landmark: str) -> None:
    """Click the workflow ``label`` and wait for ``landmark`` on its page."""
    page.get_by_text(label, exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text(landmark).first.wait_for()  # type: ignore[attr-defined]
    settle(page)


def click(page: object, button: str, then: str) -> str:
    """Click ``button``, wait for the text ``then`` and return it as drawn."""
    page.get_by_role("button", name=button, exact=True).click()  # type: ignore[attr-defined]
    said = page.get_by_text(then).first  # type: ignore[attr-defined]
    said.wait_for()
    settle(page)
    return str(said.inner_text())


def type_text(page: object, label: str, text: str) -> None:
    """Type ``text`` in the text field ``label`` and commit it (the app reruns)."""
    field = page.get_by_label(label, exact=True)  # type: ignore[attr-defined]
    field.fill(text)
    field.press("Control+Enter" if field.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    settle(page)


def body(page: object) -> str:
    return str(page.locator("body").inner_text())  # type: ignore[attr-defined]


def outside_requests(blocked: list[str]) -> list[str]:
    """Outside requests, but the provider's own stylesheet (refused, not needed)."""
    return [url for url in blocked if "picocss" not in url]


def leader_submits(leader: object) -> dict[str, str]:
    """The leader builds the example territory, names it, saves it and submits it."""
    open_workflow(leader, "Mon territoire (CPTS)", "Composez le territoire")
    leader.get_by_role("button", name="Charger l'exemple fictif (Alpilles)").click()  # type: ignore[attr-defined]
    leader.get_by_role("button", name="Enregistrer le brouillon").wait_for()  # type: ignore[attr-defined]
    settle(leader)
    type_text(leader, "Nom du territoire", DRAFT_NAME)
    return {
        "saved": click(leader, "Enregistrer le brouillon", "vous seul le voyez"),
        "submitted": click(leader, "Soumettre à l'ARS", "vous lirez ici sa réponse"),
    }


def analyst_answers(analyst: object, *, accept: bool) -> dict[str, object]:
    """The ARS analyst opens Suivi, reads the submission and its overlaps, and answers."""
    analyst.reload()  # type: ignore[attr-defined]
    analyst.get_by_text("Connecté :").wait_for()  # type: ignore[attr-defined]
    open_workflow(analyst, "Suivi (ARS, CPAM)", "Projets de territoire soumis")
    analyst.get_by_text("Chevauchements avec le registre").wait_for()  # type: ignore[attr-defined]
    seen: dict[str, object] = {
        "submitted": table_rows(analyst, "Porteur"),
        "overlaps": table_rows(analyst, "CPTS du registre"),
        "page": body(analyst),
    }
    if accept:
        seen["answer"] = click(analyst, "Accepter le projet", "accepté : nouveau périmètre")
    else:
        type_text(analyst, "Commentaire au porteur", COMMENT)
        seen["answer"] = click(analyst, "Renvoyer au porteur", "renvoyé au porteur avec")
    return seen


def leader_reads(leader: object) -> list[dict[str, str]]:
    """The leader comes back to Mon territoire (a new session) and reads the drafts table."""
    leader.reload()  # type: ignore[attr-defined]
    leader.get_by_text("Connecté :").wait_for()  # type: ignore[attr-defined]
    open_workflow(leader, "Mon territoire (CPTS)", "Brouillons et soumission à l'ARS")
    return table_rows(leader, "Réponse de l'ARS")


def leader_resubmits(leader: object) -> dict[str, str]:
    """The leader opens the returned draft, saves it again and submits it."""
    return {
        "opened": click(leader, "Ouvrir le brouillon", "ouvert (version 1, renvoyé au porteur)"),
        "saved": click(leader, "Enregistrer le brouillon", "version 2)"),
        "submitted": click(leader, "Soumettre à l'ARS", "vous lirez ici sa réponse"),
    }


def test_a_leader_submits_to_the_ars_which_returns_then_accepts(
    tmp_path: Path, real_referential: Referential
) -> None:
    provider_or_skip()
    browser_or_skip()
    database = tmp_path / "registre.sqlite"
    grants = [
        (LEADER["email"], "leader"),
        (ANALYST["email"], "analyst"),
        (OTHER["email"], "leader"),
    ]
    registry_with(database, PACA, grants, real_referential)
    blocked: list[str] = []
    with (
        signed_in_app(tmp_path, database, [LEADER, ANALYST, OTHER]) as base,
        people(3, blocked, "shared-work-submission") as (leader, analyst, other),
    ):
        arrive(leader, base, "leader")
        arrive(analyst, base, "ars")
        first = leader_submits(leader)
        returned = analyst_answers(analyst, accept=False)
        # A third user, a leader elsewhere, opens the draft's link: refused, nothing shown.
        arrive(other, base, "other")
        other.goto(f"{base}/?brouillon=1")  # type: ignore[attr-defined]
        other.get_by_text("Connecté :").wait_for()  # type: ignore[attr-defined]
        refusal = other.get_by_text("Brouillon n° 1 introuvable ou non visible").first  # type: ignore[attr-defined]
        refusal.wait_for()
        settle(other)
        third = body(other)
        after_return = leader_reads(leader)
        second = leader_resubmits(leader)
        accepted = analyst_answers(analyst, accept=True)
        after_accept = leader_reads(leader)
    assert "enregistré (n° 1, version 1)" in first["saved"]
    assert DRAFT_NAME in first["saved"]  # the markup typed comes back as typed
    assert "soumis à l'ARS (région 93)" in first["submitted"]
    # The ARS sees the submission, its overlaps with the registry, and its communes.
    assert [(r["Territoire"], r["Porteur"], r["État"]) for r in returned["submitted"]] == [  # type: ignore[union-attr]
        (DRAFT_NAME, LEADER["email"], "soumis à l'ARS")
    ]
    overlaps = {r["CPTS du registre"]: r for r in returned["overlaps"]}  # type: ignore[union-attr]
    assert set(overlaps) == {"CPTS Terre de Provence (exemple)"}
    assert (
        "Châteaurenard (13027)"
        in overlaps["CPTS Terre de Provence (exemple)"]["Communes en commun"]
    )
    assert "Saint-Rémy-de-Provence (13100)" in str(returned["page"])
    assert "23 communes" in str(returned["page"])
    assert "renvoyé au porteur avec votre commentaire" in str(returned["answer"])
    # The third user: the French refusal, never the draft.
    assert "Brouillon n° 1 introuvable ou non visible." in third
    assert DRAFT_NAME not in third and "Durance" not in third
    assert LEADER["email"] not in third and "Le territoire est vide" in third
    assert "Brouillons et soumission à l'ARS" in third  # on Mon territoire, where the link leads
    # The leader reads the answer, then submits version 2, which the ARS accepts.
    assert [(r["État"], r["Réponse de l'ARS"], r["Version"]) for r in after_return] == [
        ("renvoyé au porteur", COMMENT, "1")
    ]
    assert "version 2" in second["saved"]
    assert "soumis à l'ARS" in second["submitted"]
    perimeter = str(accepted["answer"]).split("nouveau périmètre ")[1].split(" ")[0]
    assert [(r["État"], r["Version"], r["Périmètre créé"]) for r in after_accept] == [
        ("accepté", "2", perimeter)
    ]
    assert outside_requests(blocked) == []
    registry_holds_the_accepted_draft(database, perimeter)


def registry_holds_the_accepted_draft(database: Path, perimeter: str) -> None:
    """After the journey: the draft accepted in version 2, a new perimeter at the LOI stage."""
    codes = sorted(
        line.split(";")[0]
        for line in ALPILLES.read_text(encoding="utf-8").splitlines()
        if line[:1].isdigit()
    )
    registry = open_registry(database)
    try:
        leader = Actor(LEADER["email"], LEADER["name"])
        draft = get_draft(registry, leader, 1)
        with pytest.raises(AccessDeniedError, match="introuvable ou non visible"):
            get_draft(registry, Actor(OTHER["email"], OTHER["name"]), 1)
        state = state_at(registry, dt.date.today(), region="93").perimeters
    finally:
        close_registry(registry)
    assert (draft.state, draft.revision, draft.perimeter_id) == ("accepted", 2, perimeter)
    row = state[state["perimeter_id"] == perimeter]
    assert row["name"].tolist() == [DRAFT_NAME]
    assert sorted(row["unit_codes"].iloc[0]) == codes
    assert row["status"].tolist() == ["lettre_intention"]


def arbitrage_on_the_registry(page: object) -> object:
    """Perimeters from the registry (today), then Arbitrage: the map frame once drawn."""
    sidebar = page.locator("[data-testid='stSidebar']")  # type: ignore[attr-defined]
    sidebar.get_by_text("Registre à une date", exact=True).click()
    sidebar.get_by_text("Registre :").first.wait_for()
    settle(page)
    open_workflow(page, "Arbitrage (comité régional)", "Options de partage")
    # The three CPTS around Aix-en-Provence and the city they all claim: four shapes.
    return wait_for_map(page, min_paths=4, timeout_s=STEP_MS / 1000)


def committee_decides(page: object) -> dict[str, object]:
    """The committee member chooses "all to A", writes the reasons and records."""
    frame = arbitrage_on_the_registry(page)
    seen: dict[str, object] = {
        "legend": " ".join(frame.locator(".legend, .atlas-legend").all_inner_texts()),  # type: ignore[attr-defined]
        "parties": table_rows(page, "côté"),
    }
    choose(page, "Option retenue", "Toutes les communes disputées à A")
    type_text(page, "Motifs de la décision", REASONS)
    seen["recorded"] = click(page, "Enregistrer la décision", "Décision n° 1 enregistrée")
    # The dispute is settled from today: the page draws the next one, with an empty form.
    reasons = page.get_by_label("Motifs de la décision", exact=True)  # type: ignore[attr-defined]
    seen["reasons_after"] = [field.input_value() for field in reasons.all()]
    return seen


REASONS = "Bassin de vie d'Aix tourné vers <b>A</b>."


def test_a_committee_decision_is_signed_and_read_by_the_ars(
    tmp_path: Path, real_referential: Referential
) -> None:
    provider_or_skip()
    browser_or_skip()
    database = tmp_path / "registre.sqlite"
    grants = [(COMMITTEE["email"], "committee"), (ANALYST["email"], "analyst")]
    registry_with(database, ARS_REGIONAL, grants, real_referential)
    blocked: list[str] = []
    with (
        signed_in_app(tmp_path, database, [COMMITTEE, ANALYST, READER]) as base,
        people(3, blocked, "shared-work-decision") as (member, analyst, reader),
    ):
        # A reader (no role) sees the dispute but no decision form.
        arrive(reader, base, "lecteur")
        arbitrage_on_the_registry(reader)
        reader.get_by_text("Votre rôle ne permet pas d'enregistrer une décision").wait_for()  # type: ignore[attr-defined]
        buttons = reader.get_by_role("button", name="Enregistrer la décision").count()  # type: ignore[attr-defined]
        arrive(member, base, "comite")
        decided = committee_decides(member)
        arrive(analyst, base, "ars")
        open_workflow(analyst, "Suivi (ARS, CPAM)", "Décisions enregistrées")
        decisions = table_rows(analyst, "Signée par")
    assert buttons == 0
    for name in ("CPTS Pays d'Aix Centre", "CPTS Aix Nord Durance", "CPTS Aix Ouest"):
        assert name in str(decided["legend"])
    parties = {r["côté"]: r for r in decided["parties"]}  # type: ignore[union-attr]
    assert set(parties) == {"A", "B", "C"}
    assert parties["A"]["projet"] == "CPTS Aix Nord Durance"
    recorded = str(decided["recorded"])
    assert "Toutes les communes disputées à A" in recorded
    for name in ("CPTS Pays d'Aix Centre", "CPTS Aix Nord Durance", "CPTS Aix Ouest"):
        assert name in recorded  # the message names the parties, whatever is drawn next
    assert f"à partir du {dt.date.today():%d/%m/%Y}" in recorded
    assert decided["reasons_after"] == [""]  # the Arles dispute is drawn next, form empty
    assert [(r["Signée par"], r["Motifs"], r["Option retenue"]) for r in decisions] == [
        (COMMITTEE["name"], REASONS, "Toutes les communes disputées à A")
    ]
    assert decisions[0]["Date d'effet"] == dt.date.today().strftime("%d/%m/%Y")
    assert outside_requests(blocked) == []
    registry_holds_the_decision(database, parties["A"]["identifiant"])


def registry_holds_the_decision(database: Path, party_a: str) -> None:
    """After the journey: one decision signed by the member; Aix-en-Provence in A's only."""
    registry = open_registry(database)
    try:
        decisions = decisions_of(registry)
        today = state_at(registry, dt.date.today(), region="93").perimeters
        before = state_at(registry, dt.date.today() - dt.timedelta(days=1), region="93").perimeters
    finally:
        close_registry(registry)
    assert decisions["decided_by"].tolist() == [COMMITTEE["name"]]
    assert decisions["option"].tolist() == ["tout_a"]
    assert decisions["reasons"].tolist() == [REASONS]
    assert sum("13001" in codes for codes in before["unit_codes"]) == 3  # history kept
    claimants = today[["13001" in codes for codes in today["unit_codes"]]]
    assert claimants["perimeter_id"].tolist() == [party_a]
