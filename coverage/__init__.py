"""Care supply and access-to-care indicators (official loaders, densities, 2SFCA).

The public face of the package: what a notebook, the command line and the
dashboard call.

Examples
--------
>>> from coverage import indicator_specs
>>> indicator_specs()[0].indicator_id
'population'
"""

from coverage.access import (
    AccessResult,
    Decay,
    TravelPairs,
    age_weights,
    cap_gp_activity,
    crow_fly_pairs,
    pairs_from_table,
    referential_pairs,
    two_step_fca,
)
from coverage.care import CareData, care_data, computed_gp_access, merge_apl
from coverage.indicator_specs import IndicatorSpec, indicator_specs
from coverage.indicators import INDICATOR_COLUMNS, scope_names, territory_indicators
from coverage.loaders.apl import (
    AplData,
    AplFileError,
    AplProfessionError,
    apl_summary,
    load_drees_apl,
)
from coverage.loaders.embedded import embedded_apl, embedded_manifest
from coverage.loaders.fetch import CareSource, FetchError, care_sources, fetch_source
from coverage.loaders.finess import FinessTable, finess_categories, load_finess
from coverage.loaders.normalise import attach_to_units, resolve_codes
from coverage.loaders.registry import (
    CareLoaderSpec,
    care_loader,
    care_loaders,
    care_source_label,
    load_care_file,
)
from coverage.loaders.supply import (
    SupplyFileError,
    SupplyTable,
    load_bpe,
    load_population_ages,
    load_rpps,
)
from coverage.loaders.travel import TravelFileError, TravelTable, load_travel_times
from coverage.priority import (
    APL_CLASS_COLUMNS,
    PRIORITY_COLUMNS,
    AplClass,
    apl_classes,
    apl_map_classes,
    priority_white_zones,
)
from coverage.profile import PROFILE_COLUMNS, perimeter_profiles
from coverage.rules import AplProfession, apl_profession, apl_professions
from coverage.whatif import (
    ESTIMATE_LABEL,
    WHATIF_COLUMNS,
    WhatIfModel,
    WhatIfResult,
    gp_whatif_model,
    whatif_model,
)

__all__ = [
    "APL_CLASS_COLUMNS",
    "ESTIMATE_LABEL",
    "INDICATOR_COLUMNS",
    "PRIORITY_COLUMNS",
    "PROFILE_COLUMNS",
    "WHATIF_COLUMNS",
    "AccessResult",
    "AplClass",
    "AplData",
    "AplFileError",
    "AplProfession",
    "AplProfessionError",
    "CareData",
    "CareLoaderSpec",
    "CareSource",
    "Decay",
    "FetchError",
    "FinessTable",
    "IndicatorSpec",
    "SupplyFileError",
    "SupplyTable",
    "TravelFileError",
    "TravelPairs",
    "TravelTable",
    "WhatIfModel",
    "WhatIfResult",
    "age_weights",
    "apl_classes",
    "apl_map_classes",
    "apl_profession",
    "apl_professions",
    "apl_summary",
    "attach_to_units",
    "cap_gp_activity",
    "care_data",
    "care_loader",
    "care_loaders",
    "care_source_label",
    "care_sources",
    "computed_gp_access",
    "crow_fly_pairs",
    "embedded_apl",
    "embedded_manifest",
    "fetch_source",
    "finess_categories",
    "gp_whatif_model",
    "indicator_specs",
    "load_bpe",
    "load_care_file",
    "load_drees_apl",
    "load_finess",
    "load_population_ages",
    "load_rpps",
    "load_travel_times",
    "merge_apl",
    "pairs_from_table",
    "perimeter_profiles",
    "priority_white_zones",
    "referential_pairs",
    "resolve_codes",
    "scope_names",
    "territory_indicators",
    "two_step_fca",
    "whatif_model",
]
