"""Canonical URLs, link resolution and host names (summaries.urls)."""

from __future__ import annotations

import pytest

from summaries.urls import canonical_url, host_of, resolve_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=3&utm_campaign=x",
            "https://example.com/a?id=3",
        ),
        (
            "https://example.com/a?b=2&fbclid=Iw&a=1&gclid=Cj&mc_cid=1&mc_eid=2",
            "https://example.com/a?b=2&a=1",
        ),
        ("https://example.com/a?yclid=1&igshid=2&_hsenc=3&_hsmi=4", "https://example.com/a"),
        (
            "https://example.com/a?ref=hn&ref_src=twsrc&cmpid=rss&q=kelp",
            "https://example.com/a?q=kelp",
        ),
        ("https://example.com/a?UTM_Source=x&Q=1", "https://example.com/a?Q=1"),
        ("https://example.com/a?q=a+b&x=%20y", "https://example.com/a?q=a+b&x=%20y"),
        ("https://example.com/a?flag&utm_source=x", "https://example.com/a?flag"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a%2Fb/", "https://example.com/a%2Fb/"),
        ("  https://example.com/a \n", "https://example.com/a"),
        ("https://user@Example.com/a", "https://user@example.com/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("not a url", "not a url"),
        ("https://[broken/a", "https://[broken/a"),
        ("https://example.com:99999999/a", "https://example.com:99999999/a"),
    ],
)
def test_canonical_url_normalises_case_ports_fragments_and_tracking(
    url: str, expected: str
) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://Ex.org:443?utm_source=a&b=1#f")
    assert canonical_url(once) == once == "https://ex.org/?b=1"


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("https://a.example/x", None, "https://a.example/x"),
        ("/x", "https://a.example/feed/rss.xml", "https://a.example/x"),
        ("x.html", "https://a.example/feed/rss.xml", "https://a.example/feed/x.html"),
        ("../x.html", "https://a.example/blog/feed/", "https://a.example/blog/x.html"),
        ("//cdn.example/x", "https://a.example/", "https://cdn.example/x"),
        ("?page=2", "https://a.example/list", "https://a.example/list?page=2"),
        ("  https://a.example/\n  wrapped ", None, "https://a.example/wrapped"),
        ("x.html", None, None),
        ("x.html", "", None),
        ("javascript:alert(1)", "https://a.example/", None),
        ("JavaScript:alert(1)", "https://a.example/", None),
        ("data:text/html,<p>x</p>", "https://a.example/", None),
        ("mailto:editor@a.example", "https://a.example/", None),
        ("ftp://a.example/file", None, None),
        ("", "https://a.example/", None),
        (None, "https://a.example/", None),
        ("   ", "https://a.example/", None),
        ("http://[broken", None, None),
        ("https://", None, None),
    ],
)
def test_resolve_url_makes_links_absolute_and_rejects_non_web_schemes(
    href: str | None, base: str | None, expected: str | None
) -> None:
    assert resolve_url(href, base) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://WWW.Example.com:8443/a", "www.example.com"),
        ("http://example.com", "example.com"),
        ("https://[::1]/x", "::1"),
        ("relative/path", ""),
        ("http://[broken", ""),
        ("", ""),
    ],
)
def test_host_of_returns_lowercase_host_without_port(url: str, expected: str) -> None:
    assert host_of(url) == expected
