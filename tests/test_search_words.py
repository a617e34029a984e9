"""Search words: what the index holds for a text and what a /search query looks for, and the
FTS5 and tsquery/tsvector literals made from them."""

from __future__ import annotations

import pytest

from db.search import fts5_match, tsquery_literal, tsvector_literal
from summaries.search import (
    MAX_WORD_CHARS,
    SearchDocument,
    SearchQuery,
    SearchTerm,
    search_document,
    search_query,
    search_term,
    search_words,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Microbes and the microbe", ["microb", "and", "the", "microb"]),
        ("Sequencing studies", ["sequenc", "studi"]),
        ("LLMs and GPUs", ["llm", "and", "gpu"]),
        ("Microbial microbiology", ["microbial", "microbiologi"]),
        ("CRISPR-Cas9, gene_edited!", ["crispr", "cas9", "gene", "edit"]),
        ("ＦＵＬＬ-width Ａ１", ["full", "width", "a1"]),
        ("Straße", ["strass"]),
        ("量子计算机", ["量子", "计算", "算机", "计算机"]),
        ("CRISPR基因编辑", ["crispr", "基因", "编辑"]),
        ("... — !!!", []),
        ("x" * (MAX_WORD_CHARS + 1) + " kept", ["kept"]),
    ],
)
def test_a_text_becomes_case_folded_word_bases_and_jieba_words(text: str, words: list[str]) -> None:
    assert search_words(text) == words


def test_only_the_first_part_of_a_huge_text_is_indexed() -> None:
    assert search_words("alpha beta gamma", limit=10) == ["alpha", "beta"]


def test_an_article_is_indexed_by_its_title_and_its_text_apart() -> None:
    assert search_document("Gut microbes", "Sequencing them.") == SearchDocument(
        "gut microb", "sequenc them"
    )


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("microbes", SearchTerm(("microb",), phrase=False)),
        ("Gene editing", SearchTerm(("gene", "edit"), phrase=True)),
        ("CRISPR-Cas9", SearchTerm(("crispr", "cas9"), phrase=True)),
        # Chinese: the smallest words jieba finds, in any order.
        ("量子计算机", SearchTerm(("量子", "计算", "算机"), phrase=False)),
        ("人工智能", SearchTerm(("人工", "智能"), phrase=False)),
        ("AI芯片", SearchTerm(("ai", "芯片"), phrase=False)),
        ("!!!", None),
        ("_", None),
    ],
)
def test_a_query_term_is_its_words_in_a_row_or_its_chinese_words(
    term: str, expected: SearchTerm | None
) -> None:
    assert search_term(term) == expected


def test_a_query_with_a_wanted_term_without_words_finds_nothing() -> None:
    assert search_query(["fusion", "..."]) is None
    assert search_query([]) is None
    assert search_query(["fusion"], ["..."]) == SearchQuery((SearchTerm(("fusion",), False),))


QUERIES = [
    (["fusion"], [], '("fusion")', "('fusion')"),
    (["gene editing"], [], '("gene edit")', "('gene' <-> 'edit')"),
    (["量子计算"], [], '("量子" AND "计算")', "('量子' & '计算')"),
    (
        ["fusion", "reactor"],
        ["tokamak", "cold fusion"],
        '((("fusion") AND ("reactor")) NOT ("tokamak")) NOT ("cold fusion")',
        "('fusion') & ('reactor') & !('tokamak') & !('cold' <-> 'fusion')",
    ),
]


@pytest.mark.parametrize(("include", "exclude", "fts5", "tsquery"), QUERIES)
def test_queries_become_fts5_and_tsquery_expressions(
    include: list[str], exclude: list[str], fts5: str, tsquery: str
) -> None:
    query = search_query(include, exclude)
    assert query is not None
    assert fts5_match(query) == fts5
    assert tsquery_literal(query) == tsquery


def test_a_tsvector_weights_title_words_and_keeps_a_gap_before_the_body() -> None:
    assert tsvector_literal(SearchDocument("gene edit", "edit crop")) == (
        "'gene':1A 'edit':2A,4 'crop':5"
    )
