"""Tests for summaries.keywords: the curated topic vocabulary and its scorer."""

from __future__ import annotations

import time

import pytest

from summaries.keywords import MIN_SCORE, defining_terms, keyword_scores, research_mentions
from summaries.topics import TOPICS


def tagged(title: str, text: str = "", language: str | None = None) -> set[str]:
    """What the keywords alone tag: every topic at MIN_SCORE or more."""
    return {s for s, v in keyword_scores(title, text, language=language).items() if v >= MIN_SCORE}


def test_every_topic_has_defining_keywords_in_english_and_chinese() -> None:
    for topic in TOPICS:
        terms = defining_terms(topic.slug)
        assert any(t.is_cjk for t in terms), topic.slug
        assert any(not t.is_cjk for t in terms), topic.slug


@pytest.mark.parametrize(
    ("slug", "title"),
    [
        ("ai", "Machine learning model reads chest X-rays"),
        ("ai", "人工智能大模型发布"),
        ("math", "Mathematicians prove a decades-old conjecture"),
        ("math", "数学家证明数论猜想"),
        ("physics", "Physicists spot a new boson"),
        ("physics", "物理学家发现新粒子"),
        ("space", "Telescope spots a distant galaxy"),
        ("space", "嫦娥探月任务"),
        ("chemistry", "Chemists find a cheaper catalyst"),
        ("chemistry", "化学家发现新催化剂"),
        ("materials", "Graphene membranes filter salt"),
        ("materials", "石墨烯新材料"),
        ("energy", "Solar cells break efficiency record"),
        ("energy", "光伏与储能产业"),
        ("engineering", "Robots learn to climb stairs"),
        ("engineering", "土木工程与桥梁建设"),
        ("earth", "Earthquake and tsunami warning improved by seafloor sensors"),
        ("earth", "台风与暴雨预报"),
        ("climate", "Climate change melts glaciers faster"),
        ("climate", "气候变化加剧极端天气"),
        ("ecology", "Biodiversity loss threatens coral reef ecosystems"),
        ("ecology", "生物多样性与生态系统保护"),
        ("agrifood", "Drought-resistant wheat boosts crop yields"),
        ("agrifood", "水稻育种取得新进展"),
        ("cell-biology", "Cryo-EM reveals how mitochondria divide"),
        ("cell-biology", "线粒体与细胞凋亡"),
        ("genomics", "CRISPR fixes a faulty gene"),
        ("genomics", "基因编辑技术新突破"),
        ("synbio", "Synthetic biology startup builds gene circuits"),
        ("synbio", "合成生物学研究进展"),
        ("microbiology", "Gut microbiome shapes immunity"),
        ("microbiology", "微生物组研究揭示细菌新功能"),
        ("biomanufacturing", "New biomanufacturing plant opens in Tianjin"),
        ("biomanufacturing", "生物制造产业大会召开"),
        ("neuroscience", "Neuroscientists map the hippocampus"),
        ("neuroscience", "脑科学与神经元研究"),
        ("health", "Public health officials track diabetes and hypertension"),
        ("health", "公共卫生与流行病学"),
        ("precision-medicine", "Precision medicine for rare cancers"),
        ("precision-medicine", "精准医学助力肿瘤治疗"),
        ("drug-discovery", "Startup speeds up drug discovery"),
        ("drug-discovery", "创新药研发提速"),
        ("social-science", "Psychologists and economists study inequality"),
        ("social-science", "心理学与社会学研究"),
        ("archaeology", "Archaeologists excavate a Neolithic burial"),
        ("archaeology", "考古发掘新石器遗址"),
        ("science-policy", "Science funding cuts hit research infrastructure"),
        ("science-policy", "科技政策与大科学装置"),
    ],
)
def test_a_defining_keyword_in_the_title_reaches_the_bar(slug: str, title: str) -> None:
    assert slug in tagged(title)


