"""A separate process importing a listing into a registry, for the reliability tests.

``python -m tests.registry.worker URL NAME DATE CODE… [--hold FLAG RELEASE] [--wait S]``
imports a France listing with one perimeter ``NAME`` (the grid's codes) as of
``DATE`` for user ``NAME.lower()``. With ``--hold``, once its versions are
written (inside the transaction, not yet committed) it creates ``FLAG`` and
waits for ``RELEASE`` to exist: the test can kill it there, or let it go.
Prints ``committed`` (exit 0) or the French error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from diagnosis.core.model import perimeters_from_members
from diagnosis.errors import AtlasError
from diagnosis.registry import import_listing, open_registry
from tests.registry.conftest import grid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("date")
    parser.add_argument("codes", nargs="+")
    parser.add_argument("--hold", nargs=2)
    parser.add_argument("--wait", type=float, default=30.0)
    args = parser.parse_args()

    def progress(step: str) -> None:
        if args.hold and step == "versions écrites":
            flag, release = (Path(p) for p in args.hold)
            flag.touch()
            while not release.exists():
                time.sleep(0.05)

    try:
        registry = open_registry(args.url, lock_wait_s=args.wait)
        listing = perimeters_from_members({args.name: args.codes}, names={args.name: args.name})
        import_listing(
            registry,
            listing,
            as_of=args.date,
            referential=grid(),
            filename=f"liste-{args.name.lower()}.csv",
            actor=args.name.lower(),
            progress=progress,
        )
    except AtlasError as exc:
        print(exc)
        return 2
    print("committed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
