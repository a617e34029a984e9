"""Duplicate keys: canonical URL, exact content hash, simhash near-duplicates."""

from __future__ import annotations

import itertools
import random

import pytest
from simhash import Simhash, SimhashIndex

from summaries.dedup import (
    MAX_DISTANCE,
    DedupIndex,
    NearIndex,
    simhash_of,
    to_signed,
    to_unsigned,
)
from tests.conftest import FIXTURES

SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))


def _text(i: int) -> str:
    return SEEDS[i].read_text(encoding="utf-8")


@pytest.mark.parametrize("value", [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1])
def test_simhashes_fold_into_a_signed_bigint_and_back(value: int) -> None:
    signed = to_signed(value)
    assert -(1 << 63) <= signed < 1 << 63
    assert to_unsigned(signed) == value


def test_short_texts_have_no_simhash() -> None:
    assert simhash_of("A short teaser about a symposium in Shenzhen.") is None


def test_the_same_release_with_other_page_furniture_is_a_near_duplicate() -> None:
    index = DedupIndex()
    index.add(1, url="https://a.example/1", content_hash="h1", simhash=simhash_of(_text(4)))
    copy = "Share this story\n\n" + _text(4) + "\n\nRelated coverage: more from the wire."
    assert index.find(url="https://b.example/x", content_hash="h2", simhash=simhash_of(copy)) == 1


def test_distinct_stories_are_not_near_duplicates() -> None:
    index = DedupIndex()
    for i in range(5):
        assert index.find(url=None, content_hash=f"h{i}", simhash=simhash_of(_text(i))) is None
        index.add(i + 1, url=None, content_hash=f"h{i}", simhash=simhash_of(_text(i)))


def test_url_and_content_hash_match_before_the_simhash() -> None:
    index = DedupIndex()
    index.add(7, url="https://a.example/1", content_hash="h", simhash=None)
    assert index.find(url="https://a.example/1", content_hash="other", simhash=None) == 7
    assert index.find(url="https://b.example/", content_hash="h", simhash=None) == 7
    assert index.find(url="https://b.example/", content_hash="x", simhash=None) is None


def test_seed_simhashes_are_far_apart() -> None:
    hashes = [to_unsigned(h) for h in map(simhash_of, map(_text, range(5))) if h is not None]
    assert len(hashes) == 5
    assert min(bin(a ^ b).count("1") for a, b in itertools.combinations(hashes, 2)) > 15


def test_the_index_forgets_its_oldest_articles_beyond_its_bound() -> None:
    index = DedupIndex(max_items=3)
    for i in range(5):
        index.add(
            i, url=f"https://a.example/{i}", content_hash=f"h{i}", simhash=simhash_of(_text(i))
        )

    assert len(index) == 3
    for i in (0, 1):
        assert index.find(url=f"https://a.example/{i}", content_hash=f"h{i}", simhash=None) is None
        assert index.find(url=None, content_hash="other", simhash=simhash_of(_text(i))) is None
    for i in (2, 3, 4):
        assert index.find(url=f"https://a.example/{i}", content_hash="x", simhash=None) == i
        assert index.find(url=None, content_hash=f"h{i}", simhash=None) == i
        assert index.find(url=None, content_hash="other", simhash=simhash_of(_text(i))) == i


def _flipped(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


@pytest.mark.parametrize("distance", range(10))
def test_the_near_index_finds_what_simhash_index_finds(distance: int) -> None:
    rng = random.Random(distance)
    stored = {i: rng.getrandbits(64) for i in range(1, 300)}
    ours, theirs = NearIndex(), SimhashIndex([], k=MAX_DISTANCE)
    for article_id, value in stored.items():
        ours.add(article_id, value)
        theirs.add(str(article_id), Simhash(value))
    for article_id, value in stored.items():
        probe = _flipped(value, distance, rng)
        found = ours.near(probe)
        assert found == {int(i) for i in theirs.get_near_dups(Simhash(probe))}
        assert (article_id in found) == (distance <= MAX_DISTANCE)


def test_a_deleted_article_is_no_longer_near() -> None:
    index = NearIndex()
    index.add(1, 0xABCDEF)
    index.add(2, 0xABCDEF ^ 1)
    index.delete(1)
    index.delete(3)  # never added: nothing happens
    assert index.near(0xABCDEF) == {2}
    index.delete(2)
    assert index.near(0xABCDEF) == set()
