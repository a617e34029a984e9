"""Tests for summaries.fetch against the local FeedServer (loopback only, small timeouts)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpcore
import httpx
import pytest

from summaries.errors import FetchError
from summaries.fetch import (
    FEED_ACCEPT,
    PAGE_ACCEPT,
    Fetcher,
    FetchLimits,
    _redirect_url,
    _SocketStream,
    parse_max_age,
    parse_retry_after,
)
from tests.feedserver import Body, FeedServer

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Lab news</title>
<item><title>A result</title><link>https://example.org/a</link></item>
</channel></rss>
"""
LIMITS = FetchLimits(
    connect_timeout=0.5,
    read_timeout=0.3,
    total_timeout=1.0,
    max_bytes=64 * 1024,
    max_redirects=3,
    max_connections=10,
    max_per_host=4,
    allow_private_addresses=True,  # the feed server is on loopback
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS, trust_env=False) as client:
        yield client


async def fetch_error(fetcher: Fetcher, url: str, **kwargs: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, **kwargs)
    assert caught.value.url == url
    return caught.value


def gzip_of_zeros(size: int) -> bytes:
    """A gzip bomb: ``size`` zero bytes in about size/1000 bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


# -- success paths -----------------------------------------------------------------------------


async def test_ok_feed_returns_body_validators_and_cache_hints(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add(
        "/feed.xml",
        RSS,
        etag='"v1"',
        last_modified="Mon, 03 Mar 2025 10:00:00 GMT",
        headers={"Cache-Control": "public, max-age=900"},
    )

    result = await fetcher.fetch(url)

    assert result.status == 200
    assert not result.not_modified
    assert result.content == RSS
    assert result.content_type == "application/rss+xml"
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 03 Mar 2025 10:00:00 GMT"
    assert result.max_age == 900
    assert result.retry_after is None
    assert result.url == result.final_url == url
    assert result.permanent_redirect is None


async def test_request_identifies_itself_and_asks_for_feeds_and_compression(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/feed.xml", RSS)

    await fetcher.fetch(url)

    [(method, _, headers)] = server.requests
    assert method == "GET"
    assert headers["user-agent"] == LIMITS.user_agent
    assert headers["accept"] == FEED_ACCEPT
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in headers


async def test_fetch_page_asks_for_html(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/article", "<html><p>Text</p></html>", content_type="text/html")

    result = await fetcher.fetch_page(url)

    assert result.content == b"<html><p>Text</p></html>"
    assert server.requests[0][2]["accept"] == PAGE_ACCEPT


async def test_second_request_with_etag_gets_304_and_no_body(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/feed.xml", RSS, etag='"v1"')
    first = await fetcher.fetch(url)

    second = await fetcher.fetch(url, etag=first.etag)

    assert second.status == 304
    assert second.not_modified
    assert second.content == b""
    assert second.etag == '"v1"'
    assert server.requests[1][2]["if-none-match"] == '"v1"'


async def test_request_with_last_modified_gets_304(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Mon, 03 Mar 2025 10:00:00 GMT"
    url = server.add("/feed.xml", RSS, last_modified=stamp)

    result = await fetcher.fetch(url, last_modified=stamp)

    assert result.not_modified
    assert result.last_modified == stamp
    assert server.requests[0][2]["if-modified-since"] == stamp


async def test_stale_etag_gets_the_new_body(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", RSS, etag='"v2"')

    result = await fetcher.fetch(url, etag='"v1"')

    assert result.status == 200
    assert result.content == RSS
    assert result.etag == '"v2"'


async def test_304_without_validators_keeps_the_ones_sent(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/feed.xml", b"", status=304)

    result = await fetcher.fetch(url, etag='"v1"', last_modified="Mon, 03 Mar 2025 10:00:00 GMT")

    assert result.not_modified
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 03 Mar 2025 10:00:00 GMT"


@pytest.mark.parametrize("etag", ['"v1"\r\nX-Evil: 1', "caf\u00e9", "x" * 600])
async def test_unsendable_validator_is_dropped_not_sent(
    server: FeedServer, fetcher: Fetcher, etag: str
) -> None:
    url = server.add("/feed.xml", RSS)

    result = await fetcher.fetch(url, etag=etag)

    assert result.status == 200
    assert "if-none-match" not in server.requests[0][2]


async def test_gzip_body_is_decoded(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", RSS * 50, gzip=True)

    result = await fetcher.fetch(url)

    assert result.content == RSS * 50
    assert server.bytes_sent("/feed.xml") < len(RSS * 50)


async def test_concatenated_gzip_members_are_one_body(server: FeedServer, fetcher: Fetcher) -> None:
    body = gzip.compress(b"<rss>first ") + gzip.compress(b"second</rss>")
    url = server.add("/feed.xml", body, headers={"Content-Encoding": "gzip"})

    result = await fetcher.fetch(url)

    assert result.content == b"<rss>first second</rss>"


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(zlib.compress, id="zlib-wrapped"),
        pytest.param(lambda data: zlib.compress(data)[2:-4], id="raw-deflate"),
    ],
)
async def test_deflate_body_is_decoded_in_both_flavours(
    server: FeedServer, fetcher: Fetcher, encode: Callable[[bytes], bytes]
) -> None:
    url = server.add("/feed.xml", encode(RSS), headers={"Content-Encoding": "deflate"})

    result = await fetcher.fetch(url)

    assert result.content == RSS


async def test_chunked_body_is_read_whole(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", RSS * 10, chunked_size=100)

    result = await fetcher.fetch(url)

    assert result.content == RSS * 10


# -- size limits -----------------------------------------------------------------------------


async def test_body_over_limit_with_content_length_fails_before_reading(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/big.xml", bytes(LIMITS.max_bytes + 1))

    error = await fetch_error(fetcher, url)

    assert "larger than" in str(error)
    assert "Content-Length" in str(error)
    assert error.status == 200


@pytest.mark.parametrize("chunked_size", [None, 16 * 1024], ids=["close-delimited", "chunked"])
async def test_endless_body_without_content_length_is_cut_off_early(
    server: FeedServer, fetcher: Fetcher, chunked_size: int | None
) -> None:
    endless = 500 * 1024 * 1024
    url = server.add("/endless.xml", oversized=endless, chunked_size=chunked_size)
    started = time.perf_counter()

    error = await fetch_error(fetcher, url)

    assert "larger than" in str(error)
    assert time.perf_counter() - started < 2.0
    assert server.bytes_sent("/endless.xml") < endless // 10


async def test_gzip_bomb_is_stopped_at_the_decoded_limit(
    server: FeedServer, fetcher: Fetcher
) -> None:
    bomb = gzip_of_zeros(64 * 1024 * 1024)
    assert len(bomb) < LIMITS.max_bytes  # the Content-Length check cannot catch it
    url = server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})

    error = await fetch_error(fetcher, url)

    assert "larger than" in str(error)


async def test_garbled_gzip_body_is_a_fetch_error(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", b"not gzip at all", headers={"Content-Encoding": "gzip"})

    error = await fetch_error(fetcher, url)

    assert "cannot decode gzip body" in str(error)


async def test_unknown_content_encoding_is_a_fetch_error(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/feed.xml", b"\x00\x01", headers={"Content-Encoding": "br"})

    error = await fetch_error(fetcher, url)

    assert "unsupported Content-Encoding 'br'" in str(error)


# -- timeouts ------------------------------------------------------------------------------


async def test_response_slower_than_read_timeout_fails(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/slow.xml", RSS, delay=2.0)
    started = time.perf_counter()

    error = await fetch_error(fetcher, url)

    assert str(error) == "read timed out after 0.3s"
    assert error.status is None
    assert time.perf_counter() - started < 1.5


async def test_trickling_body_fails_at_total_timeout(server: FeedServer, fetcher: Fetcher) -> None:
    # Every chunk arrives within the read timeout; only the wall-clock cap can stop it.
    url = server.add("/trickle.xml", RSS * 40, chunked_size=64, chunk_delay=0.1)
    started = time.perf_counter()

    error = await fetch_error(fetcher, url)

    elapsed = time.perf_counter() - started
    assert str(error) == "timed out after 1s in total"
    assert LIMITS.total_timeout <= elapsed < LIMITS.total_timeout + 1.0


async def test_the_callers_deadline_ends_a_fetch_before_its_total_timeout(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/trickle.xml", RSS * 40, chunked_size=64, chunk_delay=0.1)
    deadline = asyncio.get_running_loop().time() + 0.4

    with pytest.raises(TimeoutError):
        await fetcher.fetch(url, deadline=deadline)

    assert asyncio.get_running_loop().time() < deadline + 0.5


async def test_a_later_deadline_leaves_the_total_timeout_to_end_the_fetch(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add("/trickle.xml", RSS * 40, chunked_size=64, chunk_delay=0.1)
    deadline = asyncio.get_running_loop().time() + 60

    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, deadline=deadline)

    assert str(caught.value) == "timed out after 1s in total"


async def test_the_callers_deadline_counts_the_wait_for_a_host_slot(server: FeedServer) -> None:
    slow = server.add("/slow.xml", RSS, delay=0.25)
    quick = server.add("/quick.xml", RSS)

    async with Fetcher(replace(LIMITS, max_per_host=1), trust_env=False) as fetcher:
        first = asyncio.create_task(fetcher.fetch(slow))
        await asyncio.sleep(0.05)  # the slow fetch holds the host's one slot
        with pytest.raises(TimeoutError):
            await fetcher.fetch(quick, deadline=asyncio.get_running_loop().time() + 0.05)
        assert (await first).content == RSS
        assert (await fetcher.fetch(quick)).content == RSS  # the slot was given back

    assert server.hits("/quick.xml") == 1


# -- HTTP errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (500, "HTTP 500 Internal Server Error"),
        (403, "HTTP 403 Forbidden"),
    ],
)
async def test_error_status_is_a_fetch_error_with_status(
    server: FeedServer, fetcher: Fetcher, status: int, message: str
) -> None:
    server.fail("/feed.xml", status, times=None)

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert error.status == status
    assert str(error) == message
    assert error.retry_after is None


async def test_unknown_path_is_404(server: FeedServer, fetcher: Fetcher) -> None:
    error = await fetch_error(fetcher, server.url("/nothing-here"))

    assert error.status == 404


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_are_reported(
    server: FeedServer, fetcher: Fetcher, status: int
) -> None:
    server.fail("/feed.xml", status, retry_after=120)

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert error.status == status
    assert error.retry_after == 120.0


async def test_retry_after_date_is_measured_from_the_server_date(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add(
        "/feed.xml",
        "busy",
        status=503,
        headers={
            "Date": "Mon, 03 Mar 2025 10:00:00 GMT",
            "Retry-After": "Mon, 03 Mar 2025 10:01:30 GMT",
        },
    )

    error = await fetch_error(fetcher, url)

    assert error.retry_after == 90.0


async def test_feed_that_fails_twice_then_recovers(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", RSS)
    server.fail("/feed.xml", 500, times=2)

    outcomes: list[int | None] = []
    for _ in range(3):
        try:
            outcomes.append((await fetcher.fetch(url)).status)
        except FetchError as error:
            outcomes.append(error.status)

    assert outcomes == [500, 500, 200]


# -- network errors -------------------------------------------------------------------------


async def test_connection_reset_is_a_fetch_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.fail("/feed.xml", reset=True)

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert error.status is None
    assert str(error).startswith(("bad HTTP response", "connection lost"))


async def test_refused_connection_is_a_fetch_error(fetcher: Fetcher) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed.xml")

    error = await fetch_error(fetcher, url)

    assert str(error).startswith("cannot connect")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/feed.xml", "file:///etc/passwd", "mailto:a@example.org", "javascript:x"],
)
async def test_non_http_url_is_refused(fetcher: Fetcher, url: str) -> None:
    error = await fetch_error(fetcher, url)

    assert "only http and https" in str(error)


@pytest.mark.parametrize(
    "url",
    ["", "not a url", "http://", "http://exa mple.org/", "http://[::1/feed", "https://:80/x"],
)
async def test_invalid_url_is_refused(fetcher: Fetcher, url: str) -> None:
    error = await fetch_error(fetcher, url)

    assert str(error).startswith(("invalid URL", "unsupported URL scheme"))


# -- redirects -------------------------------------------------------------------------------


async def test_permanent_redirect_chain_reports_the_new_url(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/old.xml", redirect_to="/moved.xml", redirect_status=301)
    server.add("/moved.xml", redirect_to=server.url("/new.xml"), redirect_status=308)
    server.add("/new.xml", RSS)

    result = await fetcher.fetch(server.url("/old.xml"))

    assert result.content == RSS
    assert result.final_url == server.url("/new.xml")
    assert result.permanent_redirect == server.url("/new.xml")


@pytest.mark.parametrize(("first", "second"), [(302, 301), (301, 307), (303, 308)])
async def test_chain_with_a_temporary_hop_is_not_permanent(
    server: FeedServer, fetcher: Fetcher, first: int, second: int
) -> None:
    server.add("/old.xml", redirect_to="/moved.xml", redirect_status=first)
    server.add("/moved.xml", redirect_to="/new.xml", redirect_status=second)
    server.add("/new.xml", RSS)

    result = await fetcher.fetch(server.url("/old.xml"))

    assert result.final_url == server.url("/new.xml")
    assert result.permanent_redirect is None


async def test_redirect_loop_is_a_fetch_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.add("/a.xml", redirect_to="/b.xml", redirect_status=302)
    server.add("/b.xml", redirect_to="/a.xml", redirect_status=302)

    error = await fetch_error(fetcher, server.url("/a.xml"))

    assert str(error) == "too many redirects (more than 3)"
    assert server.hits("/a.xml") + server.hits("/b.xml") == LIMITS.max_redirects + 1


async def test_a_redirect_hop_carries_the_cookie_and_validators_of_the_first(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add(
        "/old.xml", redirect_to="/new.xml", redirect_status=302, headers={"Set-Cookie": "ok=1"}
    )
    server.add("/new.xml", RSS)

    await fetcher.fetch(server.url("/old.xml"), etag='"v1"')
    await fetcher.fetch(server.url("/new.xml"))

    hops = [(path, headers) for _, path, headers in server.requests]
    assert [path for path, _ in hops] == ["/old.xml", "/new.xml", "/new.xml"]
    assert "cookie" not in hops[0][1]
    assert hops[1][1]["cookie"] == "ok=1"
    assert hops[1][1]["if-none-match"] == '"v1"'
    assert hops[1][1]["host"] == f"127.0.0.1:{server.port}"
    assert hops[2][1]["cookie"] == "ok=1"  # the client's cookies outlive one fetch


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/b.xml", "http://h.example/b.xml#top"),
        ("b.xml", "http://h.example/dir/b.xml#top"),
        ("//other.example/c.xml", "http://other.example/c.xml#top"),
        ("https://other.example/c.xml#here", "https://other.example/c.xml#here"),
        ("https:///c.xml", "https://h.example/c.xml#top"),
    ],
)
def test_a_redirect_location_is_read_as_httpx_reads_it(location: str, expected: str) -> None:
    request = httpx.Request("GET", "http://h.example/dir/a.xml#top")

    assert str(_redirect_url(request, location)) == expected


async def test_a_location_that_is_no_url_is_a_bad_response(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/feed.xml", redirect_to="http://[::1/feed.xml")

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert str(error).startswith("bad HTTP response (Invalid URL in location header")


async def test_redirect_to_a_non_http_scheme_is_a_fetch_error(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/feed.xml", redirect_to="ftp://example.org/feed.xml")

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert str(error).startswith("unsupported URL scheme")


async def test_redirect_to_a_garbled_host_is_refused_before_any_lookup(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/feed.xml", redirect_to="http://exa mple.org/feed.xml")

    error = await fetch_error(fetcher, server.url("/feed.xml"))

    assert str(error).startswith("invalid URL (bad host")


# -- concurrency ----------------------------------------------------------------------------


async def test_per_host_limit_caps_requests_in_flight_per_host(server: FeedServer) -> None:
    limits = FetchLimits(
        read_timeout=2.0,
        total_timeout=0.5,
        max_connections=10,
        max_per_host=2,
        allow_private_addresses=True,
    )
    server.add("/slow.xml", RSS, delay=0.1)
    urls = [server.url("/slow.xml", host=host) for host in ("127.0.0.1", "localhost")] * 6

    async with Fetcher(limits, trust_env=False) as fetcher:
        # 6 requests per host, 2 at a time, 0.1 s each: waiting in line is not counted
        # against the 0.5 s total timeout.
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    assert all(result.status == 200 for result in results)
    assert server.max_in_flight(server.host) == 2
    assert server.max_in_flight(f"localhost:{server.port}") == 2
    assert server.max_in_flight() == 4


async def test_global_limit_caps_requests_in_flight(server: FeedServer) -> None:
    limits = FetchLimits(
        read_timeout=2.0, max_connections=3, max_per_host=10, allow_private_addresses=True
    )
    server.add("/slow.xml", RSS, delay=0.1)

    async with Fetcher(limits, trust_env=False) as fetcher:
        await asyncio.gather(*(fetcher.fetch(server.url("/slow.xml")) for _ in range(9)))

    assert server.max_in_flight() == 3


# -- connection reuse ----------------------------------------------------------------------


async def test_polls_answered_304_share_one_connection(server: FeedServer) -> None:
    limits = replace(LIMITS, max_per_host=1)
    url = server.add("/feed.xml", RSS, etag='"v1"')

    async with Fetcher(limits, trust_env=False) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url, etag='"v1"') for _ in range(50)))

    assert all(result.not_modified for result in results)
    assert server.hits("/feed.xml") == 50
    assert server.connections_accepted() == 1


async def test_error_answers_share_one_connection(server: FeedServer) -> None:
    limits = replace(LIMITS, max_per_host=1)
    server.fail("/feed.xml", 503, times=None)

    async with Fetcher(limits, trust_env=False) as fetcher:
        for _ in range(20):
            with pytest.raises(FetchError):
                await fetcher.fetch(server.url("/feed.xml"))
            with pytest.raises(FetchError):
                await fetcher.fetch(server.url("/nothing-here"))

    assert server.connections_accepted() == 1


async def test_bodies_read_to_the_end_share_one_connection(server: FeedServer) -> None:
    limits = replace(LIMITS, max_per_host=1)
    url = server.add("/feed.xml", RSS)

    async with Fetcher(limits, trust_env=False) as fetcher:
        for _ in range(20):
            assert (await fetcher.fetch(url)).content == RSS

    assert server.connections_accepted() == 1


async def test_an_abandoned_oversized_body_costs_its_connection(server: FeedServer) -> None:
    limits = replace(LIMITS, max_per_host=1)
    server.add("/huge.xml", oversized=10 * LIMITS.max_bytes)
    url = server.add("/feed.xml", RSS)

    async with Fetcher(limits, trust_env=False) as fetcher:
        await fetch_error(fetcher, server.url("/huge.xml"))
        assert (await fetcher.fetch(url)).content == RSS

    assert server.connections_accepted() == 2


async def test_external_client_is_used_and_left_open(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS)

    async with httpx.AsyncClient(trust_env=False) as client:
        async with Fetcher(LIMITS, client=client) as fetcher:
            result = await fetcher.fetch(url)
        assert not client.is_closed

    assert result.content == RSS


# -- header parsing (pure) ---------------------------------------------------------------------

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=300", 300),
        ("public, max-age=3600, must-revalidate", 3600),
        ("MAX-AGE = 60", 60),
        ('max-age="120"', 120),
        ("s-maxage=50", None),
        ("s-maxage=50, max-age=10", 10),
        ("no-cache", None),
        ("max-age=-5", None),
        ("max-age=abc", None),
        ("max-age=99999999999999999999", 2**31 - 1),
        ("max-age=" + "9" * 5000, 2**31 - 1),
    ],
)
def test_parse_max_age(header: str | None, expected: int | None) -> None:
    assert parse_max_age(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("120", 120.0),
        ("9" * 5000, float(2**31 - 1)),
        (" 0 ", 0.0),
        ("Mon, 03 Mar 2025 10:02:00 GMT", 120.0),
        ("Mon, 03 Mar 2025 09:00:00 GMT", 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Mon, 99 Foo 2025 10:02:00 GMT", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits: isdigit() but not HTTP
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


# -- the feed server itself --------------------------------------------------------------------


def test_feed_server_serves_head_without_body(server: FeedServer) -> None:
    url = server.add("/feed.xml", RSS, etag='"v1"')

    response = httpx.head(url, trust_env=False)

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(RSS))
    assert response.headers["etag"] == '"v1"'
    assert response.content == b""
    assert server.requests[0][0] == "HEAD"


def test_feed_server_serves_files_and_records_hits(server: FeedServer, tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    routes: dict[str, Body] = {"/one.xml": path, "/two.xml": "text"}
    urls = server.add_many(routes)

    assert [httpx.get(url, trust_env=False).content for url in urls] == [RSS, b"text"]
    assert server.hits("/one.xml") == 1
    assert server.hits("/two.xml") == 1


def test_feed_server_stops_promptly_with_a_slow_response_in_flight() -> None:
    server = FeedServer().start()
    server.add("/slow.xml", RSS, delay=30)

    def client() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(server.url("/slow.xml"), timeout=30, trust_env=False)

    thread = threading.Thread(target=client)
    thread.start()
    while server.hits("/slow.xml") == 0:
        time.sleep(0.01)
    started = time.perf_counter()
    server.stop()
    thread.join(timeout=5)

    assert time.perf_counter() - started < 1.0
    assert not thread.is_alive()


# -- idle connections -----------------------------------------------------------------------


class _PairEnd(httpcore.AsyncNetworkStream):
    """One end of a socket pair as httpcore's stream (only its socket is looked at)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> object:
        return self.sock if info == "socket" else None


def test_an_idle_connection_is_readable_once_its_server_sent_something_or_hung_up() -> None:
    ours, theirs = socket.socketpair()
    stream = _SocketStream(_PairEnd(ours))
    try:
        assert stream.get_extra_info("is_readable") is False
        theirs.close()  # the server hung up: the next read is the end
        assert stream.get_extra_info("is_readable") is True
        ours.close()
        assert stream.get_extra_info("is_readable") is True
    finally:
        ours.close()
        theirs.close()


def test_a_stream_without_a_socket_asks_the_inner_stream() -> None:
    class Inner(_PairEnd):
        def get_extra_info(self, info: str) -> object:
            return "inner" if info == "is_readable" else None

    with socket.socket() as sock:
        assert _SocketStream(Inner(sock)).get_extra_info("is_readable") == "inner"
