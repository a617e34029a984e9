"""A local HTTP server (127.0.0.1, random port) that plays feeds and pages for tests and benchmarks.

It runs the stdlib ``ThreadingHTTPServer`` in background threads, so the same object works
from sync tests, async tests and benchmark scripts::

    with FeedServer() as server:
        url = server.add("/feed.xml", Path("tests/fixtures/.../feed.xml"), etag='"v1"')
        server.fail("/feed.xml", 503, times=2, retry_after=30)  # 503, 503, then the feed
        ...
        assert server.hits("/feed.xml") == 3

Besides plain bodies a route can misbehave on purpose: answer late (``delay``), trickle a
chunked body (``chunked_size`` + ``chunk_delay``), reset the connection (``reset``), stream
more bytes than anyone should read without a Content-Length (``oversized``), redirect, or
serve gzip. The server records every request (and when it arrived), hits per path, bytes
sent per path, the highest number of requests in flight at once (overall and per Host
header) and the TCP connections it accepted.

``python -m tests.feedserver`` measures its throughput with an httpx client.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

Body = bytes | str | Path

_BLOCK = 64 * 1024
# Idle keep-alive connections are dropped after this long so their threads end.
_IDLE_TIMEOUT = 30.0


@dataclass(slots=True)
class _Route:
    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    redirect_to: str | None = None
    redirect_status: int = 301
    gzipped: bytes | None = None  # body compressed once at add() time
    chunked_size: int | None = None
    chunk_delay: float = 0.0
    reset: bool = False
    oversized: int | None = None
    times: int | None = None  # remaining answers for a temporary route


@dataclass(slots=True)
class _PathRoutes:
    base: _Route | None = None
    # Temporary definitions, used first-in first-out, each for its `times` answers.
    overlays: deque[_Route] = field(default_factory=deque)


def _to_bytes(body: Body) -> bytes:
    if isinstance(body, Path):
        return body.read_bytes()
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Server(ThreadingHTTPServer):
    # A deep backlog: benchmarks open hundreds of connections at once.
    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: FeedServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.accepted = 0  # TCP connections accepted since the start (or reset_stats)
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response is what half of the routes provoke; stay quiet.
        return

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body may go out in separate writes; Nagle + delayed ACK would add 40 ms.
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT
    server: _Server

    def do_GET(self) -> None:
        self.server.owner._serve(self, head=False)

    def do_HEAD(self) -> None:
        self.server.owner._serve(self, head=True)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Abort(Exception):
    """The server is stopping or the client went away: drop the connection."""


class FeedServer:
    """An HTTP server on 127.0.0.1 with routes defined by ``add`` (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _PathRoutes] = {}
        self._requests: list[tuple[str, str, dict[str, str]]] = []
        self._arrivals: list[tuple[float, str]] = []
        self._hits: Counter[str] = Counter()
        self._bytes_sent: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: Counter[str] = Counter()
        self._in_flight_total = 0
        self._max_in_flight_total = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"feedserver:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow responses in flight are abandoned, not waited for."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FeedServer is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The ``Host`` header a client sends for ``url(...)``: ``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path``; ``host="localhost"`` gives a second host name."""
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{host}:{self.port}{path}"

    # -- routes ----------------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: Body = b"",
        *,
        content_type: str = "application/rss+xml",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
        redirect_to: str | None = None,
        redirect_status: int = 301,
        gzip: bool = False,
        chunked_size: int | None = None,
        chunk_delay: float = 0.0,
        reset: bool = False,
        oversized: int | None = None,
        times: int | None = None,
    ) -> str:
        """Define how ``path`` answers and return its URL.

        ``times=None`` sets the lasting definition (kept under any temporary ones).
        ``times=N`` queues a temporary definition used for the next N requests once the
        temporary definitions queued before it are used up; then the path falls back.
        ``delay`` waits before the status line (a read timeout for the client);
        ``chunked_size`` sends the body chunked, ``chunk_delay`` waits before each chunk
        (a slow trickle). ``reset`` closes the connection with a TCP RST and no response.
        ``oversized=N`` streams N bytes of filler with no Content-Length (close-delimited,
        or chunked when ``chunked_size`` is given). ``gzip`` compresses the body for
        clients that accept gzip. ``redirect_to`` answers ``redirect_status`` with that
        Location. ``etag``/``last_modified`` make matching conditional requests get 304.
        """
        if not path.startswith("/"):
            path = "/" + path
        raw = _to_bytes(body)
        route = _Route(
            body=raw,
            status=status,
            content_type=content_type,
            headers=dict(headers or {}),
            etag=etag,
            last_modified=last_modified,
            delay=delay,
            redirect_to=redirect_to,
            redirect_status=redirect_status,
            gzipped=gzip_module.compress(raw, mtime=0) if gzip else None,
            chunked_size=chunked_size,
            chunk_delay=chunk_delay,
            reset=reset,
            oversized=oversized,
            times=times,
        )
        with self._lock:
            routes = self._routes.setdefault(path, _PathRoutes())
            if times is None:
                routes.base = route
            elif times > 0:
                routes.overlays.append(route)
        return self.url(path) if self._server is not None else path

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        times: int | None = 1,
        retry_after: str | int | None = None,
        reset: bool = False,
    ) -> None:
        """Make ``path`` answer ``status`` (or reset the connection) for ``times`` requests."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = f"{status} {_reason(status)}\n"
        self.add(
            path,
            body,
            content_type="text/plain",
            status=status,
            headers=headers,
            reset=reset,
            times=times,
        )

    def add_many(
        self, routes: Mapping[str, Body] | Iterable[tuple[str, Body]], **options: Any
    ) -> list[str]:
        """Add many paths with the same ``add`` options; returns their URLs in order."""
        items = routes.items() if isinstance(routes, Mapping) else routes
        return [self.add(path, body, **options) for path, body in items]

    def clear(self) -> None:
        """Forget every route (statistics are kept; see ``reset_stats``)."""
        with self._lock:
            self._routes.clear()

    # -- statistics ------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, headers with lower-case names) of every request, in arrival order."""
        with self._lock:
            return list(self._requests)

    def arrivals(self, path: str) -> list[float]:
        """Wall-clock times (``time.time()``) at which requests for ``path`` arrived."""
        with self._lock:
            return [when for when, seen in self._arrivals if seen == path]

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def bytes_sent(self, path: str) -> int:
        """Body bytes written for ``path`` (socket buffers may still hold some)."""
        with self._lock:
            return self._bytes_sent[path]

    def max_in_flight(self, host: str | None = None) -> int:
        """Most requests handled at once, for one Host header (e.g. ``server.host``) or all."""
        with self._lock:
            return self._max_in_flight_total if host is None else self._max_in_flight[host]

    def connections_accepted(self) -> int:
        """TCP connections accepted (a client that reuses its connections opens few)."""
        server = self._server
        if server is None:
            return 0
        with server.connections_lock:
            return server.accepted

    def reset_stats(self) -> None:
        if self._server is not None:
            with self._server.connections_lock:
                self._server.accepted = 0
        with self._lock:
            self._requests.clear()
            self._arrivals.clear()
            self._hits.clear()
            self._bytes_sent.clear()
            self._max_in_flight.clear()
            self._max_in_flight_total = self._in_flight_total

    # -- serving (runs in handler threads) -------------------------------------------------

    def _take_route(self, path: str) -> _Route | None:
        with self._lock:
            routes = self._routes.get(path)
            if routes is None and "?" in path:
                routes = self._routes.get(path.split("?", 1)[0])
            if routes is None:
                return None
            if routes.overlays:
                route = routes.overlays[0]
                assert route.times is not None
                route.times -= 1
                if route.times <= 0:
                    routes.overlays.popleft()
                return route
            return routes.base

    def _serve(self, handler: _Handler, *, head: bool) -> None:
        method = "HEAD" if head else "GET"
        path = handler.path
        headers = {name.lower(): value for name, value in handler.headers.items()}
        host = headers.get("host", "")
        with self._lock:
            self._requests.append((method, path, headers))
            self._arrivals.append((time.time(), path))
            self._hits[path] += 1
            self._in_flight[host] += 1
            self._in_flight_total += 1
            self._max_in_flight[host] = max(self._max_in_flight[host], self._in_flight[host])
            self._max_in_flight_total = max(self._max_in_flight_total, self._in_flight_total)
        try:
            route = self._take_route(path)
            if route is None:
                route = _Route(body=b"not found\n", status=404, content_type="text/plain")
            self._respond(handler, route, path, headers, head=head)
        except (_Abort, OSError):
            handler.close_connection = True
        finally:
            with self._lock:
                self._in_flight[host] -= 1
                self._in_flight_total -= 1

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Abort

    def _respond(
        self, handler: _Handler, route: _Route, path: str, headers: dict[str, str], *, head: bool
    ) -> None:
        self._wait(route.delay)
        if route.reset:
            # SO_LINGER 0 turns close() into a TCP RST: a "connection reset by peer".
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            raise _Abort
        out: dict[str, str] = {}
        if route.etag is not None:
            out["ETag"] = route.etag
        if route.last_modified is not None:
            out["Last-Modified"] = route.last_modified
        out.update(route.headers)

        if route.redirect_to is not None:
            out["Location"] = route.redirect_to
            self._send(handler, path, route.redirect_status, out, b"", head=head)
            return
        if route.status == 200 and _not_modified(route, headers):
            self._send(handler, path, 304, out, None, head=head)
            return
        if route.oversized is not None:
            self._stream_filler(handler, path, route, out, head=head)
            return
        body = route.body
        if route.gzipped is not None and "gzip" in headers.get("accept-encoding", ""):
            body = route.gzipped
            out["Content-Encoding"] = "gzip"
        out.setdefault("Content-Type", route.content_type)
        if route.chunked_size is not None:
            blocks = (
                body[i : i + route.chunked_size] for i in range(0, len(body), route.chunked_size)
            )
            self._send_chunked(handler, path, route, out, blocks, head=head)
        else:
            self._send(handler, path, route.status, out, body, head=head)

    def _head_bytes(self, status: int, headers: Mapping[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(
        self,
        handler: _Handler,
        path: str,
        status: int,
        headers: dict[str, str],
        body: bytes | None,
        *,
        head: bool,
    ) -> None:
        if body is not None:
            headers["Content-Length"] = str(len(body))
        payload = b"" if head or body is None else body
        # One write: header and body in the same segment.
        handler.wfile.write(self._head_bytes(status, headers) + payload)
        with self._lock:
            self._bytes_sent[path] += len(payload)

    def _send_chunked(
        self,
        handler: _Handler,
        path: str,
        route: _Route,
        headers: dict[str, str],
        blocks: Iterable[bytes],
        *,
        head: bool,
    ) -> None:
        headers["Transfer-Encoding"] = "chunked"
        handler.wfile.write(self._head_bytes(route.status, headers))
        if head:
            return
        for block in blocks:
            if not block:
                continue
            self._wait(route.chunk_delay)
            handler.wfile.write(b"%x\r\n%b\r\n" % (len(block), block))
            with self._lock:
                self._bytes_sent[path] += len(block)
        handler.wfile.write(b"0\r\n\r\n")

    def _stream_filler(
        self,
        handler: _Handler,
        path: str,
        route: _Route,
        headers: dict[str, str],
        *,
        head: bool,
    ) -> None:
        assert route.oversized is not None
        total = route.oversized
        step = route.chunked_size or _BLOCK
        blocks = (b"x" * min(step, total - sent) for sent in range(0, total, step))
        headers.setdefault("Content-Type", route.content_type)
        if route.chunked_size is not None:
            self._send_chunked(handler, path, route, headers, blocks, head=head)
            return
        # No Content-Length and no chunking: the body ends when the connection closes.
        headers["Connection"] = "close"
        handler.close_connection = True
        handler.wfile.write(self._head_bytes(route.status, headers))
        if head:
            return
        for block in blocks:
            self._wait(route.chunk_delay)
            handler.wfile.write(block)
            with self._lock:
                self._bytes_sent[path] += len(block)


def _not_modified(route: _Route, headers: Mapping[str, str]) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # RFC 9110: If-None-Match wins over If-Modified-Since when both are sent.
        if route.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or route.etag.removeprefix("W/") in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None or route.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(
            route.last_modified
        )
    except (TypeError, ValueError):
        return if_modified_since == route.last_modified


# -- throughput check ----------------------------------------------------------------------


def _benchmark(total: int, concurrency: int, size: int, client: str) -> None:
    import asyncio
    import time

    import httpx

    body = (b"<rss><channel><title>t</title></channel></rss>" * (size // 46 + 1))[:size]

    async def with_httpx(server: FeedServer, urls: list[str]) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, trust_env=False) as session:
            queue = iter(urls)

            async def worker() -> None:
                for url in queue:
                    response = await session.get(url)
                    assert response.status_code == 200, response.status_code

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def with_sockets(server: FeedServer, urls: list[str]) -> None:
        # A minimal keep-alive HTTP/1.1 client: measures the server, not a client library.
        queue = iter(urls)

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            for url in queue:
                path = url.split(str(server.port), 1)[1]
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            writer.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    with FeedServer() as server:
        urls = server.add_many({f"/bench/{i}.xml": body for i in range(total)})
        run = with_httpx if client == "httpx" else with_sockets
        started = time.perf_counter()
        asyncio.run(run(server, urls))
        elapsed = time.perf_counter() - started
        print(
            f"{client} client, {total} GETs of {size} B over {concurrency} connections: "
            f"{elapsed:.2f} s, {total / elapsed:.0f} req/s, "
            f"max in flight {server.max_in_flight()}"
        )


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Measure FeedServer throughput.")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--client", choices=["sockets", "httpx"], default="sockets")
    args = parser.parse_args()
    _benchmark(args.requests, args.concurrency, args.size, args.client)


if __name__ == "__main__":
    _main()
