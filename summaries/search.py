"""Search words: how an article and a /search query become the words a full-text index holds.

Both database engines index the same words, made here, so a search finds the same articles
on SQLite (FTS5) and PostgreSQL (tsvector): the engines never tokenize, stem or segment
anything themselves (SQLite's ``ascii`` tokenizer splits only on the spaces put between
the words; PostgreSQL gets its tsvector and tsquery as literals).

- A text is NFKC-normalised and case-folded, then split into runs of letters and digits
  (punctuation, hyphens and symbols separate words: "CRISPR-Cas9" is "crispr cas9").
- A word in a spaced script is kept by its base, without its inflections
  (``summaries.terms.word_base``): "microbes" and "microbe" are both "microb", "sequencing"
  is "sequenc", "LLMs" is "llm". Derived words stay apart ("microbial" is not "microbe"):
  a search finds the words asked for, not their families.
- Chinese (and Japanese kana) runs are segmented by jieba in search mode, which gives the
  words of a run and the dictionary words inside the longer ones ("量子计算机" gives 量子,
  计算, 算机, 计算机), so a query word found inside a longer word is found.

A query term is a word, a phrase of words in a row, or a Chinese term, whose pieces (the
smallest words jieba finds in it) must all occur, in any order: whether two Chinese words
stood side by side depends on how jieba cut the surrounding text, so requiring it would
lose articles that hold the term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from summaries.sentences import jieba_tokenizer
from summaries.terms import CJK_RANGES, word_base

# Only this much of an article's text is indexed: search works on what an article is
# about, and it bounds the index and the work a huge page causes.
MAX_INDEXED_CHARS = 100_000
# Longer "words" are identifiers, hashes or garbage: nobody searches for them.
MAX_WORD_CHARS = 60

_RUN = re.compile(r"[^\W_]+")
_PIECE = re.compile(f"([{CJK_RANGES}]+)|[^{CJK_RANGES}]+")


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """An article's index words, space-separated: its title's and its text's."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """One query term: ``words`` in a row (``phrase``), or all of them in any order."""

    words: tuple[str, ...]
    phrase: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Articles with every ``include`` term (in the title or the text) and no ``exclude``
    term."""

    include: tuple[SearchTerm, ...]
    exclude: tuple[SearchTerm, ...] = ()


def search_words(text: str, *, limit: int = MAX_INDEXED_CHARS) -> list[str]:
    """The index words of ``text`` (its first ``limit`` characters), in order."""
    folded = unicodedata.normalize("NFKC", text[:limit]).casefold()
    return list(_words(folded))


def search_document(title: str, text: str) -> SearchDocument:
    """What the index holds for an article."""
    return SearchDocument(" ".join(search_words(title)), " ".join(search_words(text)))


def search_term(term: str) -> SearchTerm | None:
    """The query term for a word or phrase of a keyword rule; None when it has no word."""
    folded = unicodedata.normalize("NFKC", term).casefold()
    words: list[str] = []
    chinese = False
    for run in _RUN.findall(folded):
        for piece in _PIECE.finditer(run):
            if piece.group(1):
                chinese = True
                words.extend(_smallest(_segment(piece.group(1))))
            elif len(piece.group()) <= MAX_WORD_CHARS:
                words.append(word_base(piece.group()))
    words = list(dict.fromkeys(words)) if chinese else words
    if not words:
        return None
    return SearchTerm(tuple(words), phrase=len(words) > 1 and not chinese)


def search_query(include: Sequence[str], exclude: Sequence[str] = ()) -> SearchQuery | None:
    """The query for a keyword rule's terms; None when no wanted term has a word (nothing
    can match it)."""
    wanted = tuple(t for t in map(search_term, include) if t is not None)
    if len(wanted) != len(include) or not wanted:
        return None
    unwanted = tuple(t for t in map(search_term, exclude) if t is not None)
    return SearchQuery(wanted, unwanted)


def _words(folded: str) -> Iterator[str]:
    for run in _RUN.findall(folded):
        if run.isascii():
            if len(run) <= MAX_WORD_CHARS:
                yield word_base(run)
            continue
        for piece in _PIECE.finditer(run):
            if piece.group(1):
                yield from _segment(piece.group(1))
            elif len(piece.group()) <= MAX_WORD_CHARS:
                yield word_base(piece.group())


def _segment(run: str) -> list[str]:
    words = jieba_tokenizer().cut_for_search(run)
    return [w for w in words if w.strip() and len(w) <= MAX_WORD_CHARS]


def _smallest(words: Iterable[str]) -> list[str]:
    """The words that hold no other of the words: jieba's search mode gives "人工", "智能"
    and "人工智能"; a text holds the first two wherever it holds the third."""
    found = list(dict.fromkeys(words))
    return [w for w in found if not any(o != w and o in w for o in found)]
