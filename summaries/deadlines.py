"""Deadlines: the registration, abstract, paper, application and early-bird dates an
announcement gives ("the call for abstracts closes on Nov. 30", "请于2026年4月30日前报名").

They are facts of their own, and finding them keeps them out of the forum's dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from summaries.eventdates import DatedText, DateMention, date_mentions, resolve_mention
from summaries.eventsentences import Sentence

__all__ = ["Deadline", "find_deadlines", "resolve_deadlines"]

# A sentence is only read for deadlines when it has one of these; most sentences do not.
_HINT = re.compile(
    r"deadline|due\b|clos|regist|submi|abstract|early[- ]?bird|appl|nominat|propos|截止|截至|报名"
    r"|注册|投稿|征文|提交|摘要|申请|早鸟|回执",
    re.IGNORECASE,
)
# Words that make the date before or after them a deadline, with or without a kind.
_EN_DEADLINE = re.compile(r"\b(?:deadlines?|due)\b", re.IGNORECASE)
_EN_CUTOFF = re.compile(
    r"\b(?:by|before|until|till|no later than|not later than|close[sd]?|closing|ends?|ending"
    r"|extended to)\b",
    re.IGNORECASE,
)
_ZH_DEADLINE = re.compile(r"截止|截至")
_ZH_BEFORE = re.compile(r"^\s{0,2}(?:日)?\s{0,2}(?:前|之前|以前|截止|截至|止)")
# Most specific first: "early-bird registration" is early-bird, "abstract submission" abstract.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("early-bird", re.compile(r"early[- ]?bird|早鸟|优惠注册", re.IGNORECASE)),
    ("abstract", re.compile(r"\babstracts?\b|摘要", re.IGNORECASE)),
    (
        "paper",
        re.compile(r"\b(?:papers?|manuscripts?|submissions?|submit)\b|投稿|论文|征文|稿件", re.I),
    ),
    (
        "application",
        re.compile(r"\b(?:applications?|apply|nominations?|proposals?)\b|申请|申报|提名", re.I),
    ),
    ("registration", re.compile(r"\bregist(?:er|ration|ering)\b|sign[- ]up|报名|注册|回执", re.I)),
)
# How much text around a date is read for its cue: the clause it is in, no further.
_WINDOW = 80
_CLAUSE_BREAK = re.compile(r"[;；。!?！？]")


@dataclass(frozen=True, slots=True)
class Deadline:
    kind: str  # "registration", "early-bird", "abstract", "paper", "application", "deadline"
    sentence: int
    mention: DateMention


def _kind(text: str) -> str | None:
    return next((kind for kind, pattern in _KINDS if pattern.search(text)), None)


def _clause_before(dated: DatedText, m: DateMention, previous_end: int) -> str:
    window = dated.text[max(previous_end, m.start - _WINDOW) : m.start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    return window[breaks[-1].end() :] if breaks else window


def _deadline_kind(dated: DatedText, m: DateMention, previous_end: int) -> str | None:
    before = _clause_before(dated, m, previous_end)
    after = dated.text[m.end : m.end + 30]
    if _ZH_BEFORE.match(after):
        # "请于2026年4月30日前通过大会网站在线报名", "5月1日截止": the kind follows or precedes.
        return _kind(after) or _kind(before) or "deadline"
    if _ZH_DEADLINE.search(before):
        return _kind(before) or "deadline"
    kind = _kind(before)
    if _EN_DEADLINE.search(before):
        return kind or "deadline"
    # "registration closes on", "submit abstracts by": a kind and a cut-off word, in that clause.
    if kind and _EN_CUTOFF.search(before):
        return kind
    return None


def find_deadlines(sentences: Iterable[Sentence]) -> list[Deadline]:
    """Every deadline the sentences give, with the mention it is written as."""
    found: list[Deadline] = []
    for s in sentences:
        dated = date_mentions(s.text)
        if not dated.mentions or not _HINT.search(dated.text):
            continue
        previous_end = 0
        for m in dated.mentions:
            kind = _deadline_kind(dated, m, previous_end)
            if kind is not None and m.is_day:
                found.append(Deadline(kind, s.index, m))
            previous_end = m.end
    return found


def resolve_deadlines(
    deadlines: Iterable[Deadline], *, start: date | None, report: date | None
) -> tuple[tuple[str, date], ...]:
    """(kind, date) of each deadline, by date; a year-less one falls in the year before the
    forum's start (deadlines precede the forum), else nearest the report's date."""
    out: set[tuple[str, date]] = set()
    for d in deadlines:
        found = None
        if d.mention.has_year or start is None:
            found = resolve_mention(d.mention, reference=report)
        else:
            found = resolve_mention(d.mention, reference=start, tense="past")
        if found is None:
            continue
        day = found[1]
        if start is not None and not d.mention.has_year and day > start + timedelta(days=1):
            continue
        out.add((d.kind, day))
    return tuple(sorted(out, key=lambda kd: (kd[1], kd[0])))
