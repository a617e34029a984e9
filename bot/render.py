"""Message rendering: article cards, digests, event lines, the /events list and the result
lists of /latest and /search.

Pure functions from plain data (``ArticleCard``) to Telegram HTML (``parse_mode=HTML``) or to
plain terminal text. Every string that came from a feed is cut to a sane length *before* it is
escaped (so an escape sequence is never split) and then escaped with ``html.escape``; links
are emitted only for http(s) URLs. Telegram's 4,096 limit counts UTF-16 code units of the
visible text after entity parsing, which ``visible_len`` measures; cards are trimmed (the
summary first) and digests are split between cards so every message fits.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import urlsplit

from bot.i18n import ENGLISH, N_, Translator
from db.models import Article
from summaries.errors import SummariesError
from summaries.events import EventFacts
from summaries.sentences import split_sentences
from summaries.topics import hashtag

__all__ = [
    "MAX_MESSAGE",
    "ArticleCard",
    "append_line",
    "card_from_article",
    "event_dates",
    "event_place",
    "format_date",
    "format_date_range",
    "format_month",
    "forum_name",
    "next_deadline",
    "pack_lines",
    "render_card",
    "render_card_text",
    "render_digest",
    "render_event_line",
    "render_events",
    "render_list",
    "render_reason",
    "safe_url",
    "utf16_len",
    "visible_len",
]

# Telegram's limit for one message, counted in UTF-16 code units after entity parsing.
MAX_MESSAGE = 4096
MIN_SENTENCES, MAX_SENTENCES = 1, 5

# Per-field caps (visible characters). A feed can put anything in a field; a card stays a card.
_TITLE_CAP = 300
_SOURCE_CAP = 80
_PLACE_CAP = 100
_ORGANIZER_CAP = 80
_NAME_CAP = 200
# "⏳ {what} by {day}": what the soonest deadline is for.
_DEADLINE_LABELS = {
    "registration": N_("register by {day}"),
    "early-bird": N_("early-bird registration by {day}"),
    "abstract": N_("abstracts by {day}"),
    "paper": N_("papers by {day}"),
    "application": N_("applications by {day}"),
}
_DEADLINE = N_("deadline by {day}")
_MAX_ORGANIZERS = 3
_MAX_HASHTAGS = 5
_LIST_TITLE_CAP = 150
_REASON_RULE_CAP = 40
_MAX_REASONS = 3
_BECAUSE = N_("💡 because: {reasons}")
_RULE_WORD = N_("rule {rule}")
_UNTITLED = N_("(untitled)")
# When an article has no stored summary, this much of its text stands in for one.
# A digest's first line, by its period (routing's "catch-up" for leftovers).
_DIGEST_TITLES = {
    "daily": N_("📰 <b>Your daily digest</b> — {day}"),
    "weekly": N_("📰 <b>Your weekly digest</b> — {day}"),
    "catch-up": N_("📰 <b>Your catch-up digest</b> — {day}"),
}
_DIGEST_TITLE = N_("📰 <b>Your {period} digest</b> — {day}")
_FALLBACK_SENTENCES = 2
_FALLBACK_CHARS = 300
_FALLBACK_SCAN_CHARS = 5_000
# Longest href we emit: longer "URLs" are garbage or an attack, and Telegram rejects them.
_MAX_URL = 2048
# A trimmed summary shorter than this reads as noise: it is dropped instead.
_MIN_SUMMARY_UNITS = 40

_ELLIPSIS = "…"
_CJK_STOPS = frozenset("。！？；」』）")
_SEPARATOR = " · "
_BLOCK_GAP = "\n\n"
# Control characters that are not whitespace (whitespace is collapsed) have no place in a card.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")
_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
# Only what Telegram decodes: the four named entities and numeric references.
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True, slots=True)
class ArticleCard:
    """What a card shows of one stored article (built from db.models.Article + its source)."""

    id: int
    title: str
    url: str | None
    source: str  # the feed's title (or host)
    published: datetime  # aware UTC
    summary: tuple[str, ...]  # sentences, article order
    topics: tuple[str, ...]  # topic slugs, best first
    event: EventFacts | None
    language: str | None = None


# --------------------------------------------------------------------------------------------
# Building cards
# --------------------------------------------------------------------------------------------


def card_from_article(article: Article, *, source: str) -> ArticleCard:
    """A card for a stored article; ``source`` is the feed's title (or its host).

    Bad stored data degrades instead of failing: a summary that is not a list of strings
    falls back to the text's first sentences, unreadable event facts drop the event line.
    """
    if article.id is None:
        raise ValueError("an article needs an id (be stored) before it becomes a card")
    published = article.published
    if published.tzinfo is None:  # built in memory rather than loaded: naive means UTC
        published = published.replace(tzinfo=UTC)
    summary = _clean_strings(article.summary)
    if not summary:
        summary = _fallback_summary(article.text or "", article.language)
    topics = _clean_strings(article.topics)
    if not source.strip():
        source = _host(article.url) or ""
    return ArticleCard(
        id=article.id,
        title=_one_line(article.title or "") or _UNTITLED,
        url=article.url,
        source=_one_line(source),
        published=published.astimezone(UTC),
        summary=summary,
        topics=topics,
        event=_event_from(article.event),
        language=article.language,
    )


def _clean_strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(s for s in (_one_line(v) for v in value if isinstance(v, str)) if s)


def _fallback_summary(text: str, language: str | None) -> tuple[str, ...]:
    sentences = split_sentences(text[:_FALLBACK_SCAN_CHARS], language)[:_FALLBACK_SENTENCES]
    picked: list[str] = []
    used = 0
    for raw in sentences:
        sentence = _one_line(raw)
        if not sentence:
            continue
        room = _FALLBACK_CHARS - used
        if room <= 0:
            break
        if len(sentence) > room:
            picked.append(_truncate(sentence, room))
            break
        picked.append(sentence)
        used += len(sentence) + 1
    return tuple(picked)


def _event_from(value: object) -> EventFacts | None:
    if not isinstance(value, dict):
        return None
    try:
        return EventFacts.from_dict(value)
    except SummariesError:
        return None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts limits in (a lone surrogate is
    one unit, as Telegram would count it)."""
    # Encoding runs in C: a loop over the characters was the top cost of rendering digests.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# A digest's cards come back as the same strings for thousands of chats (render_card's
