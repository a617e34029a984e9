"""Tests for summaries.topics: the taxonomy, and how an article's topics are decided."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from summaries.topics import (
    TOPICS,
    Topic,
    TopicScore,
    category_topics,
    hashtag,
    tag_topics,
    topic_by_slug,
)

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"


def read_seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def read_article(name: str) -> tuple[str, str]:
    """A tests/fixtures/topics file: the title, a blank line, then the body."""
    title, _, body = (
        (FIXTURES / "topics" / f"{name}.txt").read_text(encoding="utf-8").partition("\n\n")
    )
    return title, body


def slugs(scores: list[TopicScore]) -> list[str]:
    return [s.slug for s in scores]


# --- the taxonomy ---------------------------------------------------------------------------

# Stored in subscriptions: none may ever disappear or change.
STORED_SLUGS = {
    "ai", "synbio", "microbiology", "biomanufacturing", "genomics", "precision-medicine",
    "drug-discovery", "neuroscience", "climate", "energy", "materials", "physics", "chemistry",
    "space", "agrifood", "science-policy",
}  # fmt: skip
NEW_TOPICS = {
    "health": ("Health & medicine", "健康与医学"),
    "ecology": ("Ecology, evolution & biodiversity", "生态、进化与生物多样性"),
    "earth": ("Earth & ocean sciences", "地球与海洋科学"),
    "cell-biology": ("Cell & molecular biology", "细胞与分子生物学"),
    "math": ("Mathematics & statistics", "数学与统计"),
    "engineering": ("Engineering & robotics", "工程与机器人"),
    "social-science": ("Psychology, economics & society", "心理、经济与社会"),
    "archaeology": ("Archaeology & paleontology", "考古与古生物"),
}


def test_the_taxonomy_keeps_every_stored_slug_and_adds_exactly_the_eight_new_topics() -> None:
    found = [t.slug for t in TOPICS]
    assert len(found) == len(set(found)) == 24
    assert set(found) == STORED_SLUGS | NEW_TOPICS.keys()


@pytest.mark.parametrize(("slug", "names"), NEW_TOPICS.items())
def test_the_new_topics_have_their_english_and_chinese_names(
    slug: str, names: tuple[str, str]
) -> None:
    topic = topic_by_slug(slug)
    assert topic is not None
    assert (topic.name, topic.name_zh) == names


def test_every_topic_has_a_name_in_both_languages_and_a_slug_safe_for_storage() -> None:
    for topic in TOPICS:
        assert topic.name.strip()
        assert re.search(r"[\u4e00-\u9fff]", topic.name_zh)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", topic.slug)
        assert len(topic.slug) <= 40  # chat_topics.slug
        assert topic.emoji is None or topic.emoji.strip()


@pytest.mark.parametrize(
    ("language", "expected"),
    [(None, "Space & astronomy"), ("en", "Space & astronomy"), ("zh", "航天与天文"),
     ("zh-Hans", "航天与天文"), ("ZH-TW", "航天与天文"), ("de", "Space & astronomy")],
)  # fmt: skip
def test_a_topic_label_is_chinese_for_chinese_readers(language: str | None, expected: str) -> None:
    topic = topic_by_slug("space")
    assert topic is not None
    assert topic.label(language) == expected


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("ai", "AI & computing"),
        ("synbio", "Synthetic biology"),
        ("precision-medicine", "Molecular & precision medicine"),
        ("science-policy", "Science policy, infrastructure & collaboration"),
    ],
)
def test_topic_by_slug_finds_the_topic(slug: str, name: str) -> None:
    topic = topic_by_slug(slug)
    assert isinstance(topic, Topic)
    assert topic.name == name


@pytest.mark.parametrize("slug", ["", "AI", "astrology", "precision_medicine"])
def test_topic_by_slug_returns_none_for_an_unknown_slug(slug: str) -> None:
    assert topic_by_slug(slug) is None


@pytest.mark.parametrize(
    ("slug", "tag"),
    [
        ("ai", "#ai"),
        ("precision-medicine", "#precision_medicine"),
        ("cell-biology", "#cell_biology"),
        ("social-science", "#social_science"),
    ],
)
def test_hashtag_replaces_hyphens_telegram_cannot_link(slug: str, tag: str) -> None:
    assert hashtag(slug) == tag


def test_every_topic_hashtag_is_a_single_telegram_word() -> None:
    for topic in TOPICS:
        assert re.fullmatch(r"#\w+", hashtag(topic.slug))


# --- tagging: real articles -------------------------------------------------------------------

SEED_CASES = [
    # file, title, the top topic (or one of them), topics that must be there, topics that
    # must not
    (
        "000_4f7f9f5734775d9e.txt",
        "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology",
        "microbiology",
        {"microbiology", "biomanufacturing"},
        {"space", "climate", "energy", "physics", "chemistry", "neuroscience", "math", "earth"},
    ),
    (
        "001_754d7d6a045a83e8.txt",
        "",
        "precision-medicine",
        {"precision-medicine"},
        {"space", "physics", "climate", "neuroscience", "energy", "math", "archaeology"},
    ),
    (
        "002_e8b3459d31ab7e89.txt",
        "Experts converge in Guangming to chart future of scientific infrastructures",
        "science-policy",
        {"science-policy"},
        {"microbiology", "drug-discovery", "agrifood", "climate", "energy", "genomics"},
    ),
    (
        "003_034e7e5437f64165.txt",
        "International Cooperation key to Industrial Biotechnology Innovation",
        "biomanufacturing",
        {"biomanufacturing", "science-policy"},
        {"space", "neuroscience", "physics", "genomics", "math", "earth"},
    ),
    (
        "004_5a2f9e8ddc78b2b8.txt",
        "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine",
        {"precision-medicine", "health"},
        {"precision-medicine", "health"},
        {"space", "climate", "energy", "agrifood", "physics", "materials", "math"},
    ),
]


@pytest.mark.parametrize(
    ("seed", "title", "top", "present", "absent"),
    SEED_CASES,
    ids=[case[0][:3] for case in SEED_CASES],
)
def test_seed_reports_get_sensible_topics(
    seed: str, title: str, top: str | set[str], present: set[str], absent: set[str]
) -> None:
    tagged = slugs(tag_topics(title, read_seed(seed), language="en", limit=len(TOPICS)))
    assert tagged[0] in ({top} if isinstance(top, str) else top)
    assert present <= set(tagged)
    assert not absent & set(tagged)


@pytest.mark.parametrize(
    ("article", "language", "top", "present"),
    [
        ("en_space_nasa_budget", "en", "space", {"science-policy"}),
        ("en_genomics_crispr_patents", "en", "genomics", set()),
        ("en_climate_delhi_air", "en", "climate", set()),
        ("zh_space_astronaut_alcohol", "zh", "space", set()),
        ("zh_space_astronaut_alcohol", None, "space", set()),
    ],
)
def test_science_news_gets_its_topic_first(
    article: str, language: str | None, top: str, present: set[str]
) -> None:
    title, body = read_article(article)
    tagged = slugs(tag_topics(title, body, language=language))
    assert tagged[0] == top
    assert present <= set(tagged)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        read_article("en_politics_obama_guns"),
        read_article("zh_politics_hk_apology"),
        ("Arsenal beat Chelsea 2-1", "A late header settled the derby in front of 60,000 fans."),
        (
            "Rockets beat the Stars in overtime",
            "The Houston Rockets rallied from 15 points down as their star guard scored 40, "
            "launching a run that left the Dallas Stars fans silent. The coach praised the "
            "team's defence and said the season was far from over.",
        ),
        ("", ""),
        ("!!!", "... --- ///"),
    ],
    ids=["bbc-politics", "zh-politics", "football", "sport-with-space-words", "empty", "punct"],
)
def test_non_science_text_gets_no_topics(title: str, text: str) -> None:
    assert tag_topics(title, text) == []


# --- tagging: the misses the new tagger was built for -------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "wanted", "unwanted"),
    [
        (
            "基于改进遗传算法的物流配送路径优化",
            "针对车辆路径问题，本文提出一种改进的遗传算法，设计了新的交叉和变异算子，"
            "仿真结果表明该算法收敛速度快，求解质量高。",
            {"ai"},
            {"genomics"},
        ),
        (
            "Instruction tuning makes small language models follow prompts",
            "We fine-tune open language models on a mixture of instruction datasets and find that "
            "a 7B model rivals larger ones on reasoning benchmarks.",
            {"ai"},
            set(),
        ),
        (
            "Ocean currents are slowing in the North Atlantic",
            "Oceanographers measured the Atlantic meridional overturning circulation with moored "
            "instruments and found that the current has weakened over two decades, a change "
            "that could alter weather in Europe, the researchers report.",
            {"earth"},
            {"space"},
        ),
        (
            "",
            "利用郭守敬望远镜的光谱巡天数据，研究了银河系盘中红巨星的化学丰度与运动学特征，"
            "讨论了银盘的形成与演化。",
            {"space"},
            set(),
        ),
        (
            "",
            "利用多年地面气象观测和再分析资料，分析了华北地区夏季暴雨的时空分布特征及其"
            "与季风环流的关系。",
            {"earth"},
            {"space"},
        ),
    ],
    ids=["zh-genetic-algorithm", "language-models", "ocean-currents", "zh-astronomy", "zh-weather"],
)
def test_the_known_misses_are_fixed(
    title: str, text: str, wanted: set[str], unwanted: set[str]
) -> None:
    tagged = set(slugs(tag_topics(title, text, limit=len(TOPICS))))
    assert wanted <= tagged
    assert not unwanted & tagged


# --- tagging: priors from the feed ------------------------------------------------------------

WEAK_MICROBES = (
    "Soil samples from the valley",
    "The team cultured samples collected along the river and sequenced what grew on the "
    "plates; some colonies resisted common antibiotics, the researchers said.",
)
FOOTBALL = (
    "Arsenal beat Chelsea 2-1",
    "A late header settled the derby in front of 60,000 fans; the manager praised the team.",
)


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["Astronomy"], {"space"}),
        (["Space"], {"space"}),
        (["Microbiology", "News"], {"microbiology"}),
        (["Climate change"], {"climate"}),
        (["Robotics"], {"engineering"}),
        (["Public health"], {"health"}),
        (["Cell & molecular biology"], {"cell-biology"}),
        (["微生物学"], {"microbiology"}),
        (["考古"], {"archaeology"}),
        (["Science", "News", "Top stories", "Health & Science"], set()),
        (["", "x" * 500], set()),
    ],
)
def test_a_feed_category_names_a_topic_only_when_it_is_that_topic(
    categories: list[str], expected: set[str]
) -> None:
    assert category_topics(categories) == expected


def test_a_feed_category_lifts_its_topic_over_the_bar() -> None:
    title, text = WEAK_MICROBES
    assert "microbiology" not in slugs(tag_topics(title, text))
    assert "microbiology" in slugs(tag_topics(title, text, categories=["Microbiology"]))


def test_a_feeds_default_topic_is_a_prior_not_a_blanket_label() -> None:
    title, text = WEAK_MICROBES
    assert "microbiology" in slugs(tag_topics(title, text, feed_topics=["microbiology"]))
    assert tag_topics(*FOOTBALL, feed_topics=["space"], categories=["Space"]) == []


def test_text_in_another_language_is_judged_by_its_keywords_only() -> None:
    # German: the model reads English and Chinese only; a loanword alone is weak evidence.
    german = "Die Regierung diskutiert über Steuern und Renten. Die Opposition kritisiert den Plan."
    assert tag_topics("Haushalt 2025", german, language="de") == []
    ml = "Forscher nutzen Machine Learning und Deep Learning, um Fehler im Linux-Kernel zu finden."
    assert slugs(tag_topics("Machine Learning findet Bugs", ml, language="de")) == ["ai"]


# --- tagging: the result ------------------------------------------------------------------------


def test_topics_come_surest_first() -> None:
    tagged = tag_topics("", read_seed("002_e8b3459d31ab7e89.txt"), limit=len(TOPICS))
    scores = [t.score for t in tagged]
    assert len(tagged) > 1
    assert scores == sorted(scores, reverse=True)
    assert all(s >= 0 for s in scores)


def test_tagging_is_deterministic() -> None:
    text = read_seed("000_4f7f9f5734775d9e.txt")
    assert tag_topics("x", text) == tag_topics("x", text)


@pytest.mark.parametrize("limit", [0, 1, 2, -3])
def test_limit_caps_the_number_of_topics(limit: int) -> None:
    text = read_seed("002_e8b3459d31ab7e89.txt")
    everything = tag_topics("", text, limit=len(TOPICS))
    assert tag_topics("", text, limit=limit) == everything[: max(limit, 0)]


def test_tagging_a_huge_or_hostile_text_neither_crashes_nor_hangs() -> None:
    hostile = ("a" * 5000 + "\x00\ud800 ((((( " + "零" * 3000 + " ") * 200  # ~1.6 MB
    started = time.perf_counter()
    assert tag_topics(hostile, hostile) == []
    assert time.perf_counter() - started < 10


def test_tagging_a_2000_word_article_is_fast_after_warm_up() -> None:
    # A regression guard, generous for a loaded CI machine; benchmarks/topic_quality.py
    # measures the real figure (about 1-2 ms).
    title, body = read_article("en_climate_delhi_air")
    words = body.split()
    assert len(words) > 2000
    tag_topics(title, body)
    timings = []
    for shift in range(1, 8):
        fresh = " ".join(words[shift:] + words[:shift])  # a new string: no cached document
        started = time.perf_counter()
        tag_topics(title, fresh)
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.5
