"""Feed parsing: bytes in, normalised entries out (pure; feedparser never fetches). JSON
Feeds are read by ``summaries.jsonfeed`` into feedparser's shape and normalised the same way.

feedparser does the RSS 0.9x/1.0/2.0 and Atom work, but we decode the bytes ourselves
first: without a Content-Type feedparser assumes ISO-8859-1 for undeclared UTF-8, obeys
"text/xml" by assuming US-ASCII, and cannot sniff UTF-16 without a BOM. It then gets
clean UTF-8 with a matching declaration.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from charset_normalizer import from_bytes

from summaries.errors import FeedParseError
from summaries.jsonfeed import is_json_feed, read_json_feed
from summaries.language import detect_language, normalize_language
from summaries.text import clean_title, count_words, first_words, html_to_text, plain_to_text
from summaries.urls import canonical_url, host_of, resolve_url

MAX_ENTRIES = 500
# Structure a feed never needs, refused before feedparser sees it: its cost grows with the
# square of an element's attribute count (10,000 attributes take a second, 100,000 more than a
# minute), and with the element count and nesting depth. A real feed's root carries a few
# dozen namespace declarations at most, XHTML content nests a few dozen levels, and 500
# entries of rich content make some tens of thousands of elements.
MAX_ATTRIBUTES = 256
MAX_DEPTH = 100
MAX_ELEMENTS = 100_000
# A category is a tag, not prose; an entry with dozens of them is keyword-stuffed.
MAX_CATEGORIES = 20
MAX_CATEGORY_CHARS = 100
TEASER_MAX_WORDS = 80
_MAX_GUID_CHARS = 512
_MAX_TTL_SECONDS = 365 * 86400
# A publication date this far ahead of `now` is a broken clock or time zone, not news.
_FUTURE_SLACK = timedelta(days=1)
_LANGUAGE_SAMPLE_CHARS = 2000
_SNIFF_BYTES = 4096
_DETECT_BYTES = 65536
# Guesses this close in charset_normalizer's mess and language-coherence scores are a tie
# (the margins its own ranking uses).
_CHAOS_TIE = 0.01
_COHERENCE_TIE = 0.02


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    guid: str  # entry id; fallback: link; then a hash of title+date
    url: str | None  # canonical URL (tracking params and fragment removed), absolute
    title: str  # clean text, tags stripped, entities decoded
    author: str | None
    published: datetime  # timezone-aware UTC; fallback updated, then `now` (first seen)
    language: str | None  # ISO 639-1 ("en", "zh", ...), entry/feed language else detected
    text: str  # clean plain text, paragraphs separated by blank lines
    is_teaser: bool  # True when the entry only carries a short summary -> fetch the page
    # The entry's own <category>, dc:subject or Atom category (label, else term): clean
    # one-line text, each once whatever its case, in document order.
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    site_url: str | None
    language: str | None
    ttl_seconds: int | None  # RSS <ttl> (minutes) in seconds, or sy:updatePeriod
    entries: list[ParsedEntry]
    warnings: list[str] = field(default_factory=list)  # bozo problems that did not stop us
    format: str = ""  # feedparser's version name: "rss20", "atom10", "rss10", "rss090"...
    encoding: str = "utf-8"  # the character encoding the bytes were decoded with


# --- decoding ---------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_MARKUP = re.compile(rb"<[^<>]*>|&#?\w+;")
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)
# Labels whose everyday meaning is a wider encoding (as browsers treat them, WHATWG).
_WIDER_ENCODING = {
    "ascii": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
# Tolerated share of undecodable bytes before a "mostly UTF-8" guess is abandoned.
_UTF8_REPLACEMENT_RATIO = 0.001


def _codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WIDER_ENCODING.get(name, name)


def _sniff_utf16_32(head: bytes) -> str | None:
    """UTF-16/32 without a BOM, recognised by where the zero bytes of ASCII markup sit."""
    sample = head[:256]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    if sample[:4] == b"<\x00\x00\x00":
        return "utf-32-le"
    if sample[:4] == b"\x00\x00\x00<":
        return "utf-32-be"
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    if odd_zeros > 2 * even_zeros:
        return "utf-16-le"
    if even_zeros > 2 * odd_zeros:
        return "utf-16-be"
    return None


# Legacy encodings by how common they still are on the web (W3Techs), for breaking ties.
_COMMON_LEGACY = (
    "windows-1252", "windows-1251", "shift_jis", "euc-jp", "gb2312", "euc-kr", "windows-1250",
    "iso-8859-2", "big5", "iso-8859-9", "windows-1256", "windows-1254", "iso-8859-15",
    "cp874", "koi8-r", "iso-8859-7", "windows-1253", "windows-1257", "windows-1255",
)  # fmt: skip


def _detect_charset(content: bytes) -> str | None:
    """charset_normalizer's guess, made on the prose between the tags (with the markup in,
    every single-byte Latin code page reads about as plausibly as the right one)."""
    prose = _MARKUP.sub(b" ", content[:_DETECT_BYTES])
    # Markup is ASCII-compatible, and UTF-16/32 without a BOM was sniffed already: such a
    # guess here misreads a few stray bytes.
    matches = [m for m in from_bytes(prose) if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not matches:
        return None
    # Sibling code pages often decode a text equally cleanly (windows-1250 and -1252 differ in
    # a few accented letters, ISO-8859-2 and -10 likewise), and the detector then picks one
    # arbitrarily: among those it cannot tell apart, the encoding more common on the web wins.
    cleanest = min(m.chaos for m in matches)
    clean = [m for m in matches if m.chaos <= cleanest + _CHAOS_TIE]
    coherent = max(m.coherence for m in clean)
    tied = {
        _codec_name(name)
        for m in clean
        if m.coherence >= coherent - _COHERENCE_TIE
        for name in m.could_be_from_charset
    }
    for common in _COMMON_LEGACY:
        if _codec_name(common) in tied:
            return _codec_name(common)
    return _codec_name(str(matches[0].encoding))


def decode_feed_bytes(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The document as text and the encoding used: BOM, then valid UTF-8, then declarations.

    Declared encodings go XML declaration first, HTTP charset second: the declaration
    travels with the bytes, while servers commonly send a default ("iso-8859-1") whatever
    the file holds. Valid non-ASCII UTF-8 beats any declared legacy encoding because real
    legacy text essentially never forms valid UTF-8 by accident. Never raises.
    """
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace"), encoding
    wide = _sniff_utf16_32(content[:_SNIFF_BYTES])
    if wide:
        return content.decode(wide, errors="replace"), wide
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared: list[str] = []
    xml_match = _XML_ENCODING.match(content[:_SNIFF_BYTES])
    if xml_match:
        declared.append(xml_match.group(1).decode("ascii"))
    http_match = _HTTP_CHARSET.search(content_type or "")
    if http_match:
        declared.append(http_match.group(1))
    for label in declared:
        candidate = _codec_name(label)
        if candidate and not candidate.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
            try:
                return content.decode(candidate), candidate
            except UnicodeDecodeError:
                continue
    mostly_utf8 = content.decode("utf-8", errors="replace")
    if mostly_utf8.count("\ufffd") <= max(3, len(mostly_utf8) * _UTF8_REPLACEMENT_RATIO):
        return mostly_utf8, "utf-8"
    detected = _detect_charset(content)
    if detected:
        try:
            return content.decode(detected), detected
        except UnicodeDecodeError:
            pass
    return content.decode("cp1252", errors="replace"), "cp1252"


