"""Timing and progress reporting of long computations (data build, diagnosis)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class StepTimer:
    """Times the steps of a computation, logs each one and calls a progress callback.

    Examples
    --------
    >>> step = StepTimer("demo", logging.getLogger("demo"))
    >>> step("first")
    >>> list(step.timings)
    ['first']
    """

    def __init__(
        self, what: str, logger: logging.Logger, progress: Callable[[str], None] | None = None
    ) -> None:
        self.what = what
        self.logger = logger
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        """Mark the end of step ``name``."""
        now = time.perf_counter()
        self.timings[name] = round(now - self._clock, 3)
        self._clock = now
        self.logger.info("%s step done: %s", self.what, name)
        if self.progress is not None:
            self.progress(name)
