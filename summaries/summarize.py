"""Extractive summaries: pick an article's most telling sentences, best first.

The default ranker, ``pacsum``, is a position-aware graph ranker in the spirit of PacSum
(Zheng & Lapata, 2019): a sentence is central when later sentences elaborate on it (directed
tf-idf similarity edges), early sentences get a prior, and each further pick is discounted
by its similarity to the ones already chosen. News puts its gist first; plain centrality
(LexRank, TextRank) ignores that and loses to simply taking the lead (see
``benchmarks/summary_quality.py``). sumy's own algorithms stay available by name.

The chosen sentences come best first, so that every prefix of a summary is the summary of
that length: chats pick 1-5 sentences at display time from one stored list. A reader must be
able to use each prefix, so a sentence is never repeated, the headline is never repeated as
a sentence, and the first sentence is never a hook (a question, or a bare quotation): it is
the given lead sentence when there is one (a forum report's who/what/where), else the best
sentence that is not a hook.

Everything here is pure and deterministic; nothing needs downloaded data.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from summaries.language import detect_language
from summaries.sentences import (
    SUMY_LANGUAGES,
    Tokenizer,
    language_code,
    split_sentences_by_line,
)
from summaries.sumyparts import (
    AbstractSummarizer,
    ObjectDocumentModel,
    Paragraph,
    Sentence,
    Stemmer,
    get_stop_words,
    null_stemmer,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "MAX_INPUT_CHARS",
    "MAX_SENTENCES",
    "PositionalCentralitySummarizer",
    "Summary",
    "summarize",
]

DEFAULT_ALGORITHM = "pacsum"
ALGORITHMS: tuple[str, ...] = (
    DEFAULT_ALGORITHM,
    "lexrank",
    "textrank",
    "lsa",
    "luhn",
    "sumbasic",
    "reduction",
    "lead",
)

# Cost bounds: only the head of a very long text is read, and only its first sentences are
# ranked (the graph rankers are quadratic in sentences, LSA worse).
MAX_INPUT_CHARS = 60_000
MAX_SENTENCES = 300

_ELLIPSIS = "…"
_STOPS = frozenset(".!?…。！？;；:：")
_CLOSERS = " \"'”’」』）》)]»"

# A sentence this similar to the headline (word-set Dice, or one normalised text holding the
# other) repeats it: "Coronavirus: New York ramps up mass burials amid outbreak".
_ECHO_SIMILARITY = 0.8
# A lead sentence is found in the text by its normalised form; a lead that is a whole
# paragraph, or a clause of one sentence, is matched by containment if it is this long.
_MIN_LEAD_KEY = 20

_NOT_ALNUM = re.compile(r"[\W_]+")
_KEY_WORD = re.compile(r"[^\W_]+")
_QUESTION_ENDS = ("?", "？")
# Opening quote -> the marks that close it.
_QUOTES = {
    "“": "”",
    "‘": "’",
    '"': '"',
    "'": "'",
    "「": "」",
    "『": "』",
    "«": "»",
    "„": "“”",
    "《": "》",
}


@dataclass(frozen=True, slots=True)
class Summary:
    """The chosen sentences, best first, and the ISO 639-1 language summarized as.

    ``sentences[:k]`` is the summary of ``k`` sentences (what ``max_sentences=k`` chooses).
    ``language`` is None only when it was neither given nor detectable (e.g. empty text).
    """

    sentences: list[str]
    language: str | None

    @property
    def text(self) -> str:
        """The sentences joined for display (no space between CJK sentences)."""
        return _join(self.sentences)


def summarize(
    text: str,
    *,
    language: str | None = None,
    max_sentences: int = 3,
    max_chars: int | None = None,
    algorithm: str | None = None,
    title: str | None = None,
    lead: str | None = None,
) -> Summary:
    """Choose up to ``max_sentences`` sentences of ``text`` (at most ``max_chars`` in all).

    ``language`` is an ISO 639-1 code (or a sumy language name); it is detected when not
    given, and a text plainly in a CJK script overrides it (see ``summaries.language``).
    Sentences are never cut, except when not even the best one fits ``max_chars``: then it
    alone is returned, cut at a word boundary and ended with "…". Line breaks in ``text``
    always end a sentence. Empty text gives no sentences. Raises ValueError for an unknown
    ``algorithm`` (a caller's bug, not a property of the text).

    A sentence that repeats an earlier one, or the ``title`` (ignoring case, spacing and
    punctuation), is never chosen. ``lead``, when it is one of the text's sentences, comes
    first; otherwise the first sentence is the best one that is not a question or a bare
    quotation, nor follows a question that opens its paragraph (unless all of them are).
    """
    name = algorithm or DEFAULT_ALGORITHM
    if name not in ALGORITHMS:
        raise ValueError(f"unknown summarizer algorithm {name!r}; choose one of {ALGORITHMS}")
    code = detect_language(text, hint=language) or language_code(language)
    if max_sentences <= 0 or (max_chars is not None and max_chars <= 0):
        return Summary([], code)
    sentences, hooks = _without_echoes(*_read_sentences(text, code), title)
    if not sentences:
        return Summary([], code)
    openers = _openers(sentences, hooks, lead)
    order = _rank(sentences, code, name, openers, hooks)
    return Summary(_choose(sentences, order, max_sentences, max_chars), code)


class PositionalCentralitySummarizer(AbstractSummarizer):  # type: ignore[misc]  # sumy is untyped
    """PacSum-style ranking on sumy's document model: directed centrality + lead prior + MMR.

    A sentence's centrality sums its thresholded tf-idf similarity to the sentences after it
    (weight ``forward``) and before it (weight ``backward``, negative: a sentence that
    repeats earlier ones is a restatement, not a topic sentence). Scores are scaled to
    [0, 1], a position prior ``position / (1 + i) ** decay`` is added, sentences shorter than
    ``min_words`` words are scaled down (captions, "Scroll down for video"), lines with no
    closing punctuation (headings, bylines, page furniture) are scaled by ``unterminated``,
    and selection is greedy with a penalty of ``redundancy`` times the similarity to the
    closest pick. The prior counts ``i`` from the first sentence that is neither flagged in
    ``hooks`` (questions, bare quotations) nor unterminated: what opens the text before it
    (a rhetorical question, a dateline) gets no prior. When ``openers`` is given (one flag
    per sentence), the first pick is the best-scored sentence flagged in it.

    The defaults were tuned on the first 25 articles of the CNN/DailyMail evaluation set
    and hold on the other 25 (``benchmarks/summary_quality.py``); PacSum's negative
    backward weight and edge threshold did not help there, so both are off by default.
    ``unterminated`` cannot be tuned on that set (all its sentences end in a stop).
    """

    def __init__(
        self,
        stemmer: Callable[[str], str] = null_stemmer,
        *,
        stop_words: frozenset[str] = frozenset(),
        forward: float = 1.0,
        backward: float = 0.0,
        threshold: float = 0.0,
        position: float = 1.5,
        decay: float = 1.0,
        min_words: int = 10,
        redundancy: float = 0.3,
        unterminated: float = 0.5,
        openers: Sequence[bool] | None = None,
        hooks: Sequence[bool] | None = None,
    ) -> None:
        super().__init__(stemmer)
        self.stop_words = frozenset(self.normalize_word(w) for w in stop_words)
        self.forward = forward
        self.backward = backward
        self.threshold = threshold
        self.position = position
        self.decay = decay
        self.min_words = min_words
        self.redundancy = redundancy
        self.unterminated = unterminated
        self.openers = openers
        self.hooks = hooks

    def __call__(self, document: Any, sentences_count: int) -> tuple[Any, ...]:
        ratings = iter(self.rate_sentences(document))
        best: tuple[Any, ...] = self._get_best_sentences(
            document.sentences, sentences_count, lambda _sentence: next(ratings)
        )
        return best

    def rate_sentences(self, document: Any) -> list[float]:
        """One rating per sentence of ``document``, in order; higher is picked earlier."""
        sentences = document.sentences
        n = len(sentences)
        if n == 0:
            return []
        words = [[w.lower() for w in s.words] for s in sentences]
        stem, stop_words = self._stemmer, self.stop_words
        terms = [[stem(w) for w in ws if w not in stop_words] for ws in words]
        similarity = _similarity(terms)
        hooks = np.zeros(n, dtype=bool)
        if self.hooks is not None and len(self.hooks) == n:
            hooks = np.asarray(self.hooks, dtype=bool)
        terminated = np.asarray([_is_terminated(str(s)) for s in sentences], dtype=bool)
        score = self._score(similarity, [len(ws) for ws in words], hooks | ~terminated)
        score *= np.where(terminated, 1.0, self.unterminated)
        openers = None
        if self.openers is not None and len(self.openers) == n and any(self.openers):
            openers = np.asarray(self.openers, dtype=bool)
        return _greedy_ratings(score, similarity, self.redundancy, openers)

    def _score(
        self, similarity: np.ndarray, lengths: Sequence[int], not_lead: np.ndarray
    ) -> np.ndarray:
        n = similarity.shape[0]
        off_diagonal = similarity[~np.eye(n, dtype=bool)]
        if off_diagonal.size:
            low, high = float(off_diagonal.min()), float(off_diagonal.max())
            edges = np.maximum(similarity - (low + self.threshold * (high - low)), 0.0)
        else:
            edges = np.zeros_like(similarity)
        np.fill_diagonal(edges, 0.0)
        centrality = self.forward * np.triu(edges, 1).sum(axis=1) + self.backward * np.tril(
            edges, -1
        ).sum(axis=1)
        spread = float(centrality.max() - centrality.min())
        centrality = (centrality - centrality.min()) / spread if spread > 0 else centrality * 0.0
        # The lead prior belongs to the first real sentence: a hook, heading or dateline
        # opening the text takes no place and gets no prior.
        opening = int(np.argmin(not_lead)) if not not_lead.all() else 0
        places = np.maximum(np.arange(n, dtype=float) - opening, 0.0)
        prior = self.position / (1.0 + places) ** self.decay
        prior[:opening] = 0.0
        shortness = np.minimum(np.asarray(lengths, dtype=float) / max(self.min_words, 1), 1.0)
        score: np.ndarray = (centrality + prior) * shortness
        return score


def _is_terminated(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS)[-1:] in _STOPS


def _similarity(terms: Sequence[Sequence[str]]) -> np.ndarray:
    """Cosine similarity of the sentences' tf-idf vectors (idf over the document's sentences)."""
    vocabulary: dict[str, int] = {}
    rows = [[vocabulary.setdefault(t, len(vocabulary)) for t in ts] for ts in terms]
    n, width = len(terms), max(len(vocabulary), 1)
    cells = [row * width + column for row, columns in enumerate(rows) for column in columns]
    counts = np.bincount(np.asarray(cells, dtype=np.int64), minlength=n * width)
    counts = counts.reshape(n, width).astype(float)
    document_frequency = (counts > 0).sum(axis=0)
    idf = np.log((1.0 + n) / (1.0 + document_frequency)) + 1.0
    vectors = np.log1p(counts) * idf
    norms = np.linalg.norm(vectors, axis=1)
    vectors /= np.where(norms > 0, norms, 1.0)[:, None]
    similarity: np.ndarray = vectors @ vectors.T
    return similarity


def _greedy_ratings(
    score: np.ndarray,
    similarity: np.ndarray,
    redundancy: float,
    openers: np.ndarray | None = None,
) -> list[float]:
    """Rate sentences by the round a greedy MMR selection picks them in (earlier = higher).

    ``openers`` (a boolean mask) restricts the first pick; the rest of the selection is
    penalised for redundancy with it as usual.
    """
    n = score.shape[0]
    ratings = [0.0] * n
    closest = np.zeros(n)
    available = np.ones(n, dtype=bool)
    for round_ in range(n):
        allowed = available & openers if round_ == 0 and openers is not None else available
        adjusted = np.where(allowed, score - redundancy * closest, -np.inf)
        pick = int(np.argmax(adjusted))  # argmax takes the earliest of equals: deterministic
        ratings[pick] = float(n - round_)
        available[pick] = False
        closest = np.maximum(closest, similarity[pick])
    return ratings


def _read_sentences(text: str, language: str | None) -> tuple[list[str], list[bool]]:
    """The text's first sentences, and which of them are hooks (see ``_is_hook``)."""
    head = text[:MAX_INPUT_CHARS]
    found = split_sentences_by_line(head, language)
    if len(head) < len(text) and found:
        found.pop()  # may have been cut mid-sentence
    found = found[:MAX_SENTENCES]
    hooks: list[bool] = []
    question_line = -1
    for index, (line, sentence) in enumerate(found):
        if _is_question(sentence) and (index == 0 or found[index - 1][0] != line):
            question_line = line
        # "What if …? We are not just studying life, we are programming it." The answer
        # to a rhetorical question that opens a paragraph is part of the hook.
        hooks.append(line == question_line or _is_hook(sentence))
    return [sentence for _, sentence in found], hooks


