"""How fast the machine is right now, for the benchmarks to print beside their figures."""

from __future__ import annotations

import os
import time


def load() -> str:
    """The load averages, as text."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_reference() -> float:
    """Seconds one core takes for a fixed pure-Python loop: how fast the machine was.

    On a shared machine the same build can take a third longer from one run to the
    next; printed before and after, it says whether a run's figures are comparable.
    """
    t = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - t
