"""Topics: the science taxonomy, and how an article's topics are decided.

``TOPICS`` is the taxonomy: stable slugs (stored in subscriptions), English and Chinese
names. ``tag_topics`` decides an article's topics from four kinds of evidence:

- the learned model (``summaries.tagger``): a margin per topic, >= 0 meaning "this topic";
- the curated keywords (``summaries.keywords``): they add to a topic's margin, which helps
  most on short titles, and they alone decide the topics the model has no data for;
- the feed's own ``<category>``/``dc:subject`` tags, where one names a topic;
- the default topics an admin gave the feed.

The last two are priors: they lower the bar for their topics, they never tag on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from summaries.keywords import MIN_SCORE, defining_terms, keyword_scores, research_mentions
from summaries.language import detect_language
from summaries.tagger import load_model, text_script
from summaries.terms import Term, compile_term

__all__ = [
    "TOPICS",
    "Topic",
    "TopicScore",
    "category_topics",
    "hashtag",
    "tag_topics",
    "topic_by_slug",
]


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str  # stable: stored in the database and used as a hashtag
    name: str
    emoji: str | None
    name_zh: str = ""

    def label(self, language: str | None = None) -> str:
        """The topic's name in ``language`` ("zh..." gives Chinese), English otherwise."""
        if language and language.lower().startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name


@dataclass(frozen=True, slots=True)
class TopicScore:
    slug: str
    score: float  # the topic's margin with all evidence: >= 0 when tagged, higher is surer


# Display order: neighbouring fields together, so the picker reads like a map of science.
TOPICS: tuple[Topic, ...] = (
    Topic("ai", "AI & computing", "🤖", "人工智能与计算"),
    Topic("math", "Mathematics & statistics", "📐", "数学与统计"),
    Topic("physics", "Physics", "⚛️", "物理学"),
    Topic("space", "Space & astronomy", "🔭", "航天与天文"),
    Topic("chemistry", "Chemistry", "⚗️", "化学"),
    Topic("materials", "Materials", "🧱", "材料"),
    Topic("energy", "Energy", "⚡", "能源"),
    Topic("engineering", "Engineering & robotics", "⚙️", "工程与机器人"),
    Topic("earth", "Earth & ocean sciences", "🌋", "地球与海洋科学"),
    Topic("climate", "Climate & environment", "🌍", "气候与环境"),
    Topic("ecology", "Ecology, evolution & biodiversity", "🌿", "生态、进化与生物多样性"),
    Topic("agrifood", "Agriculture & food", "🌾", "农业与食品"),
    Topic("cell-biology", "Cell & molecular biology", "🔬", "细胞与分子生物学"),
    Topic("genomics", "Genomics & gene editing", "🧬", "基因组学与基因编辑"),
    Topic("synbio", "Synthetic biology", "🧫", "合成生物学"),
    Topic("microbiology", "Microbiology", "🦠", "微生物学"),
    Topic(
        "biomanufacturing", "Biomanufacturing & industrial biotech", "🏭", "生物制造与工业生物技术"
    ),
    Topic("neuroscience", "Neuroscience", "🧠", "神经科学"),
    Topic("health", "Health & medicine", "🏥", "健康与医学"),
    Topic("precision-medicine", "Molecular & precision medicine", "🩺", "分子与精准医学"),
    Topic("drug-discovery", "Drug discovery", "💊", "药物研发"),
    Topic("social-science", "Psychology, economics & society", "👥", "心理、经济与社会"),
    Topic("archaeology", "Archaeology & paleontology", "🦴", "考古与古生物"),
    Topic(
        "science-policy",
        "Science policy, infrastructure & collaboration",
        "🏛️",
        "科技政策、设施与合作",
    ),
)

# Keyword evidence is counted in units of MIN_SCORE (1.0 = what alone tagged a topic before
# the model). It adds KEYWORD_WEIGHT per unit, at most KEYWORD_CAP units, to a learned
# margin: a keyword confirms a topic the model half-sees.
KEYWORD_WEIGHT = 0.5
KEYWORD_CAP = 2.0
# Plenty of keywords decide alone (news is not phrased like the abstracts the model learned
# from, and the keywords were written for news): KEYWORDS_ALONE units, or SPARSE_KEYWORDS_ALONE
# where the model saw fewer than WELL_TRAINED examples in the text's script (English
# agrifood and health, Chinese math and astronomy).
KEYWORDS_ALONE = 3.0
SPARSE_KEYWORDS_ALONE = 2.0
WELL_TRAINED = 200
# In a language the model does not read, English keywords are loanwords ("Machine Learning"
# in German): one unit is weaker evidence there than in the text they were written for.
FOREIGN_KEYWORD_BAR = 1.25
# What a feed's category naming a topic, or an admin's default topic for the feed, adds.
CATEGORY_PRIOR = 1.0
FEED_PRIOR = 0.75
# General news is the model's blind spot (no abstract taught it what tech business or
# politics look like): an article that uses none of the research register's words
# ("researchers", "a study", "研究"...) gets no keyword lift and OFF_REGISTER_PENALTY off its
# margins. Titles and one-line teasers, under SHORT_TEXT_WORDS, are too short to show a
# register and are exempt.
OFF_REGISTER_PENALTY = 0.5
SHORT_TEXT_WORDS = 20
# A science text the model is unsure about still gets its best topic when that topic's
# margin is at least -FALLBACK_MARGIN: a subscriber would rather see it under its likeliest
# topic than nowhere. Only for texts clearly in the research register (this many of its
# words), so general news stays untagged.
FALLBACK_MARGIN = 0.5
FALLBACK_RESEARCH_WORDS = 3
# The model knows English and Chinese; in other languages its hashed features are noise.
_MODEL_LANGUAGES = frozenset({None, "en", "zh"})
_CJK_CHAR = re.compile("[\u3400-\u9fff]")


