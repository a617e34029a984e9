"""summarize(): order, determinism, limits, languages, algorithms, and real seed articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from summaries.summarize import ALGORITHMS, MAX_SENTENCES, summarize

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))
FURNITURE = {"中文 |", "Newsroom", "Share", "Print", "A+", "A-"}

NEWS = (
    "Scientists from 40 countries met in Geneva on Monday for a conference on climate models.\n"
    "The meeting was organised by the World Meteorological Organization and runs for a week.\n"
    "Dr. Maria Lopez said the new climate models predict regional rainfall far better.\n"
    "Photo: the conference hall.\n"
    "Several sessions focus on how climate models can guide farmers and city planners.\n"
    "The organisers expect more than 900 participants, many of them young researchers.\n"
    "Lunch will be served in the main hall every day.\n"
    "The next conference on climate models will take place in Nairobi in 2027.\n"
)


def _fixture(name: str) -> str:
    return (FIXTURES / "summarize" / name).read_text(encoding="utf-8")


def test_sentences_come_in_article_order() -> None:
    summary = summarize(NEWS, max_sentences=3)
    positions = [NEWS.index(s) for s in summary.sentences]
    assert len(summary.sentences) == 3
    assert positions == sorted(positions)


def test_summary_is_deterministic() -> None:
    runs = {tuple(summarize(NEWS, algorithm=a).sentences) for a in ALGORITHMS for _ in range(3)}
    assert len(runs) <= len(ALGORITHMS)
    for algorithm in ALGORITHMS:
        assert summarize(NEWS, algorithm=algorithm) == summarize(NEWS, algorithm=algorithm)


@pytest.mark.parametrize("max_sentences", [1, 2, 5, 50])
def test_max_sentences_bounds_the_summary(max_sentences: int) -> None:
    summary = summarize(NEWS, max_sentences=max_sentences)
    assert len(summary.sentences) == min(max_sentences, 8)


@pytest.mark.parametrize("max_chars", [100, 180, 300])
def test_max_chars_takes_whole_sentences(max_chars: int) -> None:
    summary = summarize(NEWS, max_sentences=3, max_chars=max_chars)
    assert summary.sentences
    assert len(summary.text) <= max_chars
    assert all(s in NEWS for s in summary.sentences)


@pytest.mark.parametrize(
    ("text", "max_chars", "expected"),
    [
        ("Scientists from forty countries met in Geneva on Monday.", 30, "Scientists from forty…"),
        ("Scientists from forty countries met.", 22, "Scientists from forty…"),
        ("Supercalifragilistic is a word.", 10, "Supercali…"),
        ("第十届国际量子科学论坛在合肥开幕。", 8, "第十届国际量子…"),
    ],
)
def test_a_sentence_longer_than_max_chars_is_cut_at_a_word_boundary(
    text: str, max_chars: int, expected: str
) -> None:
    (only,) = summarize(text, max_chars=max_chars).sentences
    assert only == expected
    assert len(only) <= max_chars


def test_long_input_is_capped_to_its_first_sentences() -> None:
    lead = [f"Sentence number {i} talks about topic {i % 7}." for i in range(MAX_SENTENCES)]
    tail = ["Quantum quantum quantum physics conference quantum physics."] * 5_000
    text = "\n".join(lead + tail)
    for algorithm in ("pacsum", "textrank", "luhn"):
        summary = summarize(text, language="en", algorithm=algorithm)
        assert len(summary.sentences) == 3
        assert all(s in lead for s in summary.sentences)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n"])
def test_empty_text_gives_no_sentences(text: str) -> None:
    for algorithm in ALGORITHMS:
        assert summarize(text, algorithm=algorithm).sentences == []


@pytest.mark.parametrize(
    "text",
    ["!!! ... ???", "12 34 56. 78 90.", "a", "The the the. The the. The.", "ok\nok\nok\nok"],
)
def test_degenerate_text_never_raises(text: str) -> None:
    for algorithm in ALGORITHMS:
        summary = summarize(text, algorithm=algorithm, max_chars=20)
        assert all(s for s in summary.sentences)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_picks_sentences_of_the_text(algorithm: str) -> None:
    summary = summarize(NEWS, algorithm=algorithm, max_sentences=2)
    assert len(summary.sentences) == 2
    assert all(s in NEWS for s in summary.sentences)
    assert summary.language == "en"


def test_unknown_algorithm_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="kl"):
        summarize(NEWS, algorithm="kl")


def test_chinese_article_is_summarized_without_page_furniture() -> None:
    text = _fixture("zh_article.txt")
    summary = summarize(text, max_sentences=2)
    assert summary.language == "zh"
    assert len(summary.sentences) == 2
    assert all(s in text and len(s) >= 20 for s in summary.sentences)
    assert not any(s.startswith(("中文", "首页", "责任编辑")) for s in summary.sentences)


@pytest.mark.parametrize(
    ("name", "language", "first_words"),
    [
        ("de_article.txt", "de", "Forscherinnen und Forscher aus 30 Ländern"),
        ("fr_article.txt", "fr", "Le congrès international d'astronomie"),
    ],
)
def test_european_languages_are_detected_and_summarized(
    name: str, language: str, first_words: str
) -> None:
    text = _fixture(name)
    summary = summarize(text, max_sentences=2)
    assert summary.language == language
    assert summary.sentences[0].startswith(first_words)
    assert all(s in text for s in summary.sentences)


def test_a_given_language_is_used() -> None:
    assert summarize(_fixture("de_article.txt"), language="german").language == "de"


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_article_summary_holds_real_sentences(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    summary = summarize(text, max_sentences=3)
    assert summary.language == "en"
    assert len(summary.sentences) == 3
    for sentence in summary.sentences:
        assert sentence in text
        assert sentence not in FURNITURE
        assert "|" not in sentence
        assert len(sentence.split()) >= 8
