"""What the fetcher refuses to reach: hostile URLs, private addresses in every disguise, and
names whose DNS answer changes between the check and the connection (rebinding).

Nothing here leaves the machine. ``StubResolver`` answers host names from a script and
``FakeInternet`` (the fetcher's network backend) serves "public" addresses from loopback
servers, records every connection, and lets a connection to loopback through for real, so a
fooled fetcher shows up as a hit on the "internal" server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import httpcore
import httpx
import pytest

from summaries.errors import FetchError
from summaries.fetch import (
    Fetcher,
    FetchLimits,
    PrivateAddressError,
    bypasses_proxy,
    embedded_ipv4,
    is_public_address,
    validate_url,
)
from tests.conftest import FIXTURES
from tests.feedserver import FeedServer

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC = "93.184.216.34"  # stands for any public address; FakeInternet serves it from loopback
OTHER_PUBLIC = "93.184.216.35"
TLS = FIXTURES / "tls"  # a test CA and a certificate for feeds.test signed by it (to 2124)
FAST = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 5.0}
REFUSING = FetchLimits(**FAST)
ALLOWING = FetchLimits(**FAST, allow_private_addresses=True)


class StubResolver:
    """Answers each name from its script, one answer per lookup, the last one repeated."""

    def __init__(self, script: dict[str, list[list[str]]]) -> None:
        self._script = script
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self._script.get(host)
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[min(self.lookups.count(host), len(answers)) - 1]


class FakeInternet(httpcore.AsyncNetworkBackend):
    """Public addresses in ``sites`` are served by loopback ports; others are unreachable.

    A host name (which the fetcher should never pass on) is looked up in ``resolver`` as the
    operating system would: a second, possibly different, answer.
    """

    def __init__(
        self, sites: dict[str, int] | None = None, resolver: StubResolver | None = None
    ) -> None:
        self.sites = sites or {}
        self.resolver = resolver
        self.connections: list[tuple[str, int]] = []
        self._loopback = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connections.append((host, port))
        if not _is_ip(host):
            if self.resolver is None:
                raise httpcore.ConnectError(f"cannot resolve {host}")
            host = (await self.resolver(host, port))[0]
        if host in self.sites:
            return await self._loopback.connect_tcp("127.0.0.1", self.sites[host], timeout)
        if ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
            # Really connect: a fetcher fooled into coming here must leave a trace.
            return await self._loopback.connect_tcp(host, port, timeout)
        raise httpcore.ConnectError(f"{host} is unreachable from the tests")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


@pytest.fixture
def internal() -> Iterator[FeedServer]:
    """A service on loopback that links from the internet must never reach."""
    with FeedServer() as server:
        server.add("/secret", b"internal only", content_type="text/plain")
        server.add("/feed.xml", b"<rss>internal only</rss>")
        yield server


@pytest.fixture
def website() -> Iterator[FeedServer]:
    """The public site at PUBLIC (through FakeInternet)."""
    with FeedServer() as server:
        server.add("/feed.xml", RSS)
        yield server


@contextlib.asynccontextmanager
async def refusing_fetcher(
    resolver: StubResolver, internet: FakeInternet, **options: Any
) -> AsyncIterator[Fetcher]:
    options.setdefault("trust_env", False)
    async with Fetcher(REFUSING, resolver=resolver, network_backend=internet, **options) as fetcher:
        yield fetcher


async def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert caught.value.url == url
    return caught.value


# -- the URL check (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://example.org/feed.xml", "example.org", None),
        ("https://example.org:8443/feed", "example.org", 8443),
        ("http://example.org:1/", "example.org", 1),
        ("http://example.org:65535/", "example.org", 65535),
        ("HTTP://EXAMPLE.ORG/", "example.org", None),
        ("http://example.org./", "example.org.", None),
        ("http://例え.jp/記事", "xn--r8jz45g.jp", None),
        ("http://[2606:2800:220:1::1]/feed", "2606:2800:220:1::1", None),
        ("http://93.184.216.34:8080/", "93.184.216.34", 8080),
        ("http://@example.org/", "example.org", None),  # an empty user part is no credential
        ("http://example.org/" + "a" * 7000, "example.org", None),
    ],
)
def test_validate_url_accepts_http_urls_with_a_host(url: str, host: str, port: int | None) -> None:
    parsed = validate_url(url)

    assert parsed.raw_host.decode() == host
    assert parsed.port == port


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.org:65536/feed", "invalid URL (port 65536 out of range 1-65535)"),
        ("http://example.org:0/feed", "invalid URL (port 0 out of range 1-65535)"),
        ("http://example.org:99999999999999999999/", "out of range 1-65535"),
        ("http://[::1", "invalid URL ("),  # httpx's wording follows
        ("http://[::1]:65536/", "out of range 1-65535"),
        ("http://user:pass@example.org/", "invalid URL (user name or password in the address)"),
        ("http://user@example.org/", "invalid URL (user name or password in the address)"),
        ("http://example.org/" + "a" * 10_000, "invalid URL (longer than 8000 characters)"),
        ("http://" + "a" * 64 + ".org/", "invalid URL (bad host"),
        ("http://" + "abcdefgh." * 30 + "org/", "invalid URL (bad host"),
        ("http://a..b/", "invalid URL (bad host 'a..b')"),
        ("http://exa mple.org/", "invalid URL (bad host"),
        ("http://ex%61mple.org/", "invalid URL (bad host"),
        ("http://[fe80::1%25eth0]/", "invalid URL (bad host"),
        ("http://☃.net/", "invalid URL ("),
        ("http://exa\u200bmple.org/", "invalid URL ("),
        ("http://xn--zz.org/", "invalid URL ("),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("data:text/html,<p>hi</p>", "unsupported URL scheme 'data'"),
        ("gopher://example.org/", "unsupported URL scheme 'gopher'"),
        ("//example.org/feed", "unsupported URL scheme 'none'"),
        ("http:///feed", "invalid URL (no host)"),
        ("http:example.org/feed", "invalid URL (no host)"),
    ],
)
def test_validate_url_refuses_hostile_and_broken_urls(url: str, message: str) -> None:
    with pytest.raises(FetchError) as caught:
        validate_url(url)

    assert message in str(caught.value)
    assert caught.value.url == url
    assert caught.value.status is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:65536/feed.xml",
        "http://127.0.0.1:0/feed.xml",
        "http://[::1",
        "http://user:pass@127.0.0.1/feed.xml",
        "http://127.0.0.1/" + "x" * 10_000,
        "http://☃.net/feed.xml",
        "javascript:alert(1)",
        "file:///etc/passwd",
    ],
)
async def test_a_hostile_url_is_a_fetch_error_before_any_connection(url: str) -> None:
    resolver, internet = StubResolver({}), FakeInternet()
    async with Fetcher(
        ALLOWING, trust_env=False, resolver=resolver, network_backend=internet
    ) as fetcher:
        await fetch_error(fetcher, url)

    assert resolver.lookups == []
    assert internet.connections == []


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://127.0.0.1:65536/feed.xml", "port 65536 out of range 1-65535"),
        ("http://127.0.0.1:0/feed.xml", "port 0 out of range 1-65535"),
        ("http://user:pass@127.0.0.1/feed.xml", "user name or password"),
        ("http://127.0.0.1/" + "x" * 10_000, "longer than 8000 characters"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
    ],
)
async def test_a_redirect_to_a_hostile_url_is_a_fetch_error_after_one_hop(
    location: str, message: str
) -> None:
    with FeedServer() as server:
        url = server.add("/feed.xml", redirect_to=location, redirect_status=302)
        async with Fetcher(ALLOWING, trust_env=False) as fetcher:
            error = await fetch_error(fetcher, url)

        assert message in str(error)
        assert str(error).endswith("in a redirect")
        assert len(server.requests) == 1


# -- exceptions httpx lets through become FetchError ---------------------------------------------


class Body(httpx.AsyncByteStream):
    """A streamed response body for httpx.MockTransport that yields ``content`` or raises."""

    def __init__(self, content: bytes | Exception) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if isinstance(self._content, Exception):
            raise self._content
        yield self._content


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            OverflowError("getsockaddrarg: port must be 0-65535."),
            "invalid request (OverflowError: getsockaddrarg: port must be 0-65535.)",
        ),
        (ValueError("Invalid header value b'x\\n'"), "invalid request (ValueError: Invalid"),
        (
            UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range"),
            "invalid request (UnicodeEncodeError:",
        ),
        (h11.LocalProtocolError("Illegal header value"), "bad HTTP exchange (Illegal header"),
        (h11.RemoteProtocolError("bad status line"), "bad HTTP exchange (bad status line)"),
        (httpx.InvalidURL("Invalid port: '99999'"), "invalid URL (Invalid port: '99999')"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
@pytest.mark.parametrize("when", ["sending", "reading the body"])
async def test_an_unexpected_library_exception_costs_one_fetch_not_the_caller(
    exc: Exception, message: str, when: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if when == "sending":
            raise exc
        return httpx.Response(200, stream=Body(exc))

    async with Fetcher(
        ALLOWING, trust_env=False, transport=httpx.MockTransport(handler)
    ) as fetcher:
        error = await fetch_error(fetcher, "http://feeds.example/feed.xml")

    assert str(error).startswith(message)
    assert error.status == (200 if when == "reading the body" else None)


# -- the address check (pure) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        # plain IPv4 and IPv6
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),  # multicast
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("fec0::1", False),  # site-local, deprecated
        ("ff02::1", False),  # multicast
        ("2001:db8::1", False),  # documentation
        # IPv4-mapped ::ffff:a.b.c.d
        ("::ffff:8.8.8.8", True),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        # IPv4-translated ::ffff:0:a.b.c.d
        ("::ffff:0:8.8.8.8", True),
        ("::ffff:0:127.0.0.1", False),
        # IPv4-compatible ::a.b.c.d (deprecated)
        ("::8.8.8.8", True),
        ("::127.0.0.1", False),
        ("::169.254.169.254", False),
        # NAT64 well-known prefix 64:ff9b::/96
        ("64:ff9b::8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("64:ff9b::127.0.0.1", False),
        ("64:ff9b::a9fe:a9fe", False),  # 169.254.169.254
        ("64:ff9b::192.168.0.1", False),
        # NAT64 local-use prefix 64:ff9b:1::/48: the operator's own network, always refused
        ("64:ff9b:1::8.8.8.8", False),
        ("64:ff9b:1::127.0.0.1", False),
        # 6to4 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD
        ("2002:808:808::1", True),
        ("2002:7f00:1::1", False),
        ("2002:a9fe:a9fe::1", False),
        ("2002:c0a8:101::1", False),
        # Teredo 2001::/32: refused whatever it embeds
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001:0:808:808:0:0:f7f7:f7f7", False),
        ("not an address", False),
        ("", False),
    ],
)
def test_only_globally_routable_addresses_are_public_in_every_form(
    address: str, public: bool
) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:0:10.0.0.1", "10.0.0.1"),
        ("::169.254.169.254", "169.254.169.254"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("2002:808:808:1:2:3:4:5", "8.8.8.8"),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("64:ff9b:0:1::7f00:1", None),  # not the /96 well-known prefix
        ("fe80::1", None),
    ],
)
def test_embedded_ipv4_finds_the_address_a_transition_form_leads_to(
    address: str, embedded: str | None
) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))

    assert (str(found) if found else None) == embedded


def test_fetch_limits_refuse_private_addresses_unless_told_otherwise() -> None:
    assert FetchLimits().allow_private_addresses is False


async def test_a_plain_fetcher_refuses_loopback() -> None:
    with FeedServer() as server:
        url = server.add("/feed.xml", RSS)
        async with Fetcher(trust_env=False) as fetcher:
            with pytest.raises(PrivateAddressError, match=r"non-public address 127\.0\.0\.1"):
                await fetcher.fetch(url)
            with pytest.raises(PrivateAddressError, match="non-public address"):
                await fetcher.fetch(url.replace("127.0.0.1", "localhost"))
        assert server.requests == []


# -- the pinned connection ----------------------------------------------------------------------


async def test_a_name_that_rebinds_to_loopback_after_the_check_is_fetched_from_the_checked_address(
    website: FeedServer, internal: FeedServer
) -> None:
    # The attacker's DNS answers a public address to the check and loopback to a second
    # lookup; the URL names the internal service's port.
    resolver = StubResolver({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    internet = FakeInternet({PUBLIC: website.port}, resolver)
    url = f"http://rebind.test:{internal.port}/feed.xml"

    async with refusing_fetcher(resolver, internet) as fetcher:
        result = await fetcher.fetch(url)

    assert result.content == RSS
    assert resolver.lookups == ["rebind.test"]
    assert internet.connections == [(PUBLIC, internal.port)]
    assert internal.requests == []
    [(_, path, headers)] = website.requests
    assert path == "/feed.xml"
    assert headers["host"] == f"rebind.test:{internal.port}"


async def test_a_name_that_resolves_to_loopback_is_refused_without_connecting(
    internal: FeedServer,
) -> None:
    resolver = StubResolver({"rebind.test": [["127.0.0.1"], [PUBLIC]]})
    internet = FakeInternet(resolver=resolver)
    url = f"http://rebind.test:{internal.port}/secret"

    async with refusing_fetcher(resolver, internet) as fetcher:
        error = await fetch_error(fetcher, url)

    assert isinstance(error, PrivateAddressError)
    assert str(error) == "refused: rebind.test resolves to non-public address 127.0.0.1"
    assert internet.connections == []
    assert internal.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC, "127.0.0.1"],  # a client falling back to the second address would get in
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["::1"],
        ["fe80::1%eth0"],
        ["::ffff:127.0.0.1"],
        ["::ffff:0:169.254.169.254"],
        ["::127.0.0.1"],
        ["64:ff9b::7f00:1"],
        ["64:ff9b:1::a00:5"],
        ["2002:a9fe:a9fe::1"],
        ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    ],
    ids=",".join,
)
async def test_a_name_with_any_non_public_address_is_refused_without_connecting(
    answer: list[str],
) -> None:
    resolver, internet = StubResolver({"sneaky.test": [answer]}), FakeInternet()

    async with refusing_fetcher(resolver, internet) as fetcher:
        error = await fetch_error(fetcher, "http://sneaky.test/feed.xml")

    assert isinstance(error, PrivateAddressError)
    assert internet.connections == []


@pytest.mark.parametrize(
    "target",
    [
        "http://internal.test:{port}/secret",  # a name that resolves to loopback
        "http://127.0.0.1:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_every_redirect_hop_is_checked_before_connecting(
    website: FeedServer, internal: FeedServer, target: str
) -> None:
    website.add("/feed.xml", redirect_to=target.format(port=internal.port), redirect_status=302)
    resolver = StubResolver({"news.test": [[PUBLIC]], "internal.test": [["127.0.0.1"]]})
    internet = FakeInternet({PUBLIC: website.port}, resolver)
    url = "http://news.test/feed.xml"

    async with refusing_fetcher(resolver, internet) as fetcher:
        error = await fetch_error(fetcher, url)

    assert isinstance(error, PrivateAddressError)
    assert internet.connections == [(PUBLIC, 80)]
    assert internal.requests == []


async def test_a_redirect_to_another_public_name_is_resolved_and_pinned_too(
    website: FeedServer,
) -> None:
    website.add("/old.xml", redirect_to="http://new.test/feed.xml", redirect_status=301)
    resolver = StubResolver({"old.test": [[PUBLIC]], "new.test": [[OTHER_PUBLIC]]})
    internet = FakeInternet({PUBLIC: website.port, OTHER_PUBLIC: website.port})

    async with refusing_fetcher(resolver, internet) as fetcher:
        result = await fetcher.fetch("http://old.test/old.xml")

    assert result.content == RSS
    assert result.permanent_redirect == "http://new.test/feed.xml"
    assert resolver.lookups == ["old.test", "new.test"]
    assert internet.connections == [(PUBLIC, 80), (OTHER_PUBLIC, 80)]
    assert [headers["host"] for _, _, headers in website.requests] == ["old.test", "new.test"]


async def test_an_unreachable_first_address_falls_back_to_the_next_checked_one(
    website: FeedServer,
) -> None:
    resolver = StubResolver({"news.test": [[OTHER_PUBLIC, PUBLIC]]})
    internet = FakeInternet({PUBLIC: website.port})  # OTHER_PUBLIC does not answer

    async with refusing_fetcher(resolver, internet) as fetcher:
        result = await fetcher.fetch("http://news.test/feed.xml")

    assert result.content == RSS
    assert internet.connections == [(OTHER_PUBLIC, 80), (PUBLIC, 80)]


async def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    resolver, internet = StubResolver({}), FakeInternet()

    async with refusing_fetcher(resolver, internet) as fetcher:
        error = await fetch_error(fetcher, "http://nowhere.test/feed.xml")

    assert str(error).startswith("cannot connect (cannot resolve nowhere.test:")
    assert internet.connections == []


async def test_allowing_private_addresses_still_connects_to_the_one_resolved_address(
    website: FeedServer,
) -> None:
    # A second lookup would lead to 127.0.0.2, where nothing listens.
    resolver = StubResolver({"lan.test": [["127.0.0.1"], ["127.0.0.2"]]})
    url = f"http://lan.test:{website.port}/feed.xml"

    # The production network backend: a real loopback connection to the resolved address.
    async with Fetcher(ALLOWING, trust_env=False, resolver=resolver) as fetcher:
        result = await fetcher.fetch(url)

    assert result.content == RSS
    assert resolver.lookups == ["lan.test"]
    assert website.requests[0][2]["host"] == f"lan.test:{website.port}"


# -- TLS keeps the name ------------------------------------------------------------------------


@dataclass
class TLSSite:
    port: int = 0
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def tls_site() -> AsyncIterator[TLSSite]:
    """An HTTPS server on loopback with a certificate for feeds.test only."""
    site = TLSSite()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "feeds.test.pem")
    context.sni_callback = lambda _sock, name, _ctx: site.server_names.append(name)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "host":
                    site.hosts.append(value.strip())
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%b" % (len(RSS), RSS)
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    site.port = server.sockets[0].getsockname()[1]
    async with server:
        yield site


@pytest.fixture
def trusts_test_ca() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=TLS / "ca.pem")


async def test_tls_to_a_pinned_address_keeps_sni_host_and_verification_for_the_name(
    trusts_test_ca: ssl.SSLContext,
) -> None:
    async with tls_site() as site:
        resolver = StubResolver({"feeds.test": [[PUBLIC], ["127.0.0.1"]]})
        internet = FakeInternet({PUBLIC: site.port}, resolver)
        async with refusing_fetcher(resolver, internet, ssl_context=trusts_test_ca) as fetcher:
            result = await fetcher.fetch(f"https://feeds.test:{site.port}/feed.xml")

    assert result.content == RSS
    assert internet.connections == [(PUBLIC, site.port)]
    assert site.server_names == ["feeds.test"]
    assert site.hosts == [f"feeds.test:{site.port}"]


async def test_tls_to_a_pinned_address_fails_when_the_certificate_is_for_another_name(
    trusts_test_ca: ssl.SSLContext,
) -> None:
    async with tls_site() as site:
        resolver = StubResolver({"impostor.test": [[PUBLIC]]})
        internet = FakeInternet({PUBLIC: site.port})
        async with refusing_fetcher(resolver, internet, ssl_context=trusts_test_ca) as fetcher:
            error = await fetch_error(fetcher, f"https://impostor.test:{site.port}/feed.xml")

    assert str(error).startswith("cannot connect")
    assert "certificate verify failed" in str(error)
    assert site.server_names == ["impostor.test"]
    assert site.hosts == []


# -- when the connection is not ours: proxies and custom transports ---------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """A loopback server named as HTTP_PROXY (it answers 404 to every proxied request)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with FeedServer() as server:
        monkeypatch.setenv("HTTP_PROXY", server.url("/"))
        yield server


