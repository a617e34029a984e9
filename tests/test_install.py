"""The image's install step, without a container engine: a fresh virtualenv gets the runtime
lock (hashes checked, no resolver), then the project's wheel built from exactly what the
Dockerfile copies; the installed `sciforum` then previews a page and checks its database.

This catches what an editable checkout hides: a dependency missing from the lock, package
data left out of the wheel (migrations, the topic model), a module outside the copied
folders. Slow (a virtualenv of ~300 MB), so it runs alone: `make test-install` (CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dockerfile import ROOT, copied_sources

pytestmark = pytest.mark.packaging

SEED = ROOT / "tests" / "fixtures" / "seeds" / "000_4f7f9f5734775d9e.txt"


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, check=False, **kwargs
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/opt/venv as the Dockerfile builds it; yields its bin directory."""
    work = tmp_path_factory.mktemp("image")
    target = work / "venv"
    _run(sys.executable, "-m", "venv", target)
    pip = [target / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    (requirements,) = [s for sources, _ in copied_sources("deps") for s in sources]
    _run(*pip, "install", "--require-hashes", "--no-deps", "-r", ROOT / requirements)
    # The wheel stage's build context: only what its COPY lines bring in.
    context = work / "src"
    context.mkdir()
    for sources, destination in copied_sources("wheel"):
        into = context / destination
        for source in map(ROOT.joinpath, sources):
            if source.is_dir():
                shutil.copytree(source, into, ignore=shutil.ignore_patterns("__pycache__"))
            else:  # COPY's files go into a destination that ends with "/"
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, into / source.name)
    _run(*pip, "wheel", "--no-deps", "--wheel-dir", work / "dist", context)
    (wheel,) = (work / "dist").glob("*.whl")
    _run(*pip, "install", "--no-deps", wheel)
    _run(*pip, "check")
    return target / "bin"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no settings from the developer's shell, a SQLite file in tmp."""
    kept = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **kept,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'sciforum.db'}",
        "LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def test_the_installed_package_is_the_wheel_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    done = _run(venv / "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert Path(done.stdout.strip()).is_relative_to(venv.parent / "lib")


def test_every_module_imports_with_the_locked_dependencies_alone(
    venv: Path, tmp_path: Path
) -> None:
    # Import-time needs only: a package the code uses but the lock lacks fails here, even on
    # paths the other tests do not run (the bot, the webhook server, the job queue).
    script = """
import importlib, pkgutil
for top in ("bot", "summaries", "db"):
    package = importlib.import_module(top)
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        if not module.name.startswith("db.migrations"):  # Alembic runs those itself
            importlib.import_module(module.name)
import telegram.ext, tornado, apscheduler  # PTB's job-queue and webhooks extras
"""
    _run(venv / "python", "-c", script, cwd=tmp_path)


def test_the_installed_command_previews_a_page_with_its_summary_topics_and_forum(
    venv: Path, env: dict[str, str], tmp_path: Path
) -> None:
    done = _run(venv / "sciforum", "preview", SEED, "--json", env=env, cwd=tmp_path)
    (item,) = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert "Shenzhen" in item["title"]
    assert item["summary"]
    assert "microbiology" in item["topics"]  # the topic model shipped as package data
    assert item["event"]["city"] == "Shenzhen"


def test_the_installed_command_migrates_then_reports_the_database_healthy(
    venv: Path, env: dict[str, str], tmp_path: Path
) -> None:
    sciforum = venv / "sciforum"
    unhealthy = subprocess.run(
        [sciforum, "health"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert unhealthy.returncode == 1
    _run(sciforum, "db", "upgrade", env=env, cwd=tmp_path)  # the migrations shipped in the wheel
    idle = subprocess.run(
        [sciforum, "health"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert idle.returncode == 1
    assert idle.stderr.startswith("error: no heartbeat yet")  # nothing runs on it yet
    # A running process's first heartbeat, written by the installed package (the start-up
    # benchmark's way of making one).
    url = env["DATABASE_URL"]
    _run(venv / "python", ROOT / "benchmarks" / "startup.py", "--beat", url, env=env, cwd=tmp_path)
    done = _run(sciforum, "health", env=env, cwd=tmp_path)
    assert done.stdout.startswith("ok: ")
    version = _run(sciforum, "--version", env=env, cwd=tmp_path)
    assert version.stdout.startswith("sciforum-digest ")
