"""Event sentences: an article's sentences with the event nouns each one uses ("forum",
"symposium", "论坛"...), and the word tokens the name, place and organizer readers walk over.

Sentences come from ``summaries.sentences.split_sentences`` (the project's one splitter), cut
further at Chinese semicolons, which separate the facts of a notice, and bounded in length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from summaries.eventwords import (
    ABBREVIATIONS,
    KIND_OF,
    MONTHS,
    ZH_KIND_OF,
    ZH_NOT_AFTER,
    ZH_NOT_BEFORE,
)
from summaries.sentences import split_sentences

__all__ = [
    "CJK",
    "GENERIC_EVENT",
    "ZH_EVENT_VERB",
    "Noun",
    "Sentence",
    "Token",
    "event_sentences",
    "find_nouns",
    "has_event_verb",
    "heading",
    "is_acronym",
    "is_cap",
    "is_month",
    "tokens",
]

CJK = re.compile(r"[\u4e00-\u9fff]")
GENERIC_EVENT = re.compile(r"\b(?:event|meeting|gathering)s?\b|活动", re.IGNORECASE)

# Nouns that make a sentence about an event in running text; the rest only count inside names.
_EN_NOUN = re.compile(
    r"(?<![\w-])(?P<sub>sub-?\s?)?(?P<noun>forums?|conferences?|symposi(?:um|a|ums)|congress"
    r"|summits?|workshops?|expos?|colloqui(?:um|a))(?![\w-])",
    re.IGNORECASE,
)
_ZH_NOUN = re.compile(
    r"(?P<noun>论坛|研讨会|峰会|博览会|展览会|年会|学术会|交流会|工作坊|研讨班|座谈会|大会|会议)"
)
_EN_EVENT_VERB = re.compile(
    r"\b(?:held|kick(?:ed|s)? off|open(?:ed|s)|gather(?:ed|s)?|convene[ds]?|converge[ds]?"
    r"|t(?:ook|akes?) place|attended|brought together|brings together|drew|attracted|hosted"
    r"|co-hosted|organi[sz]ed|co-organi[sz]ed|registration|register|concluded|wrapped up"
    r"|inaugurated|staged|welcomed|will be held|is held)\b",
    re.IGNORECASE,
)
ZH_EVENT_VERB = re.compile(
    r"举行|举办|召开|开幕|闭幕|落幕|启幕|拉开帷幕|揭幕|主办|承办|报名|汇聚|齐聚|参会|与会|将于"
)
# Where a conference is only the place a study was presented.
_PASSING = re.compile(
    r"\b(?:presented|reported|described|unveiled|announced|showcased|spoke|speaking|talk"
    r"|poster|presentation)\b.{0,60}\b(?:at|during)\b",
    re.IGNORECASE,
)
_ZH_PASSING = re.compile(r"上(?:作|做)?了?(?:报告|发布|展示|介绍|宣读|发表)")
_ZH_CLAUSE_END = re.compile(r"(?<=；)")
# No real sentence is this long; cutting bounds the work every per-sentence rule does.
_MAX_SENTENCE_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Noun:
    kind: str
    start: int
    end: int
    singular: bool
    passing: bool


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int  # position in the body; -1 for the headline
    text: str
    nouns: tuple[Noun, ...]
    # The nouns not used in passing ("presented at a conference"); set from ``nouns``.
    live_nouns: tuple[Noun, ...] = field(init=False)
    is_event: bool = field(init=False)

    def __post_init__(self) -> None:
        live = tuple(n for n in self.nouns if not n.passing)
        object.__setattr__(self, "live_nouns", live)
        object.__setattr__(self, "is_event", bool(live))

    @property
    def has_verb(self) -> bool:
        return has_event_verb(self.text)


def has_event_verb(text: str) -> bool:
    return bool(_EN_EVENT_VERB.search(text) or ZH_EVENT_VERB.search(text))


def event_sentences(text: str, language: str = "en") -> list[Sentence]:
    """The body's sentences, numbered from 0, with their event nouns."""
    return [Sentence(i, s, find_nouns(s)) for i, s in enumerate(_split(text, language))]


