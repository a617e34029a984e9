"""Terms: how keywords and subscription rules meet a text, without regular expressions.

A text becomes a ``Document``: NFKC-normalised, case-folded, split into Latin-script words
(reduced with the Snowball English stemmer, so "sequencing" meets "sequence") and single
CJK characters (Chinese has no word boundaries, so a Chinese term is a run of characters,
i.e. a substring). A ``Term`` is a word or phrase compiled the same way; it matches a run
of consecutive tokens. Hyphens, slashes and apostrophes join words ("gene-edited" is the
phrase "gene edit"), other punctuation breaks a phrase. Terms are data, never regular
expressions, so no input can make matching slow.

The curated topic keywords (``summaries.keywords``) match on these Snowball stems. The
subscribers' keyword rules (``summaries.rules``) match on a ``FamilyIndex`` of the same
words instead: each word by its base (its inflections removed, ``word_base``) and by the
shorter words it is built on ("microbiology" on "microbe", ``family_roots``), because a
rule must not meet Snowball's false friends ("organ" stems like "organization").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

# Only this much of a text is read: topics are settled long before, and it bounds the
# work a hostile input can cause.
MAX_TEXT_CHARS = 200_000
# Chinese words average about two characters; this converts characters to word units.
CJK_CHARS_PER_WORD = 2.0

# Hiragana, katakana and the CJK ideograph blocks: scripts written without spaces.
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Words, or a run of punctuation (with the spaces in it) that ends a phrase; hyphens,
# slashes and apostrophes join words instead.
_TOKEN = re.compile(r"(\w+)|[^\w\s'’/-][^\w'’/-]*")
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_CJK_PIECE = re.compile(f"[{CJK_RANGES}]|[^{CJK_RANGES}]+")
BREAK = "\x00"  # a token no term contains: punctuation that ends a phrase
QUOTES = str.maketrans(dict.fromkeys("“”„‟«»「」『』〝〞", '"') | dict.fromkeys("‘’`´", "'"))
_LONGEST_STEMMED = 40


@dataclass(frozen=True, slots=True)
class Document:
    stems: tuple[str, ...]  # stemmed words and single CJK characters, BREAK between clauses
    words: tuple[str, ...]  # the same tokens unstemmed, for exact terms
    index: Mapping[str, list[int]]  # stem -> positions in ``stems``
    size: float  # length in words; CJK characters count CJK_CHARS_PER_WORD to a word
    cjk_chars: int


@dataclass(frozen=True, slots=True)
class Term:
    stems: tuple[str, ...]
    exact: tuple[str, ...] | None  # surface forms that must match too
    is_cjk: bool

    def count(self, doc: Document) -> int:
        """How many times the term occurs in ``doc``."""
        starts = doc.index.get(self.stems[0]) if self.stems else None
        if not starts:
            return 0
        n = len(self.stems)
        if n == 1 and self.exact is None:
            return len(starts)
        return sum(
            1
            for i in starts
            if doc.stems[i : i + n] == self.stems
            and (self.exact is None or doc.words[i : i + n] == self.exact)
        )


def document(text: str) -> Document:
    """The document of ``text`` (its first MAX_TEXT_CHARS characters), cached."""
    # Key the cache on the part that is read, so it never keeps a huge text alive.
    return _cached_document(text[:MAX_TEXT_CHARS])


def compile_term(keyword: str) -> Term:
    """A term from a keyword or phrase; a leading "=" asks for the exact, unstemmed words."""
    exact = keyword.startswith("=")
    doc = build_document(keyword.removeprefix("="))
    start, end = 0, len(doc.stems)
    while start < end and doc.stems[start] == BREAK:
        start += 1
    while end > start and doc.stems[end - 1] == BREAK:
        end -= 1
    return Term(
        stems=doc.stems[start:end],
        exact=doc.words[start:end] if exact else None,
        is_cjk=doc.cjk_chars > 0,
    )


def build_document(text: str) -> Document:
    """The document of ``text``, uncached (see ``document``)."""
    words, cjk = _tokens(text)
    stem = stemmer()
    stems = [stem(word) for word in words]
    index: dict[str, list[int]] = {}
    for position, token in enumerate(stems):
        index.setdefault(token, []).append(position)
    latin = len(words) - cjk - len(index.get(BREAK, ()))
    return Document(
        stems=tuple(stems),
        words=tuple(words),
        index=index,
        size=latin + cjk / CJK_CHARS_PER_WORD,
        cjk_chars=cjk,
    )


def _tokens(text: str) -> tuple[list[str], int]:
    """The words of ``text`` (its first MAX_TEXT_CHARS characters), case-folded, single CJK
    characters and BREAK included (``Document.words``), and its number of CJK characters."""
    # NFKC folds full-width forms ("ＡＩ") and ligatures; casefold is lower() for all scripts.
    folded = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    if folded.isascii():
        return [word or BREAK for word in _TOKEN.findall(folded)], 0
    words: list[str] = []
    for word in _TOKEN.findall(folded):
        if not word:
            words.append(BREAK)
        elif word.isascii():
            words.append(word)
        else:
            # \w+ runs CJK into neighbouring letters ("用crispr编辑"): split them apart.
            words.extend(_CJK_PIECE.findall(word))
    return words, len(_CJK_CHAR.findall(folded))


# Subscription matching tests many rules against one article: keep its last few documents.
@lru_cache(maxsize=16)
def _cached_document(text: str) -> Document:
    return build_document(text)


@cache
def stemmer() -> Callable[[str], str]:
    """The cached Snowball English stemmer (needs no NLTK data)."""
    # Importing it costs ~0.3 s, so only on first use.
    from summaries.sumyparts import Stemmer  # noqa: PLC0415 -- lazy: heavy import

    snowball: Callable[[str], str] = Stemmer("english")

    # Article vocabularies repeat: after warm-up nearly every word is a cache hit.
    @lru_cache(maxsize=65_536)
    def stem(word: str) -> str:
        # Longer "words" are identifiers or garbage: not worth stemming.
        return word if len(word) > _LONGEST_STEMMED else snowball(word)

    return stem


# --- word families: what a subscriber's keyword rule meets ------------------------------------
#
# Keyword rules (``summaries.rules``) do not use Snowball stems: Snowball strips derivational
# suffixes too, so "organ" is "organic" and "organization", "physics" is "physical" and
# "universe" is "university", and an exclusion ``-organ`` would swallow every article about an
# organization. A rule word is compared by its *base* instead: the word without its
# inflections (Porter2's steps 1a-1c and 5, which strip plurals, -ed, -ing and a final e),
# with the sibling endings of a science word written one way (-ologist and -ological as
# -ology, -omic and -omics as -ome). Derived words are reached on purpose, through the family
# suffixes below, and only downwards: from a word to the words built on it.

# A base built on a shorter one: the root left after one of these endings is what the longer
# word is built on ("microbiology" on "microb", "vaccination" on "vaccin"). Chosen on a corpus
# of science abstracts and news: -al (physical, special, national, digital), -ity
# (university, majority, authority), -er (counter, founder, pointer), -ary (boundary,
# stationary) and -ness are left out because, more often than not, the longer word means
# something else.
FAMILY_SUFFIXES = (
    "iologi", "ologi",  # -ology, -ologist, -ological: microbiology, immunology
    "iom", "om",  # -ome, -omics: microbiome, transcriptome
    "iota", "ota",  # microbiota
    "ialli", "ial",  # microbial, financial
    "icalli", "ical", "ic",  # -ic, -ics, -ical: robotic(s), algorithmic, climatic
    "ism", "ist",  # magnetism, physicist
    "ationalli", "ational", "ation",  # vaccination, computational
)  # fmt: skip
# A root shorter than this says too little: "gene" would meet "general" and "generation".
MIN_FAMILY_ROOT = 5
# Roots whose derived words drifted to another meaning: these words meet only themselves.
DRIFTED_ROOTS = frozenset(
    {
        "class",  # classic, classical
        "colon",  # colonial
        "electron",  # electronic, electronics
        "graph",  # graphic, graphics, graphical
        "meteor",  # meteorology
        "organ",  # organic, organism, organically
        "system",  # systemic
    }
)
# Endings written one way, so that siblings are one base: (ending, replacement, shortest
# stem kept before the ending). "comic" keeps its -ic: "com" is a piece of a web address.
_SIBLINGS = (
    ("ologicalli", "ologi", 1),
    ("ological", "ologi", 1),
    ("ologist", "ologi", 1),
    ("omicalli", "om", 2),
    ("omic", "om", 2),
    ("ationalli", "ation", MIN_FAMILY_ROOT),  # "national" stays apart from "nation"
    ("ational", "ation", MIN_FAMILY_ROOT),
)
# Porter2's exceptional forms: words the rules below would get wrong ("bias" is not a plural).
_EXCEPTIONS = {
    "skis": "ski",
    "skies": "sky",
    "dying": "die",
    "lying": "lie",
    "tying": "tie",
    "sky": "sky",
    "news": "news",
    "howe": "howe",
    "atlas": "atlas",
    "cosmos": "cosmos",
    "bias": "bias",
    "andes": "andes",
}
_KEEP_AFTER_PLURAL = frozenset(
    {"inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed"}
)
_VOWELS = frozenset("aeiouy")
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_R1_PREFIXES = ("gener", "commun", "arsen")


@dataclass(frozen=True, slots=True)
class FamilyIndex:
    """A text's words by base and by the roots they are built on (see ``word_base``)."""

    bases: tuple[str, ...]  # per token of ``Document.words``, BREAK between clauses
    by_base: Mapping[str, list[int]]  # base -> positions
    by_root: Mapping[str, list[int]]  # root -> positions of the words built on it


