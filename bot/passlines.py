"""The log lines an ingest pass ends with: one per concern, instead of one per feed.

Pure: ``pass_lines`` reads the counts of a finished pass and returns (level, text) pairs;
the ingestor logs them. Each feed's own failure is logged at DEBUG where it happens (with
its feed_id and feed_url), and ``sciforum feeds list`` shows each feed's last error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

# Failure kinds (summaries.decisions.ErrorKind) that mean the network, not the feed.
NETWORK_KINDS = frozenset({"network", "timeout"})


def pass_lines(
    *,
    checked: int,
    failure_kinds: Mapping[str, int],
    new_articles: int,
    not_modified: int,
    page_failures: int,
    seconds: float,
) -> list[tuple[int, str]]:
    """What a pass of ``checked`` feeds says at its end, as (logging level, line) pairs."""
    if not checked:
        return []
    lines: list[tuple[int, str]] = [
        (
            logging.INFO,
            f"ingest pass: {checked} feeds checked, {not_modified} not modified, "
            f"{new_articles} new articles ({seconds:.1f} s)",
        )
    ]
    failed = sum(failure_kinds.values())
    if failed and failed == checked and set(failure_kinds) <= NETWORK_KINDS:
        feeds = "the only feed" if checked == 1 else f"all {checked} feeds"
        lines.append((logging.WARNING, f"no network? {feeds} failed to connect"))
    elif failed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(failure_kinds.items()))
        lines.append(
            (
                logging.WARNING,
                f"{failed} of {checked} feeds failed ({kinds}); details: sciforum feeds list",
            )
        )
    if page_failures:
        lines.append(
            (logging.INFO, f"{page_failures} article pages unavailable (the feed text is kept)")
        )
    return lines
