"""The deployment files agree with the code: docker-compose.yml passes only real settings,
the Dockerfile's health check, port, stop signal and user match the app, and the image and
the venv install exactly the lock. Read, not run: no container engine is needed."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from bot.app import STOP_SENDS_TIMEOUT
from bot.cli import app
from bot.settings import Settings
from db.engine import async_url
from tests.dockerfile import ROOT, copied_sources, default_arg, in_stage, instructions

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BOT = COMPOSE["services"]["bot"]
DB = COMPOSE["services"]["db"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETTINGS = {name.upper() for name in Settings.model_fields}
# Variables docker compose itself reads from .env to build the PostgreSQL service.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}


def _default(field: str) -> Any:
    return Settings.model_fields[field].default


def _interpolated(value: str) -> str:
    """A compose value with ${VAR...} references filled in as compose would from .env."""
    return re.sub(r"\$\{[A-Z_]+(?::?[-?][^}]*)?\}", "secret", value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, duration
    return sum(float(n) * units[u] for n, u in parts)


# --- docker-compose.yml ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_environment(BOT)))
def test_every_variable_compose_gives_the_bot_is_a_setting(name: str) -> None:
    assert name in SETTINGS


def test_every_variable_in_the_example_env_file_is_a_setting_or_read_by_compose() -> None:
    names = re.findall(
        r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE
    )
    assert names
    assert set(names) - SETTINGS - COMPOSE_ONLY == set()


def test_the_bot_reads_dotenv_and_waits_for_a_healthy_database() -> None:
    assert BOT["env_file"] in (".env", [".env"])
    assert BOT["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(DB["healthcheck"]["test"])


def test_the_bot_talks_to_the_compose_postgresql_as_its_user_and_database() -> None:
    url = async_url(_interpolated(_environment(BOT)["DATABASE_URL"]))
    db_env = _environment(DB)
    assert url.drivername == "postgresql+psycopg"
    assert url.host in COMPOSE["services"]
    assert (url.username, url.database) == (db_env["POSTGRES_USER"], db_env["POSTGRES_DB"])


def test_postgresql_is_version_16_and_keeps_its_data_on_a_named_volume() -> None:
    assert re.fullmatch(r"postgres:16(\.\d+)?(-bookworm)?", DB["image"])
    (mount,) = DB["volumes"]
    volume, target = mount.split(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in COMPOSE["volumes"]


def test_compose_runs_one_bot_and_several_ingest_workers_as_the_cli_understands() -> None:
    from bot.roles import ROLES

    apps = {
        name: svc for name, svc in COMPOSE["services"].items() if svc.get("image") == BOT["image"]
    }
    commands = {name: svc["command"] for name, svc in apps.items()}
    assert commands == {
        "bot": ["sciforum", "run", "--role", "bot"],
        "ingest": ["sciforum", "run", "--role", "ingest"],
    }
    assert {command[-1] for command in commands.values()} <= set(ROLES)
    assert apps["ingest"]["deploy"]["replicas"] >= 2
    # The workers get the bot's database and settings.
    assert _environment(apps["ingest"]) == _environment(BOT)
    assert apps["ingest"]["env_file"] == BOT["env_file"]


def test_the_stop_grace_period_covers_the_apps_clean_stop() -> None:
    # A stop waits for the sends in flight and for the ingest pass in flight, whose slowest
    # fetch is capped by HTTP_TOTAL_TIMEOUT.
    needed = STOP_SENDS_TIMEOUT + _default("http_total_timeout")
    assert _seconds(BOT["stop_grace_period"]) >= needed


# --- Dockerfile -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("EXPOSE", str(_default("webhook_port"))),
        # bot.runner stops cleanly on SIGTERM (test_cli's run test sends it).
        ("STOPSIGNAL", "SIGTERM"),
        ("ENTRYPOINT", '["tini", "--"]'),
        ("CMD", '["sciforum", "run"]'),
    ],
)
def test_the_image_runs_the_app_as_it_expects(keyword: str, expected: str) -> None:
    assert in_stage("final", keyword) == [expected]


def test_the_image_health_check_is_the_health_command() -> None:
    (check,) = in_stage("final", "HEALTHCHECK")
    assert check.endswith('CMD ["sciforum", "health"]')
    result = CliRunner().invoke(app, ["health", "--help"])
    assert result.exit_code == 0


def test_the_image_runs_as_an_unprivileged_user_who_owns_the_data_folder() -> None:
    (create,) = [a for a in in_stage("final", "RUN") if "useradd" in a]
    uid = re.search(r"--uid (\d+)", create)
    assert uid is not None
    assert int(uid.group(1)) >= 1000
    assert in_stage("final", "USER") == [f"{uid.group(1)}:{uid.group(1)}"]  # --user-group
    assert "chown sciforum:sciforum /app/data" in create
    assert in_stage("final", "VOLUME") == ['["/app/data"]']
    (env,) = [a for a in in_stage("final", "ENV") if "DATABASE_URL" in a]
    assert "DATABASE_URL=sqlite:////app/data/sciforum.db" in env


def test_the_base_image_is_pinned_to_a_python_release_the_lock_was_made_for() -> None:
    image = default_arg("PYTHON_IMAGE")
    match = re.fullmatch(r"python:(3\.\d+)\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    assert match, image
    assert "--python-version " + match.group(1) in (ROOT / "requirements/lock.sh").read_text()
    assert PYPROJECT["project"]["requires-python"] == ">=" + match.group(1)
    first = next(i.args for i in instructions() if i.keyword == "FROM")
    assert first == "${PYTHON_IMAGE} AS base"


def test_the_dependencies_layer_holds_the_lock_alone_installed_with_hashes() -> None:
    assert copied_sources("deps") == [(["requirements/runtime.txt"], "/tmp/runtime.txt")]
    (install,) = in_stage("deps", "RUN")
    assert "pip install --require-hashes --no-deps -r /tmp/runtime.txt" in install
    # The final stage takes that venv first, then adds the project's wheel without deps.
    final_steps = [i.args for i in instructions() if i.stage == "final"]
    copy_venv = final_steps.index("--from=deps /opt/venv /opt/venv")
    (wheel,) = [n for n, step in enumerate(final_steps) if "/dist/*.whl" in step]
    assert copy_venv < wheel
    assert "pip install --no-deps /dist/*.whl" in final_steps[wheel]


def test_the_build_context_lets_in_what_the_image_copies_and_keeps_dotenv_out() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for stage in ("deps", "wheel", "final")
        for sources, _ in copied_sources(stage)
        for source in sources
    }
    assert copied <= allowed
    assert not any(a == ".env" or a.startswith(".env") for a in allowed)


def test_the_wheel_is_built_from_every_package_pyproject_ships() -> None:
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {dest.removeprefix("./") for _, dest in copied_sources("wheel")}
    assert packages <= copied
    assert {"pyproject.toml", "README.md", "LICENSE"} <= {
        s for sources, _ in copied_sources("wheel") for s in sources
    }


# --- the lock -------------------------------------------------------------------------------


def _locked(name: str) -> dict[str, str]:
    """The lock file's pins by canonical name, each checked to carry a hash."""
    pins: dict[str, str] = {}
    text = (ROOT / "requirements" / name).read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
        first = block.split("\\", 1)[0].strip()
        requirement, _, _marker = first.partition(" ;")
        package, version = requirement.split("==")
        assert "--hash=sha256:" in block, package
        pins[canonicalize_name(package)] = version
    return pins