async def test_a_name_for_the_environment_proxy_is_checked_before_the_proxy_sees_it(
    proxy: FeedServer,
) -> None:
    resolver = StubResolver({"internal.test": [["10.0.0.5"]]})

    async with Fetcher(REFUSING, trust_env=True, resolver=resolver) as fetcher:
        error = await fetch_error(fetcher, "http://internal.test/admin")

    assert isinstance(error, PrivateAddressError)
    assert proxy.requests == []


async def test_a_public_name_goes_through_the_environment_proxy(proxy: FeedServer) -> None:
    resolver, internet = StubResolver({"news.test": [[PUBLIC]]}), FakeInternet()

    async with refusing_fetcher(resolver, internet, trust_env=True) as fetcher:
        error = await fetch_error(fetcher, "http://news.test/feed.xml")

    assert error.status == 404  # the proxy's answer
    assert [path for _, path, _ in proxy.requests] == ["http://news.test/feed.xml"]
    assert internet.connections == []


async def test_a_name_in_no_proxy_is_fetched_direct_over_the_pinned_connection(
    proxy: FeedServer, website: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "localhost, .test")
    resolver = StubResolver({"news.test": [[PUBLIC]]})
    internet = FakeInternet({PUBLIC: website.port})

    async with refusing_fetcher(resolver, internet, trust_env=True) as fetcher:
        result = await fetcher.fetch("http://news.test/feed.xml")

    assert result.content == RSS
    assert internet.connections == [(PUBLIC, 80)]
    assert proxy.requests == []


