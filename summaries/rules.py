"""Rules: the keyword filters subscribers write (``/subscribe "gene editing" -plants``).

``parse_rule`` turns a query (words, "quoted phrases", -exclusions) into a ``KeywordRule``;
``KeywordRule.matches`` tests an article's title and text. Never a regular expression: the
text is split into words once (``summaries.terms``), and a rule looks its words up.

How a rule word meets a text (case- and width-insensitive, NFKC):

- by its base, the word without its inflections: "microbe" meets "microbes", "LLMs" meets
  "LLM", "sequence" meets "sequencing" (``summaries.terms.word_base``);
- a wanted word of 5 or more letters also meets the words built on it, its *family*:
  "microbe" meets "microbial", "microbiology", "microbiome" and "microbiota", "vaccine"
  meets "vaccination", "robot" meets "robotics". Only downwards: "microbiome" does not meet
  every "microbe" (it is the narrower word), and that is what keeps "differential" off every
  "different" and "classical" off every "class". A short word stays itself ("gene" does not
  meet "general"), and so do the few whose derived words drifted ("organ" and "organic");
- in a phrase, the words are consecutive and only the last one, the head of an English noun
  phrase, reaches its family: "gut microbes" meets "gut microbiome", while the words before
  it keep the phrase as narrow as it was written;
- an exclusion (``-virus``) meets its base only ("virus", "viruses"), never a family: an
  exclusion that swallowed related words would silently drop articles;
- Chinese has no spaces between words, so a Chinese term is a run of characters matched as a
  substring: ``量子计算`` (and ``"量子计算"``) meets "量子计算机" but not "计算量子态". Terms
  separated by spaces are separate terms as in English, any of which matches: write the
  characters of one word together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

from summaries.errors import RuleError
from summaries.terms import (
    BREAK,
    CJK_RANGES,
    QUOTES,
    FamilyIndex,
    build_document,
    family_index,
    has_family,
    word_base,
)

__all__ = [
    "MAX_RULE_CHARS",
    "MAX_RULE_TERMS",
    "KeywordRule",
    "RuleError",
    "TermTable",
    "parse_rule",
    "text_anchors",
    "text_indexes",
]

MAX_RULE_CHARS = 100
MAX_RULE_TERMS = 10

_HAS_TOKEN = re.compile(rf"[^\W_]|[{CJK_RANGES}]")
_MINUS = "-−–—"  # phones turn "-" into dashes: all of them mean "exclude"


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A subscription filter: an article matches when ANY include term occurs in its title
    or text and NO exclude term does.

    Terms are words or phrases, kept normalised (NFKC, case-folded, single spaces); how
    they meet a text is the module's docstring. Build one with ``parse_rule``;
    ``str(rule)`` is the canonical query and parses back to ``rule``.
    """

    include_terms: tuple[str, ...]
    exclude_terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        include = _unique(_normalize_term(t) for t in self.include_terms)
        exclude = _unique(_normalize_term(t) for t in self.exclude_terms)
        include = tuple(t for t in include if _HAS_TOKEN.search(t))
        exclude = tuple(t for t in exclude if _HAS_TOKEN.search(t))
        if not include:
            raise RuleError("a rule needs at least one word or phrase to look for")
        if len(include) + len(exclude) > MAX_RULE_TERMS:
            raise RuleError(f"a rule holds at most {MAX_RULE_TERMS} words or phrases")
        both = set(include) & set(exclude)
        if both:
            raise RuleError(f"{sorted(both)[0]!r} is both wanted and excluded")
        object.__setattr__(self, "include_terms", include)
        object.__setattr__(self, "exclude_terms", exclude)
        if len(str(self)) > MAX_RULE_CHARS:
            raise RuleError(f"a rule is at most {MAX_RULE_CHARS} characters long")

    def __str__(self) -> str:
        parts = [_quote(t) for t in self.include_terms]
        parts += ["-" + _quote(t) for t in self.exclude_terms]
        return " ".join(parts)

    def matches(self, title: str, text: str) -> bool:
        return self.matches_indexes(text_indexes(title, text))

    def matches_indexes(self, indexes: Sequence[FamilyIndex]) -> bool:
        """``matches`` on the ``text_indexes`` of a title and text, made once for the many
        rules tested on one article."""

        def found(pattern: _Pattern) -> bool:
            return any(pattern.occurs(index) for index in indexes)

        wanted = (_pattern(t, family=True) for t in self.include_terms)
        unwanted = (_pattern(t, family=False) for t in self.exclude_terms)
        return any(found(p) for p in wanted) and not any(found(p) for p in unwanted)

    def anchors(self) -> frozenset[str]:
        """The bases of the last words of the wanted terms: a text the rule matches holds
        one of them among its ``text_anchors``, so an index of rules by anchor finds every
        rule that may match a text (and ``matches`` then decides)."""
        found = (_pattern(t, family=True).last for t in self.include_terms)
        return frozenset(a for a in found if a)