# --- document checks --------------------------------------------------------------------

_XML_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHAR_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_PROLOG_ITEM = re.compile(
    r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^>\[]|\[.*?\])*>)", re.DOTALL | re.IGNORECASE
)
_ROOT_TAG = re.compile(r"\s*<([A-Za-z_][\w:.-]*)")
_HTML_ROOTS = frozenset({"html", "head", "body"})
_ENTRY_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_PROLOG_SCAN_CHARS = 65536


def _root_name(document: str) -> str | None:
    """Qualified name of the first element, skipping declarations, comments and DOCTYPE."""
    position = 0
    while position < _PROLOG_SCAN_CHARS:
        item = _PROLOG_ITEM.match(document, position)
        if not item or item.end() == position:
            break
        position = item.end()
    root = _ROOT_TAG.match(document, position)
    return root.group(1) if root else None


def _local_name(qualified: str) -> str:
    return qualified.rsplit(":", 1)[-1].lower()


def _cap_entries(document: str, root: str) -> tuple[str, int]:
    """The document cut after its ``MAX_ENTRIES``-th entry, and how many entries it had.

    feedparser's time grows with the document, so a feed with thousands of entries is cut
    before parsing; closing tags are appended so the rest still parses strictly.
    """
    ends = list(_ENTRY_END.finditer(document))
    if len(ends) <= MAX_ENTRIES:
        return document, len(ends)
    closing = "</channel>" if _local_name(root) == "rss" else ""
    prefix = document[: ends[MAX_ENTRIES - 1].end()]
    return f"{prefix}{closing}</{root}>", len(ends)


