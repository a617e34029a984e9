"""HTTP fetching of feeds and article pages (the only network code in ``summaries``).

``Fetcher`` wraps one ``httpx.AsyncClient`` and adds what a feed reader needs on top:
a global and a per-host concurrency cap, conditional GET (ETag / Last-Modified), a body
size cap enforced while streaming (after decompression, so a gzip bomb stops early), a
wall-clock cap per fetch, redirect bookkeeping (a 301/308-only chain reports the new
permanent URL), and the server's caching hints (Cache-Control max-age, Retry-After).

Feeds link to pages chosen by third parties, so by default the fetcher reaches public
addresses only. Each host is resolved once, every address it resolves to is checked
(IPv4 addresses embedded in IPv6 transition forms included), and the TCP connection goes to
a checked address while the Host header, SNI and certificate check keep the name: a DNS
answer that changes after the check (rebinding) cannot move the connection. Every redirect
hop goes through the same connection code.

Every failure of one fetch is a ``FetchError`` with a one-line message and, when the server
answered, its status; no httpx exception escapes, and neither does a ValueError or
OverflowError that a hostile URL or header provokes deep inside httpx.

The URL check (``validate_url``), the address check (``is_public_address``,
``embedded_ipv4``) and the header parsers (``parse_max_age``, ``parse_retry_after``) are
pure; the parsers take ``now``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import select
import socket
import ssl
import urllib.request
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

import h11
import httpcore
import httpx

from summaries.errors import FetchError, PrivateAddressError

__all__ = [
    "FEED_ACCEPT",
    "PAGE_ACCEPT",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "PrivateAddressError",
    "Resolver",
    "bypasses_proxy",
    "embedded_ipv4",
    "is_public_address",
    "parse_max_age",
    "parse_retry_after",
    "system_resolver",
    "validate_url",
]

# Answers the addresses of a host name (as strings), in the order to try them; raises
# OSError when the name does not resolve.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


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
    # Feeds link to pages chosen by third parties: hosts that resolve to loopback, private,
    # link-local or reserved addresses (cloud metadata, the LAN) are refused unless a caller
    # opts in (a feed on one's own network, tests serving from 127.0.0.1).
    allow_private_addresses: bool = False


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
# An unread body (a 304's nothing, an error page) up to this size is read to keep its
# connection: cheaper than a new TCP (and TLS) handshake.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 1.0
# Statuses that carry no body (RFC 9110 §15.3.5, §15.4.5): their end is known at once.
_BODYLESS = frozenset({204, 304})
# Host names after IDNA encoding, IPv4 and (unbracketed) IPv6 literals.
_HOST = re.compile(rb"[A-Za-z0-9._:-]+")
# RFC 9110 §4.1 asks for at least 8000 octets; nothing legitimate in a feed comes close.
_MAX_URL_LENGTH = 8000
_MAX_HOST_LENGTH = 253  # DNS: 255 octets on the wire
_MAX_LABEL_LENGTH = 63


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


async def _drain(response: httpx.Response) -> None:
    """Read what is left of a body nobody wanted (at most ``DRAIN_BYTES``, for at most
    ``DRAIN_SECONDS``), so httpcore keeps the connection alive; a longer or slower body is
    not worth it and its connection is closed instead."""
    if response.is_stream_consumed or response.is_closed:
        return
    declared = response.headers.get("content-length", "")
    if (
        declared.isascii()
        and declared.isdigit()
        and (len(declared) > 9 or int(declared) > DRAIN_BYTES)
    ):
        return
    read = 0
    with contextlib.suppress(TimeoutError, *_REQUEST_ERRORS):
        if response.status_code in _BODYLESS:
            # h11 reads no body for these whatever the server sends: no clock needed.
            async for _ in response.aiter_raw():
                pass
            return
        async with asyncio.timeout(DRAIN_SECONDS):
            async for raw in response.aiter_raw():
                read += len(raw)
                if read > DRAIN_BYTES:
                    return


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
    if isinstance(exc, h11.ProtocolError):
        return f"bad HTTP exchange ({detail or 'protocol error'})"
    if isinstance(exc, ValueError | OverflowError):
        # What httpx lets through from deep inside for a hostile URL or header.
        return f"invalid request ({type(exc).__name__}: {detail or 'no detail'})"
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


# Everything one request can raise for reasons outside our code: httpx's own errors, and
# the ValueError/OverflowError/h11 errors it lets escape for a hostile URL or header.
_REQUEST_ERRORS = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.StreamError,
    h11.ProtocolError,
    ValueError,
    OverflowError,
)


# -- URLs ------------------------------------------------------------------------------------


def validate_url(url: str) -> httpx.URL:
    """The parsed URL when the fetcher may request it, else a ``FetchError`` saying why.

    Only http(s) with a host, a port in 1-65535 and no user name or password (httpx would
    send them as Basic credentials to whatever host a third-party link names), and no
    longer than RFC 9110's recommended minimum of 8000 characters. Checking here keeps
    hostile links from reaching httpx, where a port of 65536 is an OverflowError.
    """
    if len(url) > _MAX_URL_LENGTH:
        raise FetchError(f"invalid URL (longer than {_MAX_URL_LENGTH} characters)", url=url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError, OverflowError) as exc:
        raise FetchError(f"invalid URL ({_one_line(str(exc))})", url=url) from None
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "none"
        raise FetchError(f"unsupported URL scheme {scheme!r} (only http and https)", url=url)
    if parsed.userinfo:
        raise FetchError("invalid URL (user name or password in the address)", url=url)
    if not parsed.raw_host:
        raise FetchError("invalid URL (no host)", url=url)
    raw_host = parsed.raw_host.decode("ascii", "replace")
    try:
        # Decodes punycode: a malformed A-label ("xn--zz") is an IDNAError here, not at
        # parsing, and later users of ``.host`` must not meet it.
        host = parsed.host
    except ValueError as exc:
        raise FetchError(f"invalid URL (bad host {raw_host!r}: {exc})", url=url) from None
    if not _host_is_sane(parsed.raw_host):
        # httpx percent-encodes a host like "exa mple.org" instead of refusing it.
        raise FetchError(f"invalid URL (bad host {_one_line(host)!r})", url=url)
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise FetchError(f"invalid URL (port {parsed.port} out of range 1-65535)", url=url)
    return parsed


def _host_is_sane(raw_host: bytes) -> bool:
    if len(raw_host) > _MAX_HOST_LENGTH or _HOST.fullmatch(raw_host) is None:
        return False
    if b":" in raw_host:  # an IPv6 literal; the address check parses it
        return True
    # The resolver's IDNA codec raises UnicodeError, not OSError, for these.
    labels = raw_host.removesuffix(b".").split(b".")
    return all(0 < len(label) <= _MAX_LABEL_LENGTH for label in labels)


# The request extension under which ``Fetcher._get`` leaves the URL it validated itself.
_VALIDATED = "sciforum.validated_url"


async def _check_hop(request: httpx.Request) -> None:
    """Apply ``validate_url`` to every hop: a redirect may name any URL at all. The first
    hop's URL was validated by ``fetch`` (the very object is in the request's extensions;
    httpx copies the extensions onto each redirect, never that URL object)."""
    if request.extensions.get(_VALIDATED) is request.url:
        return
    try:
        validate_url(str(request.url))
    except FetchError as exc:
        raise FetchError(f"{exc} in a redirect", url=str(request.url)) from None


def _redirect_url(request: httpx.Request, location: str) -> httpx.URL:
    """Where a redirect's ``location`` leads from ``request``, read as httpx reads it:
    relative, absolute without a host (httpx issue 771), the fragment kept (RFC 9110
    §10.2.2). A Location that is no URL is a ``RemoteProtocolError``."""
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(
            f"Invalid URL in location header: {exc}.", request=request
        ) from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    return url


# -- addresses -------------------------------------------------------------------------------

# IPv6 forms that carry an IPv4 address in their low 32 bits; the packet may end up there.
_EMBEDDING_IPV4_IN_LOW_BITS = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped (RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 7915)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible, deprecated (RFC 4291)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
)
# Refused whatever they embed, independent of the Python version's ``is_global``:
_NEVER_PUBLIC_IPV6 = (
    # Teredo (RFC 4380): the client's IPv4 address is obfuscated and the server's routes
    # through a relay; no feed is served from a Teredo address, so it is not worth decoding.
    ipaddress.IPv6Network("2001::/32"),
    # NAT64 local-use prefix (RFC 8215): an operator's own translator, reaching its own
    # network; where the IPv4 address sits depends on the operator's prefix length.
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("fec0::/10"),  # site-local, deprecated but still routed by some
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form leads to (mapped, translated, compatible,
    NAT64 well-known prefix, 6to4), or None for a plain IPv6 address."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in network for network in _EMBEDDING_IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC_IPV6):
            return False
        # The embedded address is where the packet goes; the verdict on the outer prefix
        # (6to4, mapped...) differs between Python versions and says nothing about that.
        inner = embedded_ipv4(ip)
        if inner is not None:
            return _is_public_ip(inner)
    return ip.is_global and not ip.is_multicast


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast IP address (not loopback, private, link-local,
    reserved...) that does not embed a non-public IPv4 address either."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return _is_public_ip(ip)


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, in getaddrinfo's preference order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    families = (socket.AF_INET, socket.AF_INET6)
    return list(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in families))


async def _addresses(resolver: Resolver, host: str, port: int) -> list[str]:
    """``host``'s addresses; raises OSError (or ValueError for a name the IDNA codec refuses)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return [host]
    addresses = list(await resolver(host, port))
    if not addresses:
        raise OSError(f"no address for {host}")
    return addresses


