"""Tests for summaries.topics: the taxonomy, article tagging and subscription keyword rules."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from summaries.errors import SummariesError
from summaries.topics import (
    MAX_RULE_CHARS,
    MIN_SCORE,
    TOPICS,
    KeywordRule,
    RuleError,
    Topic,
    TopicScore,
    hashtag,
    parse_rule,
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

REQUIRED_SLUGS = [
    "ai", "synbio", "microbiology", "biomanufacturing", "genomics", "precision-medicine",
    "drug-discovery", "neuroscience", "climate", "energy", "materials", "physics", "chemistry",
    "space", "agrifood", "science-policy",
]  # fmt: skip


def test_taxonomy_has_the_required_slugs_in_display_order() -> None:
    assert [t.slug for t in TOPICS] == REQUIRED_SLUGS


def test_every_topic_has_a_readable_name_and_a_slug_safe_for_storage() -> None:
    for topic in TOPICS:
        assert topic.name.strip()
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", topic.slug)
        assert topic.emoji is None or topic.emoji.strip()


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
        ("drug-discovery", "#drug_discovery"),
        ("science-policy", "#science_policy"),
    ],
)
def test_hashtag_replaces_hyphens_telegram_cannot_link(slug: str, tag: str) -> None:
    assert hashtag(slug) == tag


def test_every_topic_hashtag_is_a_single_telegram_word() -> None:
    for topic in TOPICS:
        assert re.fullmatch(r"#\w+", hashtag(topic.slug))


# --- tagging: every topic, in English and in Chinese ------------------------------------------


@pytest.mark.parametrize(
    ("slug", "title"),
    [
        ("ai", "Machine learning model reads chest X-rays"),
        ("ai", "人工智能大模型发布"),
        ("synbio", "Synthetic biology startup builds gene circuits"),
        ("synbio", "合成生物学研究进展"),
        ("microbiology", "Gut microbiome shapes immunity"),
        ("microbiology", "微生物组研究揭示细菌新功能"),
        ("biomanufacturing", "New biomanufacturing plant opens in Tianjin"),
        ("biomanufacturing", "生物制造产业大会召开"),
        ("genomics", "CRISPR fixes a faulty gene"),
        ("genomics", "基因编辑技术新突破"),
        ("precision-medicine", "Precision medicine for rare cancers"),
        ("precision-medicine", "精准医学助力肿瘤治疗"),
        ("drug-discovery", "Startup speeds up drug discovery"),
        ("drug-discovery", "创新药研发提速"),
        ("neuroscience", "Neuroscientists map the hippocampus"),
        ("neuroscience", "脑科学与神经元研究"),
        ("climate", "Climate change melts glaciers faster"),
        ("climate", "气候变化加剧极端天气"),
        ("energy", "Solar cells break efficiency record"),
        ("energy", "光伏与储能产业"),
        ("materials", "Graphene membranes filter salt"),
        ("materials", "石墨烯新材料"),
        ("physics", "Physicists spot a new boson"),
        ("physics", "物理学家发现新粒子"),
        ("chemistry", "Chemists find a cheaper catalyst"),
        ("chemistry", "化学家发现新催化剂"),
        ("space", "Telescope spots a distant galaxy"),
        ("space", "嫦娥探月任务"),
        ("agrifood", "Drought-resistant wheat boosts crop yields"),
        ("agrifood", "水稻育种取得新进展"),
        ("science-policy", "Science funding cuts hit research infrastructure"),
        ("science-policy", "科技政策与大科学装置"),
    ],
)
def test_a_defining_keyword_in_the_title_tags_its_topic(slug: str, title: str) -> None:
    assert slug in slugs(tag_topics(title, ""))


# --- tagging: the seed reports ------------------------------------------------------------------

SEED_CASES = [
    # file, title, the top topic, topics that must be there, topics that must not
    (
        "000_4f7f9f5734775d9e.txt",
        "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology",
        "microbiology",
        {"microbiology", "synbio", "ai", "biomanufacturing"},
        {"space", "climate", "energy", "physics", "chemistry", "neuroscience", "agrifood"},
    ),
    (
        "001_754d7d6a045a83e8.txt",
        "",
        "precision-medicine",
        {"genomics", "precision-medicine", "drug-discovery", "biomanufacturing"},
        {"space", "physics", "climate", "neuroscience", "ai", "energy", "agrifood"},
    ),
    (
        "002_e8b3459d31ab7e89.txt",
        "Experts converge in Guangming to chart future of scientific infrastructures",
        "science-policy",
        {"science-policy", "ai", "neuroscience"},
        {"microbiology", "drug-discovery", "agrifood", "climate", "energy", "genomics"},
    ),
    (
        "003_034e7e5437f64165.txt",
        "International Cooperation key to Industrial Biotechnology Innovation",
        "biomanufacturing",
        {"biomanufacturing", "science-policy"},
        {"space", "neuroscience", "physics", "ai", "genomics", "microbiology"},
    ),
    (
        "004_5a2f9e8ddc78b2b8.txt",
        "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine",
        "precision-medicine",
        {"precision-medicine", "drug-discovery"},
        {"space", "climate", "energy", "agrifood", "physics", "materials"},
    ),
]


@pytest.mark.parametrize(
    ("seed", "title", "top", "present", "absent"),
    SEED_CASES,
    ids=[case[0][:3] for case in SEED_CASES],
)
def test_seed_reports_get_sensible_topics(
    seed: str, title: str, top: str, present: set[str], absent: set[str]
) -> None:
    tagged = slugs(tag_topics(title, read_seed(seed), language="en", limit=len(TOPICS)))
    assert tagged[0] == top
    assert present <= set(tagged)
    assert not absent & set(tagged)


def test_microbiology_symposium_default_limit_keeps_its_four_topics() -> None:
    seed, title, *_ = SEED_CASES[0]
    assert set(slugs(tag_topics(title, read_seed(seed)))) >= {
        "microbiology",
        "synbio",
        "ai",
        "biomanufacturing",
    }


# --- tagging: real articles from other sources ---------------------------------------------------


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
def test_science_articles_get_their_topic_first(
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
        ("", ""),
        ("!!!", "... --- ///"),
    ],
    ids=["bbc-politics", "zh-politics", "football", "empty", "punctuation"],
)
def test_non_science_text_gets_no_topics(title: str, text: str) -> None:
    assert tag_topics(title, text) == []


# --- tagging: scoring rules -------------------------------------------------------------------


def test_scores_are_best_first_and_above_the_threshold() -> None:
    title, body = read_article("en_climate_delhi_air")
    tagged = tag_topics(title, body, limit=len(TOPICS))
    scores = [t.score for t in tagged]
    assert len(tagged) > 1
    assert scores == sorted(scores, reverse=True)
    assert all(s >= MIN_SCORE for s in scores)


def test_tagging_is_deterministic() -> None:
    text = read_seed("000_4f7f9f5734775d9e.txt")
    assert tag_topics("x", text) == tag_topics("x", text)


@pytest.mark.parametrize("limit", [0, 1, 2, -3])
def test_limit_caps_the_number_of_topics(limit: int) -> None:
    text = read_seed("000_4f7f9f5734775d9e.txt")
    everything = tag_topics("", text, limit=len(TOPICS))
    assert tag_topics("", text, limit=limit) == everything[: max(limit, 0)]


def test_a_keyword_in_the_title_weighs_more_than_in_the_body() -> None:
    in_title = tag_topics("New CRISPR therapy", "Doctors treated ten patients.")
    in_body = tag_topics("New therapy", "Doctors used CRISPR to treat ten patients.")
    assert slugs(in_title) == ["genomics"]
    assert in_body == []


@pytest.mark.parametrize(
    "text",
    [
        "The innovation was welcomed.",  # one weak keyword in a short text
        "Researchers collaborate on innovation, talent, policy and funding. " * 3,  # only weak
        "A genome came up once. " + "The meeting discussed budgets and venues at length. " * 60,
    ],
    ids=["single-weak-word", "only-weak-words", "passing-mention-in-long-text"],
)
def test_passing_mentions_do_not_tag(text: str) -> None:
    assert tag_topics("", text) == []


def test_long_articles_do_not_win_by_size() -> None:
    focused = "CRISPR gene editing rewrites the genome of crops. Gene editing is fast. "
    padding = "The weather was mild and the streets were busy with shoppers. " * 150
    short = tag_topics("", focused)
    padded = tag_topics("", focused + padding)
    assert slugs(short) == ["genomics"]
    assert padded == [] or padded[0].score < short[0].score


@pytest.mark.parametrize(
    ("text", "unwanted"),
    [
        ("She said the painting was fine, he said it was not. " * 5, "ai"),
        ("Students at the university studied physical education and art history.", "space"),
        ("Students at the university studied physical education and art history.", "physics"),
        ("Smartphone sales grew; cellular networks and cell phones got cheaper.", "genomics"),
        (
            "A neural network classifies images; the neural network is deep learning.",
            "neuroscience",
        ),
    ],
)
def test_keywords_match_whole_words_not_lookalikes(text: str, unwanted: str) -> None:
    assert unwanted not in slugs(tag_topics("", text))


def test_english_language_hint_ignores_chinese_keywords() -> None:
    assert slugs(tag_topics("人工智能 | 机器学习", "")) == ["ai"]
    assert slugs(tag_topics("人工智能 | 机器学习", "", language="zh-CN")) == ["ai"]
    assert tag_topics("人工智能 | 机器学习", "", language="en") == []


def test_full_width_and_mixed_script_text_matches_keywords() -> None:
    assert slugs(tag_topics("ＣＲＩＳＰＲ基因编辑", "")) == ["genomics"]
    assert "ai" in slugs(tag_topics("用AI和机器学习设计蛋白", ""))


def test_tagging_a_huge_or_hostile_text_neither_crashes_nor_hangs() -> None:
    hostile = ("a" * 5000 + "\x00\ud800 ((((( " + "零" * 3000 + " ") * 200  # ~1.6 MB
    started = time.perf_counter()
    assert tag_topics(hostile, hostile) == []
    assert time.perf_counter() - started < 5


def test_tagging_a_2000_word_article_is_fast_after_warm_up() -> None:
    # A regression guard, generous for a loaded CI machine; the real figure is ~1-3 ms.
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
    assert statistics.median(timings) < 0.05


# --- keyword rules: matching --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        # stems
        ("sequence", "", "Genome sequencing got cheap.", True),
        ("sequencing", "", "They compared the DNA sequences.", True),
        ("microbes", "", "A microbe in the soil.", True),
        # word boundaries
        ("ai", "", "She said it was fine and waited.", False),
        ("ai", "", "AI-powered tools help.", True),
        ("cell", "", "Cellular phones are everywhere.", False),
        ("cell", "", "Stem cells divide.", True),
        # case and width
        ("AI", "", "new ai models", True),
        ("crispr", "", "ＣＲＩＳＰＲ screens", True),
        # phrases
        ('"gene editing"', "", "Gene-edited crops reach the market.", True),
        ('"gene editing"', "", "Editing a gene is hard.", False),
        ('"gene editing"', "", "He studied the gene. Editing came later.", False),
        ("CRISPR-Cas9", "", "using CRISPR/Cas9 in cells", True),
        ("CRISPR-Cas9", "", "CRISPR and Cas9 are separate words here", False),
        # any include term
        ("crispr talen", "", "TALENs were used.", True),
        ("crispr talen", "", "Zinc fingers were used.", False),
        # exclusions, in the title or the text
        ('"gene editing" -plants', "", "Gene editing in plants.", False),
        ('"gene editing" -plants', "", "Gene editing in mice.", True),
        ("crispr -mice", "Edited mice live longer", "A CRISPR study.", False),
        ("microbes -virus", "", "Microbes and viruses.", False),
        # title alone
        ("crispr", "CRISPR screen finds drug targets", "", True),
        # Chinese: substrings, any term
        ("量子 计算", "", "量子计算机取得突破", True),
        ("量子 计算", "", "云端算力", False),
        ("量子计算", "", "计算量子态", False),
        ("合成生物学", "", "深圳合成生物学大会开幕", True),
        ("合成生物学 -会议", "", "合成生物学会议开幕", False),
        ("ai", "", "用AI设计蛋白质", True),
        # regular-expression syntax is literal text
        ("a.*b", "", "acb", False),
        ("a.*b", "", "a.*b", True),
        ("c++", "", "written in C++", True),
        # nothing to match in
        ("crispr", "", "", False),
    ],
)
def test_rule_matches(query: str, title: str, text: str, expected: bool) -> None:
    assert parse_rule(query).matches(title, text) is expected


# --- keyword rules: parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "include", "exclude", "canonical"),
    [
        ("crispr", ("crispr",), (), "crispr"),
        ('"gene editing" -plants', ("gene editing",), ("plants",), '"gene editing" -plants'),
        ("量子 计算", ("量子", "计算"), (), "量子 计算"),
        ("CRISPR-Cas9", ("crispr-cas9",), (), "crispr-cas9"),
        ('  Gene   "Base   Editing"  ', ("gene", "base editing"), (), 'gene "base editing"'),
        ("“gene drive” —mosquito", ("gene drive",), ("mosquito",), '"gene drive" -mosquito'),
        ('-"gene drive" crispr', ("crispr",), ("gene drive",), 'crispr -"gene drive"'),
        ('"gene editing', ("gene editing",), (), '"gene editing"'),
        ("crispr CRISPR crispr", ("crispr",), (), "crispr"),
        ("crispr - !!! --", ("crispr",), (), "crispr"),
        ('"-foo" bar', ("-foo", "bar"), (), '"-foo" bar'),
        ("ＡＩ", ("ai",), (), "ai"),
    ],
)
def test_parse_rule_reads_words_phrases_and_exclusions(
    query: str, include: tuple[str, ...], exclude: tuple[str, ...], canonical: str
) -> None:
    rule = parse_rule(query)
    assert rule.include_terms == include
    assert rule.exclude_terms == exclude
    assert str(rule) == canonical
    assert parse_rule(str(rule)) == rule


def test_rule_built_directly_is_normalised_like_a_parsed_one() -> None:
    assert KeywordRule(("CRISPR", " Gene  Editing "), ("Plants",)) == parse_rule(
        'crispr "gene editing" -plants'
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!! ???",
        '""',
        "-plants",
        '-"gene drive" -mosquito',
        "crispr -crispr",
        "x" * (MAX_RULE_CHARS + 1),
        " ".join(f"word{i}" for i in range(11)),
        "a b c d e f -g -h -i -j -k",
    ],
    ids=[
        "empty",
        "blank",
        "punctuation-only",
        "empty-quotes",
        "only-exclusion",
        "only-exclusions",
        "both-wanted-and-excluded",
        "too-long",
        "too-many-terms",
        "too-many-with-exclusions",
    ],
)
def test_parse_rule_rejects_unusable_queries(query: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(query)


def test_rule_error_is_a_summaries_error_and_a_value_error() -> None:
    with pytest.raises(SummariesError):
        parse_rule("")
    with pytest.raises(ValueError, match="at least one"):
        parse_rule("-plants")


def test_the_longest_allowed_rule_round_trips() -> None:
    query = " ".join(f"term{i:05d}" for i in range(9))
    query += " " + "z" * (MAX_RULE_CHARS - len(query) - 1)
    assert len(query) == MAX_RULE_CHARS
    rule = parse_rule(query)
    assert parse_rule(str(rule)) == rule
