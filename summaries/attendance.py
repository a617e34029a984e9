"""Attendance: how many people a forum brought together ("over 300 scholars", "300余名专家学者",
"逾千人"), not how many spoke or how many papers it saw."""

from __future__ import annotations

import re
from collections.abc import Sequence

from summaries.eventsentences import ZH_EVENT_VERB, Sentence
from summaries.eventwords import MONTHS, ZH_DIGITS

__all__ = ["attendance"]

_ATT_EN = re.compile(
    r"(?<![\w.,$])(?P<q>(?:over|more than|nearly|almost|about|around|approximately|some"
    r"|roughly|upwards of|at least|close to|an estimated)\s{1,3})?(?P<n>\d{1,3}(?:,\d{3}){1,2}"
    r"|\d{1,7})\+?(?:-plus)?\s{1,3}(?:[A-Za-z][\w-]{0,30},?\s{1,3}){0,4}?"
    r"(?P<noun>participants|attendees|delegates|scholars|experts|representatives|guests|people"
    r"|visitors|academicians|professionals|entrepreneurs|students|researchers|[a-z]{2,20}ists)\b",
    re.IGNORECASE,
)
_ATT_EN_CONTEXT = re.compile(
    r"\b(?:brought together|brings together|gather|attend|attract|drew|draw|convene|joined"
    r"|participat|took part|registered|expect)",
    re.IGNORECASE,
)
_SPEAKERS_EN = re.compile(
    r"\b(?:speeches|speakers?|keynotes?|spoke|invited to (?:speak|present|give|deliver|make))\b",
    re.IGNORECASE,
)
_ATT_ZH = re.compile(
    r"(?P<q>超过|逾|近|约|共|超|多达|将近|有|达|上)?(?P<n>\d{1,3}(?:,\d{3}){1,2}|\d{1,7}"
    r"|[一二两三四五六七八九十百千万]{1,6})(?P<more>余|多)?(?P<unit>名|位|人)"
)
_ZH_PERSON = re.compile(
    r"^.{0,4}(?:专家|学者|代表|嘉宾|科学家|人员|院士|观众|企业家|师生|青年|参会|与会|人士|来宾|听众|学生|医生)"
)
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if "," in text:
        return int(text.replace(",", ""))
    total = section = digit = 0
    for ch in text:
        if ch in ZH_DIGITS:
            digit = ZH_DIGITS[ch]
        elif ch == "万":
            total += (section + (digit or 1)) * 10000
            section = digit = 0
        elif ch in _ZH_UNITS:
            section += (digit or 1) * _ZH_UNITS[ch]
            digit = 0
        else:
            return None
    return total + section + digit


def _attendance_in(sentence: str) -> list[int]:
    counts: list[int] = []
    for m in _ATT_EN.finditer(sentence):
        before = sentence[max(0, m.start() - 12) : m.start("n")]
        if re.search(r"[A-Z][a-z]{2,8}\.?\s{0,2}$", before) and any(
            before.rstrip(". ").lower().endswith(mo) for mo in MONTHS
        ):
            continue
        if _SPEAKERS_EN.search(sentence, m.end()):
            continue
        counts.append(int(m.group("n").replace(",", "")))
    for m in _ATT_ZH.finditer(sentence):
        prev = sentence[m.start() - 1 : m.start()] if m.start() else ""
        if prev in ("第", "数", "几") or prev.isdigit():
            continue
        after = sentence[m.end() : m.end() + 12]
        if m.group("unit") == "人":
            if after[:1] in ("民", "才", "工", "类", "口", "员", "士"):
                continue
        elif not _ZH_PERSON.match(after):
            continue
        if re.match(r"^.{0,8}(?:作报告|演讲|致辞|发言)", after):
            continue
        value = _zh_number(m.group("n"))
        if value is not None:
            counts.append(value)
    return [c for c in counts if c >= 2]


def attendance(sentences: Sequence[Sentence]) -> int | None:
    for s in sentences:
        if not (s.is_event or _ATT_EN_CONTEXT.search(s.text) or ZH_EVENT_VERB.search(s.text)):
            continue
        counts = _attendance_in(s.text)
        if counts:
            return max(counts)
    return None
