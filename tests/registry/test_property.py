"""The registry's property: any listings imported in any order give back each listing.

For any sequence of dated listings (France or one department of the grid,
distinct dates) imported in any order, the registry's state on each listing's
date within its scope equals that listing, and its coverage history on that
date equals the coverage the analysis computes from the listing itself
(:func:`diagnosis.analysis.rates.coverage_rates`).

Each perimeter of the generated listings belongs to one department (its
communes are drawn there, disjoint within a listing) and keeps its name
across listings, as real listings do.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from diagnosis.analysis.rates import coverage_rates
from diagnosis.core.model import PerimeterImport, perimeters_from_members
from diagnosis.registry import ListingRefusedError, close_registry, coverage_history, state_at
from diagnosis.registry import import_listing as import_into
from tests.grid import NY, cell
from tests.registry.conftest import Databases, grid

DEPARTMENTS = {
    "01": [cell(c, r) for c in range(3) for r in range(NY)],
    "38": [cell(c, r) for c in range(3, 5) for r in range(NY)],
}
IDENTITIES = {"01": ["Alpha", "Bravo", "Charlie"], "38": ["Delta", "Echo"]}
STATUSES = [None, "emergence", "lettre_intention", "projet_sante", "aci_signe"]


Variant = dict[str, tuple[list[str], str | None]]  # name -> (codes, status)


@st.composite
def a_variant(draw: st.DrawFn, department: str) -> Variant:
    """One way of cutting a department into its perimeters (some communes in none)."""
    names = IDENTITIES[department]
    members: dict[str, list[str]] = {}
    for code in DEPARTMENTS[department]:
        slot = draw(st.integers(0, len(names)))  # len(names): in no perimeter
        if slot < len(names):
            members.setdefault(names[slot], []).append(code)
    return {name: (codes, draw(st.sampled_from(STATUSES))) for name, codes in members.items()}


@st.composite
def listings(draw: st.DrawFn) -> tuple[list[tuple[dt.date, str | None, PerimeterImport]], list]:
    """Listings drawn among two variants per department, so that many say the same."""
    variants = {d: [draw(a_variant(d)), draw(a_variant(d))] for d in DEPARTMENTS}
    months = draw(st.lists(st.integers(0, 35), min_size=2, max_size=6, unique=True))
    drawn = []
    for month in months:
        scope = draw(st.sampled_from([None, None, "01", "38"]))
        chosen: Variant = {}
        for department in [scope] if scope else sorted(DEPARTMENTS):
            chosen |= variants[department][draw(st.integers(0, 1))]
        listing = perimeters_from_members(
            {n: codes for n, (codes, _) in chosen.items()},
            statuses={n: status for n, (_, status) in chosen.items()},
            names={n: n for n in chosen},
        )
        drawn.append((dt.date(2023 + month // 12, month % 12 + 1, 1), scope, listing))
    order = draw(st.permutations(range(len(drawn))))
    return drawn, list(order)


def content(listing: PerimeterImport) -> set[tuple[str, str | None, tuple[str, ...]]]:
    return {
        (str(n), s if isinstance(s, str) else None, tuple(c))
        for n, s, c in zip(
            listing.perimeters["name"],
            listing.perimeters["status"],
            listing.perimeters["unit_codes"],
            strict=True,
        )
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=listings())
def test_any_listings_in_any_order_give_back_each_listing(
    databases: Databases, case: tuple[list, list]
) -> None:
    drawn, order = case
    ref = grid()
    registry = databases.new()
    try:
        imported = []
        for i in order:
            day, scope, listing = drawn[i]
            try:
                import_into(
                    registry,
                    listing,
                    as_of=day,
                    department=scope,
                    referential=ref,
                    filename=f"liste-{i}.csv",
                )
                imported.append(i)
            except ListingRefusedError as exc:  # an ambiguity is refused, never guessed
                note(f"listing {i} refused: {exc}")
        for i in imported:
            day, scope, listing = drawn[i]
            state = state_at(registry, day, department=scope, referential=ref)
            assert content(state) == content(listing), (i, day, scope)
            key = f"DEP-{scope}" if scope else "FR"
            expected = coverage_rates(listing, ref)
            expected = expected[expected["scope"] == key].set_index("status_min")
            history = coverage_history(registry, [day], department=scope, referential=ref)
            got = history[history["scope"] == key].set_index("status_min")
            assert got["population_covered"].to_dict() == expected["population_covered"].to_dict()
            assert got["population_total"].to_dict() == expected["population_total"].to_dict()
    finally:
        close_registry(registry)
