"""The exception tree of the ``summaries`` package.

Expected failures (a feed that is down, a page that is not a feed, an article
whose text cannot be extracted) raise one of these; callers record and count
them. Anything else is a bug and is allowed to propagate.
"""

from __future__ import annotations


class SummariesError(Exception):
    """Base class for every expected failure in ``summaries``."""


class FetchError(SummariesError):
    """An HTTP fetch failed: network error, timeout, bad status, or a body too large.

    ``status`` is the HTTP status when the server answered, ``retry_after`` the
    seconds the server asked us to wait (429/503), when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after


class PrivateAddressError(FetchError):
    """The host resolves to an address the fetcher may not reach (loopback, the LAN, cloud
    metadata...), directly or embedded in an IPv6 transition address."""


class FeedParseError(SummariesError):
    """The bytes are not a usable feed (an HTML page, garbage, an empty document)."""


class ExtractError(SummariesError):
    """No main text could be extracted from an article page."""


class RuleError(SummariesError, ValueError):
    """A subscription query that cannot become a keyword rule (empty, too long, ...)."""


class FeedListError(SummariesError):
    """The file is neither OPML nor a list of feed URLs."""
