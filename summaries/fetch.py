"""HTTP fetching of feeds and article pages (the only network code in ``summaries``).

``Fetcher`` wraps one ``httpx.AsyncClient`` and adds what a feed reader needs on top:
a global and a per-host concurrency cap, conditional GET (ETag / Last-Modified), a body
size cap enforced while streaming (after decompression, so a gzip bomb stops early), a
wall-clock cap per fetch, redirect bookkeeping (a 301/308-only chain reports the new
permanent URL), and the server's caching hints (Cache-Control max-age, Retry-After).

Every failure is a ``FetchError`` with a one-line message and, when the server answered,
its status; no httpx exception escapes.

The header parsers (``parse_max_age``, ``parse_retry_after``) are pure and take ``now``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

import httpx

from summaries.errors import FetchError


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # wall clock for one fetch, body included
    max_bytes: int = 5 * 1024 * 1024  # enforced while streaming
    max_redirects: int = 5
    max_connections: int = 50  # global concurrency
    max_per_host: int = 4  # per-host concurrency
    user_agent: str = "SciForumDigest/0.1 (+https://github.com/sciforum/sciforum-digest)"
    # Feeds link to pages chosen by third parties: the bot refuses hosts that resolve to
    # loopback, private, link-local or reserved addresses (cloud metadata, the LAN) unless
    # told otherwise. Tests and benchmarks serve from 127.0.0.1, so the plain default allows.
    allow_private_addresses: bool = True


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 or 304
    content: bytes  # empty on 304
    content_type: str | None
    etag: str | None
    last_modified: str | None
    max_age: int | None  # Cache-Control max-age (seconds), when given
    retry_after: float | None  # Retry-After (seconds), when given
    permanent_redirect: str | None  # new URL when every redirect hop was 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304


FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

_PERMANENT_REDIRECTS = frozenset({301, 308})
_MAX_DELTA_SECONDS = 2**31 - 1
_MAX_MESSAGE = 200
_MAX_AGE = re.compile(r'(?:^|[,\s])max-age\s*=\s*"?(\d+)"?', re.IGNORECASE)
# Header values we send back verbatim: visible ASCII only, so nothing can inject a header.
_SAFE_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,512}")
_GZIP_MAGIC = b"\x1f\x8b"
# Host names after IDNA encoding, IPv4 and (unbracketed) IPv6 literals.
_HOST = re.compile(rb"[A-Za-z0-9._:-]+")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _ssl_context(trust_env: bool) -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.1 s; every Fetcher in the process can share one context.
    return httpx.create_ssl_context(trust_env=trust_env)


# -- header parsing (pure) -------------------------------------------------------------------


def _delta_seconds(digits: str) -> int:
    # int() refuses over 4300 digits (a ValueError from a header is a crash); cap first.
    if len(digits) > 10:
        return _MAX_DELTA_SECONDS
    return min(int(digits), _MAX_DELTA_SECONDS)


def parse_max_age(cache_control: str | None) -> int | None:
    """The ``max-age`` of a Cache-Control header in seconds, or None when absent or garbled."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return None
    return _delta_seconds(match.group(1))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date).

    A date in the past means "now" (0.0); garbage means None.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(_delta_seconds(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _status_text(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = _one_line(response.reason_phrase)[:60]
    return f"HTTP {response.status_code} {phrase}".rstrip()


def _safe_header(value: str | None) -> str | None:
    if value is None or _SAFE_HEADER_VALUE.fullmatch(value) is None:
        return None
    return value


# -- body decoding under a size cap -------------------------------------------------------


class _Inflater:
    """gzip/deflate decompression that never produces more than it is allowed to.

    httpx's own decoders inflate a whole network chunk at once: 64 KiB of a gzip bomb
    becomes ~64 MiB in memory before any size check could run. ``max_length`` keeps every
    step bounded by the remaining budget.
    """

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        # deflate is meant to be zlib-wrapped, but some servers send raw deflate.
        self._raw_fallback = not self._gzip
        self._obj = self._new()

    def _new(self) -> zlib._Decompress:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)

    def decompress(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` bytes of output; exactly ``limit`` means there may be more."""
        out = bytearray()
        while data and len(out) < limit:
            try:
                out += self._obj.decompress(data, limit - len(out))
            except zlib.error:
                if not self._raw_fallback or out:
                    raise
                self._raw_fallback = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_fallback = False
            if self._obj.unconsumed_tail:
                data = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data.startswith(_GZIP_MAGIC) and self._gzip:
                # Concatenated gzip members are one body (RFC 1952 §2.2).
                data = self._obj.unused_data
                self._obj = self._new()
            else:
                # Trailing garbage after the end of the stream is ignored, as browsers do.
                data = b""
        return bytes(out)

    def flush(self) -> bytes:
        return self._obj.flush()


def _content_encoding(response: httpx.Response, url: str) -> str | None:
    header: str = response.headers.get("content-encoding", "")
    codings = [
        part.strip().lower()
        for part in header.split(",")
        if part.strip() and part.strip().lower() != "identity"
    ]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return codings[0]
    raise FetchError(
        f"unsupported Content-Encoding {_one_line(', '.join(codings))!r}",
        url=url,
        status=response.status_code,
    )


async def _read_body(response: httpx.Response, *, url: str, max_bytes: int) -> bytes:
    too_large = f"body larger than {max_bytes} bytes"
    declared = response.headers.get("content-length", "")
    if (
        declared.isascii()
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > max_bytes)
    ):
        # The compressed size already exceeds the cap; the inflated one will not be smaller
        # by more than a few header bytes.
        raise FetchError(
            f"{too_large} (Content-Length {declared})", url=url, status=response.status_code
        )
    encoding = _content_encoding(response, url)
    inflater = _Inflater(encoding) if encoding else None
    body = bytearray()
    try:
        async for raw in response.aiter_raw():
            piece = raw if inflater is None else inflater.decompress(raw, max_bytes - len(body) + 1)
            body += piece
            if len(body) > max_bytes:
                raise FetchError(too_large, url=url, status=response.status_code)
        if inflater is not None:
            body += inflater.flush()[: max_bytes - len(body) + 1]
    except zlib.error as exc:
        raise FetchError(
            f"cannot decode {encoding} body: {exc}", url=url, status=response.status_code
        ) from None
    if len(body) > max_bytes:
        raise FetchError(too_large, url=url, status=response.status_code)
    return bytes(body)


# -- httpx exceptions to FetchError ------------------------------------------------------------


def _describe(exc: Exception, limits: FetchLimits) -> str:
    detail = _one_line(str(exc))
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {limits.connect_timeout:g}s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timed out after {limits.read_timeout:g}s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"write timed out after {limits.read_timeout:g}s"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {limits.max_redirects})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL scheme ({detail or 'only http and https'})"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL ({detail})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({detail or 'connection failed'})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"bad HTTP response ({detail or 'protocol error'})"
    if isinstance(exc, httpx.ReadError):
        return f"connection lost while reading ({detail or 'read error'})"
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


def _check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchError(f"invalid URL ({_one_line(str(exc))})", url=url) from None
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "none"
        raise FetchError(f"unsupported URL scheme {scheme!r} (only http and https)", url=url)
    if not parsed.host:
        raise FetchError("invalid URL (no host)", url=url)
    if _HOST.fullmatch(parsed.raw_host) is None:
        # httpx percent-encodes a host like "exa mple.org" instead of refusing it.
        raise FetchError(f"invalid URL (bad host {_one_line(parsed.host)!r})", url=url)
    return parsed


async def _check_hop(request: httpx.Request) -> None:
    """Refuse a redirect to a garbled host before httpx sends it to the resolver."""
    if _HOST.fullmatch(request.url.raw_host) is None:
        raise httpx.InvalidURL(f"bad host {_one_line(request.url.host)!r} in redirect")


class PrivateAddressError(FetchError):
    """The host resolves to an address the fetcher may not reach."""


def is_public_address(address: str) -> bool:
    """True for a globally routable IP address (not loopback, private, link-local...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _check_public(request: httpx.Request) -> None:
    """Refuse every hop (redirects included) whose host resolves to a non-public address.

    The name is resolved here and again by the connection, so a DNS answer that changes in
    between (rebinding) is not caught; this stops plain links to internal services.
    """
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise PrivateAddressError(
                f"refused: {host} resolves to non-public address {address}", url=str(request.url)
            )


# -- concurrency -----------------------------------------------------------------------------


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class _HostGates:
    """One semaphore per host, dropped again when nobody uses it (hosts are unbounded)."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, _HostSlot] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = _HostSlot(asyncio.Semaphore(self._per_host))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[host]


# -- the fetcher ------------------------------------------------------------------------------


class Fetcher:
    """Fetches feeds and pages within ``FetchLimits``; use as ``async with Fetcher() as f``.

    ``client`` lets tests supply their own ``httpx.AsyncClient`` (not closed by us; its own
    ``max_redirects`` applies); ``transport`` builds our client over a custom transport.
    ``clock`` gives "now" for Retry-After dates when the response carries no Date header.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _utcnow,
        trust_env: bool = True,
    ) -> None:
        self.limits = limits = limits or FetchLimits()
        self._clock = clock
        self._timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            # Our own semaphores keep requests out of httpx's pool queue; this is a backstop.
            pool=limits.total_timeout,
        )
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            headers={
                "User-Agent": limits.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": FEED_ACCEPT,
            },
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=min(limits.max_connections, 20),
            ),
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            event_hooks={
                "request": [_check_hop]
                + ([] if limits.allow_private_addresses else [_check_public])
            },
            transport=transport,
            trust_env=trust_env,
            verify=_ssl_context(trust_env),
        )
        self._global = asyncio.Semaphore(limits.max_connections)
        self._hosts = _HostGates(limits.max_per_host)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url``: a 2xx body or a 304; anything else raises ``FetchError``.

        The total timeout starts once a connection slot is ours, so waiting behind other
        fetches to the same host never counts against a feed.
        """
        target = _check_url(url)
        headers = {"Accept": _safe_header(accept) or FEED_ACCEPT}
        if (tag := _safe_header(etag)) is not None:
            headers["If-None-Match"] = tag
        if (since := _safe_header(last_modified)) is not None:
            headers["If-Modified-Since"] = since
        async with self._hosts.hold(target.host.lower()), self._global:
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    return await self._get(url, headers, etag=tag, last_modified=since)
            except TimeoutError:
                raise FetchError(
                    f"timed out after {self.limits.total_timeout:g}s in total", url=url
                ) from None

    async def fetch_page(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """``fetch`` for an article page (asks for HTML)."""
        return await self.fetch(url, etag=etag, last_modified=last_modified, accept=PAGE_ACCEPT)

    async def _get(
        self,
        url: str,
        headers: dict[str, str],
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        try:
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True, follow_redirects=True)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FetchError(_describe(exc, self.limits), url=url) from None
        try:
            return await self._result(url, response, etag=etag, last_modified=last_modified)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FetchError(
                _describe(exc, self.limits), url=url, status=response.status_code
            ) from None
        finally:
            await response.aclose()

    async def _result(
        self,
        url: str,
        response: httpx.Response,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), now=self._response_time(response)
        )
        status = response.status_code
        if status != 304 and not 200 <= status < 300:
            raise FetchError(
                _status_text(response), url=url, status=status, retry_after=retry_after
            )
        content = b""
        if status != 304:
            content = await _read_body(response, url=url, max_bytes=self.limits.max_bytes)
        final_url = str(response.url)
        permanent = None
        if (
            response.history
            and all(hop.status_code in _PERMANENT_REDIRECTS for hop in response.history)
            and final_url != str(httpx.URL(url))
        ):
            permanent = final_url
        # A 304 may omit the validators; the ones we sent are still the current ones.
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            content=content,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag") or (etag if status == 304 else None),
            last_modified=response.headers.get("last-modified")
            or (last_modified if status == 304 else None),
            max_age=parse_max_age(response.headers.get("cache-control")),
            retry_after=retry_after,
            permanent_redirect=permanent,
        )

    def _response_time(self, response: httpx.Response) -> datetime:
        """The server's clock (its Date header) when given: Retry-After dates use it."""
        date = response.headers.get("date")
        if date:
            try:
                when = parsedate_to_datetime(date)
            except (TypeError, ValueError, IndexError, OverflowError):
                return self._clock()
            return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        return self._clock()