def _direct(extras: tuple[str, ...]) -> list[Requirement]:
    found = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    return [r for r in found if canonicalize_name(r.name) != "sciforum-digest"]


@pytest.mark.parametrize(
    ("lock", "extras"), [("runtime.txt", ("postgres",)), ("dev.txt", ("postgres", "dev"))]
)
def test_each_direct_dependency_is_locked_at_a_version_pyproject_allows(
    lock: str, extras: tuple[str, ...]
) -> None:
    # The offline half of `make lock-check` (which re-resolves, and runs in CI).
    pins = _locked(lock)
    for requirement in _direct(extras):
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements/{lock}"
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


def test_the_dev_lock_has_the_runtime_locks_versions() -> None:
    runtime, dev = _locked("runtime.txt"), _locked("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.mark.parametrize(
    ("recipe", "command"),
    [
        (
            ROOT / "Makefile",
            "pip install --quiet --require-hashes --no-deps -r requirements/dev.txt",
        ),
        (ROOT / "Makefile", "pip install --quiet --no-deps -e ."),
        (ROOT / ".ci/run", "make lock-check"),
        (ROOT / ".ci/run", "make test-install"),
    ],
)
def test_the_venv_and_ci_install_from_the_lock(recipe: Path, command: str) -> None:
    assert command in " ".join(shlex.split(recipe.read_text(), comments=True))