def text_indexes(title: str, text: str) -> tuple[FamilyIndex, FamilyIndex]:
    """The family indexes a rule is matched on (see ``KeywordRule.matches_indexes``)."""
    return family_index(title), family_index(text)


@dataclass(slots=True)
class TermTable:
    """Terms by their words, each with its owners (a rule's key, a term itself), found in
    a text in one walk over its distinct words: the cost grows with the text, not with
    the number of terms. A term is found where ``KeywordRule.matches`` finds it.

    Wanted terms (``family`` True) meet a word's family when their last word has one
    (``has_family``); excluded terms (``family`` False) meet bases only. Empty entries
    are dropped, so two tables of the same terms and owners are equal.
    """

    family: bool
    # The bases of a term's words (the last included) -> its owners.
    owners: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    # A term's last word -> the lengths of the words before it, each with its count of
    # distinct keys: which slices of a text to look up where that word occurs.
    heads: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, term: str, owner: str) -> bool:
        """Add ``owner`` to ``term``'s owners; False (nothing added) when the term has no
        word and so is never found."""
        pattern = _pattern(term, family=self.family)
        if not pattern.last:
            return False
        key = (*pattern.head, pattern.last)
        owners = self.owners.get(key)
        if owners is None:
            owners = self.owners[key] = set()
            lengths = self.heads.setdefault(pattern.last, {})
            lengths[len(pattern.head)] = lengths.get(len(pattern.head), 0) + 1
        owners.add(owner)
        return True

    def remove(self, term: str, owner: str) -> None:
        pattern = _pattern(term, family=self.family)
        key = (*pattern.head, pattern.last)
        owners = self.owners.get(key)
        if owners is None:
            return
        owners.discard(owner)
        if owners:
            return
        del self.owners[key]
        lengths = self.heads[pattern.last]
        lengths[len(pattern.head)] -= 1
        if not lengths[len(pattern.head)]:
            del lengths[len(pattern.head)]
            if not lengths:
                del self.heads[pattern.last]

    def owners_ending_in(self, words: Collection[str]) -> set[str]:
        """The owners of the terms whose last word's base is one of ``words`` (a walk
        over every term: for tests and tools)."""
        return set().union(*(o for key, o in self.owners.items() if key[-1] in words))

    def found(self, indexes: Sequence[FamilyIndex]) -> set[str]:
        """The owners of the terms that occur in these family indexes (``text_indexes``)."""
        hits: set[str] = set()
        heads, owners = self.heads, self.owners
        for index in indexes:
            # Where a term's last word occurs, by its base, or by a root it is built on
            # (a wanted term whose last word has a family).
            ends = [(w, at) for w, at in index.by_base.items() if w in heads]
            if self.family:
                ends += [(w, at) for w, at in index.by_root.items() if w in heads and has_family(w)]
            bases = index.bases
            for last, positions in ends:
                for n in heads[last]:
                    if n == 0:
                        hits.update(owners[(last,)])
                        continue
                    for end in positions:
                        if end >= n:
                            found = owners.get((*bases[end - n : end], last))
                            if found is not None:
                                hits.update(found)
        return hits


