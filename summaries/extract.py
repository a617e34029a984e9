"""Main-text extraction of article pages: HTML in, clean text and page metadata out.

Pure: the caller fetches the page and passes its bytes (or text). trafilatura finds the
main text and the metadata; nothing here opens a socket or downloads anything (lxml's
parser has network access off, htmldate only reads the tree it is given).

Hostile pages are bounded before trafilatura sees them (input size, element count and
text size are capped), because its running time grows with the page and a 5 MB page of
markup would otherwise take tens of seconds. Whatever goes wrong inside the libraries on
a bad page comes out as :class:`~summaries.errors.ExtractError`; the caller then keeps the
text the feed gave.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from charset_normalizer import from_bytes
from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # stubs not installed
from trafilatura import bare_extraction, baseline, load_html
from trafilatura.deduplication import LRUCache
from w3lib.encoding import html_to_unicode

from summaries.errors import ExtractError

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_ELEMENTS",
    "MAX_INPUT_BYTES",
    "MAX_TEXT_CHARS",
    "ExtractedArticle",
    "decode_html",
    "extract_article",
]

# Real article pages in the test corpus stay under 3,000 elements and 120,000 characters
# of text; the caps leave room for them and keep a hostile page around a second (trafilatura
# needs about 0.1 s per 1,000 elements).
MAX_INPUT_BYTES = 6 * 1024 * 1024  # characters for str input; above fetch's 5 MiB cap
MAX_ELEMENTS = 8_000
MAX_ATTRIBUTES = 1_000
MAX_TEXT_CHARS = 300_000

# Elements whose text trafilatura never reads as prose, so they do not spend the text
# budget (JSON-LD in <script> still feeds its metadata and baseline extraction).
_NON_PROSE_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "math"})

# Block elements of trafilatura's output tree: each starts a new line.
_LINE_TAGS = frozenset({"p", "head", "item", "row", "quote", "code", "list", "table", "lb"})

# libxml2 refuses NUL and most C0 controls in text; they carry nothing in an HTML page.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE_CHARS = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
# A start tag longer than 20,000 characters: the tag name is bounded and followed by
# whitespace so that a failed match costs linear time.
_LONG_TAG = re.compile(r"<([A-Za-z][\w:-]{0,50})(\s[^<>]{20000,})>")
_SPACES = re.compile(r"\s+")
_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*$")

# Where pages declare their language, most specific first.
_LANGUAGE_XPATHS = (
    "/html/@lang",
    "/html/@xml:lang",
    "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
    "='content-language']/@content",
    "//meta[translate(@property, 'OGLCE', 'oglce')='og:locale']/@content",
    "//meta[translate(@name, 'DCLANGUE', 'dclangue')='dc.language']/@content",
    "//meta[translate(@name, 'LANGUE', 'langue')='language']/@content",
)


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """The main text of an article page and what the page says about itself."""

    text: str  # clean plain text: paragraphs separated by a blank line, lines by "\n"
    title: str | None
    author: str | None  # as the page names it; several authors joined by "; "
    published: datetime | None  # aware UTC; midnight UTC when the page gives only a day
    language: str | None  # ISO 639-1 from the page's markup, lower case; None if undeclared
    description: str | None
    site_name: str | None
    canonical_url: str | None  # the page's canonical/og:url, else the url passed in


def extract_article(
    html: bytes | str,
    *,
    url: str | None = None,
    content_type: str | None = None,
    now: datetime | None = None,
) -> ExtractedArticle:
    """Extract the main text and metadata of an article page.

    ``url`` is the page's address (resolves relative links, helps the metadata),
    ``content_type`` the HTTP Content-Type header when known (its charset wins over the
    page's own declaration, as in browsers). ``now`` rejects publication dates later than
    the day after it; without it no date is rejected for lying in the future, so the
    result never depends on the clock.

    Raises ExtractError when the page is not HTML or holds no main text.
    """
    text = decode_html(html, content_type=content_type) if isinstance(html, bytes) else html
    text = _defuse_long_tags(_scrub(text[:MAX_INPUT_BYTES]))
    if not text.strip():
        raise ExtractError("empty page")
    tree = _parse(text)
    _bound_tree(tree)
    language = _declared_language(tree)
    document = _run_trafilatura(tree, url=url, now=now)
    body = getattr(document, "body", None) if document is not None else None
    article_text = _render(body) if body is not None else ""
    if not _has_words(article_text):
        article_text = _render_baseline(tree)
    if not _has_words(article_text):
        raise ExtractError("no main text found")
    if article_text.count("\ufffd") > 0.05 * len(article_text):
        raise ExtractError("no readable text (binary data or an unknown encoding)")
    return ExtractedArticle(
        text=article_text,
        title=_clean_field(getattr(document, "title", None)),
        author=_clean_field(getattr(document, "author", None)),
        published=_parse_date(getattr(document, "date", None)),
        language=language,
        description=_clean_field(getattr(document, "description", None)),
        site_name=_clean_field(getattr(document, "sitename", None)),
        canonical_url=_clean_field(getattr(document, "url", None)) or url,
    )


def decode_html(data: bytes, *, content_type: str | None = None) -> str:
    """Decode an HTML page as a browser would: BOM, then the HTTP header's charset, then the
    page's ``<meta charset>``, then detection (valid UTF-8, else charset_normalizer's guess).

    Undecodable bytes become U+FFFD; this never raises.
    """
    _, text = html_to_unicode(content_type, data[:MAX_INPUT_BYTES], auto_detect_fun=_detect)
    return text


def _detect(data: bytes) -> str | None:
    sample = data[:65_536]
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    for match in from_bytes(sample):
        # HTML markup is ASCII-compatible; a BOM-less UTF-16/32 guess is a misreading of a
        # few stray bytes (w3lib already honoured any BOM).
        if not match.encoding.startswith(("utf_16", "utf_32")):
            return str(match.encoding)
    return None


def _scrub(text: str) -> str:
    return _CONTROL_CHARS.sub(" ", text)


def _parse(text: str) -> Any:
    try:
        tree = load_html(text)
    except Exception as error:  # lxml raises a grab-bag of types on hostile input
        raise ExtractError(f"unparsable page: {error}") from error
    if tree is None:
        raise ExtractError("not an HTML page")
    return tree


def _defuse_long_tags(text: str) -> str:
    """Drop the attributes of tags carrying thousands of them: libxml2 checks attribute
    names for duplicates pairwise, so one tag with 200,000 attributes takes a minute."""

    def defuse(match: re.Match[str]) -> str:
        if match.group(2).count("=") <= MAX_ATTRIBUTES:
            return match.group(0)
        return f"<{match.group(1)}>"

    return _LONG_TAG.sub(defuse, text)


def _bound_tree(tree: etree._Element) -> None:
    """Cut the tree after MAX_ELEMENTS elements or MAX_TEXT_CHARS characters of prose,
    keeping the document order (the article usually comes before the page's tail)."""
    budget = MAX_TEXT_CHARS
    for index, element in enumerate(tree.iter()):
        if index >= MAX_ELEMENTS:
            _drop_following(element)
            element.getparent().remove(element)
            return
        if element.text and isinstance(element.tag, str) and element.tag not in _NON_PROSE_TAGS:
            element.text = element.text[:budget]
            budget -= len(element.text)
        if budget <= 0:
            del element[:]
            element.tail = None
            _drop_following(element)
            return
        if element.tail:
            # The tail follows the element's descendants in document order; counting it here
            # only brings the cut forward a little.
            element.tail = element.tail[:budget]
            budget -= len(element.tail)


def _drop_following(element: etree._Element) -> None:
    """Remove every element after ``element`` in document order, except its descendants."""
    node = element
    while node is not None:
        parent = node.getparent()
        if parent is not None:
            # One slice deletion: removing 100,000 siblings one by one takes a while.
            del parent[parent.index(node) + 1 :]
        node = parent


def _declared_language(tree: etree._Element) -> str | None:
    for xpath in _LANGUAGE_XPATHS:
        try:
            values = tree.xpath(xpath, namespaces={"xml": "http://www.w3.org/XML/1998/namespace"})
        except etree.XPathError:
            continue
        for value in values if isinstance(values, list) else ():
            match = _LANGUAGE_TAG.match(str(value).strip())
            if match:
                return match.group(1).lower()
    return None


def _run_trafilatura(tree: etree._Element, *, url: str | None, now: datetime | None) -> Any:
    if now is not None:
        latest = now.astimezone(UTC).replace(tzinfo=None) + timedelta(days=1)
    else:
        latest = datetime(2200, 1, 1)
    date_params = {
        "original_date": True,
        # The extensive search guesses from free text and CSS (a class "c2026" became a
        # year); the feed already gives a date, so only markup-declared dates are taken.
        "extensive_search": False,
        "max_date": latest,
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    }
    # The balanced mode scores best on the corpus; recall mode only gets a second chance.
    attempts: tuple[dict[str, Any], ...] = ({}, {"favor_recall": True})
    for options in attempts:
        try:
            document = bare_extraction(
                tree,
                url=url,
                include_comments=False,
                include_tables=True,
                include_images=False,
                include_links=False,
                # A fresh cache per page: blocks repeated within the page are dropped, and
                # the result does not depend on earlier pages (the default cache is global).
                deduplicate=LRUCache(maxsize=4096),
                with_metadata=True,
                date_extraction_params=date_params,
                **options,
            )
        except Exception as error:  # trafilatura/lxml raise many types on bad pages
            raise ExtractError(f"extraction failed: {error}") from error
        if document is not None and _has_words(getattr(document, "text", "") or ""):
            return document
    return document


def _render_baseline(tree: etree._Element) -> str:
    try:
        body, _, _ = baseline(tree)
    except Exception:  # last resort on a page the main extractor gave up on
        return ""
    return _render(body)


def _render(body: etree._Element) -> str:
    """Plain text of trafilatura's output tree: one paragraph per top-level block, line
    breaks for <br>, list items and table rows, cells separated by " | "."""
    paragraphs: list[str] = []
    if body.text:
        paragraphs.append(_clean_line(body.text))
    for block in body:
        paragraphs.append(_render_block(block))
        if block.tail:
            paragraphs.append(_clean_line(block.tail))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _render_block(block: etree._Element) -> str:
    parts: list[str] = []
    walker = etree.iterwalk(block, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _LINE_TAGS:
                parts.append("\n")
            elif tag == "cell" and element.getprevious() is not None:
                parts.append(" | ")
            if element.text:
                parts.append(_SPACES.sub(" ", element.text))
        else:
            if tag in _LINE_TAGS:
                parts.append("\n")
            if element.tail and element is not block:
                parts.append(_SPACES.sub(" ", element.tail))
    # Source line breaks were collapsed above: the only newlines left are structural.
    lines = (_clean_line(line) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _clean_line(text: str) -> str:
    text = _INVISIBLE_CHARS.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


def _clean_field(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _clean_line(value) or None


def _has_words(text: str) -> bool:
    return any(character.isalnum() for character in text)


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