def _is_legal_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _drop_illegal_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return match.group(0) if _is_legal_xml_char(code) else ""


def _prepare_document(text: str) -> tuple[str, list[str]]:
    """Text ready for feedparser: junk before the markup and illegal XML characters gone."""
    warnings: list[str] = []
    text = text.lstrip("\ufeff \t\r\n")
    start = text.find("<")
    if start > 0:
        warnings.append(f"ignored {start} characters before the XML markup")
        text = text[start:]
    # One stray control character (raw or as &#x1F;) would send feedparser to its slow
    # lenient parser for the whole document.
    cleaned = _CHAR_REFERENCE.sub(_drop_illegal_reference, _ILLEGAL_XML_CHARS.sub("", text))
    if len(cleaned) != len(text):
        warnings.append(f"removed {len(text) - len(cleaned)} characters not allowed in XML")
    declaration = '<?xml version="1.0" encoding="utf-8"?>'
    if _XML_DECLARATION.match(cleaned):
        cleaned = _XML_DECLARATION.sub(declaration, cleaned, count=1)
    else:
        cleaned = f"{declaration}\n{cleaned}"
    return cleaned, warnings


@dataclass(frozen=True, slots=True)
class Structure:
    """What a linear pre-scan of the markup found (see ``scan_structure``)."""

    elements: int
    max_depth: int
    max_attributes: int
    has_channel: bool  # an RSS <channel>, an Atom <feed> or an RDF root was seen