def topic_by_slug(slug: str) -> Topic | None:
    """The topic with this slug, or None for an unknown slug."""
    return _topics_by_slug().get(slug)


def hashtag(slug: str) -> str:
    """A Telegram hashtag for a topic slug: "precision-medicine" -> "#precision_medicine"."""
    return "#" + re.sub(r"\W", "_", slug)


def tag_topics(
    title: str,
    text: str,
    *,
    language: str | None = None,
    categories: Iterable[str] = (),
    feed_topics: Iterable[str] = (),
    limit: int = 5,
) -> list[TopicScore]:
    """The topics of an article, surest first, at most ``limit``; possibly none.

    A topic's score is the best of: its learned margin with the keywords' lift, and its
    keyword evidence against the bar for keywords alone; the feed's priors are added to it.
    A score >= 0 tags the topic; when none does, a research text's best topic within
    FALLBACK_MARGIN is kept. ``language`` (ISO 639-1) is a hint (detected when missing);
    ``categories`` are the entry's own category tags, ``feed_topics`` the slugs an admin
    gave its feed.
    """
    if limit <= 0:
        return []
    language = detect_language(f"{title}\n{text}", hint=language)
    model = load_model()
    margins = model.margins(title, text) if language in _MODEL_LANGUAGES else {}
    script = text_script(title, text)
    keywords = keyword_scores(title, text, language=language)
    mentions = research_mentions(title, text)
    short = _word_count(title, text) < SHORT_TEXT_WORDS
    on_register = short or mentions > 0
    lift = KEYWORD_WEIGHT if on_register else 0.0
    penalty = 0.0 if on_register else OFF_REGISTER_PENALTY
    named = category_topics(categories)
    defaults = set(feed_topics)
    scored: list[TopicScore] = []
    best: TopicScore | None = None
    for topic in TOPICS:
        slug = topic.slug
        evidence = keywords.get(slug, 0.0) / MIN_SCORE
        if slug in margins:
            score = margins[slug] + lift * min(evidence, KEYWORD_CAP) - penalty
            sparse = model.examples(slug, script) < WELL_TRAINED
            score = max(score, evidence - (SPARSE_KEYWORDS_ALONE if sparse else KEYWORDS_ALONE))
        elif evidence > 0:
            # A topic the model has no data for, or a language it does not read: the keywords
            # decide, as they did before the model.
            score = evidence - (1.0 if language in _MODEL_LANGUAGES else FOREIGN_KEYWORD_BAR)
        else:
            continue
        score += CATEGORY_PRIOR * (slug in named) + FEED_PRIOR * (slug in defaults)
        candidate = TopicScore(slug, round(score, 3))
        if score >= 0:
            scored.append(candidate)
        elif slug in margins and (best is None or candidate.score > best.score):
            best = candidate
    may_fall_back = mentions >= FALLBACK_RESEARCH_WORDS
    if not scored and may_fall_back and best is not None and best.score >= -FALLBACK_MARGIN:
        scored.append(best)
    # sorted() is stable: ties keep the taxonomy's display order.
    return sorted(scored, key=lambda s: -s.score)[:limit]


def category_topics(categories: Iterable[str]) -> set[str]:
    """The topics a feed's own category tags name ("Astronomy", "Climate change", "微生物").

    A category names a topic when it is, as a whole, the topic's slug or name (or a part of
    a name such as "Robotics" of "Engineering & robotics"), or one of the topic's defining
    keywords. Categories that are sections ("News", "Science") name none.
    """
    found: set[str] = set()
    names = _category_names()
    for category in categories:
        if not category or len(category) > 100:
            continue
        term = compile_term(category)
        if not term.stems:
            continue
        for slug, terms in names.items():
            if any(t.stems == term.stems for t in terms):
                found.add(slug)
    return found


@cache
def _category_names() -> dict[str, tuple[Term, ...]]:
    names: dict[str, tuple[Term, ...]] = {}
    for topic in TOPICS:
        parts = {topic.slug.replace("-", " "), topic.name, topic.name_zh}
        parts.update(re.split(r"\s*(?:&|,|\band\b)\s*", topic.name))
        parts.update(re.split(r"[与、]", topic.name_zh))
        terms = {compile_term(p) for p in parts if p.strip()}
        terms.update(defining_terms(topic.slug))
        names[topic.slug] = tuple(t for t in terms if t.stems)
    return names


def _word_count(title: str, text: str) -> int:
    return len(title.split()) + len(text.split()) + len(_CJK_CHAR.findall(title + text)) // 2


@cache
def _topics_by_slug() -> dict[str, Topic]:
    return {topic.slug: topic for topic in TOPICS}