def test_a_genetic_algorithm_is_not_genomics() -> None:
    # The veto: "遗传算法" holds "遗传" (genetic), and "genetic algorithm" holds "genetic".
    assert "genomics" not in keyword_scores("基于遗传算法的路径优化", "采用遗传算法求解调度问题。")
    assert "genomics" not in keyword_scores("A genetic algorithm for scheduling", "")
    assert "genomics" in tagged("遗传与基因组研究")


def test_a_keyword_in_the_title_weighs_more_than_in_the_body() -> None:
    in_title = keyword_scores("New CRISPR therapy", "Doctors treated ten patients.")
    in_body = keyword_scores("New therapy", "Doctors used CRISPR to treat ten patients.")
    assert in_title["genomics"] > in_body["genomics"]
    assert "genomics" in tagged("New CRISPR therapy", "Doctors treated ten patients.")
    assert "genomics" not in tagged("New therapy", "Doctors used CRISPR to treat ten patients.")


@pytest.mark.parametrize(
    "text",
    [
        "The innovation was welcomed.",  # one weak keyword in a short text
        "Researchers collaborate on innovation, talent, policy and funding. " * 3,  # only weak
        "A genome came up once. " + "The meeting discussed budgets and venues at length. " * 60,
    ],
    ids=["single-weak-word", "only-weak-words", "passing-mention-in-long-text"],
)
def test_passing_mentions_do_not_reach_the_bar(text: str) -> None:
    assert tagged("", text) == set()


def test_long_articles_do_not_win_by_size() -> None:
    focused = "CRISPR gene editing rewrites the genome of crops. Gene editing is fast. "
    padding = "The weather was mild and the streets were busy with shoppers. " * 150
    short = keyword_scores("", focused)["genomics"]
    padded = keyword_scores("", focused + padding).get("genomics", 0.0)
    assert short >= MIN_SCORE
    assert padded < short


@pytest.mark.parametrize(
    ("text", "unwanted"),
    [
        ("She said the painting was fine, he said it was not. " * 5, "ai"),
        ("Students at the university studied physical education and art history.", "space"),
        ("Students at the university studied physical education and art history.", "physics"),
        ("Smartphone sales grew; cellular networks and cell phones got cheaper.", "genomics"),
        ("Smartphone sales grew; cellular networks and cell phones got cheaper.", "cell-biology"),
        (
            "A neural network classifies images; the neural network is deep learning.",
            "neuroscience",
        ),
        ("Is Wi-Fi ruining college? Students are ruining their sleep.", "archaeology"),
    ],
)
def test_keywords_match_whole_words_not_lookalikes(text: str, unwanted: str) -> None:
    assert unwanted not in tagged("", text)


def test_an_english_language_hint_ignores_chinese_keywords() -> None:
    assert tagged("人工智能 | 机器学习") == {"ai"}
    assert tagged("人工智能 | 机器学习", language="zh-CN") == {"ai"}
    assert tagged("人工智能 | 机器学习", language="en") == set()


def test_full_width_and_mixed_script_text_matches_keywords() -> None:
    assert "genomics" in tagged("ＣＲＩＳＰＲ基因编辑")
    assert "ai" in tagged("用AI和机器学习设计蛋白")


@pytest.mark.parametrize(
    ("title", "text", "at_least"),
    [
        ("", "Researchers at the university published the study in a journal.", 4),
        ("", "研究人员在论文中提出了新方法，实验结果表明其有效。", 4),
        ("Arsenal beat Chelsea 2-1", "A late header settled the derby in front of 60,000 fans.", 0),
    ],
)
def test_research_mentions_count_the_register_of_research(
    title: str, text: str, at_least: int
) -> None:
    found = research_mentions(title, text)
    assert found >= at_least
    if at_least == 0:
        assert found == 0


def test_scoring_a_huge_or_hostile_text_neither_crashes_nor_hangs() -> None:
    hostile = ("a" * 5000 + "\x00\ud800 ((((( " + "零" * 3000 + " ") * 200  # ~1.6 MB
    started = time.perf_counter()
    keyword_scores(hostile, hostile)
    research_mentions(hostile, hostile)
    assert time.perf_counter() - started < 10
