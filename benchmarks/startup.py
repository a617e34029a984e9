"""Start-up benchmark: wall time and peak RSS of short ``sciforum`` commands.

Each command runs as a fresh process, several times; the figures are the median wall time
(spawn to exit) and the median peak resident set size of the process (``wait4``'s rusage,
so no sampling misses the peak). ``python -c pass`` is the floor every command pays.
``feeds list`` reads an empty, already migrated SQLite database in a temporary folder: the
everyday case, where start-up finds the schema current and does not load Alembic.

    .venv/bin/python benchmarks/startup.py              # 10 runs of each
    .venv/bin/python benchmarks/startup.py --runs 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# The goal for the commands a person types to look around (not for `run`, which loads
# everything on purpose).
GOAL_SECONDS = 0.5
GOAL_MB = 60.0


def _sciforum() -> list[str]:
    script = Path(sys.executable).parent / "sciforum"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """One run: wall seconds and peak RSS in MB."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {errors.decode()}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def _write_heartbeat(url: str) -> None:
    """Runs in a child process (``--beat URL``): this process stays as small as ``python -c
    pass``, because a child's peak RSS counts what it shared with its parent before exec."""
    from db import heartbeat  # noqa: PLC0415 (a child process only: see the docstring)
    from db.engine import create_engine, session_factory, transaction  # noqa: PLC0415

    async def beat() -> None:
        engine = create_engine(url)
        process = heartbeat.Process(socket.gethostname(), "all", os.getpid())
        try:
            async with transaction(session_factory(engine)) as session:
                await heartbeat.record_start(session, process, now=datetime.now(UTC))
        finally:
            await engine.dispose()

    asyncio.run(beat())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--beat", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.beat:
        _write_heartbeat(args.beat)
        return

    sciforum = _sciforum()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{cwd / 'data' / 'startup.db'}",
            "LOG_LEVEL": "WARNING",
        }
        # Migrate once, as the first start of a deployment does.
        subprocess.run(
            [*sciforum, "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True
        )
        # A running process's heartbeat: `health` then judges it as in production (exit 0).
        subprocess.run(
            [sys.executable, __file__, "--beat", env["DATABASE_URL"]], env=env, check=True
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "sciforum --help": [*sciforum, "--help"],
            "sciforum --version": [*sciforum, "--version"],
            "sciforum feeds list": [*sciforum, "feeds", "list"],
            "sciforum health": [*sciforum, "health"],
        }
        print(
            f"{args.runs} runs each; median wall time and peak RSS (goal ≤ "
            f"{GOAL_SECONDS * 1000:.0f} ms, ≤ {GOAL_MB:.0f} MB)\n"
        )
        print(f"{'command':<22} {'wall ms':>8} {'min ms':>7} {'RSS MB':>7}  goal")
        for name, argv in commands.items():
            measure(argv, env, cwd)  # warm the page cache
            runs = [measure(argv, env, cwd) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            verdict = (
                ""
                if name.startswith("python")
                else ("met" if wall <= GOAL_SECONDS and rss <= GOAL_MB else "missed")
            )
            print(
                f"{name:<22} {wall * 1000:>8.0f} {min(r[0] for r in runs) * 1000:>7.0f}"
                f" {rss:>7.1f}  {verdict}"
            )


if __name__ == "__main__":
    main()
