"""The sciforum command line, in process (CliRunner) and as a real process (`run`)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import FIXTURES, forums_feed
from tests.fakebot import FakeTelegram
from tests.feedserver import FeedServer
from tests.pg import PostgresServer

INGEST = FIXTURES / "ingest"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory and environment, with the database under it."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "FEEDS", "POLL_", "HTTP_", "ADMIN_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'cli.db'}")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables at the terminal width
    monkeypatch.setenv("HTTP_ALLOW_PRIVATE", "true")  # the feed server is on loopback
    return tmp_path


@pytest.fixture
def server(article_site: FeedServer) -> FeedServer:
    article_site.add("/forums.rss", forums_feed(), etag='"v1"')
    return article_site


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("POLL_INTERVAL", "often"),
        ("POLL_INTERVAL", "-5"),
        ("ADMIN_IDS", "alice"),
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("FEEDS", "/nonexistent/feeds.txt"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://u@h/db"),
    ],
)
def test_a_wrong_setting_stops_with_one_line_naming_it(
    env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = invoke("feeds", "list")
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert variable in lines[0] or "mysql" in lines[0]


def test_settings_come_from_a_dotenv_file_too(env: Path) -> None:
    (env / ".env").write_text("POLL_INTERVAL=nope\n")
    code, _, err = invoke("feeds", "list")
    assert code == 2
    assert "POLL_INTERVAL" in err


def test_feeds_are_added_listed_exported_and_removed(env: Path) -> None:
    assert invoke("feeds", "add", "https://a.example/rss")[0] == 0
    code, _, err = invoke("feeds", "add", "https://a.example/rss")
    assert code == 1
    assert "already added" in err
    assert invoke("feeds", "add", "ftp://nope")[0] == 2

    code, out, _ = invoke("feeds", "list")
    assert code == 0
    assert "https://a.example/rss" in out
    assert "new" in out

    code, out, _ = invoke("feeds", "export")
    assert 'xmlUrl="https://a.example/rss"' in out

    assert invoke("feeds", "remove", "1")[0] == 0
    code, _, err = invoke("feeds", "remove", "1")
    assert code == 1
    assert "no feed" in err


def test_feeds_add_takes_default_topics_and_list_shows_them(env: Path) -> None:
    code, out, _ = invoke(
        "feeds", "add", "https://lab.example/rss", "--topic", "microbiology", "-t", "#Cell_Biology"
    )
    assert code == 0
    assert "added feed 1: https://lab.example/rss (topics: microbiology, cell-biology)" in out
    invoke("feeds", "add", "https://plain.example/rss")

    code, out, _ = invoke("feeds", "list")
    assert code == 0
    assert "topics" in out.splitlines()[1]
    lab = next(line for line in out.splitlines() if "https://lab.example/rss" in line)
    assert "microbiology, cell-biology" in lab
    plain = next(line for line in out.splitlines() if "https://plain.example/rss" in line)
    assert "microbiology" not in plain


def test_feeds_add_refuses_an_unknown_topic_with_one_line_and_adds_nothing(env: Path) -> None:
    code, _, err = invoke(
        "feeds", "add", "https://lab.example/rss", "--topic", "microbiology", "--topic", "astrology"
    )
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "unknown topic: 'astrology'" in lines[0]
    assert "social-science" in lines[0]  # the valid topics are listed
    code, out, _ = invoke("feeds", "list")
    assert "no feeds yet" in out


def test_feeds_import_reads_opml_and_keeps_existing_ones(env: Path) -> None:
    invoke("feeds", "add", "https://a.example/rss")
    opml = env / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="A" xmlUrl="https://a.example/rss"/>'
        '<outline text="B" xmlUrl="https://b.example/rss"/></body></opml>'
    )
    code, out, _ = invoke("feeds", "import", str(opml))
    assert code == 0
    assert "1 feeds added, 1 already present" in out
    code, _, err = invoke("feeds", "import", str(env / "missing.opml"))
    assert code == 2
    assert "cannot read" in err


def test_ingest_prints_a_summary_table_and_records_failures(env: Path, server: FeedServer) -> None:
    invoke("feeds", "add", server.url("/forums.rss"))
    invoke("feeds", "add", server.add("/gone.rss", "x", status=404, content_type="text/plain"))

    code, out, err = invoke("ingest")

    assert code == 0
    assert "checked" in out
    assert "new articles" in out
    row = next(
        line for line in out.splitlines() if line.count("│") >= 6 and any(c.isdigit() for c in line)
    )
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:3] == ["2", "0", "1"]  # checked, not modified, failed
    assert cells[4] == "5"  # new articles
    assert "HTTP 404" in err

    code, out, _ = invoke("ingest", "--all")
    row = next(
        line for line in out.splitlines() if line.count("│") >= 6 and any(c.isdigit() for c in line)
    )
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:2] == ["2", "1"]  # the unchanged feed is a 304

    code, out, _ = invoke("feeds", "list")
    assert "failing" in out
    assert "HTTP 404" in out


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_polls_prints_new_articles_and_stops_cleanly(
    env: Path, server: FeedServer, stop_signal: signal.Signals
) -> None:
    # Without the fixture's <ttl>, the feed is polled every POLL_INTERVAL (1 s).
    full = forums_feed(ttl=False)
    server.add("/forums.rss", forums_feed(0, ttl=False))
    feeds = env / "feeds.txt"
    feeds.write_text(f"# test feeds\n{server.url('/forums.rss')}\n")
    process = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "FEEDS": str(feeds), "POLL_INTERVAL": "1", "PYTHONUNBUFFERED": "1"},
        cwd=env,
    )
    assert process.stdout is not None
    try:
        # A reader thread, so a silent process cannot block the test past its deadline.
        pending: queue.Queue[str] = queue.Queue()
        stream = process.stdout
        threading.Thread(
            target=lambda: [pending.put(x) for x in iter(stream.readline, "")], daemon=True
        ).start()
        lines: list[str] = []
        deadline = time.monotonic() + 60
        new_items_served = False
        while time.monotonic() < deadline:
            try:
                line = pending.get(timeout=1)
            except queue.Empty:
                continue
            lines.append(line)
            if line.startswith("next check at") and not new_items_served:
                server.add("/forums.rss", full)
                new_items_served = True
            if "Chinese, Russian experts gather" in line:
                break
        output = "".join(lines)
        assert "1 feeds added from" in output
        assert "Chinese, Russian experts gather in Guangming" in output
        # The new feed's backlog is shown once, as its newest cards; never announced again.
        assert output.count("Shenzhen Symposium Highlights") == 1
        process.send_signal(stop_signal)
        process.wait(timeout=20)
        time.sleep(0.2)  # let the reader thread drain the pipe
        rest = "".join(pending.get() for _ in range(pending.qsize()))
        assert process.returncode == 0, rest
        assert "stopped" in rest
        assert "Traceback" not in output + rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_summarize_prints_the_chosen_sentences_one_per_line(env: Path) -> None:
    text = env / "article.txt"
    text.write_text(
        "Dr. Smith met Prof. Jones in the U.S. on Jan. 12 to plan a symposium. "
        "They discussed No. 5 of the agenda at length. "
        "The symposium will gather 300 microbiologists in Shenzhen. "
        "Lunch was served at noon.",
        encoding="utf-8",
    )
    code, out, _ = invoke("summarize", str(text), "--sentences", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Dr. Smith met Prof. Jones in the U.S. on Jan. 12")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summarize", "/nonexistent.txt"], "cannot read"),
        (["summarize", "-", "--algorithm", "magic"], "unknown algorithm"),
        (["preview", "/nonexistent.html"], "cannot read"),
    ],
)
def test_summarize_and_preview_refuse_bad_input_with_one_line(
    env: Path, args: list[str], message: str
) -> None:
    code, _, err = invoke(*args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_preview_json_of_an_article_page_has_summary_topics_and_event(env: Path) -> None:
    code, out, _ = invoke("preview", str(INGEST / "articles" / "seed-004.html"), "--json")
    assert code == 0
    (item,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert item["title"].startswith("Chinese, Russian experts gather in Guangming")
    assert item["language"] == "en"
    assert 1 <= len(item["summary"]) <= 5
    assert "precision-medicine" in item["topics"]
    event = item["event"]
    assert (
        event["name"] == "2025 International Forum on Innovation Cooperation in Molecular Medicine"
    )
    assert (event["start"], event["end"]) == ("2025-11-16", "2025-11-17")
    assert event["city"] == "Shenzhen"
    assert event["attendance"] == 150
    assert event["upcoming"] is False
    assert set(item) >= {"title", "url", "published", "language", "summary", "topics", "event"}


@pytest.mark.parametrize(
    ("seed", "title"),
    [
        ("000_4f7f9f5734775d9e",
         "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology"),
        # No headline: the report opens with its lead, which stays in the summary.
        ("001_754d7d6a045a83e8",
         "The 2021 World Biotechnology Industry Conference kicked off on Dec 13 in…"),
        ("002_e8b3459d31ab7e89",
         "Experts converge in Guangming to chart future of scientific infrastructures"),
        ("003_034e7e5437f64165",
         "International Cooperation key to Industrial Biotechnology Innovation"),
        ("004_5a2f9e8ddc78b2b8",
         "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine"),
    ],
)  # fmt: skip
def test_preview_of_a_text_file_titles_it_with_its_headline_not_its_furniture(
    env: Path, seed: str, title: str
) -> None:
    code, out, _ = invoke("preview", str(FIXTURES / "seeds" / f"{seed}.txt"), "--json")
    assert code == 0
    (item,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert item["title"] == title
    summary = item["summary"]
    assert 3 <= len(summary) <= 5
    assert title.rstrip("…") not in summary
    assert not any(s.startswith(("Writer:", "Share", "中文", "What if")) for s in summary)
    if seed.startswith("001"):
        assert summary[0].startswith(title.rstrip("…"))


def test_preview_of_a_feed_url_fetches_full_text_and_prints_cards(
    env: Path, server: FeedServer
) -> None:
    code, out, _ = invoke("preview", server.url("/forums.rss"))
    assert code == 0
    assert out.count("Science Forums Newsroom") == 5
    assert "📅 18 Nov 2025" in out  # dated from the full page, not the teaser
    assert "#microbiology" in out

    code, out, _ = invoke("preview", server.url("/forums.rss"), "--json")
    items = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert items[0]["url"] == server.url("/articles/seed-000.html")
    assert items[0]["event"]["start"] == "2025-11-18"
    assert items[0]["published"].startswith("2025-11-24")


def test_run_with_a_rejected_token_says_so_in_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (env / "none.txt").write_text("")
    monkeypatch.setenv("FEEDS", str(env / "none.txt"))
    with FakeTelegram() as fake:
        monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:not-the-token")
        code, _, err = invoke("run")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN was rejected" in err
    assert "Traceback" not in err


def test_run_with_an_unreachable_bot_api_says_so_in_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    (env / "none.txt").write_text("")
    monkeypatch.setenv("FEEDS", str(env / "none.txt"))
    code, _, err = invoke("run")
    assert code == 2
    assert "cannot reach the Bot API" in err


def test_by_default_feeds_on_private_addresses_are_refused(
    env: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HTTP_ALLOW_PRIVATE")
    invoke("feeds", "add", server.url("/forums.rss"))

    code, _, err = invoke("ingest")

    assert code == 0
    assert "non-public address 127.0.0.1" in err
    assert server.hits("/forums.rss") == 0


# --- start-up, version, health ----------------------------------------------------------------

# What a quick command must not load: Telegram, the summarizer and its NLP stack, the HTTP
# client, the migrations tool (the database is current), the ingestion pipeline.
HEAVY = (
    "telegram",
    "numpy",
    "sumy",
    "nltk",
    "trafilatura",
    "lxml",
    "jieba",
    "httpx",
    "alembic",
    "summaries.summarize",
    "bot.ingest",
)


@pytest.mark.parametrize(
    ("args", "also_absent"),
    [
        (["--help"], ("sqlalchemy", "pydantic_settings")),
        (["--version"], ("sqlalchemy", "pydantic_settings", "rich")),
        (["feeds", "--help"], ("sqlalchemy", "pydantic_settings")),
        (["feeds", "list"], ("sqlmodel", "sqlalchemy.ext.asyncio", "aiosqlite")),
        (["health"], ("sqlmodel", "sqlalchemy.ext.asyncio", "aiosqlite")),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_quick_command_imports_only_what_it_uses(
    env: Path, args: list[str], also_absent: tuple[str, ...]
) -> None:
    _running(None)
    modules = env / "modules.json"
    dump = f"open({str(modules)!r}, 'w').write(json.dumps(list(sys.modules)))"
    script = "\n".join(
        [
            "import atexit, json, sys",
            f"atexit.register(lambda: {dump})",
            "from bot.cli import main",
            "main()",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(modules.read_text())
    for name in (*HEAVY, *also_absent):
        assert not [m for m in loaded if m == name or m.startswith(name + ".")], name


def test_version_prints_the_installed_distributions_version(env: Path) -> None:
    from importlib.metadata import version

    code, out, _ = invoke("--version")
    assert code == 0
    assert out.strip() == f"sciforum-digest {version('sciforum-digest')}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed once the block ends: nothing listens there


def _migrated(_monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("db", "upgrade")[0] == 0


def _running(_monkeypatch: pytest.MonkeyPatch | None) -> None:
    """As `sciforum run` leaves the database a moment after its start: migrated, and its
    heartbeat written (tests/test_health.py has the verdicts on other heartbeats)."""
    import asyncio
    from datetime import UTC, datetime

    from bot.context import open_database
    from bot.settings import load_settings
    from db import heartbeat
    from db.engine import transaction

    async def beat() -> None:
        async with (
            open_database(load_settings()) as sessions,
            transaction(sessions) as session,
        ):
            process = heartbeat.Process(socket.gethostname(), "ingest", pid=1)
            await heartbeat.record_start(session, process, now=datetime.now(UTC))

    asyncio.run(beat())


def _no_database_yet(_monkeypatch: pytest.MonkeyPatch) -> None:
    pass


def _postgresql_not_listening(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:pw@127.0.0.1:{_closed_port()}/db")


def _postgresql_without_its_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` meets uninstalled
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1/db")


def _a_wrong_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u@h/db")


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        (_running, 0, "ok: ingest pid 1 on "),
        (_migrated, 1, "no heartbeat yet"),
        (_no_database_yet, 1, "no database file at"),
        (_postgresql_not_listening, 1, "database unreachable: connection failed"),
        (_postgresql_without_its_driver, 1, "pip install 'sciforum-digest[postgres]'"),
        (_a_wrong_setting, 1, "unsupported database 'mysql'"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_health_answers_in_one_line_and_exits_0_only_when_the_database_answers(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: Callable[[pytest.MonkeyPatch], None],
    code: int,
    message: str,
) -> None:
    setup(monkeypatch)
    exit_code, out, err = invoke("health")
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert exit_code == code
    assert len(lines) == 1
    assert message in lines[0]
    assert ":pw@" not in lines[0]  # a password never reaches a log


def test_health_is_ok_on_a_reachable_postgresql(
    env: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_server.create_database("cli_health"))
    _running(monkeypatch)
    code, out, _ = invoke("health")
    assert code == 0
    assert out.startswith("ok: ingest pid 1 on ")
    assert "; database postgresql" in out


def test_a_postgresql_url_without_the_driver_stops_any_command_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_without_its_driver(monkeypatch)
    code, _, err = invoke("feeds", "list")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1
    assert "DATABASE_URL is PostgreSQL, but its driver psycopg is not installed" in lines[0]


def test_the_feed_list_reads_columns_the_feed_model_has() -> None:
    from db.feedhealth import COLUMNS
    from db.models import Feed

    assert set(Feed.__table__.columns.keys()) >= COLUMNS  # type: ignore[attr-defined]