def family_index(text: str) -> FamilyIndex:
    """The family index of ``text`` (its first MAX_TEXT_CHARS characters), cached."""
    return _cached_family_index(text[:MAX_TEXT_CHARS])


def build_family_index(words: Sequence[str]) -> FamilyIndex:
    """The family index of these words (``Document.words``), uncached (see
    ``family_index``)."""
    bases: list[str] = []
    by_base: dict[str, list[int]] = {}
    by_root: dict[str, list[int]] = {}
    for position, word in enumerate(words):
        base, roots = _word_forms(word)
        bases.append(base)
        by_base.setdefault(base, []).append(position)
        for root in roots:
            by_root.setdefault(root, []).append(position)
    return FamilyIndex(bases=tuple(bases), by_base=by_base, by_root=by_root)


def word_base(word: str) -> str:
    """A case-folded word without its inflections, siblings written one way.

    "microbes" -> "microb", "sequencing" -> "sequenc", "LLMs" and "GPUs" -> "llm", "gpu",
    "biologist" and "biological" -> "biologi"; CJK characters and words with digits are
    their own base.
    """
    return _word_forms(word)[0]


def family_roots(base: str) -> tuple[str, ...]:
    """The roots ``base`` is built on: "microbiologi" -> ("microb", "microbi")."""
    return tuple(
        dict.fromkeys(
            base[: -len(suffix)]
            for suffix in FAMILY_SUFFIXES
            if base.endswith(suffix) and len(base) - len(suffix) >= MIN_FAMILY_ROOT
        )
    )


