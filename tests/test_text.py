"""HTML to plain text, clean titles and content fingerprints (summaries.text)."""

from __future__ import annotations

import random

import pytest

from summaries.text import (
    clean_title,
    content_fingerprint,
    count_words,
    first_words,
    html_to_text,
    plain_to_text,
)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("", ""),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>Hello&nbsp;<b>world</b> &amp; co</p>", "Hello world & co"),
        ("<p>Keep <script>var x = '<p>';</script>this</p>", "Keep this"),
        ("<style>p{color:red}</style><p>Styled</p>", "Styled"),
        ("<div><nav>Home | About</nav><p>Body</p><footer>© 2024</footer></div>", "Body"),
        ("<p>Video:</p><iframe src='https://v.example/1'>fallback</iframe>", "Video:"),
        ("line one<br>line two<br/><br />next paragraph", "line one\nline two\n\nnext paragraph"),
        ("<ul><li>alpha</li><li>beta</li></ul>", "alpha\n\nbeta"),
        ("<h2>Title</h2>Body text", "Title\n\nBody text"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("<p>  lots \n\t of   space  </p>", "lots of space"),
        ("<p>Unclosed <b>bold<p>next", "Unclosed bold\n\nnext"),
        ("<![CDATA[<p>In CDATA &amp; fine</p>]]>", "In CDATA & fine"),
        ("<![CDATA[<p>Unterminated CDATA", "Unterminated CDATA"),
        ("<!-- a comment --><p>after</p>", "after"),
        ("<?xml version='1.0' encoding='utf-8'?><p>declared</p>", "declared"),
        (
            "Plain text &amp; entities\nwrapped line\n\nSecond paragraph",
            "Plain text & entities wrapped line\n\nSecond paragraph",
        ),
        ("3 < 4 and 5 > 2", "3 < 4 and 5 > 2"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("bad\x00control\x07chars", "bad control chars"),
        ("<p>科技爱好者周刊</p><p>第 102 期</p>", "科技爱好者周刊\n\n第 102 期"),
        ("<", "<"),
        ("<>", "<>"),
        ("<p></p><div> </div>", ""),
    ],
)
def test_html_to_text_gives_clean_paragraphs(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_html_to_text_never_raises_on_garbage() -> None:
    rng = random.Random(7)
    alphabet = "<>/&;![]-?=\"' \n\tabcp\x00\x01\u2028\u2029é字"
    for _ in range(300):
        garbage = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))
        assert isinstance(html_to_text(garbage), str)


def test_html_to_text_handles_deep_nesting() -> None:
    assert html_to_text("<div>" * 200 + "deep" + "</div>" * 200) == "deep"
    # Past libxml2's depth limit the text is lost, but nothing raises.
    assert isinstance(html_to_text("<div>" * 5000 + "deep" + "</div>" * 5000), str)


def test_plain_to_text_keeps_paragraphs_and_joins_wrapped_lines() -> None:
    assert plain_to_text("a\r\nb\r\n\r\n c ") == "a b\n\nc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Plain title", "Plain title"),
        ("  Spaced \n\t title  ", "Spaced title"),
        ("<b>Bold</b> title", "Bold title"),
        ("AT&amp;T buys &#8220;Time&#8221;", "AT&T buys “Time”"),
        ("AT&amp;amp;T", "AT&T"),
        ("&amp;lt;em&amp;gt;Double&amp;lt;/em&amp;gt; escaped", "Double escaped"),
        ("&lt;i&gt;Escaped&lt;/i&gt; tags", "Escaped tags"),
        ("<![CDATA[CDATA title]]>", "CDATA title"),
        ("Less < more", "Less < more"),
        ("", ""),
        ("<script>x()</script>", ""),
        ("Ünïcödé — 疫情之后形势预判", "Ünïcödé — 疫情之后形势预判"),
    ],
)
def test_clean_title_strips_tags_and_decodes_entities(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Kelp forests recover", "kelp   FORESTS\nrecover "),
        ("Straße", "STRASSE"),
        ("ﬁsh", "fish"),
    ],
)
def test_content_fingerprint_ignores_case_and_whitespace(left: str, right: str) -> None:
    assert content_fingerprint(left) == content_fingerprint(right)


def test_content_fingerprint_is_sha256_hex_and_tells_texts_apart() -> None:
    fingerprint = content_fingerprint("kelp")
    assert len(fingerprint) == 64
    assert int(fingerprint, 16) >= 0
    assert fingerprint != content_fingerprint("kelps")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("one two three", 3),
        ("don't stop-gap", 2),
        ("科技爱好者", 3),
        ("Chrome OS 的终端", 4),
    ],
)
def test_count_words_counts_words_and_cjk_pairs(text: str, expected: int) -> None:
    assert count_words(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a b c", 5, "a b c"),
        ("a b c d", 2, "a b…"),
        ("  a\n\nb ", 5, "a b"),
        ("字" * 100, 12, "字" * 60 + "…"),
    ],
)
def test_first_words_cuts_long_text_with_an_ellipsis(text: str, limit: int, expected: str) -> None:
    assert first_words(text, limit) == expected
