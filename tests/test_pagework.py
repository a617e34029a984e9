"""The page job: a teaser's page extracted and the text kept enriched, in one call, with the
same result as the two steps apart (``extract_article``, then ``enrich``)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from summaries.enrichment import enrich
from summaries.extract import extract_article
from summaries.pagework import EnrichedPage, enrich_page, keeps_page_text

NOW = datetime(2030, 5, 2, tzinfo=UTC)
URL = "https://sky.example/comet"
TITLE = "Comet seen twice in one night"
PAGE = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Comet seen twice | Sky Weekly</title></head><body><nav>Home News</nav>
<article><h1>Comet seen twice in one night</h1>
<p>Astronomers in Chile watched the comet rise twice in a single night, an effect of the
atmosphere bending its light near the horizon, the observatory said on Tuesday.</p>
<p>The first sighting came at dusk. The second came just before dawn, when the comet stood
low over the Andes and its tail stretched across a quarter of the sky.</p>
<p>Further observations are planned for next month, when the comet returns to the evening
sky and reaches its brightest.</p>
</article><footer>Copyright Sky Weekly.</footer></body></html>"""
TEASER = "Astronomers in Chile watched the comet rise twice in a single night …"
LONG_FEED_TEXT = " ".join(["The feed carries the whole story, longer than the page."] * 40)


def page_job(page: bytes, feed_text: str) -> EnrichedPage:
    return enrich_page(
        page,
        url=URL,
        content_type="text/html; charset=utf-8",
        title=TITLE,
        feed_text=feed_text,
        language="en",
        published=None,
        now=NOW,
    )


def two_steps(text: str) -> object:
    return enrich(TITLE, text, language="en", published=None, now=NOW)


@pytest.mark.parametrize(
    ("page_text", "feed_text", "kept"),
    [
        ("a longer page text", "short", True),
        ("short", "a longer feed text", False),
        ("same", "same", False),
    ],
)
def test_the_page_text_is_kept_only_when_it_says_more(
    page_text: str, feed_text: str, kept: bool
) -> None:
    assert keeps_page_text(page_text, feed_text) is kept


def test_a_teasers_page_gives_its_text_and_the_enrichment_of_it() -> None:
    page_text = extract_article(PAGE, url=URL, now=NOW).text

    done = page_job(PAGE, TEASER)

    assert done.text == page_text
    assert done.extract_error is None
    assert done.enrichment == two_steps(page_text)


def test_a_page_shorter_than_the_feed_text_leaves_the_feed_text_enriched() -> None:
    done = page_job(PAGE, LONG_FEED_TEXT)

    assert done.text is None
    assert done.enrichment == two_steps(LONG_FEED_TEXT)


@pytest.mark.parametrize("page", [b"", b"   ", b"<html><body><img src=x></body></html>"])
def test_a_page_without_main_text_says_why_and_the_feed_text_is_enriched(page: bytes) -> None:
    done = page_job(page, TEASER)

    assert done.text is None
    assert done.extract_error
    assert done.enrichment == two_steps(TEASER)


def test_the_job_and_its_result_cross_a_process_boundary() -> None:
    done = page_job(PAGE, TEASER)

    assert pickle.loads(pickle.dumps(done)) == done
