"""The CPUs this process may use, and how many summarizing workers that makes by default.

``os.cpu_count`` reports the machine's CPUs; a process pinned to some of them (taskset,
``docker run --cpuset-cpus``) or given a CPU quota (``docker run --cpus``, Kubernetes
limits: cgroup ``cpu.max``) can use fewer, and one worker per machine CPU would then only
compete with the event loop. ``parse_cpu_max`` and ``default_workers`` are pure.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The bot's event loop (fetches, database writes, routing, Telegram) needs a CPU of its own:
# on a 2-core machine one worker parses and summarizes as fast as two (benchmarks/README.md)
# and leaves commands fast.
MAX_DEFAULT_WORKERS = 4


def parse_cpu_max(text: str) -> float | None:
    """CPUs a cgroup v2 ``cpu.max`` ("QUOTA PERIOD", or "max PERIOD") allows; None: no limit."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _quota(root: Path) -> float | None:
    """The CPU quota of this process's cgroup (v2, else v1), when there is one."""
    try:
        return parse_cpu_max((root / "cpu.max").read_text())
    except OSError:
        pass
    try:
        quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return parse_cpu_max(f"{quota} {period}") if quota != "-1" else None


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _quota(root)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def default_workers(cpus: int) -> int:
    """Summarizing processes for ``cpus`` usable CPUs: one CPU is left to the event loop."""
    return max(1, min(MAX_DEFAULT_WORKERS, cpus - 1))