def heading(title: str) -> Sentence | None:
    """The headline as a sentence numbered -1, or None when there is none."""
    return Sentence(-1, title, find_nouns(title)) if title.strip() else None


def _split(text: str, language: str) -> list[str]:
    pieces: list[str] = []
    for sentence in split_sentences(text, language):
        for clause in _ZH_CLAUSE_END.split(sentence) if "；" in sentence else (sentence,):
            if clause.strip():
                pieces += _bounded(clause.strip())
    return pieces


def _bounded(sentence: str) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > _MAX_SENTENCE_CHARS:
        cut = sentence.rfind(" ", _MAX_SENTENCE_CHARS // 2, _MAX_SENTENCE_CHARS)
        cut = cut if cut > 0 else _MAX_SENTENCE_CHARS
        pieces.append(sentence[:cut])
        sentence = sentence[cut:].lstrip()
    if sentence:
        pieces.append(sentence)
    return pieces


@lru_cache(maxsize=4096)
def find_nouns(sentence: str) -> tuple[Noun, ...]:
    nouns: list[Noun] = []
    for m in _EN_NOUN.finditer(sentence):
        word = m.group("noun")
        if m.group("sub"):
            continue
        lower = word.lower()
        # "Congress passed the bill": only a named or lower-case congress is a meeting.
        if word == "Congress" and not re.search(r"[A-Z0-9][\w)]*\s$", sentence[: m.start()]):
            continue
        if (
            lower.startswith("summit")
            and word[0].islower()
            and sentence[m.end() :].startswith(" of")
        ):
            continue
        singular = lower in ("forum", "conference", "symposium", "congress", "summit", "workshop")
        singular = singular or lower in ("expo", "colloquium")
        base = lower.rstrip("s") if lower not in ("symposia", "colloquia") else lower
        kind = KIND_OF.get(base, KIND_OF.get(lower, "conference"))
        window = sentence[max(0, m.start() - 90) : m.start()]
        nouns.append(Noun(kind, m.start(), m.end(), singular, bool(_PASSING.search(window))))
    if CJK.search(sentence):
        for m in _ZH_NOUN.finditer(sentence):
            before = sentence[max(0, m.start() - 3) : m.start()]
            after = sentence[m.end() : m.end() + 2]
            if any(before.endswith(b) for b in ZH_NOT_BEFORE):
                continue
            if any(after.startswith(a) for a in ZH_NOT_AFTER):
                continue
            passing = bool(_ZH_PASSING.match(sentence, m.end()))
            nouns.append(Noun(ZH_KIND_OF[m.group("noun")], m.start(), m.end(), True, passing))
    return tuple(nouns)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\([A-Za-z][A-Za-z0-9&*\-]{0,14}\)|[A-Za-z0-9][\w'’&\-]{0,60}(?:\.\w{1,3}){0,3}|[^\w\s]"
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


@lru_cache(maxsize=2048)
def tokens(sentence: str) -> tuple[Token, ...]:
    raw = [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
    merged: list[Token] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        # "Co." and "Ltd." keep their dots: they are parts of names, not sentence ends.
        if nxt and nxt.text == "." and nxt.start == tok.end and tok.text in ABBREVIATIONS:
            merged.append(Token(tok.text + ".", tok.start, nxt.end))
            i += 2
            continue
        merged.append(tok)
        i += 1
    return tuple(merged)


def is_cap(tok: Token) -> bool:
    t = tok.text
    return t[0].isupper() or t[0].isdigit() or t.startswith("(")


def is_acronym(text: str) -> bool:
    core = text.strip("()")
    return len(core) >= 2 and core[0].isupper() and sum(c.isupper() for c in core) >= 2


def is_month(text: str) -> bool:
    return text.rstrip(".").lower() in MONTHS and text[0].isupper()
