"""Duplicate detection: one story stored once, however many feeds carry it.

Three keys, cheapest first: the canonical URL, an exact content hash, and a 64-bit
simhash over word shingles for near-duplicates (the same press release with other page
furniture). ``DedupIndex`` holds recent keys in memory for one ingest pass, at most
``max_items`` articles' (the oldest added are forgotten first). Near-duplicates are found by
``NearIndex``: the simhash cut into bands as ``simhash.SimhashIndex`` cuts them, holding ints
where SimhashIndex held seven strings an article: the index's own structures take ~270 bytes
an article (SimhashIndex's ~1,090), the URL and hash strings ~200 more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from simhash import Simhash

from summaries.text import content_fingerprint

# Short texts (teasers) share too many shingles by chance to call them near-duplicates.
MIN_WORDS = 60
# Bits that may differ between near-duplicates. Manku et al. use 3 of 64 for whole web
# pages; the same release with another site's share/related lines differs by ~5 here,
# while distinct stories (even same writer, same district) differ by 25+.
MAX_DISTANCE = 6
# Articles whose keys the index holds at most (newest kept).
MAX_ITEMS = 20_000
# Two 64-bit hashes at most MAX_DISTANCE bits apart agree on at least one of MAX_DISTANCE + 1
# bands (Manku et al.): only articles sharing a band with the new one are compared. The bands
# are SimhashIndex's: 9 bits each, the last 10.
_BANDS = MAX_DISTANCE + 1
_BAND_BITS = 64 // _BANDS
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _tokens(text: str) -> list[str]:
    words = _WORD.findall(text.casefold())
    if sum(len(_CJK.findall(w)) for w in words[:200]) > 100:
        # CJK runs have no spaces: shingle on characters instead.
        return [c for c in text if not c.isspace()]
    return words


def simhash_of(text: str) -> int | None:
    """Signed 64-bit simhash of ``text``'s word 3-shingles, or None for short texts."""
    tokens = _tokens(text)
    if len(tokens) < MIN_WORDS:
        return None
    shingles = [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    return to_signed(Simhash(shingles).value)


def dedup_keys(title: str, text: str) -> tuple[str, int | None]:
    """An article's exact key (the content hash of title and text) and its simhash."""
    return content_fingerprint(f"{title}\n{text}"), simhash_of(text)


def to_signed(value: int) -> int:
    """Fold an unsigned 64-bit value into the signed range a BIGINT column holds."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def band_keys(value: int) -> Iterator[int]:
    """The bucket of each band of an unsigned 64-bit simhash: the band's number and bits."""
    for band in range(_BANDS):
        offset = band * _BAND_BITS
        bits = 64 - offset if band == _BANDS - 1 else _BAND_BITS
        yield band << 16 | (value >> offset) & ((1 << bits) - 1)


@dataclass
class NearIndex:
    """Article ids by simhash band, to find those within ``MAX_DISTANCE`` bits of a hash."""

    # Band bucket -> the ids of the articles in it, in the order added.
    _buckets: dict[int, list[int]] = field(default_factory=dict)
    # Article id -> its unsigned simhash.
    _values: dict[int, int] = field(default_factory=dict)

    def add(self, article_id: int, value: int) -> None:
        if article_id in self._values:
            return
        self._values[article_id] = value
        for key in band_keys(value):
            self._buckets.setdefault(key, []).append(article_id)

    def delete(self, article_id: int) -> None:
        value = self._values.pop(article_id, None)
        if value is None:
            return
        for key in band_keys(value):
            bucket = self._buckets[key]
            bucket.remove(article_id)
            if not bucket:
                del self._buckets[key]

    def near(self, value: int) -> set[int]:
        """The ids of the articles whose simhash is at most ``MAX_DISTANCE`` bits away."""
        found: set[int] = set()
        for key in band_keys(value):
            for article_id in self._buckets.get(key, ()):
                if (self._values[article_id] ^ value).bit_count() <= MAX_DISTANCE:
                    found.add(article_id)
        return found


@dataclass
class DedupIndex:
    """Recent articles' keys, to find the one a new entry duplicates."""

    max_items: int = MAX_ITEMS
    by_url: dict[str, int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)
    _near: NearIndex = field(default_factory=NearIndex)
    # Article id -> its keys, oldest added first (dicts keep insertion order).
    _items: dict[int, tuple[str | None, str, int | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._items)

    def add(
        self, article_id: int, *, url: str | None, content_hash: str, simhash: int | None
    ) -> None:
        if article_id in self._items:
            return
        if url:
            self.by_url.setdefault(url, article_id)
        self.by_hash.setdefault(content_hash, article_id)
        if simhash is not None:
            self._near.add(article_id, to_unsigned(simhash))
        self._items[article_id] = (url, content_hash, simhash)
        while len(self._items) > self.max_items:
            self._forget(next(iter(self._items)))

    def _forget(self, article_id: int) -> None:
        url, content_hash, simhash = self._items.pop(article_id)
        if url and self.by_url.get(url) == article_id:
            del self.by_url[url]
        if self.by_hash.get(content_hash) == article_id:
            del self.by_hash[content_hash]
        if simhash is not None:
            self._near.delete(article_id)

    def find(self, *, url: str | None, content_hash: str, simhash: int | None) -> int | None:
        """The id of the stored article this one duplicates, if any."""
        if url and url in self.by_url:
            return self.by_url[url]
        if content_hash in self.by_hash:
            return self.by_hash[content_hash]
        if simhash is not None:
            near = self._near.near(to_unsigned(simhash))
            if near:
                return min(near)
        return None