# Neither pattern can scan past the next "<" (or a value's closing quote), so each character
# is read a bounded number of times: no pattern here backtracks over a long run.
_TAG = re.compile(r"<(/?)([A-Za-z_][^\s/<>]*)([^<>]*?)(/?)>")
_ATTRIBUTE = re.compile(r"=\s*(?:\"[^\"]*\"|'[^']*')")
_CHANNEL_NAMES = frozenset({"channel", "feed", "rdf"})
# Sections whose content is text, not elements: skipped whole, whatever they contain.
_OPAQUE = (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"))


def scan_structure(
    document: str,
    *,
    max_attributes: int = MAX_ATTRIBUTES,
    max_depth: int = MAX_DEPTH,
    max_elements: int = MAX_ELEMENTS,
) -> Structure:
    """Count elements, nesting depth and attributes per element in one pass over the text.

    Raises FeedParseError naming the limit as soon as one is passed. Comments, CDATA
    sections (which often hold HTML) and processing instructions are skipped; the scan
    never backtracks, so its time is linear in the document whatever the markup.
    """
    elements = depth = deepest = widest = 0
    has_channel = False
    position, end = 0, len(document)
    while position < end:
        start = document.find("<", position)
        if start < 0:
            break
        for opener, closer in _OPAQUE:
            if document.startswith(opener, start):
                stop = document.find(closer, start + len(opener))
                position = end if stop < 0 else stop + len(closer)
                break
        else:
            if document.startswith("<!", start):  # a DOCTYPE, its internal subset included
                close = document.find(">", start)
                bracket = document.find("[", start, end if close < 0 else close)
                if bracket >= 0:
                    close = document.find("]", bracket)
                    close = -1 if close < 0 else document.find(">", close)
                position = end if close < 0 else close + 1
                continue
            tag = _TAG.match(document, start)
            if tag is None:
                position = start + 1
                continue
            position = tag.end()
            closing, name, attributes, empty = tag.groups()
            if closing:
                depth = max(depth - 1, 0)
                continue
            elements += 1
            if elements > max_elements:
                raise FeedParseError(f"more than {max_elements} elements (the limit)")
            count = len(_ATTRIBUTE.findall(attributes))
            if count > max_attributes:
                raise FeedParseError(
                    f"an element <{name[:40]}> with {count} attributes "
                    f"(the limit is {max_attributes})"
                )
            widest = max(widest, count)
            has_channel = has_channel or _local_name(name) in _CHANNEL_NAMES
            if not empty:
                depth += 1
                if depth > max_depth:
                    raise FeedParseError(f"elements nested more than {max_depth} deep (the limit)")
                deepest = max(deepest, depth)
    return Structure(elements, deepest, widest, has_channel)


def _one_line(problem: object) -> str:
    return " ".join(str(problem).split())[:300]


# --- feed-level fields ------------------------------------------------------------------

_UPDATE_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _ttl_seconds(feed: Mapping[str, Any]) -> int | None:
    minutes = _positive_int(feed.get("ttl"))
    if minutes is not None:
        return min(minutes * 60, _MAX_TTL_SECONDS)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period not in _UPDATE_PERIODS:
        return None
    frequency = _positive_int(feed.get("sy_updatefrequency")) or 1
    return max(1, _UPDATE_PERIODS[period] // frequency)


# --- entries ----------------------------------------------------------------------------

_TEASER_ENDINGS = ("…", "...", "[…]", "[...]", "(…)", "(...)")
_READ_MORE_ENDINGS = (
    "read more",
    "read the rest",
    "continue reading",
    "keep reading",
    "more",
    "full story",
    "lire la suite",
    "weiterlesen",
    "mehr lesen",
    "leer más",
    "leia mais",
    "читать далее",
    "подробнее",
    "阅读全文",
    "查看全文",
    "更多",
    "続きを読む",
)
_TRAILING_DECORATION = " \t\n»›→>)]}:-–—"
_EMAIL_AND_NAME = re.compile(r"^\s*[^\s@()]+@[^\s()]+\s*\((.+)\)\s*$")
_WORDPRESS_FOOTER = re.compile(r"\n*The post .{1,400}? appeared first on [^\n]{1,200}$")


def _is_teaser(text: str) -> bool:
    if count_words(text) < TEASER_MAX_WORDS:
        return True
    ending = text[-120:].rstrip().casefold()
    if ending.endswith(_TEASER_ENDINGS):
        return True
    ending = ending.rstrip(_TRAILING_DECORATION).rstrip(".!… ")
    return ending.endswith(_READ_MORE_ENDINGS) and len(ending) < 120


def _detail_to_text(detail: Mapping[str, Any]) -> str:
    value = detail.get("value")
    if not isinstance(value, str) or not value.strip():
        return ""
    if detail.get("type") == "text/plain":
        return plain_to_text(value)
    return html_to_text(value)


def _entry_text(entry: Mapping[str, Any]) -> str:
    contents = [
        _detail_to_text(item) for item in entry.get("content") or [] if isinstance(item, Mapping)
    ]
    content_text = max(contents, key=len, default="")
    summary = entry.get("summary_detail")
    summary_text = _detail_to_text(summary) if isinstance(summary, Mapping) else ""
    # Full content wins ties; some feeds put a stub in content and the body in description.
    text = content_text if len(content_text) >= len(summary_text) else summary_text
    return _WORDPRESS_FOOTER.sub("", text).strip()


def _entry_link(entry: Mapping[str, Any], base: str) -> str | None:
    candidates: list[object] = [entry.get("feedburner_origlink"), entry.get("link")]
    for link in entry.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            candidates.append(link.get("href"))
    for candidate in candidates:
        if isinstance(candidate, str):
            resolved = resolve_url(candidate, base)
            if resolved:
                return canonical_url(resolved)
    return None


def _struct_to_datetime(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _stored(entry: Mapping[str, Any], key: str) -> object:
    # FeedParserDict.get answers a missing "updated" with "published" (and a warning);
    # the plain dict lookup keeps the fallback order ours.
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _published(entry: Mapping[str, Any], now: datetime) -> datetime:
    """Publication time in UTC: published, else updated, else created, else ``now``."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        moment = _struct_to_datetime(_stored(entry, key))
        if moment is not None:
            return now if moment > now + _FUTURE_SLACK else moment
    return now


def _raw_date(entry: Mapping[str, Any]) -> str:
    for key in ("published", "updated", "created"):
        value = _stored(entry, key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _guid(entry: Mapping[str, Any], url: str | None, title: str, text: str) -> str:
    raw_id = entry.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        guid = " ".join(raw_id.split())
        return guid if len(guid) <= _MAX_GUID_CHARS else f"sha256:{_sha256(guid)}"
    if url:
        return url if len(url) <= _MAX_GUID_CHARS else f"sha256:{_sha256(url)}"
    date = _raw_date(entry)
    # Without a date the text is what tells two same-titled entries apart.
    return f"sha256:{_sha256(title, date) if date else _sha256(title, text)}"


def _author(entry: Mapping[str, Any]) -> str | None:
    raw = entry.get("author")
    if isinstance(raw, str) and raw.strip():
        # feedparser's own "email (Name)" split miscounts offsets after non-ASCII names.
        email_and_name = _EMAIL_AND_NAME.match(raw)
        return clean_title(email_and_name.group(1) if email_and_name else raw) or None
    detail = entry.get("author_detail")
    name = detail.get("name") if isinstance(detail, Mapping) else None
    return (clean_title(name) or None) if isinstance(name, str) else None


def _declared_language(entry: Mapping[str, Any]) -> str | None:
    details: list[object] = [entry.get("language")]
    details.extend(
        item.get("language") for item in entry.get("content") or [] if isinstance(item, Mapping)
    )
    for key in ("summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping):
            details.append(detail.get("language"))
    for value in details:
        language = normalize_language(value) if isinstance(value, str) else None
        if language:
            return language
    return None


def _categories(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """The entry's category names, as feedparser collects them in ``tags``.

    An Atom label is the human-readable name of its term (which is often a URL or a
    code), so it wins when present.
    """
    found: dict[str, str] = {}
    for tag in entry.get("tags") or []:
        if not isinstance(tag, Mapping):
            continue
        for key in ("label", "term"):
            raw = tag.get(key)
            name = clean_title(raw) if isinstance(raw, str) else ""
            if name:
                break
        else:
            continue
        name = name[:MAX_CATEGORY_CHARS].rstrip()
        found.setdefault(name.casefold(), name)
        if len(found) == MAX_CATEGORIES:
            break
    return tuple(found.values())


def _parse_entry(
    entry: Mapping[str, Any], *, base: str, now: datetime, feed_language: str | None
) -> ParsedEntry | None:
    url = _entry_link(entry, base)
    raw_title = entry.get("title")
    title = clean_title(raw_title) if isinstance(raw_title, str) else ""
    text = _entry_text(entry)
    if not (url or title or text):
        return None
    guid = _guid(entry, url, title, text)
    if not title:
        title = first_words(text) if text else (url or guid)
    published = _published(entry, now)
    language = detect_language(
        f"{title}\n{text[:_LANGUAGE_SAMPLE_CHARS]}",
        hint=_declared_language(entry) or feed_language,
    )
    return ParsedEntry(
        guid=guid,
        url=url,
        title=title,
        author=_author(entry),
        published=published,
        language=language,
        text=text,
        is_teaser=_is_teaser(text),
        categories=_categories(entry),
    )


# --- the whole feed ---------------------------------------------------------------------


def parse_feed(
    content: bytes, *, url: str, now: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse a fetched RSS/Atom document or JSON Feed into normalised entries.

    ``url`` is where the feed was fetched from (relative links resolve against it),
    ``now`` stands in for missing publication dates, ``content_type`` is the HTTP header
    (its charset is used when there is no BOM, no valid UTF-8 and no XML declaration
    that decodes the bytes). Entries are
    kept in document order, at most ``MAX_ENTRIES``; duplicated guids keep the first.
    Problems that still left usable entries are listed in ``warnings``.

    Raises FeedParseError when the bytes are empty, an HTML page, no RSS/Atom at all, a
    document with no feed structure (no entries and no channel, or broken XML from which
    nothing was recovered), or markup past ``MAX_ATTRIBUTES`` / ``MAX_DEPTH`` /
    ``MAX_ELEMENTS`` (refused before feedparser, whose cost would explode).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    if not content.strip():
        raise FeedParseError(f"empty document instead of a feed: {url}")
    if is_json_feed(content, content_type):
        raw = read_json_feed(content, url=url)
        warnings = list(raw.warnings)
        if len(raw.entries) > MAX_ENTRIES:
            warnings.append(f"feed has {len(raw.entries)} entries; kept the first {MAX_ENTRIES}")
        return _normalised(
            raw.feed, raw.entries, url=url, now=now, warnings=warnings, version=raw.version
        )
    text, encoding = decode_feed_bytes(content, content_type)
    document, warnings = _prepare_document(text)
    root = _root_name(document)
    if root is None:
        raise FeedParseError(f"not a feed (no XML root element found): {url}")
    if _local_name(root) in _HTML_ROOTS:
        raise FeedParseError(f"an HTML page, not a feed: {url}")
    document, entry_count = _cap_entries(document, root)
    if entry_count > MAX_ENTRIES:
        warnings.append(f"feed has {entry_count} entries; kept the first {MAX_ENTRIES}")
    try:
        structure = scan_structure(document)
    except FeedParseError as error:
        raise FeedParseError(f"refused, pathological structure: {error}: {url}") from None
    try:
        parsed = feedparser.parse(
            document.encode("utf-8"),
            response_headers={
                "content-location": url,
                "content-type": "application/xml; charset=utf-8",
            },
            # We only keep plain text: sanitising and rewriting links in HTML is wasted work.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as error:  # feedparser's own bugs on hostile input must not escape
        raise FeedParseError(f"feed parser failed on {url}: {_one_line(error)}") from error
    version = str(parsed.get("version") or "")
    raw_entries = list(parsed.get("entries") or [])
    if not version and not raw_entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({_one_line(problem)})" if problem else ""
        raise FeedParseError(f"not an RSS or Atom feed (root <{root}>){detail}: {url}")
    feed: Mapping[str, Any] = parsed.get("feed") or {}
    if not raw_entries and (not structure.has_channel or (parsed.get("bozo") and not feed)):
        # Nothing recovered: a feed with no entries is fine, a document with no feed is not.
        problem = parsed.get("bozo_exception")
        what = "no entries and no channel" if not structure.has_channel else "no entries"
        if parsed.get("bozo"):
            what += f", broken XML: {_one_line(problem)}"
        raise FeedParseError(f"no feed structure ({what}): {url}")
    if parsed.get("bozo"):
        warnings.append(
            f"not well-formed XML, parsed leniently: {_one_line(parsed.bozo_exception)}"
        )
    if not version:
        warnings.append("unrecognised feed format; entries parsed anyway")
    return _normalised(
        feed,
        raw_entries,
        url=url,
        now=now,
        warnings=warnings,
        version=version,
        encoding=encoding,
    )


def _normalised(
    feed: Mapping[str, Any],
    raw_entries: list[Any],
    *,
    url: str,
    now: datetime,
    warnings: list[str],
    version: str,
    encoding: str = "utf-8",
) -> ParsedFeed:
    """The feed from feedparser-shaped ``feed`` and ``raw_entries`` (XML through
    feedparser, JSON Feed through ``summaries.jsonfeed``)."""
    feed_language = normalize_language(feed.get("language"))
    # The cut above relies on tag names; this bounds the work whatever the markup.
    raw_entries = raw_entries[:MAX_ENTRIES]

    entries: list[ParsedEntry] = []
    seen: set[str] = set()
    empty = duplicates = 0
    for raw_entry in raw_entries:
        entry = _parse_entry(raw_entry, base=url, now=now, feed_language=feed_language)
        if entry is None:
            empty += 1
        elif entry.guid in seen:
            duplicates += 1
        else:
            seen.add(entry.guid)
            entries.append(entry)
    if empty:
        warnings.append(f"skipped {empty} entries with no link, title or text")
    if duplicates:
        warnings.append(f"skipped {duplicates} entries repeating an earlier guid")

    site_link = feed.get("link")
    site_url = resolve_url(site_link, url) if isinstance(site_link, str) else None
    raw_title = feed.get("title")
    title = clean_title(raw_title) if isinstance(raw_title, str) else ""
    return ParsedFeed(
        title=title or host_of(site_url or url) or url,
        site_url=canonical_url(site_url) if site_url else None,
        language=feed_language,
        ttl_seconds=_ttl_seconds(feed),
        entries=entries,
        warnings=warnings,
        format=version,
        encoding=encoding,
    )
