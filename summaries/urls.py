"""URL normalisation: canonical article URLs, safe link resolution, host names.

A canonical URL is what we compare to find the same article behind different links
(tracking parameters, fragments, letter case of the host, default ports). courlan is not
used because it sorts query parameters and keeps fragments; order matters to some sites.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

_WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only tell the publisher where a click came from.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "yclid",
        "ysclid",
        "igshid",
        "igsh",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "icid",
        "ncid",
        "s_cid",
        "sr_share",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wt.mc_id",
        "wt_mc",
        "wt_zmc",
        "wt.mc_ev",
        "spm",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_")

# Characters that end up inside hrefs when feeds wrap long URLs over several lines.
_INNER_WHITESPACE = re.compile(r"[ \t]*[\r\n]+[ \t]*|\t+")


def _is_tracking_param(raw_key: str) -> bool:
    key = raw_key.strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    # Filtering the raw "k=v" pieces keeps each surviving parameter byte-for-byte
    # (no re-quoting, "+" stays "+") and in its original order.
    kept = [
        piece
        for piece in query.split("&")
        if piece and not _is_tracking_param(piece.split("=", 1)[0])
    ]
    return "&".join(kept)


def _netloc(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return f"{userinfo}@{host}" if userinfo else host


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` used to recognise the same article.

    Lowercases scheme and host, drops default ports, the fragment and tracking
    parameters (``utm_*``, ``fbclid``, ``ref``...; others keep their order and spelling)
    and turns an empty path into ``/``. A string that is not a parseable URL comes back
    stripped but otherwise unchanged.
    """
    stripped = _INNER_WHITESPACE.sub("", url.strip())
    try:
        parts = urlsplit(stripped)
        netloc = _netloc(parts)
    except ValueError:  # e.g. a broken IPv6 literal or a non-numeric port
        return stripped
    scheme = parts.scheme.lower()
    if not netloc:
        return stripped
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def resolve_url(href: str | None, base: str | None) -> str | None:
    """``href`` made absolute against ``base``; None unless the result is an http(s) URL.

    Rejects ``javascript:``, ``data:``, ``mailto:`` and other non-web schemes, empty links,
    and relative links when there is no usable base.
    """
    if not href:
        return None
    cleaned = _INNER_WHITESPACE.sub("", href.strip())
    if not cleaned:
        return None
    try:
        absolute = urljoin(base.strip(), cleaned) if base else cleaned
        parts = urlsplit(absolute)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not hostname:
        return None
    return absolute


def host_of(url: str) -> str:
    """The lowercase host name of ``url`` (no port, ``www.`` kept); "" when there is none."""
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""