# cache), and each is measured again in every digest it is split into.
@functools.lru_cache(maxsize=4096)
def visible_len(markup: str) -> int:
    """UTF-16 length of what Telegram shows for ``markup``: tags removed, entities decoded.

    Decodes exactly what Telegram's HTML mode decodes (``&lt; &gt; &amp; &quot;`` and numeric
    references); anything else like ``&nbsp;`` stays literal and counts as written.
    """
    return utf16_len(_ENTITY.sub(_decode_entity, _TAG.sub("", markup)))


def _decode_entity(match: re.Match[str]) -> str:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED[name]
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match.group(0)
    return chr(code)


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def _truncate(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 units, at a word boundary when one is near."""
    if utf16_len(text) <= units:
        return text
    if units <= 0:
        return ""
    budget = units - 1  # the ellipsis
    cut, used = 0, 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > budget:
            break
        used += width
        cut += 1
    head = text[:cut]
    space = head.rfind(" ")
    if space >= max(1, cut - 20):  # a whole word lost beats a word cut in half
        head = head[:space]
    return head.rstrip(" ,;:-–—") + _ELLIPSIS


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) URL fit for an href, else None (no link)."""
    if not url or len(url) > _MAX_URL or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _local_date(moment: datetime, tz: tzinfo) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def format_date(day: date, tr: Translator = ENGLISH) -> str:
    """A day as "24 Nov 2025" (no leading zero) or "2025年11月24日" (``tr``'s language)."""
    return tr.date(day)


def format_month(day: date, tr: Translator = ENGLISH) -> str:
    """A month as "Nov 2026", for events the text dates only by their month."""
    return tr.month(day)


def format_date_range(start: date, end: date | None, tr: Translator = ENGLISH) -> str:
    """A span as "16–17 Nov 2025", "30 Nov – 2 Dec 2025" or "30 Dec 2025 – 2 Jan 2026"."""
    return tr.date_range(start, end)


# --------------------------------------------------------------------------------------------
# Event line
# --------------------------------------------------------------------------------------------


def event_dates(event: EventFacts) -> tuple[date, date] | None:
    """(start, end inclusive) of an event; a missing or backwards end means one day."""
    start = event.start or event.end
    if start is None:
        return None
    end = event.end if event.end is not None and event.end >= start else start
    return start, end


def next_deadline(event: EventFacts, today: date) -> tuple[str, date] | None:
    """The soonest of the event's deadlines that has not passed, as (kind, day)."""
    coming = sorted((day, kind) for kind, day in event.deadlines if day >= today)
    return (coming[0][1], coming[0][0]) if coming else None


def _event_status(event: EventFacts, today: date, tr: Translator) -> str | None:
    dates = event_dates(event)
    if dates is None:
        return None
    start, end = dates
    if today < start:
        return tr("upcoming")
    if today > end:
        return tr("past")
    return tr("on now")


def event_place(event: EventFacts) -> str:
    """The place as "venue, district, city" (plain text, capped), skipping what is unknown or
    repeated."""
    parts: list[str] = []
    for raw in (event.venue, event.district, event.city):
        part = _truncate(_one_line(raw or ""), _PLACE_CAP)
        # "Shenzhen Convention Center, Shenzhen" is fine; "Shenzhen, Shenzhen" is not.
        if part and all(part.casefold() != p.casefold() for p in parts):
            parts.append(part)
    return ", ".join(parts)


def _organizers(event: EventFacts) -> str:
    names = [n for n in (_truncate(_one_line(o), _ORGANIZER_CAP) for o in event.organizers) if n]
    shown = ", ".join(names[:_MAX_ORGANIZERS])
    hidden = len(names) - _MAX_ORGANIZERS
    return f"{shown} +{hidden}" if hidden > 0 else shown


def _event_parts(event: EventFacts, today: date, *, markup: bool, tr: Translator) -> list[str]:
    esc = _escape if markup else _identity
    parts: list[str] = []
    dates = event_dates(event)
    if dates is not None:
        status = _event_status(event, today, tr)
        marker = f"<i>{status}</i>" if markup else status
        shown = tr.month(dates[0]) if event.precision == "month" else tr.date_range(*dates)
        parts.append(f"📅 {shown}" + tr(" ({status})", status=marker))
    deadline = next_deadline(event, today)
    if deadline is not None:
        kind, day = deadline
        parts.append("⏳ " + tr(_DEADLINE_LABELS.get(kind, _DEADLINE), day=tr.date(day)))
    place = event_place(event)
    if place:
        parts.append(f"📍 {esc(place)}")
    organizers = _organizers(event)
    if organizers:
        parts.append(f"🏛 {esc(organizers)}")
    if event.attendance:
        parts.append(
            "👥 "
            + tr.ngettext(
                "{count} attendee",
                "{count} attendees",
                event.attendance,
                count=tr.number(event.attendance),
            )
        )
    return parts


def _identity(text: str) -> str:
    return text


def render_event_line(
    event: EventFacts,
    *,
    now: datetime,
    tz: tzinfo | None = None,
    title: str = "",
    tr: Translator = ENGLISH,
) -> str:
    """📅 dates (upcoming/on now/past) · 📍 venue, city · 🏛 organizers · 👥 attendance.

    HTML, every field escaped; "" when nothing is known. ``tz`` (default UTC) decides which
    local day ``now`` is, so an event is "past" by the chat's calendar. When the forum's
    name says more than the article's ``title`` (a report titled "Experts gather in
    Shenzhen"), a "🎤 name" line comes first.
    """
    today = _local_date(now, tz or UTC)
    line = _SEPARATOR.join(_event_parts(event, today, markup=True, tr=tr))
    name = forum_name(event, title)
    if name:
        return f"🎤 <b>{_escape(name)}</b>" + (f"\n{line}" if line else "")
    return line


def forum_name(event: EventFacts, title: str) -> str:
    """The forum's name to show beside an article titled ``title``; "" when the title
    already says it (or no name is known)."""
    name = _truncate(_one_line(event.name or ""), _NAME_CAP)
    if not name or _comparable(name) in _comparable(title):
        return ""
    return name


def _comparable(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


# --------------------------------------------------------------------------------------------
# Cards
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CardText:
    """A card's fields as plain (unescaped, already capped) text."""

    title: str
    url: str | None
    byline: str
    summary: str
    hashtags: str


def _card_text(card: ArticleCard, *, sentences: int, tz: tzinfo, tr: Translator) -> _CardText:
    count = min(max(sentences, MIN_SENTENCES), MAX_SENTENCES)
    source = _truncate(_one_line(card.source), _SOURCE_CAP)
    day = tr.date(_local_date(card.published, tz))
    tags = [hashtag(slug) for slug in card.topics if _one_line(slug)][:_MAX_HASHTAGS]
    return _CardText(
        title=_truncate(_one_line(card.title), _TITLE_CAP) or tr(_UNTITLED),
        url=safe_url(card.url),
        byline=_SEPARATOR.join(p for p in (source, day) if p),
        summary=_join_sentences(_one_line(s) for s in card.summary[:count]),
        hashtags=" ".join(dict.fromkeys(tags)),
    )


def _join_sentences(sentences: Iterable[str]) -> str:
    # Chinese and Japanese sentences follow each other without a space.
    joined = ""
    for sentence in sentences:
        if sentence:
            gap = "" if not joined or joined[-1] in _CJK_STOPS else " "
            joined += gap + sentence
    return joined


def _card_html(text: _CardText, event_line: str) -> str:
    title = _escape(text.title)
    if text.url is not None:
        title = f'<a href="{_escape(text.url)}">{title}</a>'
    lines = [f"<b>{title}</b>"]
    if text.byline:
        lines.append(_escape(text.byline))
    if event_line:
        lines.append(event_line)
    if text.summary:
        lines.append(_escape(text.summary))
    if text.hashtags:
        lines.append(_escape(text.hashtags))
    return "\n".join(lines)


def render_card(
    card: ArticleCard,
    *,
    sentences: int,
    tz: tzinfo,
    now: datetime,
    limit: int = MAX_MESSAGE,
    reason: str = "",
    tr: Translator = ENGLISH,
) -> str:
    """One article as HTML: linked title; source · date; event line; summary; hashtags;
    then ``reason`` (an HTML line from ``render_reason``) when given.

    ``sentences`` (clamped to 1–5) summary sentences are shown. A card whose visible text
    would exceed ``limit`` UTF-16 units is trimmed: the summary is shortened; under a limit
    too small for that, the reason, hashtags, event line and byline go, and the title is
    cut last.
    """
    if reason:
        room = limit - visible_len(reason) - 1
        body = render_card(card, sentences=sentences, tz=tz, now=now, limit=max(room, 1), tr=tr)
        if visible_len(body) <= room:
            return f"{body}\n{reason}"
    return _rendered_card(card, sentences, tz, now, limit, tr)


# Digests and fan-outs render the same ~100 articles for up to 100,000 chats that differ
# only in a few settings (sentences, time zone, language): the same arguments, the same
# card. A pure function of hashable values, so kept for the next chat that asks.
@functools.lru_cache(maxsize=4096)
def _rendered_card(  # noqa: PLR0917 - render_card's arguments, positional for the cache key
    card: ArticleCard, sentences: int, tz: tzinfo, now: datetime, limit: int, tr: Translator
) -> str:
    text = _card_text(card, sentences=sentences, tz=tz, tr=tr)
    event_line = (
        render_event_line(card.event, now=now, tz=tz, title=card.title, tr=tr) if card.event else ""
    )
    rendered = _card_html(text, event_line)
    excess = visible_len(rendered) - limit
    if excess <= 0:
        return rendered
    summary_units = utf16_len(text.summary)
    if summary_units - excess >= _MIN_SUMMARY_UNITS:
        text = replace(text, summary=_truncate(text.summary, summary_units - excess))
        return _card_html(text, event_line)
    # The summary cannot absorb it (only under a tiny limit): shed lines, least useful first.
    text = replace(text, summary="", hashtags="")
    for line in (event_line, ""):
        rendered = _card_html(text, line)
        if visible_len(rendered) <= limit:
            return rendered
    text = replace(text, byline="")
    excess = visible_len(_card_html(text, "")) - limit
    if excess > 0:
        text = replace(text, title=_truncate(text.title, max(utf16_len(text.title) - excess, 1)))
    return _card_html(text, "")


def render_reason(topics: Sequence[str], rules: Sequence[str], tr: Translator = ENGLISH) -> str:
    """ "💡 because: #microbiology · rule crispr" (HTML, rules in <code>) for the topics and
    keyword rules an article met; "" when it met none (a /search result, say)."""
    parts = [_escape(hashtag(slug)) for slug in dict.fromkeys(topics) if _one_line(slug)]
    parts += [
        tr(_RULE_WORD, rule=f"<code>{_escape(_truncate(_one_line(rule), _REASON_RULE_CAP))}</code>")
        for rule in dict.fromkeys(rules)
        if _one_line(rule)
    ]
    if not parts:
        return ""
    shown = _SEPARATOR.join(parts[:_MAX_REASONS])
    if len(parts) > _MAX_REASONS:
        shown += f" +{len(parts) - _MAX_REASONS}"
    return tr(_BECAUSE, reasons=shown)


def append_line(markup: str, line: str, *, limit: int = MAX_MESSAGE) -> str:
    """``markup`` with ``line`` under it when both fit in ``limit`` visible UTF-16 units;
    ``markup`` alone when they would not (the line is the extra, never the message)."""
    if not line:
        return markup
    joined = f"{markup}\n{line}"
    return joined if visible_len(joined) <= limit else markup


def render_card_text(
    card: ArticleCard, *, sentences: int, tz: tzinfo, now: datetime, tr: Translator = ENGLISH
) -> str:
    """The same card as plain terminal text (no markup, nothing escaped)."""
    text = _card_text(card, sentences=sentences, tz=tz, tr=tr)
    lines = [text.title]
    if text.url is not None:
        lines.append(text.url)
    if text.byline:
        lines.append(text.byline)
    if card.event is not None:
        name = forum_name(card.event, card.title)
        if name:
            lines.append(f"🎤 {name}")
        parts = _event_parts(card.event, _local_date(now, tz), markup=False, tr=tr)
        if parts:
            lines.append(_SEPARATOR.join(parts))
    if text.summary:
        lines.append(text.summary)
    if text.hashtags:
        lines.append(text.hashtags)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Result lists (/latest, /search) and long lists of lines
# --------------------------------------------------------------------------------------------


def render_list(
    cards: Sequence[ArticleCard],
    *,
    heading: str,
    first_number: int,
    tz: tzinfo,
    tr: Translator = ENGLISH,
) -> str:
    """A compact list: ``heading`` (HTML) then one numbered entry per card (its linked
    title, then source · date), in the order given. Numbers start at ``first_number``, as
    the buttons that open the cards do. Up to ten entries always fit in one message: titles
    are capped, sources too."""
    lines = [heading]
    for number, card in enumerate(cards, first_number):
        title = _escape(_truncate(_one_line(card.title), _LIST_TITLE_CAP) or tr(_UNTITLED))
        url = safe_url(card.url)
        if url is not None:
            title = f'<a href="{_escape(url)}">{title}</a>'
        source = _truncate(_one_line(card.source), _SOURCE_CAP)
        day = tr.date(_local_date(card.published, tz))
        byline = _escape(_SEPARATOR.join(p for p in (source, day) if p))
        lines.append(f"<b>{number}.</b> {title}\n      <i>{byline}</i>")
    return _BLOCK_GAP.join(lines)


def pack_lines(lines: Sequence[str], *, limit: int = MAX_MESSAGE) -> list[str]:
    """Lines (HTML, each whole tags) joined into as few messages as fit under ``limit``
    visible UTF-16 units, split between lines only. A line longer than ``limit`` on its own
    is the caller's bug: it goes alone and Telegram will refuse it."""
    messages: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        size = visible_len(line)
        extra = size + (1 if current else 0)
        if current and used + extra > limit:
            messages.append("\n".join(current))
            current, used, extra = [], 0, size
        current.append(line)
        used += extra
    if current:
        messages.append("\n".join(current))
    return messages


# --------------------------------------------------------------------------------------------
# Digests and the events list
# --------------------------------------------------------------------------------------------


def _unique(cards: Sequence[ArticleCard]) -> list[ArticleCard]:
    seen: set[int] = set()
    unique: list[ArticleCard] = []
    for card in cards:
        if card.id not in seen:
            seen.add(card.id)
            unique.append(card)
    return unique


def _start_key(card: ArticleCard) -> tuple[bool, date, float]:
    dates = event_dates(card.event) if card.event is not None else None
    return (dates is None, dates[0] if dates else date.max, -card.published.timestamp())


def _split_messages(
    header_first: str,
    header_next: str,
    sections: Sequence[tuple[str, Sequence[str]]],
    reserve: int,
) -> list[str]:
    """Pack sections of blocks into messages under MAX_MESSAGE - ``reserve`` visible units.

    A block never spans messages; a section continuing in a new message repeats its heading.
    Every block must already fit with a header and a heading.
    """
    budget = MAX_MESSAGE - reserve
    gap = utf16_len(_BLOCK_GAP)
    messages: list[list[str]] = []
    current: list[str] = [header_first]
    used = visible_len(header_first)
    blocks_in_current = 0
    for heading, blocks in sections:
        heading_shown = False
        for block in blocks:
            size = visible_len(block)
            extra = (0 if heading_shown or not heading else gap + visible_len(heading)) + gap
            if blocks_in_current and used + extra + size > budget:
                messages.append(current)
                current, used, blocks_in_current = [header_next], visible_len(header_next), 0
                heading_shown = False
                extra = (gap + visible_len(heading) if heading else 0) + gap
            if not heading_shown and heading:
                current.append(heading)
            heading_shown = True
            current.append(block)
            used += extra + size
            blocks_in_current += 1
    messages.append(current)
    return [_BLOCK_GAP.join(parts) for parts in messages]


def _number_messages(messages: list[str], first_line_ends: list[int]) -> list[str]:
    if len(messages) < 2:
        return messages
    total = len(messages)
    numbered = []
    for index, (message, cut) in enumerate(zip(messages, first_line_ends, strict=True), 1):
        numbered.append(f"{message[:cut]} ({index}/{total}){message[cut:]}")
    return numbered


def _marker_reserve(blocks: int) -> int:
    # At most one message per block plus the header's: " (N/N)" never grows past this.
    n = blocks + 1
    return utf16_len(f" ({n}/{n})")


def render_digest(
    cards: list[ArticleCard],
    *,
    period: str,
    sentences: int,
    tz: tzinfo,
    now: datetime,
    tr: Translator = ENGLISH,
) -> list[str]:
    """A digest: header, forums (soonest first) then news (newest first), as messages.

    Each message stays under MAX_MESSAGE visible UTF-16 units and a card never spans two;
    when there are several messages each header carries "(2/3)". ``period`` is "daily" or
    "weekly" (or any word to put in "Your … digest"). A card repeated (same id) is shown
    once. No cards, no messages.
    """
    cards = _unique(cards)
    if not cards:
        return []
    day = tr.date(_local_date(now, tz))
    label = _escape(_truncate(_one_line(period), 20)) or "daily"
    known = _DIGEST_TITLES.get(label)
    title = tr(known, day=day) if known else tr(_DIGEST_TITLE, period=label, day=day)
    count = tr.ngettext("{n} article", "{n} articles", len(cards))
    header_first = f"{title}{_SEPARATOR}{count}"
    forums = sorted((c for c in cards if c.event is not None), key=_start_key)
    news = sorted((c for c in cards if c.event is None), key=lambda c: -c.published.timestamp())
    sections = [
        (heading, group)
        for heading, group in (
            ("🏛 <b>" + tr("Forums") + "</b>", forums),
            ("🧪 <b>" + tr("News") + "</b>", news),
        )
        if group
    ]
    reserve = _marker_reserve(len(cards))
    gap = utf16_len(_BLOCK_GAP)
    longest_heading = max(visible_len(h) for h, _ in sections)
    card_limit = (
        (MAX_MESSAGE - reserve - max(visible_len(header_first), visible_len(title)))
        - 2 * gap
        - longest_heading
    )
    rendered = [
        (
            h,
            [
                render_card(c, sentences=sentences, tz=tz, now=now, limit=card_limit, tr=tr)
                for c in g
            ],
        )
        for h, g in sections
    ]
    messages = _split_messages(header_first, title, rendered, reserve)
    ends = [len(header_first)] + [len(title)] * (len(messages) - 1)
    return _number_messages(messages, ends)


def _countdown(start: date, end: date, today: date, tr: Translator) -> str:
    if start <= today <= end:
        return tr("on now")
    days = (start - today).days
    if days == 1:
        return tr("tomorrow")
    if days < 7:
        return tr.ngettext("in {n} day", "in {n} days", days)
    if days < 60:
        if days < 14:
            return tr("next week")
        return tr.ngettext("in {n} week", "in {n} weeks", days // 7)
    return tr.ngettext("in {n} month", "in {n} months", days // 30)


def _event_entry(card: ArticleCard, event: EventFacts, today: date, tr: Translator) -> str:
    start, end = event_dates(event) or (today, today)
    name = _truncate(_one_line(event.name or "") or _one_line(card.title), _NAME_CAP)
    label = _escape(name or tr(_UNTITLED))
    url = safe_url(card.url)
    if url is not None:
        label = f'<a href="{_escape(url)}">{label}</a>'
    countdown = _countdown(start, end, today, tr)
    lines = [f"📅 <b>{tr.date_range(start, end)}</b>" + tr(" ({status})", status=countdown), label]
    place = event_place(event)
    if place:
        lines.append(f"📍 {_escape(place)}")
    return "\n".join(lines)


def render_events(
    cards: list[ArticleCard], *, tz: tzinfo, now: datetime, tr: Translator = ENGLISH
) -> list[str]:
    """/events: forums that have not ended (by the chat's calendar), soonest first.

    Each entry shows the dates, the event's name (or the article title) linked to the
    article, and the place; split like digests. Cards without an event or dates are left
    out; nothing left means no messages.
    """
    today = _local_date(now, tz)
    upcoming: list[tuple[ArticleCard, EventFacts]] = []
    for card in sorted(_unique(cards), key=_start_key):
        dates = event_dates(card.event) if card.event is not None else None
        if card.event is not None and dates is not None and dates[1] >= today:
            upcoming.append((card, card.event))
    if not upcoming:
        return []
    title = "🗓 <b>" + tr("Upcoming forums") + "</b>"
    header_first = f"{title}{_SEPARATOR}{len(upcoming)}"
    entries = [_event_entry(card, event, today, tr) for card, event in upcoming]
    messages = _split_messages(header_first, title, [("", entries)], _marker_reserve(len(entries)))
    ends = [len(header_first)] + [len(title)] * (len(messages) - 1)
    return _number_messages(messages, ends)
