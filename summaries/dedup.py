"""Duplicate detection: one story stored once, however many feeds carry it.

Three keys, cheapest first: the canonical URL, an exact content hash, and a 64-bit
simhash over word shingles for near-duplicates (the same press release with other page
furniture). ``DedupIndex`` holds recent keys in memory for one ingest pass, at most
``max_items`` articles' (the oldest added are forgotten first): ~1.6 KB each, mostly the
simhash index's buckets, so 100,000 stored articles would cost ~160 MB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simhash import Simhash, SimhashIndex

from summaries.text import content_fingerprint

# Short texts (teasers) share too many shingles by chance to call them near-duplicates.
MIN_WORDS = 60
# Bits that may differ between near-duplicates. Manku et al. use 3 of 64 for whole web
# pages; the same release with another site's share/related lines differs by ~5 here,
# while distinct stories (even same writer, same district) differ by 25+.
MAX_DISTANCE = 6
# Articles whose keys the index holds at most (newest kept).
MAX_ITEMS = 20_000
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


@dataclass
class DedupIndex:
    """Recent articles' keys, to find the one a new entry duplicates."""

    max_items: int = MAX_ITEMS
    by_url: dict[str, int] = field(default_factory=dict)
    by_hash: dict[str, int] = field(default_factory=dict)
    _near: SimhashIndex = field(default_factory=lambda: SimhashIndex([], k=MAX_DISTANCE))
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
            self._near.add(str(article_id), Simhash(to_unsigned(simhash)))
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
            self._near.delete(str(article_id), Simhash(to_unsigned(simhash)))

    def find(self, *, url: str | None, content_hash: str, simhash: int | None) -> int | None:
        """The id of the stored article this one duplicates, if any."""
        if url and url in self.by_url:
            return self.by_url[url]
        if content_hash in self.by_hash:
            return self.by_hash[content_hash]
        if simhash is not None:
            near = self._near.get_near_dups(Simhash(to_unsigned(simhash)))
            if near:
                return min(int(key) for key in near)
        return None
