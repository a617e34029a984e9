"""Plain text from feed markup: HTML fragments to paragraphs, clean titles, fingerprints.

Everything here is total: broken HTML, stray CDATA, control characters or plain garbage
give the best text we can recover (possibly ""), never an exception.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import unicodedata

from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # stubs not installed

# Subtrees whose text is never article prose.
_SKIPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "canvas",
        "audio",
        "video",
        "map",
        "nav",
        "aside",
        "footer",
        "form",
        "button",
        "select",
        "option",
        "textarea",
        "input",
    }
)
# Elements that start a new paragraph in the plain text.
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "caption",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "address",
        "details",
        "summary",
        "center",
    }
)
_CELL_TAGS = frozenset({"td", "th"})

# U+2028/U+2029 mark line and paragraph breaks while the source whitespace is collapsed.
_LINE = "\u2028"
_PARA = "\u2029"

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE_CHARS = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|$)", re.DOTALL)
_XML_DECLARATION = re.compile(r"<\?xml[^>]*>", re.IGNORECASE)
_TAG_LIKE = re.compile(r"<\s*/?\s*[a-zA-Z!][^<>]*>")
_ENTITY_LIKE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_INLINE_SPACE = re.compile(rf"[^\S{_LINE}{_PARA}]+")
_DOUBLE_LINE = re.compile(rf" ?{_LINE}(?: ?{_LINE})+ ?")
_ANY_SPACE = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")

_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


@functools.cache
def _html_parser() -> etree.HTMLParser:
    return etree.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, recover=True, compact=True
    )


def _scrub(raw: str) -> str:
    raw = _CONTROL_CHARS.sub(" ", raw)
    raw = _INVISIBLE_CHARS.sub("", raw)
    return raw.replace(_LINE, " ").replace(_PARA, " ")


def _layout(marked: str) -> str:
    """Collapse whitespace in text carrying _LINE/_PARA marks into lines and paragraphs."""
    marked = _INLINE_SPACE.sub(" ", marked)
    # Two line breaks in a row (<br><br>) are how many feeds separate paragraphs.
    marked = _DOUBLE_LINE.sub(_PARA, marked)
    paragraphs = []
    for block in marked.split(_PARA):
        lines = [line.strip() for line in block.split(_LINE)]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def plain_to_text(plain: str) -> str:
    """Plain text tidied like :func:`html_to_text` output (blank lines separate paragraphs)."""
    plain = html.unescape(_scrub(plain))
    marked = _BLANK_LINE.sub(_PARA, plain.replace("\r\n", "\n").replace("\r", "\n"))
    return _layout(marked.replace("\n", " "))


def _tree_to_text(root: etree._Element) -> str:
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        name = tag.lower() if isinstance(tag, str) else ""
        if event == "start":
            if name in _SKIPPED_TAGS:
                walker.skip_subtree()
                continue
            if name == "br":
                parts.append(_LINE)
            elif name in _BLOCK_TAGS:
                parts.append(_PARA)
            elif name in _CELL_TAGS:
                parts.append(" ")
            if name and element.text:
                parts.append(element.text)
        else:
            if name in _BLOCK_TAGS:
                parts.append(_PARA)
            if element.tail:
                parts.append(element.tail)
    return _layout("".join(parts))


def html_to_text(markup: str) -> str:
    """Clean plain text of an HTML fragment: paragraphs separated by blank lines.

    Scripts, styles, embeds, navigation and forms are dropped; entities are decoded;
    whitespace is collapsed; ``<br>`` gives a line break, ``<br><br>`` a paragraph break.
    Text without any tag is treated as plain text (blank lines separate paragraphs).
    """
    if not markup:
        return ""
    markup = _CDATA.sub(lambda m: m.group(1), _scrub(markup))
    if "<" not in markup:
        return plain_to_text(markup)
    markup = _XML_DECLARATION.sub("", markup)
    try:
        root = etree.HTML(markup, _html_parser())
    except (ValueError, etree.LxmlError):
        root = None
    if root is None:
        # libxml2 found no element at all; what is left is text with stray brackets.
        return plain_to_text(_TAG_LIKE.sub(" ", markup))
    return _tree_to_text(root)


def clean_title(raw: str) -> str:
    """A one-line title: tags stripped, entities decoded (double-escaped too), spaces collapsed."""
    title = _scrub(raw or "")
    title = _CDATA.sub(lambda m: m.group(1), title)
    # Feeds escape titles zero, one or two times over; undo layers until none is left.
    for _ in range(4):
        if _TAG_LIKE.search(title):
            title = html_to_text(title)
        elif _ENTITY_LIKE.search(title):
            title = html.unescape(title)
        else:
            break
    return _ANY_SPACE.sub(" ", _scrub(title)).strip()


def normalize_for_fingerprint(text: str) -> str:
    """The form of ``text`` that fingerprints compare: NFKC, casefolded, spaces collapsed."""
    return _ANY_SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_fingerprint(text: str) -> str:
    """SHA-256 hex digest of the normalised text, for exact-duplicate detection."""
    return hashlib.sha256(normalize_for_fingerprint(text).encode("utf-8")).hexdigest()


def count_words(text: str) -> int:
    """Approximate word count; two CJK characters count as one word (no spaces to split on)."""
    cjk = len(_CJK_CHAR.findall(text))
    others = len(_WORD.findall(_CJK_CHAR.sub(" ", text)))
    return others + (cjk + 1) // 2


def first_words(text: str, limit: int = 12) -> str:
    """The first ``limit`` words of ``text`` on one line, with "…" when it was cut."""
    words = _ANY_SPACE.sub(" ", text).strip().split(" ")
    if len(words) > limit:
        return " ".join(words[:limit]) + "…"
    line = " ".join(words)
    # Unspaced scripts (CJK) come as one long "word": cut those by characters.
    return line if len(line) <= 80 else line[:60].rstrip() + "…"
