"""Sentence and word splitting: abbreviations, decimals, quotes, Chinese, line breaks."""

from __future__ import annotations

import pytest

from summaries.sentences import (
    Tokenizer,
    language_code,
    split_sentences,
    split_sentences_by_line,
    split_words,
)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        pytest.param(
            "Dr. Smith met Prof. Jones in the U.S. yesterday. They talked.",
            "en",
            ["Dr. Smith met Prof. Jones in the U.S. yesterday.", "They talked."],
            id="titles-and-us",
        ),
        pytest.param(
            "See e.g. the results. Room No. 5 is empty.",
            "en",
            ["See e.g. the results.", "Room No. 5 is empty."],
            id="eg-and-number",
        ),
        pytest.param(
            "On Jan. 12 the team met. Then it left.",
            "en",
            ["On Jan. 12 the team met.", "Then it left."],
            id="month-abbreviation",
        ),
        pytest.param(
            "He lives in the U.S. He moved there in 2001.",
            "en",
            ["He lives in the U.S.", "He moved there in 2001."],
            id="abbreviation-ends-sentence",
        ),
        pytest.param(
            "It costs $3.50 and grew 2.5% in 2024. Next.",
            "en",
            ["It costs $3.50 and grew 2.5% in 2024.", "Next."],
            id="decimals",
        ),
        pytest.param(
            '"Is it true?" she asked. "Yes," he said. He left.',
            "en",
            ['"Is it true?" she asked.', '"Yes," he said.', "He left."],
            id="straight-quotes",
        ),
        pytest.param(
            "He said “It works.” Then he left.",
            "en",
            ["He said “It works.”", "Then he left."],
            id="typographic-quote-stays-with-its-sentence",
        ),
        pytest.param(
            "First line without a stop\nSecond line. Third one.\n\n  Fourth",
            "en",
            ["First line without a stop", "Second line.", "Third one.", "Fourth"],
            id="newlines-are-boundaries",
        ),
        pytest.param(
            "今天天气很好。我们去公园吧！你去吗？",
            "zh",
            ["今天天气很好。", "我们去公园吧！", "你去吗？"],
            id="chinese-with-final-stop",
        ),
        pytest.param(
            "今天天气很好。最后一句没有句号",
            "zh",
            ["今天天气很好。", "最后一句没有句号"],
            id="chinese-without-final-stop",
        ),
        pytest.param(
            "你好!我很好? 版本3.5发布了. 真的",
            "zh",
            ["你好!", "我很好?", "版本3.5发布了.", "真的"],
            id="chinese-with-ascii-punctuation",
        ),
        pytest.param(
            "他说：“你好。”然后走了。院士出席。Dr. Li 发言。",
            "zh",
            ["他说：“你好。”", "然后走了。", "院士出席。", "Dr. Li 发言。"],
            id="chinese-quotes-and-latin-abbreviation",
        ),
        pytest.param(
            "Die Konferenz beginnt am 12. März. Prof. Dr. Weber spricht z. B. über Gene.",
            "de",
            ["Die Konferenz beginnt am 12. März.", "Prof. Dr. Weber spricht z. B. über Gene."],
            id="german",
        ),
        pytest.param("", "en", [], id="empty"),
        pytest.param(" \n\t\n ", "en", [], id="whitespace"),
    ],
)
def test_split_sentences(text: str, language: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "What if microbes could help? We are programming them.\n\nThe forum opened.",
            [(0, "What if microbes could help?"), (0, "We are programming them."),
             (2, "The forum opened.")],
            id="sentences-keep-their-paragraph",
        ),
        pytest.param(
            "' i feel very blessed , ' he said : ' it was close .\n' very lucky ' .",
            [(0, "' i feel very blessed , ' he said : ' it was close .'"),
             (1, "very lucky ' .")],
            id="a-closing-quote-stays-with-the-line-it-closes",
        ),
        pytest.param("", [], id="empty"),
    ],
)  # fmt: skip
def test_split_sentences_by_line_numbers_each_sentence_by_its_line(
    text: str, expected: list[tuple[int, str]]
) -> None:
    assert split_sentences_by_line(text) == expected
    assert [s for _, s in expected] == split_sentences(text)


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        ("Dr. Smith's well-known results, e.g. 3.5 U.S. data.", "en",
         ["Dr", "Smith's", "well-known", "results", "e", "g", "U", "S", "data"]),
        ("Über 300 Gäste kamen.", "de", ["Über", "Gäste", "kamen"]),
        ("中国科学院院士出席了会议，Dr. Li 发言。", "zh",
         ["中国科学院", "院士", "出席", "了", "会议", "Dr", "Li", "发言"]),
        ("", "en", []),
    ],
)  # fmt: skip
def test_split_words_keeps_letter_runs_only(
    sentence: str, language: str, expected: list[str]
) -> None:
    assert split_words(sentence, language) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [("en", "en"), ("EN-us", "en"), ("zh_Hans", "zh"), ("english", "en"), ("czech", "cs"),
     ("", None), (None, None)],
)  # fmt: skip
def test_language_code_accepts_iso_codes_and_sumy_names(
    given: str | None, expected: str | None
) -> None:
    assert language_code(given) == expected


def test_tokenizer_serves_sumy_documents() -> None:
    from sumy.parsers.plaintext import PlaintextParser

    parser = PlaintextParser.from_string("Dr. Li came. He left.\nA new line", Tokenizer("en"))
    assert [str(s) for s in parser.document.sentences] == [
        "Dr. Li came.",
        "He left.",
        "A new line",
    ]
    assert parser.document.sentences[0].words == ("Dr", "Li", "came")
