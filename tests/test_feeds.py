"""Feed parsing from bytes to normalised entries (summaries.feeds).

The corpus fixtures are real feeds copied from /work/shared/corpus/feeds (see MANIFEST.tsv
next to them); the 1.6 MB giantbomb podcast feed is stored gzipped. ``handmade/`` holds
small feeds written for one behaviour each.
"""

from __future__ import annotations

import functools
import gzip
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from summaries.errors import FeedParseError
from summaries.feeds import (
    MAX_CATEGORIES,
    MAX_CATEGORY_CHARS,
    MAX_ENTRIES,
    ParsedEntry,
    ParsedFeed,
    Structure,
    decode_feed_bytes,
    parse_feed,
    scan_structure,
)

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
HANDMADE = FIXTURES / "handmade"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FEED_URL = "https://feeds.example.com/science/feed.xml"

# Entries each corpus feed must yield (document order, empty entries skipped, cap applied).
CORPUS_ENTRY_COUNTS = {
    "enc_big5_nodecl_synthetic.xml": 0,
    "enc_gb2312_nodecl_synthetic.xml": 1,
    "enc_utf-16le_synthetic.xml": 1,
    "enc_windows-1251_ibash.xml": 50,
    "enc_windows-1251_xakep.xml": 25,
    "news_bbc-urdu_rtl.xml": 26,
    "news_bbc.xml": 1,
    "news_golem_iso-8859-1.xml": 40,
    "news_heise_rss09.rdf": 60,
    "news_jn-pt_iso-8859-1.rss": 40,
    "news_nextinpact_full_nodecl.xml": 45,
    "news_nytimes_home.xml": 33,
    "news_retriever-no_iso-8859-1.xml": 30,
    "news_slashdot_rss10.rdf": 10,
    "news_techcrunch.xml": 20,
    "news_theverge.atom": 10,
    "odd_doyler_leading-space.xml": 10,
    "odd_dustri_large_atom.xml": 25,
    "odd_feedburner_xhtml.atom": 10,
    "odd_giantbomb_podcast_huge.rss.gz": MAX_ENTRIES,
    "odd_github_commits_media.atom": 20,
    "odd_insanity-industries_xml-base.xml": 2,
    "odd_intertwingly_relative.atom": 20,
    "odd_medium_content-encoded.rss": 7,
    "odd_neverwinter_relative-urls.xml": 2,
    "sci_biorxiv_plant-biology.rdf": 30,
    "sci_biorxiv_small_rss10.xml": 1,
    "sci_lecerclepsy_iso-8859-1_nodecl.xml": 9,  # the tenth <item> is empty
    "sci_medscape_familymedicine.rss": 20,
    "sci_neverworkintheory.atom": 20,
    "sci_usgs_earthquakes_hour.atom": 6,
    "sci_wapo_wellness.xml": 29,
    "sci_wiley_jvegsci_rss10.xml": 44,
    "zh_caogen_bom.xml": 22,
    "zh_chocoluffy_relative-links.atom": 20,
    "zh_dapenti_iframe.xml": 30,
    "zh_oschina_news.xml": 50,
    "zh_ruanyifeng_blog.atom": 3,
    "zh_v2ex_no-id-no-summary-no-url.atom": 3,
}

# A non-ASCII word each feed must decode to (anywhere in feed title, entry titles or text).
KNOWN_WORDS = {
    "enc_big5_nodecl_synthetic.xml": "我希望",
    "enc_gb2312_nodecl_synthetic.xml": "不归移民漫画系列",
    "enc_windows-1251_ibash.xml": "Цитата",
    "enc_windows-1251_xakep.xml": "Руководители разведки",
    "news_bbc-urdu_rtl.xml": "امریکی",
    "news_golem_iso-8859-1.xml": "wünschen",
    "news_heise_rss09.rdf": "Vorsichtsmaßnahmen",
    "news_jn-pt_iso-8859-1.rss": "Mãe de utente",
    "news_nextinpact_full_nodecl.xml": "récapitulatif",
    "news_retriever-no_iso-8859-1.xml": "SVART MÅNAD",
    "news_techcrunch.xml": "Angie’s List",
    "sci_lecerclepsy_iso-8859-1_nodecl.xml": "l'urgence thérapeutique",
    "zh_caogen_bom.xml": "疫情之后形势预判",
    "zh_chocoluffy_relative-links.atom": "换脸",
    "zh_dapenti_iframe.xml": "阿富汗",
    "zh_oschina_news.xml": "终端",
    "zh_ruanyifeng_blog.atom": "科技爱好者周刊",
    "zh_v2ex_no-id-no-summary-no-url.atom": "异步",
}

