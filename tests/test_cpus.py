"""The CPUs a process may use (affinity, cgroup quotas) and the default worker count."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cpus import default_workers, parse_cpu_max, usable_cpus


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("max 100000\n", None),
        ("200000 100000\n", 2.0),
        ("150000 100000", 1.5),
        ("50000 100000", 0.5),
        ("", None),
        ("garbage", None),
        ("0 100000", None),
        ("100000 0", None),
        ("x 100000", None),
    ],
)
def test_parse_cpu_max_reads_quota_over_period(text: str, cpus: float | None) -> None:
    assert parse_cpu_max(text) == cpus


@pytest.mark.parametrize(
    ("cpus", "workers"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (8, 4), (64, 4)]
)
def test_default_workers_leave_one_cpu_to_the_event_loop(cpus: int, workers: int) -> None:
    assert default_workers(cpus) == workers


def test_a_cgroup_v2_quota_caps_the_usable_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")

    assert usable_cpus(tmp_path) == 1


def test_a_fractional_quota_rounds_up_to_whole_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")

    assert usable_cpus(tmp_path) == 1


def test_a_cgroup_v1_quota_caps_the_usable_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")

    assert usable_cpus(tmp_path) == 1


def test_without_a_quota_the_affinity_mask_counts(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")

    assert usable_cpus(tmp_path) == len(os.sched_getaffinity(0))
