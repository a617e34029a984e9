"""The ``sciforum`` command line: database, feeds, one-off ingestion, the long-running process.

Start-up stays light: at import this module loads typer and the standard library only, and
each command imports what it uses. ``sciforum --help`` loads no database, Telegram or
summarizer code; ``feeds list`` loads the database layer alone (benchmarks/startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from bot.errors import BotError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bot.context import AppContext
    from bot.ingest import PassReport
    from bot.roles import Role
    from bot.settings import Settings

T = TypeVar("T")
# Seconds `sciforum health` waits for the database server to accept a connection.
HEALTH_CONNECT_TIMEOUT = 5

app = typer.Typer(
    help="SciForum Digest: science news and forums, summarized, in Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
feeds_app = typer.Typer(help="Manage the feeds that are read.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")


def _out() -> Console:
    from bot.terminal import make_console

    return make_console()


def _err() -> Console:
    from bot.terminal import make_console

    return make_console(stderr=True)


def _show_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("sciforum-digest")
    except PackageNotFoundError:  # a checkout run without `pip install`
        number = "unknown (not installed)"
    typer.echo(f"sciforum-digest {number}")
    raise typer.Exit


@app.callback()
def _main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """SciForum Digest: science news and forums, summarized, in Telegram."""


def _now() -> datetime:
    return datetime.now(UTC)


def _settings() -> Settings:
    from bot.logs import configure_logging
    from bot.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    from rich.markup import escape

    # Messages quote user input and install hints ("sciforum-digest[postgres]"): not markup.
    _err().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _run(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Load settings and run one async command; expected failures become one clear line."""
    import asyncio

    from db.errors import DatabaseError, storage_error
    from summaries.errors import SummariesError

    try:
        settings = _settings()
        return asyncio.run(factory(settings))
    except BotError as exc:
        raise _fail(str(exc), 2) from None
    except (DatabaseError, SummariesError) as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:
        # The database driver's errors, from wherever a command met them.
        error = storage_error(exc)
        if error is None:
            raise
        raise _fail(f"database unavailable: {error}") from None