@pytest.mark.parametrize(
    ("host", "no_proxy", "direct"),
    [
        ("news.test", "", False),
        ("news.test", "*", True),
        ("news.test", "news.test", True),
        ("feeds.news.test", "news.test", True),
        ("feeds.news.test", ".news.test", True),
        ("feeds.news.test", "*.news.test", True),
        ("badnews.test", "news.test", False),
        ("news.test", "other.test, NEWS.test ", True),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("10.1.2.3", "10.1.2.3", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("::1", "[::1]", True),
        ("::1", "localhost", False),
    ],
)
def test_bypasses_proxy_reads_no_proxy_as_curl_does(host: str, no_proxy: str, direct: bool) -> None:
    assert bypasses_proxy(host, no_proxy) is direct


async def test_a_custom_transport_gets_requests_only_for_checked_hosts() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, stream=Body(RSS))

    resolver = StubResolver({"news.test": [[PUBLIC]], "internal.test": [["192.168.0.10"]]})
    async with Fetcher(
        REFUSING, trust_env=False, resolver=resolver, transport=httpx.MockTransport(handler)
    ) as fetcher:
        result = await fetcher.fetch("http://news.test/feed.xml")
        error = await fetch_error(fetcher, "http://internal.test/feed.xml")

    assert result.content == RSS
    assert isinstance(error, PrivateAddressError)
    assert sent == ["http://news.test/feed.xml"]
