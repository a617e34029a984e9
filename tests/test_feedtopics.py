"""Feed topics as admins type them (bot.feedtopics), shared by /addfeed, /feedtopics and
``sciforum feeds add --topic``: table-driven."""

from __future__ import annotations

import pytest

from bot.errors import UnknownTopic
from bot.feedtopics import all_hashtags, hashtags, parse_topics
from summaries.topics import TOPICS, hashtag


@pytest.mark.parametrize(
    ("words", "slugs"),
    [
        ([], ()),
        (["microbiology"], ("microbiology",)),
        (["#microbiology", "#genomics"], ("microbiology", "genomics")),
        (["#Precision_Medicine"], ("precision-medicine",)),  # the hashtag the bot shows
        (["precision-medicine"], ("precision-medicine",)),  # the slug
        (["#precision-medicine"], ("precision-medicine",)),
        (["PRECISION_MEDICINE"], ("precision-medicine",)),
        (["#cell_biology", "social-science"], ("cell-biology", "social-science")),
        (["#genomics,#ai"], ("genomics", "ai")),  # commas separate too
        (["genomics, ai"], ("genomics", "ai")),  # one CLI option with a list
        (["#ai", "#AI", "ai"], ("ai",)),  # each once, first mention keeps its place
        (["-"], ()),  # a lone dash clears
        (["  ", ""], ()),
    ],
)
def test_topic_words_become_slugs(words: list[str], slugs: tuple[str, ...]) -> None:
    assert parse_topics(words) == slugs


@pytest.mark.parametrize(
    ("words", "unknown"),
    [
        (["#astrology"], ("#astrology",)),
        (["#microbiology", "#astrology", "alchemy"], ("#astrology", "alchemy")),
        (["#astrology", "#astrology"], ("#astrology",)),
        (["-", "#ai"], ("-",)),  # a dash clears only on its own
        (["#"], ("#",)),
        (["##ai"], ("##ai",)),
        (["Cell", "biology"], ("Cell", "biology")),  # a name is not a slug
        (["x" * 100], ("x" * 39 + "…",)),  # a pasted paragraph is cut when echoed
    ],
)
def test_unknown_topic_words_are_all_named_and_nothing_is_returned(
    words: list[str], unknown: tuple[str, ...]
) -> None:
    with pytest.raises(UnknownTopic) as caught:
        parse_topics(words)
    assert caught.value.names == unknown
    assert all(name in str(caught.value) for name in unknown)


def test_every_topic_is_accepted_by_slug_and_by_hashtag() -> None:
    for topic in TOPICS:
        assert parse_topics([topic.slug]) == (topic.slug,)
        assert parse_topics([hashtag(topic.slug)]) == (topic.slug,)


def test_topics_are_shown_as_the_hashtags_cards_carry() -> None:
    assert hashtags(["microbiology", "precision-medicine"]) == "#microbiology #precision_medicine"
    assert hashtags([]) == ""
    shown = all_hashtags().split()
    assert len(shown) == len(TOPICS) == 24
    assert parse_topics(shown) == tuple(t.slug for t in TOPICS)