def _shown_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from db.engine import shown_url

    return shown_url(url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest version."""

    async def go(settings: Settings) -> None:
        import asyncio

        from db.migrate import upgrade

        await asyncio.to_thread(upgrade, settings.database_url)
        _out().print(f"database at newest schema ({settings.database_url.split('@')[-1]})")

    _run(go)


@feeds_app.command("add")
def feeds_add(
    url: str,
    title: Annotated[
        str | None, typer.Option(help="A name to show until the feed gives its own.")
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="A default topic for the feed's articles (a slug such as microbiology); "
            "repeat for more.",
        ),
    ] = None,
) -> None:
    """Add a feed by URL (checked on the next ingest pass)."""
    if not url.startswith(("http://", "https://")):
        raise _fail(f"not an http(s) URL: {url}", 2)
    topics: tuple[str, ...] = ()
    if topic:
        from bot.errors import UnknownTopic
        from bot.feedtopics import parse_topics
        from summaries.topics import TOPICS

        try:
            topics = parse_topics(topic)
        except UnknownTopic as exc:
            valid = ", ".join(t.slug for t in TOPICS)
            raise _fail(f"{exc}; the topics are: {valid}", 2) from None

    async def go(settings: Settings) -> None:
        from bot.context import open_database
        from db import queries
        from db.errors import FeedExists

        async with open_database(settings) as sessions, sessions() as session, session.begin():
            try:
                feed = await queries.add_feed(session, url, now=_now(), title=title, topics=topics)
            except FeedExists:
                raise _fail(f"already added: {url}") from None
            shown = f" (topics: {', '.join(topics)})" if topics else ""
            _out().print(f"added feed {feed.id}: {url}{shown}")

    _run(go)


@feeds_app.command("remove")
def feeds_remove(ref: Annotated[str, typer.Argument(help="Feed id or URL.")]) -> None:
    """Remove a feed (its stored articles stay)."""

    async def go(settings: Settings) -> None:
        from bot.context import open_database
        from db import queries
        from db.errors import FeedNotFound

        async with open_database(settings) as sessions, sessions() as session, session.begin():
            try:
                feed = await queries.remove_feed(session, ref)
            except FeedNotFound:
                raise _fail(f"no feed {ref!r}") from None
            _out().print(f"removed feed {feed.id}: {feed.url}")

    _run(go)


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)}{unit}"
            break
    else:
        text = f"{int(seconds)}s"
    return f"in {text}" if future else f"{text} ago"


@feeds_app.command("list")
def feeds_list() -> None:
    """List feeds with their health: status, last check, next check, errors."""

    async def go(settings: Settings) -> None:
        from rich.table import Table

        from db.engine import read_sync
        from db.feedhealth import read_feed_health
        from db.migrate import upgrade

        # Core and a sync connection only: no SQLModel or async stack for a quick look
        # (benchmarks/startup.py); the schema check loads Alembic only when it must upgrade.
        upgrade(settings.database_url)
        feeds = read_sync(settings.database_url, read_feed_health, connect_timeout=10)
        now = _now()
        table = Table(
            "id", "status", "feed", "topics", "last check", "next", "errors", "last error"
        )
        for feed in feeds:
            if not feed.enabled:
                status = "[red]disabled[/]"
            elif feed.consecutive_errors:
                status = "[yellow]failing[/]"
            elif feed.last_success is None:
                status = "new"
            else:
                status = "[green]ok[/]"
            name = feed.url if not feed.title else f"{feed.title}\n[dim]{feed.url}[/]"
            if not feed.catalogue:
                name += "\n[dim](only chats follow it: /sub)[/]"
            table.add_row(
                str(feed.id),
                status,
                name,
                ", ".join(feed.topics or ()),
                _ago(feed.last_checked, now),
                _ago(feed.next_check, now) if feed.enabled else "-",
                f"{feed.consecutive_errors} ({feed.total_errors} total)",
                (feed.disabled_reason or feed.last_error or "")[:80],
            )
        _out().print(table if feeds else "no feeds yet: sciforum feeds add URL")

    _run(go)


@feeds_app.command("import")
def feeds_import(path: Path) -> None:
    """Add every feed of an OPML file or a list of URLs (existing feeds are kept)."""

    async def go(settings: Settings) -> None:
        from bot.catalog import import_feeds, read_feed_list
        from bot.context import open_database

        refs = read_feed_list(path)
        async with open_database(settings) as sessions:
            added = await import_feeds(sessions, refs)
        _out().print(f"{added} feeds added, {len(refs) - added} already present")

    _run(go)


@feeds_app.command("export")
def feeds_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Write every feed as OPML."""

    async def go(settings: Settings) -> None:
        from bot.context import open_database
        from db import queries
        from summaries.feedlists import FeedRef, render_opml

        async with open_database(settings) as sessions, sessions() as session:
            feeds = await queries.list_feeds(session)
        opml = render_opml([FeedRef(f.url, f.title) for f in feeds])
        if output is None:
            sys.stdout.write(opml)
        else:
            output.write_text(opml, encoding="utf-8")
            _err().print(f"{len(feeds)} feeds written to {output}")

    _run(go)


def _report_table(report: PassReport, seconds: float) -> Table:
    from rich.table import Table

    table = Table(title=f"ingest pass ({seconds:.1f}s)")
    for column in ("checked", "not modified", "failed", "disabled", "new articles", "duplicates"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.checked),
        str(report.not_modified),
        str(report.failed),
        str(report.disabled),
        str(len(report.new_articles)),
        str(report.duplicates),
    )
    return table


