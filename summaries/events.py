"""Forum facts: is an article about a science forum/event, and what are its name, dates, place,
organizers and attendance (English and Chinese).

Everything here is pure and deterministic: the publication date is an argument. The approach is
a small explainable scorer (``assess_event`` lists the reasons behind its score) plus
rule-based readers over sentences, one module per fact: ``eventsentences`` (sentences and
their event nouns), ``eventdates`` (dates and the year they belong to), ``deadlines``,
``eventnames``, ``places`` (city, district, venue; cities from ``gazetteer``), ``organizers``
and ``attendance``. Every regular expression uses bounded quantifiers so hostile input costs
linear time, and input is capped at ``MAX_TEXT_CHARS``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from summaries.attendance import attendance
from summaries.deadlines import find_deadlines, resolve_deadlines
from summaries.errors import SummariesError
from summaries.eventdates import (
    Dateline,
    EventDates,
    event_dates,
    find_dateline,
    is_date_label,
    resolve_dates,
    usable_mentions,
)
from summaries.eventnames import en_names, is_headline_case, zh_names
from summaries.eventsentences import (
    CJK,
    GENERIC_EVENT,
    Sentence,
    event_sentences,
    heading,
)
from summaries.organizers import EN_ORG_LABEL, ZH_ORG_LABEL, dedupe, en_organizers, zh_organizers
from summaries.places import (
    EN_VENUE_LABEL,
    ZH_VENUE_LABEL,
    find_city,
    find_district,
    find_venue,
    place_mentions,
)
from summaries.sentences import language_code

__all__ = [
    "EVENT_THRESHOLD",
    "MAX_TEXT_CHARS",
    "EventEvidence",
    "EventFacts",
    "assess_event",
    "extract_event",
    "resolve_dates",
]

# A news article is a few thousand words; anything longer is not worth scanning in full.
MAX_TEXT_CHARS = 100_000
# Score at which an article counts as a forum article; see ``assess_event`` for the weights.
EVENT_THRESHOLD = 6
_PRECISIONS = ("day", "month")
# The lead sentence is looked for among the body's first sentences.
_LEAD_WINDOW = 40


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What an article says about the event it reports or announces.

    ``precision`` is "day", or "month" when the text gives only a month ("in November 2026"):
    then ``start``..``end`` is that whole month. ``deadlines`` are (kind, date) pairs, kind one
    of "registration", "early-bird", "abstract", "paper", "application" or "deadline".
    ``lead_sentence`` is the body sentence that best says what, when and where.
    """

    name: str | None
    kind: str
    start: date | None
    end: date | None
    city: str | None
    venue: str | None
    organizers: tuple[str, ...]
    attendance: int | None
    district: str | None = None
    precision: str = "day"
    deadlines: tuple[tuple[str, date], ...] = ()
    lead_sentence: str | None = None

    def is_upcoming(self, now: datetime) -> bool | None:
        """True while the event has not ended (end date inclusive), None when dates are unknown."""
        last = self.end or self.start
        if last is None:
            return None
        return now.date() <= last

    def to_dict(self, now: datetime) -> dict[str, object]:
        """JSON-ready form; ``upcoming`` is computed against ``now``, ``from_dict`` ignores it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "precision": self.precision,
            "city": self.city,
            "district": self.district,
            "venue": self.venue,
            "organizers": list(self.organizers),
            "attendance": self.attendance,
            "deadlines": [{"kind": k, "date": d.isoformat()} for k, d in self.deadlines],
            "lead_sentence": self.lead_sentence,
            "upcoming": self.is_upcoming(now),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> EventFacts:
        """Load what ``to_dict`` produced, now or before the optional fields existed; malformed
        data raises ``SummariesError``."""
        if not isinstance(d, Mapping):
            raise SummariesError(f"event facts must be a mapping, got {type(d).__name__}")
        kind = d.get("kind")
        if not isinstance(kind, str) or not kind:
            raise SummariesError("event facts: 'kind' must be a non-empty string")
        organizers = d.get("organizers", [])
        if not isinstance(organizers, list | tuple) or not all(
            isinstance(o, str) for o in organizers
        ):
            raise SummariesError("event facts: 'organizers' must be a list of strings")
        attendance_count = d.get("attendance")
        if attendance_count is not None and (
            isinstance(attendance_count, bool)
            or not isinstance(attendance_count, int)
            or attendance_count < 0
        ):
            raise SummariesError("event facts: 'attendance' must be a non-negative int or null")
        precision = d.get("precision") or "day"
        if precision not in _PRECISIONS:
            raise SummariesError(f"event facts: 'precision' must be one of {_PRECISIONS}")
        return cls(
            name=_optional_str(d, "name"),
            kind=kind,
            start=_optional_date(d, "start"),
            end=_optional_date(d, "end"),
            city=_optional_str(d, "city"),
            venue=_optional_str(d, "venue"),
            organizers=tuple(organizers),
            attendance=attendance_count,
            district=_optional_str(d, "district"),
            precision=str(precision),
            deadlines=_deadlines(d.get("deadlines")),
            lead_sentence=_optional_str(d, "lead_sentence"),
        )


def _optional_str(d: Mapping[str, object], key: str) -> str | None:
    value = d.get(key)
    if value is None or isinstance(value, str):
        return value
    raise SummariesError(f"event facts: {key!r} must be a string or null")


def _iso_date(value: object, key: str) -> date:
    if not isinstance(value, str):
        raise SummariesError(f"event facts: {key!r} must be an ISO date string or null")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SummariesError(f"event facts: {key!r} is not an ISO date: {value!r}") from exc


def _optional_date(d: Mapping[str, object], key: str) -> date | None:
    value = d.get(key)
    return None if value is None else _iso_date(value, key)


def _deadlines(value: object) -> tuple[tuple[str, date], ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise SummariesError("event facts: 'deadlines' must be a list")
    out: list[tuple[str, date]] = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
            raise SummariesError("event facts: each deadline needs a 'kind' and a 'date'")
        out.append((str(item["kind"]), _iso_date(item.get("date"), "deadlines")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class EventEvidence:
    """The forum-article score and the named reasons that make it up (for tests and debugging)."""

    score: int
    reasons: tuple[str, ...]

    @property
    def is_event(self) -> bool:
        return self.score >= EVENT_THRESHOLD


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------

# Research-paper cues. Each starts with a literal so ``re`` can skip ahead quickly; the
# optional second pattern must match the few characters before the hit.
_RESEARCH_CUES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        "published-in",
        re.compile(r"published\s(?:\w{1,20}\s){0,3}in\s(?:the\s)?(?:journal\s)?[A-Z]"),
        None,
    ),
    ("journal", re.compile(r"[Jj]ournal\b"), None),
    (
        "the-study",
        re.compile(r"\sstudy\b"),
        re.compile(r"(?:[Tt]he|\b[Aa]|[Nn]ew|[Tt]his|[Tt]heir)$"),
    ),
    ("researchers-found", re.compile(r"researchers\s(?:found|discovered|showed|report)"), None),
    ("doi", re.compile(r"doi\.org|DOI\b|et al\."), None),
    ("preprint", re.compile(r"preprint|arXiv|bioRxiv|peer[- ]reviewed"), None),
    ("findings", re.compile(r"[Tt]he\s(?:findings|paper)\b"), None),
    ("zh-published", re.compile(r"发表(?:于|在)|期刊|研究团队|研究发现|研究显示|论文显示"), None),
)
_NO_SKIP: frozenset[tuple[int, int]] = frozenset()


def _clean(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SummariesError(f"extract_event: {what} must be a string, got {type(value).__name__}")
    return value[:MAX_TEXT_CHARS].replace("\x00", " ")


def _is_zh(text: str, language: str | None) -> bool:
    if language:
        return language.lower().startswith("zh")
    sample = text[:3000]
    cjk = len(CJK.findall(sample))
    latin = len(re.findall(r"[A-Za-z]", sample))
    return cjk > 0.3 * (cjk + latin) if cjk + latin else False


def _has_cue(text: str, pattern: re.Pattern[str], before: re.Pattern[str] | None) -> bool:
    for m in pattern.finditer(text):
        if before is None or before.search(text[max(0, m.start() - 6) : m.start()]):
            return True
    return False


def _research_penalty(text: str) -> tuple[int, list[str]]:
    hits = [name for name, pattern, before in _RESEARCH_CUES if _has_cue(text, pattern, before)]
    return -min(8, 2 * len(hits)), [f"research:{h}" for h in hits]


def _is_dated(s: Sentence) -> bool:
    return any(True for _ in usable_mentions(s, _NO_SKIP, Dateline()))


def _assess(title: Sentence | None, body: Sequence[Sentence], text: str) -> EventEvidence:
    score = 0
    reasons: list[str] = []

    def add(points: int, reason: str) -> None:
        nonlocal score
        score += points
        reasons.append(f"{reason}{points:+d}")

    if title and title.is_event:
        add(3, "title-noun")
    if any(s.is_event for s in body[:3]):
        add(2, "lead-noun")
    events = [s for s in body if s.is_event]
    if any(s.has_verb for s in events):
        add(3, "event-verb")
    if any(_is_dated(s) for s in events[:20]):
        add(2, "dated-event")
    if attendance(body[:60]) is not None:
        add(2, "attendance")
    if any(en_organizers(s.text, False) or zh_organizers(s.text) for s in events[:20]):
        add(1, "organizers")
    if sum(len(s.live_nouns) for s in events) >= 3:
        add(1, "repeated-noun")
    if any(en_names(s.text) or zh_names(s.text) for s in events[:10]):
        add(1, "named-event")
    penalty, cues = _research_penalty(text)
    if penalty:
        score += penalty
        reasons += cues
    return EventEvidence(score, tuple(reasons))


def _split_language(zh: bool, language: str | None) -> str:
    return "zh" if zh else language_code(language) or "en"


def assess_event(title: str, text: str, *, published: datetime | None = None) -> EventEvidence:
    """Score how much an article reads like a forum report or announcement, with reasons.

    Points: event noun in the title (+3) or lead (+2); a sentence pairing an event noun with an
    event verb (+3); a date in an event sentence (+2); attendance (+2); organizers (+1); the
    event named repeatedly (+1) or by a proper name (+1); minus 2 per distinct research-paper
    cue (at most -8). Event nouns in passing ("presented at the annual meeting") do not count.
    ``published`` is accepted for symmetry with ``extract_event``: a date counts with or
    without a year, so the score does not depend on it.
    """
    del published
    title, text = _clean(title, "title"), _clean(text, "text")
    body = event_sentences(text, _split_language(_is_zh(title + text, None), None))
    return _assess(heading(title), body, text)


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def _pick_kind(title: Sentence | None, events: Sequence[Sentence]) -> str:
    votes: dict[str, int] = {}
    for weight, sentences in ((3, [title] if title else []), (1, events)):
        for s in sentences:
            for n in s.live_nouns:
                if n.singular:
                    votes[n.kind] = votes.get(n.kind, 0) + weight
    if not votes:
        return "conference"
    return max(votes.items(), key=lambda kv: kv[1])[0]


def _is_headline(line: str) -> bool:
    return is_headline_case(line) and not line.rstrip().endswith((".", "!", "?", "”", '"'))


def _anchor(
    events: Sequence[Sentence], skip: frozenset[tuple[int, int]], dateline: Dateline
) -> Sentence | None:
    """The first event sentence giving a date: it usually names, dates and places the event
    in one go ("The X Forum was held Dec. 5 at Y")."""
    for want_day in (True, False):
        for s in events:
            if any(m.is_day == want_day for m in usable_mentions(s, skip, dateline)):
                return s
    return next((s for s in events if s.has_verb), events[0] if events else None)


def _names(
    heading_: Sentence | None,
    anchor: Sentence | None,
    events: Sequence[Sentence],
    title: str,
    zh: bool,
) -> list[tuple[str, str]]:
    ordered = ([anchor] if anchor else []) + [s for s in events if s is not anchor]
    zh_title = [heading_] if heading_ and zh else []
    en_title = [heading_] if heading_ and not zh and not is_headline_case(title) else []
    for s in zh_title + ordered + en_title:
        # A headline copied into the body ("Shenzhen Symposium Highlights ...") capitalises
        # every word, so its capitalised runs are not names.
        if s is not heading_ and _is_headline(s.text):
            continue
        found = (zh_names(s.text) + en_names(s.text)) if zh else en_names(s.text)
        if found:
            return list(found)
    return []


def _lead_sentence(
    body: Sequence[Sentence],
    *,
    name: str | None,
    skip: frozenset[tuple[int, int]],
    dateline: Dateline,
    places: Sequence[str],
) -> str | None:
    """The body sentence that best says what, when and where: an event sentence, scored for
    naming the forum, dating it, placing it and an event verb; the earliest of the best."""
    best: tuple[int, int, str] | None = None
    for s in body[:_LEAD_WINDOW]:
        if not s.is_event or len(s.text) < 25 or _is_headline(s.text) or is_date_label(s.text):
            continue
        if s.index == dateline.sentence and dateline.whole_line:
            continue
        score = 2 if name and name in s.text else 0
        score += 2 if any(True for _ in usable_mentions(s, skip, dateline)) else 0
        placed = place_mentions(s.text) or any(p and p in s.text for p in places)
        score += 1 if placed else 0
        score += 1 if s.has_verb else 0
        if best is None or score > best[0]:
            best = (score, s.index, s.text)
    return best[2] if best is not None and best[0] >= 2 else None


def extract_event(
    title: str, text: str, *, published: datetime | None, language: str | None = None
) -> EventFacts | None:
    """The event an article reports or announces, or None when it is not a forum article.

    Dates come from the text first (see ``summaries.eventdates``): a year in the forum's name,
    the report's dateline, a full date near the event, tense; ``published`` only after them.
    Without any of these, only dates that state their year are kept. ``language`` ("en",
    "zh", ...) only settles which script's rules go first; it is detected when missing.
    """
    title, text = _clean(title, "title"), _clean(text, "text")
    zh = _is_zh(title + text, language)
    head = heading(title)
    body = event_sentences(text, _split_language(zh, language))
    if not _assess(head, body, text).is_event:
        return None
    published_day = published.date() if published else None
    events = [s for s in body if s.is_event]

    dateline = find_dateline(body, published_day)
    deadlines = find_deadlines(body)
    skip = frozenset((d.sentence, d.mention.start) for d in deadlines)
    anchor = _anchor(events, skip, dateline)

    names = _names(head, anchor, events, title, zh)
    name, name_kind = names[0] if names else (None, None)

    dates: EventDates = event_dates(
        body,
        anchor=anchor,
        title=head,
        name=name,
        published=published_day,
        dateline=dateline,
        skip=skip,
    )

    labels = [s for s in body if EN_VENUE_LABEL.match(s.text) or ZH_VENUE_LABEL.search(s.text)]
    venue = find_venue([*labels, *([anchor] if anchor else []), *(s for s in events if s.has_verb)])
    city = find_city(
        title=head, body=body, anchor=anchor, venue=venue, dateline_city=dateline.city, zh=zh
    )
    district_sources = [s.text for s in labels] + ([anchor.text] if anchor else [])
    district_sources += ([venue] if venue else []) + ([head.text] if head else [])
    district = find_district(district_sources, city, zh=zh)

    organizers: list[str] = []
    for s in body[:200]:
        if (
            s.is_event
            or GENERIC_EVENT.search(s.text)
            or EN_ORG_LABEL.match(s.text)
            or ZH_ORG_LABEL.search(s.text)
        ):
            organizers += zh_organizers(s.text) + en_organizers(s.text, True)

    return EventFacts(
        name=name,
        kind=name_kind or _pick_kind(head, events),
        start=dates.start,
        end=dates.end,
        city=city,
        venue=venue,
        organizers=dedupe(organizers)[:8],
        attendance=attendance(body),
        district=district,
        precision=dates.precision,
        deadlines=resolve_deadlines(
            deadlines, start=dates.start, report=dateline.day or published_day
        ),
        lead_sentence=_lead_sentence(
            body,
            name=name,
            skip=skip,
            dateline=dateline,
            places=[p for p in (city, district, venue) if p],
        ),
    )