def _without_echoes(
    sentences: list[str], hooks: list[bool], title: str | None
) -> tuple[list[str], list[bool]]:
    """Drop the sentences that repeat the title: the headline line is no lead sentence."""
    title_key = _key(title or "")
    if not title_key:
        return sentences, hooks
    title_words = _key_words(title or "")
    kept = [
        i
        for i, sentence in enumerate(sentences)
        if not _echoes(_key(sentence), sentence, title_key, title_words)
    ]
    return [sentences[i] for i in kept], [hooks[i] for i in kept]


def _key(text: str) -> str:
    """The form two sentences are compared in: NFKC, casefolded, letters and digits only."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())


def _key_words(text: str) -> frozenset[str]:
    return frozenset(_KEY_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _echoes(key: str, sentence: str, title_key: str, title_words: frozenset[str]) -> bool:
    """Whether a sentence is the headline again, nearly word for word."""
    if key == title_key:
        return True
    shorter, longer = sorted((key, title_key), key=len)
    if shorter in longer and len(shorter) >= _ECHO_SIMILARITY * len(longer):
        return True
    words = _key_words(sentence)
    shared = len(words & title_words)
    return bool(words) and 2 * shared >= _ECHO_SIMILARITY * (len(words) + len(title_words))


def _is_question(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS).endswith(_QUESTION_ENDS)


def _is_hook(sentence: str) -> bool:
    """A question, or a sentence that is nothing but a quotation: no opener for a summary."""
    return _is_question(sentence) or _is_bare_quote(sentence)


def _is_bare_quote(sentence: str) -> bool:
    """“Quoted words.” alone, or the first sentence of a quotation that runs on."""
    text = sentence.strip()
    closers = _QUOTES.get(text[:1])
    if closers is None:
        return False
    for index in range(1, len(text)):
        char = text[index]
        if char not in closers:
            continue
        # An apostrophe inside a word ("It's", "it’s") closes nothing.
        if text[index - 1 : index].isalnum() and text[index + 1 : index + 2].isalnum():
            continue
        rest = text[index + 1 :]
        return not any(c.isalnum() for c in rest)
    return True  # never closed: the quotation goes on into the next sentence


def _openers(sentences: list[str], hooks: list[bool], lead: str | None) -> list[bool]:
    """Which sentences may come first: the lead alone when found, else every non-hook."""
    found = _find_lead(sentences, lead) if lead else None
    if found is not None:
        return [i == found for i in range(len(sentences))]
    if all(hooks):
        return [True] * len(sentences)
    return [not hook for hook in hooks]


def _find_lead(sentences: list[str], lead: str) -> int | None:
    lead_key = _key(lead)
    if not lead_key:
        return None
    keys = [_key(s) for s in sentences]
    if lead_key in keys:
        return keys.index(lead_key)
    for index, key in enumerate(keys):
        # The lead split differently: a paragraph holding the sentence, or part of it.
        if len(key) >= _MIN_LEAD_KEY and key in lead_key:
            return index
        if len(lead_key) >= _MIN_LEAD_KEY and lead_key in key:
            return index
    return None


def _rank(
    sentences: list[str],
    language: str | None,
    algorithm: str,
    openers: Sequence[bool],
    hooks: Sequence[bool],
) -> list[int]:
    """Sentence indices, best first, an opener first; ties (and every failure to rate) fall
    back to position."""
    n = len(sentences)
    if algorithm == "lead" or n == 1:
        return _open_with(list(range(n)), openers)
    tokenizer = Tokenizer(language)
    document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in sentences])])
    summarizer = _summarizer(algorithm, _sumy_language(language), openers, hooks)
    ratings = _rate(summarizer, document)
    if len(ratings) != n:
        return _open_with(list(range(n)), openers)
    return _open_with(sorted(range(n), key=lambda i: (-ratings[i], i)), openers)


def _open_with(order: list[int], openers: Sequence[bool]) -> list[int]:
    """``order`` with its best-placed opener moved to the front (sumy's rankers know none)."""
    first = next((i for i in order if openers[i]), None)
    if first is None or first == order[0]:
        return order
    return [first, *(i for i in order if i != first)]


def _rate(summarizer: Any, document: Any) -> list[float]:
    """Run a sumy summarizer, keeping the rating it gives every sentence instead of its top k.

    sumy summarizers compute ratings and hand them to ``_get_best_sentences``, which keeps
    only the top ``k``; to choose under a character budget we need the whole ranking, so
    that hook is replaced on this (fresh) instance.
    """
    recorded: list[float] = []

    def record(sentences: Any, _count: Any, rating: Any, *args: Any, **kwargs: Any) -> tuple[()]:
        for sentence in sentences:
            value = (
                rating[sentence] if isinstance(rating, dict) else rating(sentence, *args, **kwargs)
            )
            recorded.append(float(value))
        return ()

    summarizer._get_best_sentences = record
    try:
        # sumy warns (and numpy divides by zero) on degenerate texts; the fallback below
        # already covers them.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            summarizer(document, len(document.sentences))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        # Degenerate inputs (no content words, identical sentences) break some of sumy's
        # matrix code; position order is the sensible answer for them.
        return []
    return [r if math.isfinite(r) else -math.inf for r in recorded]


def _summarizer(
    algorithm: str, language: str | None, openers: Sequence[bool], hooks: Sequence[bool]
) -> Any:
    stemmer = _stemmer(language)
    stop_words = _stop_words(language)
    if algorithm == DEFAULT_ALGORITHM:
        return PositionalCentralitySummarizer(
            stemmer, stop_words=stop_words, openers=openers, hooks=hooks
        )
    summarizer = _sumy_class(algorithm)(stemmer)
    summarizer.stop_words = stop_words
    return summarizer


def _sumy_class(algorithm: str) -> Any:
    from sumy.summarizers.lex_rank import LexRankSummarizer  # noqa: PLC0415  # pay per use
    from sumy.summarizers.lsa import LsaSummarizer  # noqa: PLC0415  # pay per use
    from sumy.summarizers.luhn import LuhnSummarizer  # noqa: PLC0415  # pay per use
    from sumy.summarizers.reduction import ReductionSummarizer  # noqa: PLC0415  # pay per use
    from sumy.summarizers.sum_basic import SumBasicSummarizer  # noqa: PLC0415  # pay per use
    from sumy.summarizers.text_rank import TextRankSummarizer  # noqa: PLC0415  # pay per use

    return {
        "lexrank": LexRankSummarizer,
        "textrank": TextRankSummarizer,
        "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer,
        "sumbasic": SumBasicSummarizer,
        "reduction": ReductionSummarizer,
    }[algorithm]


def _sumy_language(language: str | None) -> str | None:
    return SUMY_LANGUAGES.get(language or "")


@functools.cache
def _stemmer(sumy_language: str | None) -> Callable[[str], str]:
    stemmer: Callable[[str], str] = null_stemmer
    if sumy_language is not None:
        with contextlib.suppress(LookupError):
            stemmer = Stemmer(sumy_language)
    # Snowball stemming is most of the ranking time, and news reuses its vocabulary.
    return functools.lru_cache(maxsize=1 << 16)(stemmer)


@functools.cache
def _stop_words(sumy_language: str | None) -> frozenset[str]:
    if sumy_language is None:
        return frozenset()
    try:
        words: frozenset[str] = get_stop_words(sumy_language)
    except LookupError:
        return frozenset()
    return words


def _choose(
    sentences: list[str], order: list[int], max_sentences: int, max_chars: int | None
) -> list[str]:
    chosen: list[int] = []
    # A repeated sentence (a standfirst repeated as the first paragraph, a caption repeated
    # in the text) still counts for the ranking (the page stresses it), but is said once.
    distinct: list[int] = []
    seen: set[str] = set()
    for index in order:
        key = _key(sentences[index])
        if key and key in seen:
            continue
        seen.add(key)
        distinct.append(index)
        if len(distinct) == max_sentences:
            break
    for index in distinct:
        if (
            max_chars is not None
            and len(_join([sentences[i] for i in [*chosen, index]])) > max_chars
        ):
            # Stop rather than skip ahead: what ranks lower but happens to be short is
            # mostly furniture ("首页 > 新闻"), not a better summary.
            break
        chosen.append(index)
    if not chosen:
        # Not even the best sentence fits max_chars: shorten it.
        return [_shorten(sentences[order[0]], max_chars or 0)]
    # Best first, not article order: every prefix must be the summary of its length.
    return [sentences[i] for i in chosen]


def _shorten(sentence: str, max_chars: int) -> str:
    """Cut ``sentence`` to at most ``max_chars`` characters at a word boundary, plus "…"."""
    room = max_chars - len(_ELLIPSIS)
    if room <= 0:
        return _ELLIPSIS
    cut = sentence[:room]
    following = sentence[room : room + 1]
    inside_word = following.isalnum() and cut[-1:].isalnum()
    if inside_word and not _is_cjk(following) and " " in cut:
        cut = cut[: cut.rfind(" ")]  # CJK text has no spaces and may be cut anywhere
    return cut.rstrip(" ,;:-–—") + _ELLIPSIS


def _join(sentences: Sequence[str]) -> str:
    joined = ""
    for sentence in sentences:
        if joined and not (_is_cjk(joined[-1]) and _is_cjk(sentence[0])):
            joined += " "
        joined += sentence
    return joined


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef"