# Languages most entries must carry, declared or detected.
MAJORITY_LANGUAGES = {
    "enc_windows-1251_ibash.xml": "ru",
    "enc_windows-1251_xakep.xml": "ru",
    "news_bbc-urdu_rtl.xml": "ur",
    "news_golem_iso-8859-1.xml": "de",
    "news_heise_rss09.rdf": "de",
    "news_jn-pt_iso-8859-1.rss": "pt",
    "news_nextinpact_full_nodecl.xml": "fr",
    "sci_lecerclepsy_iso-8859-1_nodecl.xml": "fr",
    "sci_biorxiv_plant-biology.rdf": "en",
    "zh_caogen_bom.xml": "zh",
    "zh_chocoluffy_relative-links.atom": "zh",
    "zh_dapenti_iframe.xml": "zh",
    "zh_oschina_news.xml": "zh",
    "zh_ruanyifeng_blog.atom": "zh",
}

# Markup that must not survive into text ("<L29Ah>" in an IRC quote is text, not a tag).
_TAG = re.compile(
    r"</?(?:p|div|span|a|b|i|em|strong|br|hr|img|script|style|iframe|ul|ol|li|table|tr|td"
    r"|h[1-6]|blockquote|figure|section|article|font|center)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
# Entries whose prose quotes HTML source code on purpose.
CODE_SAMPLE_ENTRIES = {
    ("odd_doyler_leading-space.xml", "More Intigriti XSS"),
    ("odd_dustri_large_atom.xml", "Youtube video embedding"),
}
_MOJIBAKE = re.compile("[ÃÐÑ][\u0080-\u00bf]|\ufffd")


def read_fixture(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def parse_file(path: Path, **options: str | None) -> ParsedFeed:
    return parse_feed(read_fixture(path), url=FEED_URL, now=NOW, **options)


@functools.cache
def timed_parse_corpus(name: str) -> tuple[ParsedFeed, float]:
    """Each corpus feed is parsed once per test session; the tests only read the result."""
    content = read_fixture(FIXTURES / name)
    started = time.perf_counter()
    feed = parse_feed(content, url=FEED_URL, now=NOW)
    return feed, time.perf_counter() - started


def parse_corpus(name: str) -> ParsedFeed:
    return timed_parse_corpus(name)[0]


def parse_handmade(name: str) -> ParsedFeed:
    return parse_file(HANDMADE / name)


def by_title(feed: ParsedFeed) -> dict[str, ParsedEntry]:
    return {entry.title: entry for entry in feed.entries}


def test_every_corpus_file_has_an_expectation() -> None:
    files = {p.name for p in FIXTURES.iterdir() if p.is_file() and p.name != "MANIFEST.tsv"}
    assert files == set(CORPUS_ENTRY_COUNTS)


@pytest.mark.parametrize("name", sorted(CORPUS_ENTRY_COUNTS))
def test_corpus_feed_parses_into_sane_entries(name: str) -> None:
    feed = parse_corpus(name)

    assert len(feed.entries) == CORPUS_ENTRY_COUNTS[name]
    assert feed.title.strip() == feed.title != ""
    assert feed.site_url is None or feed.site_url.startswith(("http://", "https://"))
    assert feed.language is None or re.fullmatch("[a-z]{2}", feed.language)
    assert all("\n" not in warning for warning in feed.warnings)
    guids = [entry.guid for entry in feed.entries]
    assert len(set(guids)) == len(guids)
    for entry in feed.entries:
        assert entry.guid.strip() == entry.guid != ""
        assert entry.title.strip() == entry.title != ""
        assert "\n" not in entry.title
        assert not _TAG.search(entry.title), entry.title
        if not any(name == n and entry.title.startswith(t) for n, t in CODE_SAMPLE_ENTRIES):
            assert not _TAG.search(entry.text), entry.text
        assert not _MOJIBAKE.search(entry.title + entry.text)
        assert entry.published.utcoffset() == timedelta(0)
        assert entry.published <= NOW
        if entry.url is not None:
            assert entry.url.startswith(("http://", "https://")), entry.url
            assert "#" not in entry.url
            assert "utm_" not in entry.url
        assert entry.language is None or re.fullmatch("[a-z]{2}", entry.language)
        assert entry.text == entry.text.strip()
        assert "\n\n\n" not in entry.text


@pytest.mark.parametrize(("name", "word"), sorted(KNOWN_WORDS.items()))
def test_corpus_feed_decodes_non_ascii_text(name: str, word: str) -> None:
    feed = parse_corpus(name)
    everything = "\n".join([feed.title, *(f"{e.title}\n{e.text}" for e in feed.entries)])
    assert word in everything


@pytest.mark.parametrize(("name", "language"), sorted(MAJORITY_LANGUAGES.items()))
def test_corpus_entries_carry_their_language(name: str, language: str) -> None:
    feed = parse_corpus(name)
    matching = sum(entry.language == language for entry in feed.entries)
    assert matching > len(feed.entries) / 2


def test_feed_with_more_than_max_entries_is_capped_and_fast() -> None:
    feed, elapsed = timed_parse_corpus("odd_giantbomb_podcast_huge.rss.gz")

    assert len(feed.entries) == MAX_ENTRIES
    assert feed.entries[0].title == "Giant Bombcast 603: Call of Tuesday"
    assert any("730 entries" in warning for warning in feed.warnings)
    assert not any("well-formed" in warning for warning in feed.warnings)
    # ~0.7 s on an idle machine; the bound leaves room for a busy CI runner.
    assert elapsed < 3.0


def test_parsing_is_deterministic() -> None:
    content = read_fixture(FIXTURES / "news_techcrunch.xml")
    assert parse_feed(content, url=FEED_URL, now=NOW) == parse_feed(content, url=FEED_URL, now=NOW)


# --- encodings ----------------------------------------------------------------------------

_SMALL_FEED = (
    "<rss version='2.0'><channel><title>Café Science</title>"
    "<item><title>Ünïcode 科学 news</title><link>https://enc.example.org/1</link></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (_SMALL_FEED.encode("utf-8"), None),
        (b"\xef\xbb\xbf" + _SMALL_FEED.encode("utf-8"), None),
        (b"\xfe\xff" + _SMALL_FEED.encode("utf-16-be"), None),
        (b"\xff\xfe" + _SMALL_FEED.encode("utf-16-le"), None),
        (_SMALL_FEED.encode("utf-16-le"), None),
        (_SMALL_FEED.encode("utf-16-be"), None),
        (('<?xml version="1.0" encoding="UTF-16"?>' + _SMALL_FEED).encode("utf-16"), None),
        (_SMALL_FEED.encode("utf-32"), None),
        (_SMALL_FEED.encode("utf-8"), "text/xml"),
        (_SMALL_FEED.encode("utf-8"), "text/xml; charset=iso-8859-1"),
        (_SMALL_FEED.encode("utf-8"), "text/html; charset=windows-1251"),
        (
            (
                '<?xml version="1.0" encoding="gb2312"?>'
                + _SMALL_FEED.replace("Ü", "U").replace("ï", "i").replace("é", "e")
            ).encode("gb2312"),
            None,
        ),
        (
            (
                '<?xml version="1.0" encoding="big5"?>'
                + _SMALL_FEED.replace("Ü", "U")
                .replace("ï", "i")
                .replace("é", "e")
                .replace("科学", "科學")
            ).encode("big5"),
            None,
        ),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "utf16be-bom",
        "utf16le-bom",
        "utf16le-no-bom",
        "utf16be-no-bom",
        "utf16-declared",
        "utf32-bom",
        "text-xml-without-charset",
        "wrong-http-charset-latin1",
        "wrong-http-charset-cyrillic",
        "gb2312-declared",
        "big5-declared",
    ],
)
def test_feed_bytes_are_decoded_whatever_the_encoding(
    content: bytes, content_type: str | None
) -> None:
    feed = parse_feed(content, url=FEED_URL, now=NOW, content_type=content_type)
    assert feed.title.startswith("Caf")
    assert "科" in feed.entries[0].title
    assert feed.entries[0].url == "https://enc.example.org/1"


def test_http_charset_is_used_when_the_document_declares_none() -> None:
    content = read_fixture(FIXTURES / "enc_windows-1251_ibash.xml")
    undeclared = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", content)
    feed = parse_feed(
        undeclared, url=FEED_URL, now=NOW, content_type="text/xml; charset=windows-1251"
    )
    assert feed.entries[0].title == "Цитата #17703"
    assert feed.encoding == "cp1251"


def test_xml_declaration_beats_a_wrong_http_charset() -> None:
    content = read_fixture(FIXTURES / "news_golem_iso-8859-1.xml")
    feed = parse_feed(
        content, url=FEED_URL, now=NOW, content_type="application/rss+xml; charset=utf-8"
    )
    assert "wünschen" in feed.entries[0].text


def test_undeclared_legacy_encoding_is_detected() -> None:
    feed = parse_file(FIXTURES / "enc_gb2312_nodecl_synthetic.xml")
    assert feed.entries[0].title == "不归移民漫画系列：专业工作"


def _without_declaration(name: str) -> bytes:
    return re.sub(rb"^\s*<\?xml[^>]*\?>", b"", read_fixture(FIXTURES / name))


_POLISH = (
    "<rss><channel><title>Nauka</title><item><title>Źródła światła</title><description>"
    "Zespół naukowców z Krakowa opisał, jak żółte światło gwiazd zmienia się w ciągu doby."
    "</description></item></channel></rss>"
)
_TURKISH = (
    "<rss><channel><title>Bilim</title><item><title>Güneş sistemi dışında yeni gezegen"
    "</title><description>Araştırmacılar ışığın değişimini ölçtü.</description></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize(
    ("content", "encoding", "word"),
    [
        (_without_declaration("sci_lecerclepsy_iso-8859-1_nodecl.xml"), "cp1252", "collègues"),
        (_without_declaration("news_golem_iso-8859-1.xml"), "cp1252", "Sicherheitslücke"),
        (_without_declaration("news_jn-pt_iso-8859-1.rss"), "cp1252", "comunicações"),
        (_without_declaration("news_retriever-no_iso-8859-1.xml"), "cp1252", "övergångsställe"),
        (_without_declaration("enc_windows-1251_xakep.xml"), "cp1251", "разведки"),
        (_without_declaration("enc_big5_nodecl_synthetic.xml"), "big5hkscs", "翻"),
        (_POLISH.encode("cp1250"), "cp1250", "żółte"),
        (_POLISH.encode("iso-8859-2"), "iso8859-2", "żółte"),
        (_TURKISH.encode("cp1254"), "cp1254", "ışığın"),
    ],
    ids=[
        "french-latin1",
        "german-latin1",
        "portuguese-latin1",
        "swedish-latin1",
        "russian-windows1251",
        "chinese-big5",
        "polish-windows1250",
        "polish-iso8859-2",
        "turkish-windows1254",
    ],
)
def test_an_undeclared_legacy_encoding_is_detected_from_the_prose_not_the_markup(
    content: bytes, encoding: str, word: str
) -> None:
    # Sibling code pages decode such text almost equally cleanly; a wrong pick turns
    # "collègues" into "collčgues" or "comunicações" into "comunicaçőes".
    text, used = decode_feed_bytes(content)
    assert used == encoding
    assert word in text


# --- rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty document"),
        (b"  \n\t ", "empty document"),
        ((HANDMADE / "empty.xml").read_bytes(), "empty document"),
        ((HANDMADE / "html_page.html").read_bytes(), "HTML page"),
        (b"<HTML><BODY>Moved</BODY></HTML>", "HTML page"),
        (
            b"<?xml version='1.0'?><!-- c --><html xmlns='http://www.w3.org/1999/xhtml'/>",
            "HTML page",
        ),
        ((HANDMADE / "garbage.bin").read_bytes(), "not a feed"),
        ((HANDMADE / "not_a_feed.xml").read_bytes(), "not an RSS or Atom feed"),
        (b'{"items": [{"title": "json feed"}]}', "not a feed"),
        (b"just some text, no markup", "not a feed"),
        (b"\x00\x00\x00\x00\x00\x00", "not a feed"),
        (b"<", "not a feed"),
    ],
    ids=[
        "empty",
        "blank",
        "empty-file",
        "html-page",
        "html-uppercase",
        "xhtml-after-prolog",
        "garbage-binary",
        "svg-root",
        "json",
        "plain-text",
        "nul-bytes",
        "lone-bracket",
    ],
)
def test_non_feed_documents_raise_a_clear_feed_parse_error(content: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message) as caught:
        parse_feed(content, url=FEED_URL, now=NOW)
    assert "\n" not in str(caught.value)
    assert FEED_URL in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "news_bbc.xml",
        "odd_neverwinter_relative-urls.xml",
        "zh_v2ex_no-id-no-summary-no-url.atom",
        "sci_usgs_earthquakes_hour.atom",
        "enc_utf-16le_synthetic.xml",
        "enc_gb2312_nodecl_synthetic.xml",
    ],
)
def test_mangled_feeds_parse_or_raise_feed_parse_error_only(name: str) -> None:
    content = read_fixture(FIXTURES / name)
    rng = random.Random(name)
    variants = [content[:cut] for cut in range(0, len(content), max(1, len(content) // 12))]
    for _ in range(12):
        mangled = bytearray(content)
        for _ in range(8):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        variants.append(bytes(mangled))
    for variant in variants:
        try:
            feed = parse_feed(variant, url=FEED_URL, now=NOW)
        except FeedParseError:
            continue
        assert all(entry.guid and entry.title for entry in feed.entries)


def test_truncated_feed_keeps_its_complete_entries_and_warns() -> None:
    feed = parse_handmade("truncated.xml")
    entries = by_title(feed)
    assert entries["Complete entry"].text == "The whole entry made it through the connection."
    assert entries["Complete entry"].published == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    assert any("not well-formed" in warning for warning in feed.warnings)


# --- guids, titles, dates -----------------------------------------------------------------


def test_entry_guid_is_the_feed_id_when_present() -> None:
    assert by_title(parse_handmade("guid_fallbacks.xml"))["Has a guid"].guid == "urn:example:42"


def test_entry_without_guid_falls_back_to_canonical_link() -> None:
    entry = by_title(parse_handmade("guid_fallbacks.xml"))["Only a link"]
    assert entry.guid == entry.url == "https://example.org/b?id=7"


def test_entry_without_guid_or_link_gets_a_stable_hash_of_title_and_date() -> None:
    first = by_title(parse_handmade("guid_fallbacks.xml"))["Only a title and a date"]
    later = by_title(
        parse_feed(
            (HANDMADE / "guid_fallbacks.xml").read_bytes(),
            url=FEED_URL,
            now=NOW + timedelta(days=3),
        )
    )["Only a title and a date"]
    assert re.fullmatch("sha256:[0-9a-f]{64}", first.guid)
    assert first.guid == later.guid
    assert first.url is None


def test_entry_without_title_takes_the_first_words_of_its_text() -> None:
    feed = parse_handmade("guid_fallbacks.xml")
    untitled = [e for e in feed.entries if e.title.startswith("Neither a title")]
    assert len(untitled) == 1
    assert untitled[0].title.endswith("…")
    assert untitled[0].guid.startswith("sha256:")
    assert untitled[0].published == NOW


def test_empty_and_repeated_entries_are_skipped_with_warnings() -> None:
    feed = parse_handmade("guid_fallbacks.xml")
    assert "Repeats the first guid" not in by_title(feed)
    assert len(feed.entries) == 5
    assert "skipped 1 entries with no link, title or text" in feed.warnings
    assert "skipped 1 entries repeating an earlier guid" in feed.warnings


@pytest.mark.parametrize(
    ("title", "published"),
    [
        ("Offset date", datetime(2024, 1, 2, 9, 0, tzinfo=UTC)),
        ("Two-digit year", datetime(2017, 12, 10, 18, 0, 29, tzinfo=UTC)),
        ("Dublin Core date", datetime(2024, 3, 1, 4, 30, tzinfo=UTC)),
        ("Unparseable date", NOW),
        ("Far future date", NOW),
    ],
)
def test_published_is_utc_with_now_as_fallback(title: str, published: datetime) -> None:
    entry = by_title(parse_handmade("dates.xml"))[title]
    assert entry.published == published
    assert entry.published.tzinfo is UTC


def test_published_falls_back_to_updated() -> None:
    entry = by_title(parse_handmade("guid_fallbacks.xml"))["Updated only"]
    assert entry.published == datetime(2024, 1, 4, 8, 0, tzinfo=UTC)


def test_naive_now_is_taken_as_utc() -> None:
    feed = parse_feed((HANDMADE / "dates.xml").read_bytes(), url=FEED_URL, now=datetime(2026, 1, 1))
    assert by_title(feed)["Unparseable date"].published == NOW


# --- links --------------------------------------------------------------------------------


def test_tracking_parameters_and_fragments_are_removed_from_entry_urls() -> None:
    entries = by_title(parse_handmade("tracking_params.xml"))
    assert entries["Tracked link"].url == "https://news.example.org/story?id=5&page=2"
    assert entries["No path"].url == "http://example.org:8080/"


def test_feedburner_orig_link_is_preferred_over_the_proxy_link() -> None:
    entry = by_title(parse_handmade("tracking_params.xml"))["Feedburner proxy"]
    assert entry.url == "https://example.org/2024/01/real-article/"


def test_feed_site_url_is_canonical_and_ttl_is_in_seconds() -> None:
    feed = parse_handmade("tracking_params.xml")
    assert feed.site_url == "https://example.org/"
    assert feed.ttl_seconds == 30 * 60


@pytest.mark.parametrize(
    ("title", "url"),
    [
        ("Relative to the feed base", "https://blog.example.net/journal/2024/03/first.html"),
        ("Relative to the entry base", "https://cdn.example.net/posts/second.html"),
        ("Root-relative link", "https://blog.example.net/about"),
        ("Script link", None),
    ],
)
def test_relative_links_resolve_against_xml_base(title: str, url: str | None) -> None:
    assert by_title(parse_handmade("xml_base.atom"))[title].url == url


def test_relative_links_without_xml_base_resolve_against_the_feed_url() -> None:
    feed = parse_handmade("no_base_relative.xml")
    assert feed.site_url == "https://feeds.example.com/news/"
    assert feed.entries[0].url == "https://feeds.example.com/science/items/7.html"


def test_corpus_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse_corpus("odd_neverwinter_relative-urls.xml")
    assert all(
        e.url and e.url.startswith("https://feeds.example.com/en/games/") for e in feed.entries
    )


def test_atom_feed_title_language_and_xhtml_content_are_cleaned() -> None:
    feed = parse_handmade("xml_base.atom")
    assert feed.title == "Base & relative links"
    assert feed.language == "en"
    entries = by_title(feed)
    assert entries["Relative to the entry base"].text == "An xhtml body.\n\nSecond paragraph."
    assert entries["Relative to the feed base"].text == "A plain summary with 3 < 4 in it."


# --- text and teasers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "is_teaser"),
    [
        ("Short summary only", True),
        ("Full content", False),
        ("Long but cut with an ellipsis", True),
        ("Long with read more", True),
        ("WordPress footer", False),
    ],
)
def test_teaser_detection(title: str, is_teaser: bool) -> None:
    assert by_title(parse_handmade("teasers.xml"))[title].is_teaser is is_teaser


def test_full_content_is_preferred_over_the_description_and_cleaned() -> None:
    entry = by_title(parse_handmade("teasers.xml"))["Full content"]
    assert entry.text.startswith("Researchers at the coastal observatory")
    assert entry.text.endswith("Second paragraph with a link.")
    assert "track()" not in entry.text
    assert entry.language == "en"


def test_wordpress_footer_is_dropped_from_the_text() -> None:
    entry = by_title(parse_handmade("teasers.xml"))["WordPress footer"]
    assert "appeared first on" not in entry.text


def test_content_encoded_beats_a_short_description_in_the_corpus() -> None:
    feed = parse_corpus("odd_medium_content-encoded.rss")
    assert not any(entry.is_teaser for entry in feed.entries)


def test_syndication_update_period_and_dublin_core_fields() -> None:
    feed = parse_handmade("sy_update.rdf")
    assert feed.ttl_seconds == 86400 // 2
    assert feed.language == "de"
    assert feed.format == "rss10"
    entry = feed.entries[0]
    assert entry.author == "Erika Muster"
    assert entry.language == "de"
    assert entry.published == datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)


def test_author_in_email_and_name_form_keeps_the_name() -> None:
    feed = parse_corpus("odd_insanity-industries_xml-base.xml")
    assert feed.entries[0].author == "Jonas Große Sundrup"


def test_chinese_entry_with_english_xml_lang_is_detected_as_chinese() -> None:
    feed = parse_corpus("zh_v2ex_no-id-no-summary-no-url.atom")
    entry = next(e for e in feed.entries if "异步" in e.title)
    assert entry.language == "zh"
    assert entry.url is None


def test_entry_categories_are_cleaned_deduplicated_and_cut() -> None:
    messy, stuffed, plain = parse_handmade("categories.xml").entries
    assert messy.categories == (
        "Cell biology",  # whitespace and a line break collapsed
        "Microbiology",  # HTML in CDATA stripped; "MICROBIOLOGY" later is the same category
        "Health & medicine",  # double-escaped entity decoded
        "Genomics",  # a domain attribute changes nothing
        "Ecology",  # dc:subject counts as a category
        ("Long " * 20).strip(),  # cut to 100 characters
    )
    assert stuffed.categories == tuple(f"tag {i:02d}" for i in range(1, MAX_CATEGORIES + 1))
    assert plain.categories == ()


def test_atom_category_label_is_preferred_to_its_term() -> None:
    (entry,) = parse_handmade("categories.atom").entries
    assert entry.categories == ("Astrophysics of Galaxies", "Astronomy", "Space weather")


@pytest.mark.parametrize(
    ("name", "title_start", "categories"),
    [
        (
            "sci_medscape_familymedicine.rss",
            "Caution Urged for Virtual Care",
            ("Family Medicine/Primary Care", "News"),
        ),
        (
            "news_nytimes_home.xml",
            "Putin Led a Complex Cyberattack",
            ("Trump, Donald J", "Russia", "Cyberattacks and Hackers", "Mexico"),
        ),
        ("news_slashdot_rss10.rdf", "The Prisoner To Be Remade", ("tv",)),  # dc:subject
        (
            "zh_chocoluffy_relative-links.atom",
            "AI换脸zao戏",
            ("创业", "产品逻辑", "人工智能", "商业评论", "投资", "科技", "随笔"),
        ),
        ("odd_feedburner_xhtml.atom", "Stock Watch: April", ("Stock Watch", "Trading")),
    ],
)
def test_corpus_entries_carry_their_categories(
    name: str, title_start: str, categories: tuple[str, ...]
) -> None:
    entry = next(e for e in parse_corpus(name).entries if e.title.startswith(title_start))
    assert entry.categories == categories


def test_corpus_categories_decode_entities() -> None:
    feed = parse_corpus("sci_medscape_familymedicine.rss")
    found = {c for entry in feed.entries for c in entry.categories}
    assert {"Diabetes & Endocrinology", "Neurology & Neurosurgery"} <= found


@pytest.mark.parametrize("name", sorted(CORPUS_ENTRY_COUNTS))
def test_corpus_categories_stay_within_bounds(name: str) -> None:
    for entry in parse_corpus(name).entries:
        assert len(entry.categories) <= MAX_CATEGORIES
        folded = [c.casefold() for c in entry.categories]
        assert len(set(folded)) == len(folded)
        for category in entry.categories:
            assert 0 < len(category) <= MAX_CATEGORY_CHARS
            assert category == " ".join(category.split())
            assert not _TAG.search(category)


# --- structure limits and feed health ---------------------------------------------------------

RSS_HEAD = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (f"{RSS_HEAD}<item><title>a</title></item></channel></rss>", Structure(5, 4, 1, True)),
        # CDATA and comments are text: the HTML in them is not counted.
        (
            f"{RSS_HEAD}<item><description><![CDATA[<p><br><img src=x>]]></description>"
            "<!-- <a><b><c> --></item></channel></rss>",
            Structure(5, 4, 1, True),
        ),
        ('<feed xmlns="http://www.w3.org/2005/Atom"/>', Structure(1, 0, 1, True)),
        ("<html><body><p>hi</p></body></html>", Structure(3, 3, 0, False)),
        ('<!DOCTYPE rss [<!ENTITY x "<y>">]><rss/>', Structure(1, 0, 0, False)),
    ],
)
def test_the_structure_scan_counts_elements_depth_and_attributes(
    document: str, expected: Structure
) -> None:
    assert scan_structure(document) == expected


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<item " + " ".join(f'a{i}="1"' for i in range(300)) + "/>", "300 attributes"),
        ("<a>" * 101, "nested more than 100 deep"),
        ("<a/>" * 100_001, "more than 100000 elements"),
    ],
    ids=["attributes", "depth", "elements"],
)
def test_pathological_structure_is_refused_naming_the_limit(document: str, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        scan_structure(document)


@pytest.mark.parametrize(
    "hostile",
    [
        "<a" * 300_000,  # tags that never close
        "<item " + "a" * 1_000_000 + ">",  # one endless attribute name
        '<x a="' * 200_000,  # values that never close
        "<!--" * 200_000,
        "<![CDATA[" * 100_000,
    ],
    ids=["unclosed tags", "endless name", "unclosed values", "comments", "cdata"],
)
def test_the_structure_scan_stays_linear_on_hostile_markup(hostile: str) -> None:
    started = time.perf_counter()
    scan_structure(hostile)
    assert time.perf_counter() - started < 5  # quadratic would be minutes


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'<rss version="2.0"><<<garbage', "no entries and no channel"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</ti', "broken XML"),
        (b"<rss version='2.0'><x/></rss>", "no entries and no channel"),
    ],
)
def test_a_document_with_no_feed_structure_is_an_error(document: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=f"no feed structure.*{message}"):
        parse_feed(document, url="https://example.org/feed", now=NOW)


@pytest.mark.parametrize(
    "document",
    [
        b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>',
        b'<rss version="2.0"><channel></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title></feed>',
    ],
)
def test_a_well_formed_feed_without_entries_is_healthy(document: bytes) -> None:
    assert parse_feed(document, url="https://example.org/feed", now=NOW).entries == []