def text_anchors(indexes: Sequence[FamilyIndex]) -> frozenset[str]:
    """Every anchor (see ``KeywordRule.anchors``) a rule could meet in the title and text
    of these ``text_indexes``: the bases of their words and the roots those words are
    built on."""
    keys: set[str] = set()
    for index in indexes:
        keys.update(index.by_base)
        keys.update(index.by_root)
    return frozenset(keys)


def parse_rule(query: str) -> KeywordRule:
    """A keyword rule from a subscriber's query.

    Syntax: words (``crispr``), "quoted phrases" (``"gene editing"``), and a leading minus
    to exclude a word or phrase (``-plants``, ``-"gene drive"``). Typographic quotes and
    dashes count as their ASCII forms; an unclosed quote runs to the end of the query;
    terms without a letter, digit or CJK character are ignored. Raises RuleError for an
    empty query, one with only exclusions, more than MAX_RULE_TERMS terms or more than
    MAX_RULE_CHARS characters.
    """
    if len(query) > MAX_RULE_CHARS:
        raise RuleError(f"a rule is at most {MAX_RULE_CHARS} characters long")
    include: list[str] = []
    exclude: list[str] = []
    for excluded, term in _split_query(query.translate(QUOTES)):
        (exclude if excluded else include).append(term)
    return KeywordRule(tuple(include), tuple(exclude))


def _split_query(query: str) -> Iterator[tuple[bool, str]]:
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        excluded = query[i] in _MINUS and i + 1 < n and not query[i + 1].isspace()
        if excluded:
            i += 1
            while i < n and query[i] in _MINUS:
                i += 1
        if i < n and query[i] == '"':
            end = query.find('"', i + 1)
            end = n if end < 0 else end
            yield excluded, query[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] != '"':
                i += 1
            yield excluded, query[start:i]


def _normalize_term(term: str) -> str:
    folded = unicodedata.normalize("NFKC", term).translate(QUOTES).casefold()
    # Case folding can undo NFKC ("ß" + a combining accent folds to "ss" + the accent,
    # which NFKC composes into "sś"): repeat until stable, so str(rule) parses back to it.
    for _ in range(3):
        again = unicodedata.normalize("NFKC", folded).casefold()
        if again == folded:
            break
        folded = again
    return " ".join(folded.replace('"', " ").split())


def _quote(term: str) -> str:
    if any(c.isspace() for c in term) or term[0] in _MINUS:
        return f'"{term}"'
    return term


def _unique(terms: Iterator[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(terms))


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A compiled rule term: the bases of its words, in order."""

    head: tuple[str, ...]  # the words before the last one
    last: str  # "" when the term has no word: it then meets nothing
    family: bool  # the last word also meets the words built on it

    def occurs(self, index: FamilyIndex) -> bool:
        if not self.last:
            return False
        # Look up where the last word occurs, then compare the words before it: work in
        # proportion to the last word's occurrences, whatever the text and the rule.
        ends: Iterable[int] = index.by_base.get(self.last, ())
        if self.family:
            ends = chain(ends, index.by_root.get(self.last, ()))
        n = len(self.head)
        return any(end >= n and index.bases[end - n : end] == self.head for end in ends)


@lru_cache(maxsize=4096)
def _pattern(term: str, *, family: bool) -> _Pattern:
    words = build_document(term).words
    start, end = 0, len(words)
    while start < end and words[start] == BREAK:
        start += 1
    while end > start and words[end - 1] == BREAK:
        end -= 1
    bases = tuple(word_base(w) for w in words[start:end])
    last = bases[-1] if bases else ""
    return _Pattern(bases[:-1], last, family=family and has_family(last))
