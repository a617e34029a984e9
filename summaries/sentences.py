"""Sentence and word splitting that needs no downloaded data, and a sumy tokenizer built on it.

sumy's own tokenizer needs NLTK's punkt models, which are not installed (and may not be
downloaded). Sentences are split by sentencex (Wikimedia's rule-based segmenter: per-language
abbreviation lists, decimals, initials, quotes; ~300 languages through fallbacks; compiled,
so a 1,000-word text takes well under a millisecond where pysbd takes 15-35 ms) with three
additions of ours: every line break ends a sentence, CJK full stops (。！？) always end one,
and a closing quote or bracket stays with the sentence it closes.
Words are letter runs (sumy's notion of a word), or jieba's segmentation for Chinese.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from typing import Any

import sentencex  # type: ignore[import-untyped]  # ships no stubs or py.typed

__all__ = [
    "Tokenizer",
    "jieba_tokenizer",
    "language_code",
    "split_sentences",
    "split_sentences_by_line",
    "split_words",
]

# ISO 639-1 code -> the language name sumy uses for its stop-word lists and stemmers.
SUMY_LANGUAGES: dict[str, str] = {
    "ar": "arabic",
    "cs": "czech",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "he": "hebrew",
    "it": "italian",
    "pl": "polish",
    "pt": "portuguese",
    "sk": "slovak",
    "sv": "swedish",
    "uk": "ukrainian",
    "zh": "chinese",
}

# After CJK stops are handled, what is left to decide in Chinese or Japanese text is ASCII
# punctuation around Latin words ("Dr. Li", "3.5"): English rules do that best.
_RULES_OVERRIDE: dict[str, str] = {"zh": "en", "ja": "en"}

_CLOSERS = "”’」』）》〉】)]}\"'»"
_CJK_STOP = re.compile(r"[。！？]+[”’」』）》〉】\"']*")
# A straight quote at the start of a sentence usually opens it; only a quote followed by a
# space (or nothing) is taken as closing the previous one.
_LEADING_CLOSERS = re.compile(r"^(?:[”’」』）》〉】)\]}»]|[\"'](?=\s|$))+")
# Trailing material that cannot start a new sentence; what is left must hold a stop for
# a line to be worth handing to the segmenter (most lines from feeds do not).
_TRAILING = " \t.!?…" + _CLOSERS
_ASCII_STOP = re.compile(r"[.!?]")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_ALIASES = {name: code for code, name in SUMY_LANGUAGES.items()}


def language_code(language: str | None) -> str | None:
    """Return the ISO 639-1 code for ``language`` ("en", "EN", "en-US", "english" -> "en")."""
    if not language:
        return None
    key = language.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key.split("-", 1)[0] or None


def split_sentences(text: str, language: str | None = "en") -> list[str]:
    """Split ``text`` into sentences, in order, stripped, none empty.

    Every line break is a sentence boundary, so text that already holds one sentence per
    line (or one paragraph per line) keeps those boundaries.
    """
    return [sentence for _, sentence in split_sentences_by_line(text, language)]


def split_sentences_by_line(text: str, language: str | None = "en") -> list[tuple[int, str]]:
    """:func:`split_sentences`, each sentence with the number of the line it starts on
    (counting from 0), which tells the sentences of one paragraph apart from the next's."""
    code = language_code(language) or "en"
    sentences: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines()):
        for piece in _CJK_STOP.sub(_end_line, line).splitlines():
            for sentence in _split_piece(piece, code):
                _append(sentences, number, sentence)
    return sentences


def split_words(sentence: str, language: str | None = "en") -> list[str]:
    """Split one sentence into words: letter runs only (no numbers, no punctuation)."""
    if language_code(language) == "zh" or _CJK_CHAR.search(sentence):
        tokens: list[str] = jieba_tokenizer().lcut(sentence)
        return [w for token in tokens for w in _WORD.findall(token)]
    return _WORD.findall(sentence)


class Tokenizer:
    """A tokenizer for sumy parsers and documents (``to_sentences`` and ``to_words``)."""

    def __init__(self, language: str | None = "en") -> None:
        self._language = language_code(language) or "en"

    @property
    def language(self) -> str:
        """The ISO 639-1 code this tokenizer splits for."""
        return self._language

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph, self._language))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(split_words(sentence, self._language))


def _split_piece(piece: str, language: str) -> list[str]:
    piece = piece.strip()
    if not piece:
        return []
    if not _ASCII_STOP.search(piece.rstrip(_TRAILING)):
        return [piece]
    try:
        segments = sentencex.segment(_RULES_OVERRIDE.get(language, language), piece)
        return [s.strip() for s in segments if s.strip()]
    except Exception:  # a segmenter failure on odd input must not lose the text
        return [piece]


def _end_line(stop: re.Match[str]) -> str:
    return stop.group() + "\n"


def _append(sentences: list[tuple[int, str]], line: int, sentence: str) -> None:
    # The segmenter may leave a closing quote at the start of the next sentence ("…you.” Then").
    closers = _LEADING_CLOSERS.match(sentence)
    if closers and sentences:
        previous_line, previous = sentences[-1]
        sentences[-1] = (previous_line, previous + closers.group())
        sentence = sentence[closers.end() :].strip()
    if sentence:
        sentences.append((line, sentence))


@functools.cache
def jieba_tokenizer() -> Any:
    with warnings.catch_warnings():
        # jieba 0.42 imports pkg_resources, which warns about its own deprecation.
        warnings.simplefilter("ignore", UserWarning)
        import jieba  # noqa: PLC0415  # only Chinese text pays for jieba's import

    # jieba announces its dictionary loading on stderr at INFO level.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer
