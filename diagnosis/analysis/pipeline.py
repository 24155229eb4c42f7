"""The whole diagnosis of a set of perimeters, as used by the CLI, the app and notebooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from diagnosis.analysis.checks import PerimeterDiagnosis, diagnose_perimeters
from diagnosis.analysis.geometry import dissolve_perimeters
from diagnosis.analysis.membership import Membership, membership
from diagnosis.analysis.overlaps import declared_splits, overlap_pairs, overlaps
from diagnosis.analysis.proposals import Proposals, propose_for_white_zones
from diagnosis.analysis.rates import coverage_rates
from diagnosis.analysis.white_zones import WhiteZones, white_zones
from diagnosis.core.model import PerimeterImport
from diagnosis.core.referential import Referential, whole_referential
from diagnosis.core.statuses import StatusKey
from diagnosis.progress import StepTimer

__all__ = ["Diagnosis", "run_diagnosis"]

logger = logging.getLogger(__name__)

STEPS = (
    "appartenances",
    "périmètres",
    "chevauchements",
    "zones blanches",
    "couverture",
    "propositions",
)


@dataclass
class Diagnosis:
    """Everything the diagnosis found, as evidence tables.

    ``membership`` is the view's (its units, at the threshold): overlaps,
    white zones, coverage rates and proposals are about the view.
    ``perimeters`` describes the view's perimeters whole, from
    ``whole_membership`` (built on the whole referential).
    """

    imported: PerimeterImport
    referential: Referential
    status_min: StatusKey
    membership: Membership
    perimeters: PerimeterDiagnosis
    overlaps: pd.DataFrame
    overlap_pairs: pd.DataFrame
    splits: pd.DataFrame
    white: WhiteZones
    coverage: pd.DataFrame
    proposals: Proposals | None
    timings_s: dict[str, float] = field(default_factory=dict)
    whole_membership: Membership | None = None

    @property
    def outside(self) -> pd.DataFrame:
        """Members of the view's perimeters outside the view (perimeter_id, code).

        Context, not a rejection: they count in each perimeter's size (the
        perimeter is evaluated whole), not in the view's coverage, overlaps or
        white zones. Codes unknown to the whole referential are here too.
        """
        return self.membership.outside

    def perimeter_geometries(self) -> gpd.GeoDataFrame:
        """The view's perimeters dissolved whole (WGS84), in the order of the summary."""
        if self.perimeters.geometries is not None:
            return self.perimeters.geometries
        whole = self.whole_membership if self.whole_membership is not None else self.membership
        return dissolve_perimeters(whole, whole_referential(self.referential))

    def coverage_at_threshold(self) -> pd.DataFrame:
        """Coverage rates at the diagnosis's own status threshold."""
        return self.coverage[self.coverage["status_min"] == self.status_min].reset_index(drop=True)


def run_diagnosis(
    imported: PerimeterImport,
    ref: Referential,
    *,
    status_min: StatusKey = "emergence",
    geometry: bool = True,
    proposals: bool = True,
    funding_options: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Diagnosis:
    """Run every check on imported perimeters within the referential's scope.

    Parameters
    ----------
    imported
        Result of :func:`diagnosis.importer.perimeters.import_perimeters`.
    ref
        Referential of the view (France, a region or a department, see
        :func:`diagnosis.core.referential.referential_view`): it chooses the
        perimeters shown (those with a unit in it) and the population the
        coverage rates count. Perimeters are evaluated whole, against
        :func:`diagnosis.core.referential.whole_referential` of ``ref``.
    status_min
        Status threshold for coverage, overlaps, white zones and proposals.
    geometry
        Dissolve perimeters and look for enclaves.
    proposals
        Compute proposals for the white zones.
    funding_options
        Options of :func:`diagnosis.core.aci.simulate_funding`.
    progress
        Called with the name of each step.
    """
    step = StepTimer("diagnosis", logger, progress)

    # One membership for every threshold: the coverage reads the four statuses
    # from it, the other checks use it restricted to ``status_min``.
    every_status = membership(imported, ref)
    at_threshold = every_status.at_threshold(status_min)
    whole_ref = whole_referential(ref)
    whole = (
        at_threshold
        if whole_ref is ref
        else membership(imported, whole_ref, status_min=status_min).in_view(ref)
    )
    step(STEPS[0])
    per = diagnose_perimeters(
        whole, whole_ref, view=ref, geometry=geometry, funding_options=funding_options
    )
    step(STEPS[1])
    units_over = overlaps(at_threshold, ref)
    pairs = overlap_pairs(at_threshold)
    splits = declared_splits(at_threshold, ref)
    step(STEPS[2])
    white = white_zones(at_threshold, ref)
    step(STEPS[3])
    coverage = coverage_rates(every_status, ref)
    step(STEPS[4])
    props = propose_for_white_zones(at_threshold, ref, white) if proposals else None
    step(STEPS[5])
    return Diagnosis(
        imported=imported,
        referential=ref,
        status_min=status_min,
        membership=at_threshold,
        perimeters=per,
        overlaps=units_over,
        overlap_pairs=pairs,
        splits=splits,
        white=white,
        coverage=coverage,
        proposals=props,
        timings_s=step.timings,
        whole_membership=whole,
    )