def has_family(base: str) -> bool:
    """Whether words built on ``base`` should meet it (long enough, not drifted)."""
    return len(base) >= MIN_FAMILY_ROOT and base.isalpha() and base not in DRIFTED_ROOTS


@lru_cache(maxsize=16)
def _cached_family_index(text: str) -> FamilyIndex:
    # The words only: their Snowball stems (``document``) are not needed here, and a text
    # routed in the bot's process is new to its stem cache.
    return build_family_index(_tokens(text)[0])


@lru_cache(maxsize=65_536)
def _word_forms(word: str) -> tuple[str, tuple[str, ...]]:
    base = _siblings(_inflection_base(word))
    return base, family_roots(base)


def _siblings(base: str) -> str:
    for ending, replacement, shortest in _SIBLINGS:
        if base.endswith(ending) and len(base) - len(ending) >= shortest:
            return base[: -len(ending)] + replacement
    return base


def _inflection_base(word: str) -> str:
    # Porter2 (snowballstem.org/algorithms/english/stemmer.html) steps 1a, 1b, 1c and 5: the
    # inflectional half of Snowball, with acronym plurals ("LLMs") added to step 1a.
    if len(word) <= 2 or len(word) > _LONGEST_STEMMED or not word.isalpha():
        return word
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    word = _plural(word)
    if word in _KEEP_AFTER_PLURAL:
        return word
    word = _past_and_gerund(word)
    if len(word) > 2 and word[-1] == "y" and not _vowel_flags(word)[-2]:
        word = word[:-1] + "i"  # step 1c: "study", "studies", "studied" all end in -i
    r1, r2 = _regions(word)
    if word.endswith("e"):
        if len(word) - 1 >= r2 or (len(word) - 1 >= r1 and not _ends_short_syllable(word[:-1])):
            word = word[:-1]
    elif word.endswith("ll") and len(word) - 1 >= r2:
        word = word[:-1]
    return word


