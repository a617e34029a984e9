"""Tests for summaries.rules: the keyword rules subscribers write, how they parse and match."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from summaries.errors import SummariesError
from summaries.rules import (
    MAX_RULE_CHARS,
    MAX_RULE_TERMS,
    KeywordRule,
    RuleError,
    TermTable,
    parse_rule,
    text_indexes,
)
from summaries.terms import word_base

# --- matching ------------------------------------------------------------------------------------


MATCHES = [
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
    # a phrase does not run from the title into the text
    ('"gene editing"', "A new gene", "Editing follows.", False),
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
]


@pytest.mark.parametrize(("query", "title", "text", "expected"), MATCHES)
def test_rule_matches(query: str, title: str, text: str, expected: bool) -> None:
    assert parse_rule(query).matches(title, text) is expected


@pytest.mark.parametrize(("query", "title", "text", "expected"), MATCHES)
def test_term_tables_find_a_rule_exactly_where_it_matches(
    query: str, title: str, text: str, expected: bool
) -> None:
    rule = parse_rule(query)
    wanted, unwanted = TermTable(family=True), TermTable(family=False)
    for term in rule.include_terms:
        wanted.add(term, "rule")
    for term in rule.exclude_terms:
        unwanted.add(term, "rule")
    indexes = text_indexes(title, text)

    assert bool(wanted.found(indexes) - unwanted.found(indexes)) is expected


def test_a_term_table_emptied_term_by_term_equals_a_new_one() -> None:
    table = TermTable(family=True)
    terms = ["microbe", "microbes", '"gut microbes"', "gut microbiome", "量子计算"]
    for term in terms:
        table.add(term, term)
    table.add("microbe", "another owner")
    for term in terms:
        table.remove(term, term)
    table.remove("microbe", "another owner")

    assert table == TermTable(family=True)


# --- word families --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text"),
    [
        # a word of 5+ letters meets the words built on it
        ("microbes", "Microbial life in the soil."),
        ("microbes", "A microbiology lab opens."),
        ("microbes", "Microbiologists sampled the lake."),
        ("microbes", "The gut microbiome shapes mood."),
        ("microbes", "Changes in the microbiota."),
        ("microbe", "Microbially induced corrosion."),
        ("vaccine", "Vaccination rates rose."),
        ("compute", "A faster computation."),
        ("compute", "Computational chemistry."),
        ("robots", "A robotics start-up."),
        ("algorithm", "Algorithmic trading."),
        ("climate", "Climatic shifts."),
        ("climate", "Climatologists warn."),
        ("immune", "Advances in immunology."),
        ("physics", "Physicists spot a new boson."),
        ("magnet", "A magnetic field."),
        ("genome", "Genomic data."),
        # siblings: one word however it ends
        ("genomics", "The genome of a fern."),
        ("biology", "Biologists agree."),
        ("biology", "Biological clocks."),
        ("microbiology", "A microbiologist's notebook."),
        ("computation", "Computational models."),
        # inflections, and the acronym plurals Porter2 leaves alone
        ("LLMs", "A new LLM."),
        ("LLM", "Open LLMs catch up."),
        ("GPUs", "One GPU is enough."),
        ("GPU", "Cheaper GPUs."),
        ("CRISPRs", "A CRISPR screen."),
        ("mRNAs", "An mRNA vaccine."),
        ("bias", "Hidden biases in models."),
        ("studies", "She studied ice."),
        # a phrase's last word reaches its family
        ('"gut microbes"', "The gut microbiome of infants."),
        ('"gut microbes"', "Gut microbiota differ."),
        ('"quantum computing"', "Quantum computation at scale."),
    ],
)
def test_a_word_meets_its_family(query: str, text: str) -> None:
    assert parse_rule(query).matches("", text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        # short words stay themselves
        ("cell", "Cellular phones are everywhere."),
        ("gene", "The general said so."),
        ("gene", "A new generation of chips."),
        ("gene", "Genetic tests."),
        ("art", "Artificial intelligence."),
        ("art", "An artist's view."),
        ("micro", "Microsoft ships an update."),
        ("micro", "Microbes everywhere."),
        # false friends: a longer word that means something else
        ("physics", "Physical activity helps."),
        ("organ", "Organic farming."),
        ("organ", "Every organism needs water."),
        ("organ", "A research organization."),
        ("graph", "A graphene sheet."),
        ("graph", "Computer graphics."),
        ("class", "Classical music."),
        ("electron", "Consumer electronics."),
        ("meteor", "The meteorological office."),
        ("colon", "Colonial history."),
        ("universe", "The university hired."),
        ("nation", "A national park."),
        ("plants", "A planet far away."),
        ("neural", "A neuron fires."),
        ("neuron", "Neural networks."),
        ("compute", "A new computer."),
        ("rat", "The rate fell."),
        ("note", "It was not so."),
        # the family reaches down only: a derived word does not meet its root
        ("microbiome", "Microbes in soil."),
        ("differential", "A different approach."),
        ("classical", "A class of drugs."),
        ("robotics", "A robot vacuum."),
        # in a phrase only the last word widens
        ('"microbe community"', "The microbial community."),
    ],
)
def test_a_word_does_not_meet_a_false_friend(query: str, text: str) -> None:
    assert not parse_rule(query).matches("", text)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("microbes -virus", "Microbes and a virus.", False),
        ("microbes -virus", "Microbes and viruses.", False),
        ("microbes -virus", "Microbes and the viral load.", True),
        ("crispr -plants", "CRISPR in planted fields.", False),
        ("crispr -plants", "CRISPR on a planet.", True),
        ("crispr -plants", "CRISPR on a plantation.", True),
        ("crispr -organ", "CRISPR at a research organization.", True),
        ("crispr -organ", "CRISPR repairs an organ.", False),
        ("crispr -microbes", "CRISPR in the microbiome.", True),
        ("crispr -universe", "University team uses CRISPR.", True),
        ("crispr -LLMs", "CRISPR meets an LLM.", False),
        ("crispr -biology", "Biologists use CRISPR.", False),
    ],
)
def test_an_exclusion_meets_its_own_word_only(query: str, text: str, expected: bool) -> None:
    assert parse_rule(query).matches("", text) is expected


@pytest.mark.parametrize(
    ("word", "base"),
    [
        ("microbes", "microb"),
        ("microbe", "microb"),
        ("sequencing", "sequenc"),
        ("hoping", "hope"),
        ("running", "run"),
        ("studies", "studi"),
        ("viruses", "virus"),
        ("virus", "virus"),
        ("gas", "gas"),
        ("llms", "llm"),
        ("gpus", "gpu"),
        ("mrnas", "mrna"),
        ("biases", "bias"),
        ("biologist", "biologi"),
        ("genomics", "genom"),
        ("computational", "computation"),
        ("national", "national"),
        ("physics", "physic"),
        ("physical", "physical"),
        ("organic", "organic"),
        ("cas9", "cas9"),
        ("量", "量"),
    ],
)
def test_a_word_base_drops_inflections_only(word: str, base: str) -> None:
    assert word_base(word) == base


# --- Chinese ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # characters written together are one term, a substring: quoted or not
        ("量子计算", "量子计算机取得突破", True),
        ('"量子计算"', "量子计算机取得突破", True),
        ("量子计算", "量子 计算", True),
        ("量子计算", "云计算平台", False),
        ("量子计算", "量子、计算", False),
        ('"量子计算"', "计算量子态", False),
        # a quoted phrase with a space is the same run of characters
        ('"量子 计算"', "量子计算机", True),
        ('"量子 计算"', "云计算平台", False),
        # space-separated terms are separate terms, any of which matches, as in English
        ("量子 计算", "云计算平台", True),
        ("量子 计算", "量子纠缠", True),
        ("量子 计算", "人工智能", False),
        # Chinese and Latin words together
        ("用AI", "用AI设计蛋白质", True),
        ("AI芯片", "新一代AI芯片发布", True),
        ("crispr 基因编辑", "基因编辑婴儿", True),
    ],
)
def test_chinese_terms_match_as_substrings(query: str, text: str, expected: bool) -> None:
    assert parse_rule(query).matches("", text) is expected


def test_a_quoted_and_a_bare_chinese_word_are_the_same_rule() -> None:
    assert parse_rule('"量子计算"') == parse_rule("量子计算")
    assert str(parse_rule('"量子计算"')) == "量子计算"


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "include", "exclude", "canonical"),
    [
        ("crispr", ("crispr",), (), "crispr"),
        ('"gene editing" -plants', ("gene editing",), ("plants",), '"gene editing" -plants'),
        ("量子 计算", ("量子", "计算"), (), "量子 计算"),
        ("量子计算", ("量子计算",), (), "量子计算"),
        ('"量子 计算"', ("量子 计算",), (), '"量子 计算"'),
        ("合成生物学 -会议", ("合成生物学",), ("会议",), "合成生物学 -会议"),
        ("CRISPR-Cas9", ("crispr-cas9",), (), "crispr-cas9"),
        ('  Gene   "Base   Editing"  ', ("gene", "base editing"), (), 'gene "base editing"'),
        ("“gene drive” —mosquito", ("gene drive",), ("mosquito",), '"gene drive" -mosquito'),
        ('-"gene drive" crispr', ("crispr",), ("gene drive",), 'crispr -"gene drive"'),
        ('"gene editing', ("gene editing",), (), '"gene editing"'),
        ("crispr CRISPR crispr", ("crispr",), (), "crispr"),
        ("crispr - !!! --", ("crispr",), (), "crispr"),
        ('"-foo" bar', ("-foo", "bar"), (), '"-foo" bar'),
        ("ＡＩ", ("ai",), (), "ai"),
        ("LLMs microbes", ("llms", "microbes"), (), "llms microbes"),
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
        " ".join(f"word{i}" for i in range(MAX_RULE_TERMS + 1)),
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


# --- bounded work -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text"),
    [
        pytest.param(
            '"' + "gene " * 18 + 'drive"', "gene " * 330_000, id="a-phrase-that-almost-matches"
        ),
        pytest.param("量" * 40 + "子", "量" * 1_600_000, id="a-chinese-run-that-almost-matches"),
        pytest.param("microbes", "microbiologically " * 90_000, id="one-family-everywhere"),
        pytest.param("crispr", "a" * 1_600_000, id="one-endless-word"),
        pytest.param(
            "crispr -plants",
            " ".join(f"w{i:x}s" for i in range(240_000)),
            id="every-word-new",
        ),
        pytest.param("a.*b", "(a.*b|" * 270_000, id="punctuation-soup"),
    ],
)
def test_matching_a_hostile_megabyte_text_is_bounded(query: str, text: str) -> None:
    assert len(text) >= 1_600_000
    rule = parse_rule(query)
    started = time.perf_counter()
    rule.matches(text[:100], text)
    assert time.perf_counter() - started < 5


# Queries built from what subscribers type: words, quotes (straight and typographic),
# dashes, CJK, full-width letters, punctuation and odd whitespace.
_QUERY_ALPHABET = st.sampled_from(
    [
        *"abcxyzABC019 -\"'_.%\\",
        *["\u2212", "\u2013", "\u2014", "\u201c", "\u201d", "\u00a0", "\t", "\n"],
        *["量", "子", "计", "算", "Ａ", "ｂ", "é", "ß", "İ", "ﬁ", "\u0301", "\u200b", "🧬"],
    ]
)
queries = st.text(alphabet=_QUERY_ALPHABET, max_size=120) | st.text(max_size=60)


@settings(deadline=None)  # no per-example time limit: the suite runs on busy machines
@given(queries)
@example('"')
@example("- -")
@example('-"a b" "')
@example("ﬁ İ ß")
@example("ß\u0301")  # case folding undid NFKC: the canonical form did not parse back
def test_any_query_parses_to_a_canonical_rule_or_raises_rule_error(query: str) -> None:
    try:
        rule = parse_rule(query)
    except RuleError:
        return
    canonical = str(rule)
    assert parse_rule(canonical) == rule
    assert str(parse_rule(canonical)) == canonical
    assert len(canonical) <= MAX_RULE_CHARS
    assert 1 <= len(rule.include_terms) <= MAX_RULE_TERMS
