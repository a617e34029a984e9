"""Feed topics: the default topics an admin gives a feed, as typed and as shown.

``/addfeed URL #microbiology #genomics``, ``/feedtopics ID ...`` and ``sciforum feeds add
URL --topic microbiology`` all read their topics with ``parse_topics``, so Telegram and the
command line accept the same words; the bot shows them as the hashtags its cards carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from bot.errors import UnknownTopic
from summaries.topics import TOPICS, hashtag

# The word that clears a feed's topics: "/feedtopics 3 -".
NO_TOPICS = "-"
_SEPARATORS = re.compile(r"[\s,]+")
# An unknown word is echoed back; a pasted paragraph is cut so the reply stays a line.
_MAX_SHOWN_CHARS = 40


def parse_topics(words: Iterable[str]) -> tuple[str, ...]:
    """The topic slugs the words name, each once, in the order given.

    A word is a hashtag as the bot shows it (``#precision_medicine``) or a slug
    (``precision-medicine``), in any case; words may also be separated by commas. A lone
    "-" means no topics. Raises UnknownTopic naming every word that is not a topic, so
    nothing is half-applied.
    """
    tokens = [token for word in words for token in _SEPARATORS.split(word) if token]
    if tokens == [NO_TOPICS]:
        return ()
    index = _index()
    found: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for token in tokens:
        slug = index.get(token.removeprefix("#").casefold())
        if slug is not None:
            found[slug] = None
        elif len(token) <= _MAX_SHOWN_CHARS:
            unknown[token] = None
        else:
            unknown[token[: _MAX_SHOWN_CHARS - 1] + "…"] = None
    if unknown:
        raise UnknownTopic(tuple(unknown))
    return tuple(found)


def hashtags(slugs: Sequence[str]) -> str:
    """Slugs as hashtags: ("ai", "precision-medicine") -> "#ai #precision_medicine"."""
    return " ".join(hashtag(slug) for slug in slugs)


def all_hashtags() -> str:
    """Every topic's hashtag, in taxonomy order: what an unknown topic's reply lists."""
    return hashtags([topic.slug for topic in TOPICS])


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for topic in TOPICS:
        index[topic.slug.casefold()] = topic.slug
        index[hashtag(topic.slug).removeprefix("#").casefold()] = topic.slug
    return index
