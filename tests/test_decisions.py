"""summaries.decisions: what one poll means for its feed — a table of outcomes, then
properties that hold for any state and outcome (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.decisions import (
    Failed,
    FeedIntent,
    FeedState,
    Fetched,
    NotModified,
    Outcome,
    Policy,
    Seen,
    decide,
    entry_fingerprint,
    failure_of,
)
from summaries.errors import FetchError, PrivateAddressError
from summaries.feeds import ParsedEntry, ParsedFeed

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = 3600.0
DAY = 86400.0
POLICY = Policy(interval=HOUR, max_errors=3)


def entry(guid: str, *, url: str | None = None, text: str = "body") -> ParsedEntry:
    return ParsedEntry(
        guid=guid,
        url=url,
        title=f"Title {guid}",
        author=None,
        published=NOW,
        language="en",
        text=text,
        is_teaser=False,
    )


def fetched(*entries: ParsedEntry, ttl: int | None = None, **kwargs: object) -> Fetched:
    feed = ParsedFeed(
        title="Lab News", site_url=None, language="en", ttl_seconds=ttl, entries=list(entries)
    )
    return Fetched(feed, **kwargs)  # type: ignore[arg-type]  # the table passes validators


OLD = FeedState(
    url="https://lab.example/rss",
    etag='"v1"',
    last_modified="Mon, 02 Mar 2026 09:00:00 GMT",
    consecutive_errors=0,
    polled_before=True,
    title="Old title",
)
FAILING = FeedState(url=OLD.url, etag='"v1"', consecutive_errors=2, polled_before=True)


def after(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


# (case, state, outcome, what the intent must say)
TABLE: list[tuple[str, FeedState, Outcome, dict[str, object]]] = [
    (
        "304 keeps the validators and resets errors",
        FAILING,
        NotModified(),
        {"etag": '"v1"', "consecutive_errors": 0, "succeeded": True, "next_check": after(HOUR)},
    ),
    (
        "304 with new validators takes them",
        OLD,
        NotModified(etag='"v2"'),
        {"etag": '"v2"', "last_modified": OLD.last_modified},
    ),
    ("304 honours max-age", OLD, NotModified(max_age=3 * 3600), {"next_check": after(3 * HOUR)}),
    (
        "200 stores new validators, title and ttl",
        OLD,
        fetched(etag='"v2"', ttl=7200),
        {"etag": '"v2"', "title": "Lab News", "ttl_seconds": 7200, "next_check": after(2 * HOUR)},
    ),
    ("200 without validators keeps the old ones", OLD, fetched(), {"etag": '"v1"'}),
    (
        "301/308 moves the feed",
        OLD,
        fetched(moved_to="https://new.example/rss"),
        {"url": "https://new.example/rss", "disable": None},
    ),
    (
        "moved to its own URL is no move",
        OLD,
        fetched(moved_to=OLD.url),
        {"url": None},
    ),
    (
        "network error: one error, doubled wait",
        OLD,
        Failed("network", "cannot connect"),
        {"consecutive_errors": 1, "counts_error": True, "next_check": after(2 * HOUR)},
    ),
    (
        "backoff grows per consecutive error",
        FAILING,
        Failed("timeout", "timed out"),
        {"consecutive_errors": 3, "next_check": after(8 * HOUR)},
    ),
    (
        "Retry-After longer than the backoff is honoured",
        OLD,
        Failed("server", "HTTP 503", status=503, retry_after=5 * HOUR),
        {"next_check": after(5 * HOUR), "disable": None},
    ),
    (
        "Retry-After of a year is capped at a day",
        OLD,
        Failed("server", "HTTP 429", status=429, retry_after=365 * DAY),
        {"next_check": after(DAY)},
    ),
    (
        "the MAX_FEED_ERRORS-th error disables",
        FAILING,
        Failed("client", "HTTP 404 Not Found", status=404),
        {"disable": "disabled after 3 consecutive errors; last: HTTP 404 Not Found"},
    ),
    (
        "410 disables at once",
        OLD,
        Failed("gone", "HTTP 410 Gone", status=410),
        {"disable": "gone for good: HTTP 410 Gone", "consecutive_errors": 1},
    ),
    (
        "a parse error counts like any error",
        OLD,
        Failed("parse", "not a usable feed"),
        {"last_error": "not a usable feed", "succeeded": False, "etag": '"v1"'},
    ),
    (
        "a failure keeps the validators",
        OLD,
        Failed("server", "HTTP 500", status=500),
        {"etag": '"v1"', "last_modified": OLD.last_modified, "title": "Old title"},
    ),
]


@pytest.mark.parametrize(("case", "state", "outcome", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_a_poll_outcome_becomes_this_intent(
    case: str, state: FeedState, outcome: Outcome, expected: dict[str, object]
) -> None:
    intent = decide(state, outcome, now=NOW, policy=POLICY)

    assert {name: getattr(intent, name) for name in expected} == expected, case


def test_a_feed_moved_onto_a_stored_feed_is_disabled_and_stores_nothing() -> None:
    outcome = fetched(entry("a"), moved_to="https://new.example/rss")

    intent = decide(OLD, outcome, now=NOW, policy=POLICY, seen=Seen(moved_onto=7))

    assert intent.url is None
    assert (
        intent.disable == "moved permanently to https://new.example/rss, already stored as feed 7"
    )
    assert intent.new_entries == ()


def test_a_first_poll_stores_the_backlog_unannounced() -> None:
    new = FeedState(url=OLD.url)

    intent = decide(new, fetched(entry("a")), now=NOW, policy=POLICY)

    assert [e.guid for e in intent.new_entries] == ["a"]
    assert intent.announce is False


def test_entries_are_sorted_into_known_new_and_churned() -> None:
    known, fresh = entry("g1"), entry("g2", url="https://lab.example/2")
    same_url = entry("g3-new-guid", url="https://lab.example/3")
    same_content = entry("g4-new-guid", text="the text of an entry seen before")
    seen = Seen(
        guids=frozenset({"g1"}),
        urls={"https://lab.example/3": 30},
        hashes={entry_fingerprint(entry("g4-new-guid", text=same_content.text)): 40},
    )

    intent = decide(
        OLD, fetched(known, fresh, same_url, same_content, fresh), now=NOW, policy=POLICY, seen=seen
    )

    assert [e.guid for e in intent.new_entries] == ["g2"]
    assert [(r.entry.guid, r.article_id, r.reason) for r in intent.relinks] == [
        ("g3-new-guid", 30, "url"),
        ("g4-new-guid", 40, "content"),
    ]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (FetchError("HTTP 410 Gone", url="u", status=410), "gone"),
        (FetchError("HTTP 503", url="u", status=503, retry_after=60), "server"),
        (FetchError("HTTP 429", url="u", status=429), "server"),
        (FetchError("HTTP 404 Not Found", url="u", status=404), "client"),
        (FetchError("invalid URL (no host)", url="u"), "client"),
        (PrivateAddressError("refused: 10.0.0.1 is private", url="u"), "client"),
        (FetchError("read timed out after 20s", url="u"), "timeout"),
        (FetchError("timed out after 60s in total", url="u"), "timeout"),
        (FetchError("cannot connect (connection refused)", url="u"), "network"),
    ],
)
def test_fetch_errors_have_a_kind(error: FetchError, kind: str) -> None:
    failure = failure_of(error)

    assert failure.kind == kind
    assert (failure.status, failure.retry_after) == (error.status, error.retry_after)


# --- properties ------------------------------------------------------------------------------

texts = st.text(max_size=30)
optional_texts = st.none() | texts
states = st.builds(
    FeedState,
    url=st.just(OLD.url),
    etag=optional_texts,
    last_modified=optional_texts,
    ttl_seconds=st.none() | st.integers(min_value=-10, max_value=10 * 86400),
    consecutive_errors=st.integers(min_value=-3, max_value=10_000),
    polled_before=st.booleans(),
    title=optional_texts,
)
entries = st.builds(
    entry,
    guid=st.sampled_from(["a", "b", "c", "d", "e"]),
    url=st.none() | st.sampled_from(["https://x.example/1", "https://x.example/2"]),
    text=st.sampled_from(["one", "two", "three"]),
)
hints = st.none() | st.integers(min_value=-5, max_value=10**12)
outcomes = st.one_of(
    st.builds(
        Failed,
        kind=st.sampled_from(
            ["network", "timeout", "client", "server", "gone", "parse", "storage"]
        ),
        message=texts,
        status=st.none() | st.integers(min_value=100, max_value=599),
        retry_after=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    ),
    st.builds(NotModified, etag=optional_texts, max_age=hints, moved_to=st.none() | texts),
    st.builds(
        lambda listed, ttl, etag, moved: fetched(*listed, ttl=ttl, etag=etag, moved_to=moved),
        st.lists(entries, max_size=8),
        st.none() | st.integers(min_value=1, max_value=10**9),
        optional_texts,
        st.none() | texts,
    ),
)
seens = st.builds(
    Seen,
    guids=st.frozensets(st.sampled_from(["a", "b", "c"])),
    urls=st.dictionaries(st.just("https://x.example/1"), st.integers(1, 9)),
    hashes=st.dictionaries(
        st.sampled_from([entry_fingerprint(entry("z", text="two"))]), st.integers(1, 9)
    ),
    moved_onto=st.none() | st.integers(1, 9),
)
policies = st.builds(
    Policy,
    interval=st.floats(min_value=1, max_value=2 * DAY),
    max_errors=st.integers(min_value=1, max_value=20),
)


@settings(deadline=None)  # no per-example time limit: the suite runs on busy machines
@given(state=states, outcome=outcomes, seen=seens, policy=policies)
def test_any_poll_gives_a_sound_intent(
    state: FeedState, outcome: Outcome, seen: Seen, policy: Policy
) -> None:
    intent: FeedIntent = decide(state, outcome, now=NOW, policy=policy, seen=seen)

    # The next check is in the future, and never later than the backoff's cap.
    assert (
        NOW
        < intent.next_check
        <= NOW + timedelta(seconds=max(policy.max_interval, policy.interval))
    )
    if isinstance(outcome, Failed):
        assert intent.consecutive_errors == max(state.consecutive_errors, 0) + 1
        assert (intent.counts_error, intent.succeeded) == (True, False)
        assert (intent.etag, intent.last_modified) == (state.etag, state.last_modified)
        assert (intent.new_entries, intent.url) == ((), None)
        disabled = outcome.kind == "gone" or outcome.status == 410
        assert (intent.disable is not None) == (
            disabled or intent.consecutive_errors >= policy.max_errors
        )
    else:
        assert (intent.consecutive_errors, intent.succeeded, intent.counts_error) == (
            0,
            True,
            False,
        )
        assert intent.last_error is None
        assert (intent.disable is not None) == (
            seen.moved_onto is not None and bool(outcome.moved_to) and outcome.moved_to != state.url
        )
        assert intent.etag == (outcome.etag or state.etag)
        assert intent.announce is state.polled_before
    # Every new or relinked entry is unknown to the feed, and comes once.
    guids = [e.guid for e in intent.new_entries] + [r.entry.guid for r in intent.relinks]
    assert len(guids) == len(set(guids))
    assert not set(guids) & seen.guids