def _refuse_private(host: str, addresses: Sequence[str]) -> None:
    # Every address, not just the first: a client may fall back to any of them.
    for address in addresses:
        if not is_public_address(address):
            raise PrivateAddressError(
                f"refused: {host} resolves to non-public address {address}", url=host
            )


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens httpcore's TCP connections to addresses resolved (and checked) exactly once.

    httpcore asks for a connection to the URL's host name and later starts TLS with that
    name, so SNI and certificate verification still use the name; only the TCP connect is
    given the checked address. The connection pool keeps connections per origin, so a
    reused connection is one that was checked when it was opened.
    """

    def __init__(
        self, resolver: Resolver, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend
    ) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not 1 <= port <= 65535:
            # anyio would raise OverflowError inside a task group: not a connect error.
            raise httpcore.ConnectError(f"port {port} out of range 1-65535")
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                addresses = await _addresses(self._resolver, host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except (OSError, ValueError, OverflowError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        if not self._allow_private:
            _refuse_private(host, addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for index, address in enumerate(addresses):
            # Each address gets its share of what is left, so an unreachable first address
            # (a black-holed IPv6 route) cannot use up the whole connect timeout.
            share = None
            if deadline is not None:
                share = max(0.0, deadline - loop.time()) / (len(addresses) - index)
            try:
                return _SocketStream(
                    await self._inner.connect_tcp(
                        address,
                        port,
                        timeout=share,
                        local_address=local_address,
                        socket_options=socket_options,
                    )
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _addresses never answers an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _SocketStream(httpcore.AsyncNetworkStream):
    """A connection's stream that keeps its socket and a poller for it.

    httpcore asks every idle connection of the pool whether its server hung up
    (``is_readable``) each time it assigns a request or a response is closed; anyio answers
    by building its table of socket attributes anew for every question, which with the
    lookups around it was ~6 % of a poll's CPU. The answer is the same poll(2) on the same
    socket; everything else is the inner stream's.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        # A socket.socket, or asyncio's TransportSocket around one: both have fileno().
        fileno = getattr(inner.get_extra_info("socket"), "fileno", None)
        self._fileno: Callable[[], int] | None = fileno
        self._poller: select.poll | None = None
        if fileno is not None and hasattr(select, "poll") and fileno() >= 0:
            self._poller = select.poll()
            self._poller.register(fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's interface)
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's interface)
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        return _SocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        if info == "is_readable" and self._poller is not None and self._fileno is not None:
            # A closed socket reads as readable (its next read is the end), as httpcore has it.
            return self._fileno() < 0 or bool(self._poller.poll(0))
        return self._inner.get_extra_info(info)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over ``_PinnedBackend``."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
    ) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx takes no network backend argument; its pool is swapped for the same pool
        # over ours (httpx's request/response and exception mapping stay in use).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def _environment_proxies() -> tuple[dict[str, str], str]:
    """The proxy URL for http and https (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) and NO_PROXY.

    httpx reads these itself only when it builds its own transport; ours must do it.
    """
    found = urllib.request.getproxies()
    proxies = {}
    for scheme in ("http", "https"):
        url = found.get(scheme) or found.get("all")
        if url:
            proxies[scheme] = url if "://" in url else f"http://{url}"
    return proxies, found.get("no", "")


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY (curl's reading: ``*``, names with their subdomains, addresses,
    networks) sends ``host`` direct."""
    host = host.lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for part in no_proxy.split(","):
        if part.strip() == "*":
            return True
        entry = part.strip().lower().strip("[]").lstrip("*").lstrip(".").rstrip(".")
        if not entry:
            continue
        if address is not None:
            with contextlib.suppress(ValueError):
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


async def _check_before_sending(request: httpx.Request, *, resolver: Resolver) -> None:
    """For requests that do not go through ``_PinnedBackend`` (a proxy, a custom transport):
    resolve and check the host beforehand. The proxy or transport resolves the name again,
    so this stops plain links to internal services, not DNS rebinding."""
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    try:
        addresses = await _addresses(resolver, host, port)
    except (OSError, ValueError, OverflowError) as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from None
    _refuse_private(host, addresses)


class _ProxyRouter(httpx.AsyncBaseTransport):
    """Sends a request through the environment's proxy for its scheme, unless NO_PROXY
    names its host; everything else goes over the pinned transport."""

    def __init__(
        self,
        direct: httpx.AsyncBaseTransport,
        proxies: dict[str, httpx.AsyncBaseTransport],
        *,
        no_proxy: str,
        check: Callable[[httpx.Request], Awaitable[None]] | None,
    ) -> None:
        self._direct = direct
        self._proxies = proxies
        self._no_proxy = no_proxy
        self._check = check

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._proxies.get(request.url.scheme)
        if proxy is None or bypasses_proxy(request.url.host, self._no_proxy):
            return await self._direct.handle_async_request(request)
        if self._check is not None:
            await self._check(request)
        return await proxy.handle_async_request(request)

    async def aclose(self) -> None:
        await self._direct.aclose()
        for proxy in self._proxies.values():
            await proxy.aclose()


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

    async def acquire(self, host: str) -> None:
        """Wait for a slot of ``host``; ``release(host)`` after, in every case (a plain pair,
        not a context manager: it runs once per fetch, 10,000 times in a pass)."""
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = _HostSlot(asyncio.Semaphore(self._per_host))
        slot.users += 1
        try:
            await slot.semaphore.acquire()
        except BaseException:
            self._leave(host, slot)
            raise

    def release(self, host: str) -> None:
        slot = self._slots[host]
        slot.semaphore.release()
        self._leave(host, slot)

    def _leave(self, host: str, slot: _HostSlot) -> None:
        slot.users -= 1
        if slot.users == 0:
            del self._slots[host]


# -- the fetcher ------------------------------------------------------------------------------


class Fetcher:
    """Fetches feeds and pages within ``FetchLimits``; use as ``async with Fetcher() as f``.

    ``resolver`` answers the addresses of a host (the system resolver by default; tests
    inject stubs); ``network_backend`` opens the TCP connections to checked addresses
    (httpcore's anyio backend by default; tests route "public" addresses to loopback).
    ``ssl_context`` replaces the default CA bundle (tests trust their own CA).

    ``client`` lets tests supply their own ``httpx.AsyncClient``: not closed by us, its own
    ``max_redirects`` applies, and no address check happens (it connects as it likes).
    ``transport`` builds our client over a custom transport; like an HTTP proxy from the
    environment, it resolves names itself, so hosts are only checked before sending (no
    rebinding protection). ``clock`` gives "now" for Retry-After dates when the response
    carries no Date header.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _utcnow,
        trust_env: bool = True,
        resolver: Resolver = system_resolver,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
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
        # Set by ``_new_client``: what ``_follow`` sends through (None: a caller's client).
        self._transport: httpx.AsyncBaseTransport | None = None
        self._hooks: list[Callable[[httpx.Request], Awaitable[None]]] = []
        self._client = client or self._new_client(
            transport=transport,
            trust_env=trust_env,
            resolver=resolver,
            network_backend=network_backend,
            ssl_context=ssl_context or _ssl_context(trust_env),
        )
        # What ``_request`` puts in every request, as the client would.
        self._timeouts = self._timeout.as_dict()
        client_raw = self._client.headers.raw
        self._client_headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in client_raw
        }
        self._global = asyncio.Semaphore(limits.max_connections)
        self._hosts = _HostGates(limits.max_per_host)

    def _new_client(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None,
        trust_env: bool,
        resolver: Resolver,
        network_backend: httpcore.AsyncNetworkBackend | None,
        ssl_context: ssl.SSLContext,
    ) -> httpx.AsyncClient:
        limits = self.limits
        pool_limits = httpx.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=min(limits.max_connections, 20),
        )
        check = (
            None
            if limits.allow_private_addresses
            else functools.partial(_check_before_sending, resolver=resolver)
        )
        hooks: list[Callable[[httpx.Request], Awaitable[None]]] = [_check_hop]
        if transport is not None:
            if check is not None:
                hooks.append(check)
        else:
            backend = _PinnedBackend(
                resolver,
                allow_private=limits.allow_private_addresses,
                inner=network_backend or httpcore.AnyIOBackend(),
            )
            transport = _PinnedTransport(backend, ssl_context=ssl_context, limits=pool_limits)
            # httpx ignores proxy variables when given a transport: honour them here.
            proxy_urls, no_proxy = _environment_proxies() if trust_env else ({}, "")
            if proxy_urls:
                proxies: dict[str, httpx.AsyncBaseTransport] = {
                    scheme: httpx.AsyncHTTPTransport(
                        proxy=url, verify=ssl_context, limits=pool_limits, trust_env=False
                    )
                    for scheme, url in proxy_urls.items()
                }
                transport = _ProxyRouter(transport, proxies, no_proxy=no_proxy, check=check)
        self._transport, self._hooks = transport, hooks
        return httpx.AsyncClient(
            headers={
                "User-Agent": limits.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": FEED_ACCEPT,
            },
            timeout=self._timeout,
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            event_hooks={"request": hooks},
            transport=transport,
            trust_env=trust_env,
        )

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
        deadline: float | None = None,
    ) -> FetchResult:
        """GET ``url``: a 2xx body or a 304; anything else raises ``FetchError``.

        The total timeout starts once a connection slot is ours, so waiting behind other
        fetches to the same host never counts against a feed. ``deadline`` (the event
        loop's clock) is the caller's own, waiting included: past it the fetch raises
        ``TimeoutError``. One clock serves both (a poll had a timer for each).
        """
        target = validate_url(url)
        headers = {"Accept": _safe_header(accept) or FEED_ACCEPT}
        if (tag := _safe_header(etag)) is not None:
            headers["If-None-Match"] = tag
        if (since := _safe_header(last_modified)) is not None:
            headers["If-Modified-Since"] = since
        host = target.host.lower()
        clock = asyncio.timeout_at(deadline)
        total = False  # whether the clock runs the total timeout (else the caller's deadline)
        try:
            async with clock:
                await self._hosts.acquire(host)
                try:
                    async with self._global:
                        ends = asyncio.get_running_loop().time() + self.limits.total_timeout
                        if deadline is None or ends < deadline:
                            clock.reschedule(ends)
                            total = True
                        return await self._get(target, url, headers, etag=tag, last_modified=since)
                finally:
                    self._hosts.release(host)
        except TimeoutError:
            if clock.expired() and not total:
                raise  # the caller's deadline
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
        target: httpx.URL,
        url: str,
        headers: dict[str, str],
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        try:
            if self._transport is None:  # a caller's client: its own redirects and hooks
                request = self._client.build_request("GET", target, headers=headers)
                request.extensions[_VALIDATED] = request.url
                response = await self._client.send(request, stream=True, follow_redirects=True)
            else:
                response = await self._follow(target, headers, self._transport)
        except FetchError as exc:
            # Raised for one hop (a redirect's URL or host); callers get the URL they asked for.
            exc.url = url
            raise
        except _REQUEST_ERRORS as exc:
            raise FetchError(_describe(exc, self.limits), url=url) from None
        # A response left unread (a 304, an error status) is drained so its connection goes
        # back to the pool; closing it unread would close the connection too. Not after a
        # cancellation or a transport error: the connection is lost then anyway.
        drain = False
        try:
            result = await self._result(url, response, etag=etag, last_modified=last_modified)
            drain = True
            return result
        except FetchError:
            drain = True
            raise
        except _REQUEST_ERRORS as exc:
            raise FetchError(
                _describe(exc, self.limits), url=url, status=response.status_code
            ) from None
        finally:
            if drain:
                await _drain(response)
            await response.aclose()

    async def _follow(
        self, target: httpx.URL, headers: dict[str, str], transport: httpx.AsyncBaseTransport
    ) -> httpx.Response:
        """GET ``target`` as ``AsyncClient.send(request, stream=True, follow_redirects=True)``
        does it, without what a fetch never uses (auth flows, per-request options, the
        client's bookkeeping): that was ~20 % of the CPU of a poll answered 304. Every hop
        goes through the client's request hooks (the URL and address checks) and its
        transport, with the client's headers, timeouts and cookies; at most
        ``max_redirects`` redirects; a redirect's body is drained (bounded), not read whole.
        The response's body is not read yet."""
        if self._client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        request = self._request(target, headers)
        request.extensions[_VALIDATED] = request.url  # a copy of target
        history: list[httpx.Response] = []
        while True:
            for hook in self._hooks:
                await hook(request)
            response = await transport.handle_async_request(request)
            try:
                response.request = request
                if "set-cookie" in response.headers:
                    self._client.cookies.extract_cookies(response)
                if not response.has_redirect_location:
                    response.history = history
                    return response
                if len(history) >= self.limits.max_redirects:
                    raise httpx.TooManyRedirects(
                        "Exceeded maximum allowed redirects.", request=request
                    )
                target = _redirect_url(request, response.headers["location"])
                await _drain(response)
            except BaseException:
                await response.aclose()
                raise
            await response.aclose()
            history.append(response)
            request = self._request(target, headers)

    def _request(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Request:
        """What ``AsyncClient.build_request`` makes of a GET of ``url`` with ``headers``."""
        request = httpx.Request(
            "GET",
            url,
            headers={**self._client_headers, **headers},
            extensions={"timeout": self._timeouts},
        )
        if self._client.cookies:
            self._client.cookies.set_cookie_header(request)
        return request

    async def _result(
        self,
        url: str,
        response: httpx.Response,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        retry_after = None
        if (retry_header := response.headers.get("retry-after")) is not None:
            retry_after = parse_retry_after(retry_header, now=self._response_time(response))
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