def _plural(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ied", "ies")):
        return word[:-3] + ("i" if len(word) > 4 else "ie")
    if word.endswith("s") and not word.endswith("ss"):
        # Porter2 keeps the s after a lone vowel ("gas", "this") and in -us ("virus"); it
        # is a plural, though, on an acronym: "LLMs", "GPUs", "mRNAs", "PCs".
        before = word[:-2]
        porter = _has_vowel(before) and not word.endswith("us")
        acronym = not _has_vowel(before) and (len(word) >= 4 or not _has_vowel(word))
        if porter or acronym:
            return word[:-1]
    return word


def _past_and_gerund(word: str) -> str:
    r1, _ = _regions(word)
    for suffix in ("eedly", "eed"):
        if word.endswith(suffix):
            return word[: -len(suffix)] + "ee" if len(word) - len(suffix) >= r1 else word
    for suffix in ("ingly", "edly", "ing", "ed"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if not _has_vowel(stem):
                return word  # "bring", "red"
            if stem.endswith(("at", "bl", "iz")):
                return stem + "e"
            if stem.endswith(_DOUBLES):
                return stem[:-1]
            if _is_short(stem):
                return stem + "e"  # "hoping" -> "hope", not "hop"
            return stem
    return word


def _has_vowel(text: str) -> bool:
    return any(c in _VOWELS for c in text)


def _vowel_flags(word: str) -> list[bool]:
    # Porter2: a y at the start or after a vowel is a consonant ("yet", "say").
    flags: list[bool] = []
    for i, c in enumerate(word):
        flags.append(i > 0 and not flags[i - 1] if c == "y" else c in "aeiou")
    return flags


def _regions(word: str) -> tuple[int, int]:
    """Porter2's R1 and R2: where each region starts (len(word) when it is empty)."""
    flags = _vowel_flags(word)

    def after_syllable(start: int) -> int:
        for i in range(start + 1, len(word)):
            if flags[i - 1] and not flags[i]:
                return i + 1
        return len(word)

    prefix = next((p for p in _R1_PREFIXES if word.startswith(p)), None)
    r1 = len(prefix) if prefix else after_syllable(0)
    return r1, after_syllable(r1) if r1 < len(word) else len(word)


def _ends_short_syllable(word: str) -> bool:
    flags = _vowel_flags(word)
    if len(word) == 2:
        return flags[0] and not flags[1]
    return len(word) > 2 and not flags[-3] and flags[-2] and not flags[-1] and word[-1] not in "wxy"


def _is_short(word: str) -> bool:
    return _ends_short_syllable(word) and _regions(word)[0] >= len(word)
