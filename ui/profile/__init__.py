"""A territory's profile, shared by "Mon territoire" and the CPTS fiche of "Couverture".

One module per panel: :mod:`~ui.profile.summary` (key figures, floor, shape,
EPCIs), :mod:`~ui.profile.funding` (ACI funding), :mod:`~ui.profile.care`
(care indicators), :mod:`~ui.profile.care_maps` (APL and FINESS maps),
:mod:`~ui.profile.fiche` (save and print); :mod:`~ui.profile.page` lays them
out. The what-if is :func:`ui.care_panels.whatif_section`.
"""

from ui.profile.fiche import territory_fiche
from ui.profile.page import territory_profile

__all__ = ["territory_fiche", "territory_profile"]