async def _pass_with_progress(ctx: AppContext, out: Console, *, include_all: bool) -> PassReport:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    if not out.is_terminal:
        return await ctx.ingestor.run_pass(now=_now(), include_all=include_all)
    with Progress(
        TextColumn("feeds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out
    ) as progress:
        task = progress.add_task("feeds", total=None)
        return await ctx.ingestor.run_pass(
            now=_now(),
            include_all=include_all,
            on_start=lambda total: progress.update(task, total=total),
            on_feed_done=lambda _feed: progress.advance(task),
        )


@app.command()
def ingest(
    all_feeds: Annotated[
        bool, typer.Option("--all", help="Check every enabled feed, due or not.")
    ] = False,
) -> None:
    """One pass over the due feeds; prints a summary table."""

    async def go(settings: Settings) -> None:
        import asyncio

        from bot.context import open_context

        out, err = _out(), _err()
        async with open_context(settings) as ctx:
            started = asyncio.get_running_loop().time()
            report = await _pass_with_progress(ctx, out, include_all=all_feeds)
            out.print(_report_table(report, asyncio.get_running_loop().time() - started))
            for url, message in report.errors:
                err.print(f"[yellow]{url}[/]: {message}", highlight=False)

    _run(go)


@app.command()
def run(
    role: Annotated[
        str,
        typer.Option(
            help="all: the bot and ingestion; bot: the bot without polling feeds; ingest: "
            "poll feeds only (several workers on one PostgreSQL).",
        ),
    ] = "all",
) -> None:
    """Poll and ingest feeds on schedule until stopped (Ctrl-C), printing each new article."""
    import asyncio

    from bot.roles import ROLES
    from bot.runner import run_forever

    role = role.lower()
    if role not in ROLES:
        raise _fail(f"unknown role {role!r}: choose one of {', '.join(ROLES)}", 2)
    try:
        _run(lambda settings: run_forever(settings, cast("Role", role)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # On standard output with what the run printed: standard error holds log lines only
        # (LOG_FORMAT=json keeps it parseable).
        _out().print("stopped")


@app.command()
def summarize(
    source: Annotated[str, typer.Argument(help="A text file, or - for standard input.")] = "-",
    sentences: Annotated[int, typer.Option("--sentences", "-n", min=1, max=20)] = 3,
    language: Annotated[
        str | None, typer.Option(help="ISO 639-1 code; detected if absent.")
    ] = None,
    algorithm: Annotated[
        str | None,
        # Not listed here: naming them would load the summarizer for every --help.
        typer.Option(
            help="Ranking algorithm (default: the best measured; a wrong name lists them)."
        ),
    ] = None,
) -> None:
    """Print an extractive summary of a text, one sentence per line."""
    from summaries.summarize import ALGORITHMS
    from summaries.summarize import summarize as summarize_text

    if algorithm is not None and algorithm not in ALGORITHMS:
        raise _fail(f"unknown algorithm {algorithm!r}; choose one of: {', '.join(ALGORITHMS)}", 2)
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {source}: {exc}", 2) from None
    result = summarize_text(text, language=language, max_sentences=sentences, algorithm=algorithm)
    for sentence in result.sentences:
        sys.stdout.write(sentence + "\n")


@app.command()
def preview(
    target: Annotated[str, typer.Argument(help="A feed or article URL, or a local file.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per article.")] = False,
    sentences: Annotated[int, typer.Option("--sentences", "-n", min=1, max=5)] = 3,
) -> None:
    """Show what a subscriber would get for each entry of a feed, or for one article."""

    async def go(settings: Settings) -> None:
        import json
        from zoneinfo import ZoneInfo

        from bot.preview import preview_target
        from bot.render import render_card_text
        from summaries.fetch import Fetcher

        out = _out()
        now = _now()
        async with Fetcher(settings.fetch_limits()) as fetcher:
            try:
                items = await preview_target(target, fetcher=fetcher, now=now)
            except OSError as exc:
                raise BotError(f"cannot read {target}: {exc.strerror or exc}") from None
        if as_json:
            for item in items:
                sys.stdout.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
            return
        for item in items:
            out.print(
                render_card_text(item.card(), sentences=sentences, tz=ZoneInfo("UTC"), now=now),
                highlight=False,
                soft_wrap=True,
            )
            out.print()
        if not items:
            _err().print("no articles found")

    _run(go)


@app.command()
def health() -> None:
    """Check that the database answers and that ingest and delivery move (the running
    process's heartbeat); one line, exit 0 if healthy, 1 if not (the image's HEALTHCHECK)."""
    import socket
    from functools import partial

    from bot.health import health_limits, judge, pick_beats
    from bot.settings import load_settings
    from db.engine import read_sync, sqlite_file
    from db.errors import DatabaseError, StorageError
    from db.heartbeat import read_status

    now = _now()
    try:
        settings = load_settings()
        url = settings.database_url
        path = sqlite_file(url)
        if path is not None and not path.is_file():
            # Connecting would create an empty file; `sciforum run` creates the database.
            raise _fail(f"no database file at {path}")
        read = partial(read_status, now=now)
        status = read_sync(url, read, connect_timeout=HEALTH_CONNECT_TIMEOUT)
    except StorageError as exc:
        raise _fail(f"database unreachable: {exc}") from None
    except (BotError, DatabaseError) as exc:
        raise _fail(str(exc)) from None
    beats = pick_beats(status.beats, host=socket.gethostname())
    verdict = judge(beats, status.backlog, health_limits(settings), now)
    if not verdict.healthy:
        raise _fail(verdict.line)
    typer.echo(f"{verdict.line}; database {_shown_url(url)}")


def main() -> None:
    # Opt in to PTB's coming timedelta durations (RetryAfter.retry_after); the outbox reads
    # both forms, and PTB's own messages then stop warning on every flood answer.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    app()
