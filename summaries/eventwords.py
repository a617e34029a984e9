"""The words forum facts are read with: month names, event nouns, the heads of organization and
venue names, and the capitalised words that start sentences rather than names.

Plain constants only (no regular expressions, no I/O); the modules that read forum facts
(``events``, ``eventdates``, ``eventnames``, ``places``, ``organizers``, ``attendance``) share them.
"""

from __future__ import annotations

__all__ = [
    "ABBREVIATIONS",
    "AFFILIATION",
    "COMPANY_TAILS",
    "GENERIC_QUALIFIERS",
    "KIND_OF",
    "MONTHS",
    "NAME_CONNECTORS",
    "NAME_LEFT_STOPWORDS",
    "NAME_STOPWORDS",
    "NOT_DISTRICTS",
    "ORG_HEADS",
    "VENUE_HEADS",
    "WEEKDAYS",
    "ZH_DIGITS",
    "ZH_KIND_OF",
    "ZH_NOT_AFTER",
    "ZH_NOT_BEFORE",
    "ZH_NOT_DISTRICTS",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
WEEKDAYS: dict[str, int] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}  # fmt: skip
# Chinese digits, for dates written "二〇二五年十一月十八日" and counts written "两千".
ZH_DIGITS: dict[str, int] = {
    "〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
    "八": 8, "九": 9,
}  # fmt: skip

KIND_OF: dict[str, str] = {
    "forum": "forum", "conference": "conference", "symposium": "symposium",
    "symposia": "symposium", "congress": "congress", "summit": "summit", "workshop": "workshop",
    "expo": "expo", "exposition": "expo", "colloquium": "symposium", "convention": "conference",
    "meeting": "conference", "seminar": "workshop", "exhibition": "expo", "fair": "expo",
}  # fmt: skip
ZH_KIND_OF: dict[str, str] = {
    "论坛": "forum", "研讨会": "symposium", "峰会": "summit", "博览会": "expo", "展览会": "expo",
    "大会": "conference", "年会": "conference", "会议": "conference", "学术会": "conference",
    "交流会": "conference", "工作坊": "workshop", "研讨班": "workshop", "座谈会": "forum",
}  # fmt: skip
# Political sessions, phone calls and venues ("会议中心") that share the Chinese event nouns.
ZH_NOT_BEFORE = ("分", "子", "代表", "常务", "全体", "答问", "视频", "电话", "政治局")
ZH_NOT_AFTER = ("中心", "室", "厅", "堂", "场", "馆")

ORG_HEADS = _words(
    "Society Institute Institutes University Academy Association Center Centre Centers Council"
    " Ministry Bureau Government Committee Commission Foundation Alliance Organization"
    " Organisation Agency Laboratory Laboratories Lab Hospital School College Department Group"
    " Company Corporation Inc Inc. Ltd Ltd. Co. Federation Network Consortium Union Office"
    " Administration Institution Board Authority Observatory Initiative Programme Program Park"
    " Museum Fund Trust Daily Press Journal"
)
VENUE_HEADS = _words(
    "Center Centre Hall Hotel University Institute Park Museum Auditorium Stadium Campus"
    " Building Palace Academy Resort Plaza Tower Complex Arena Theater Theatre Library"
    " Guesthouse Pavilion Expo Venue College School Laboratory Observatory Gardens Lodge Inn"
    " Club Room Square Centres Centers"
)
ABBREVIATIONS = _words(
    "Dr Prof Mr Mrs Ms Mt St Co Ltd Inc Corp Jr Sr No Vol Fig Amb Gen Gov Sen Rep Jan Feb Mar"
    " Apr Jun Jul Aug Sep Sept Oct Nov Dec U.S e.g i.e al vs"
)
COMPANY_TAILS = frozenset({"Ltd.", "Ltd", "Inc.", "Inc", "LLC", "Co.", "Corp."})
# Capitalised words that start sentences or clauses rather than names.
NAME_STOPWORDS = _words(
    "The A An This That These Those During At In On For From With After Before Yesterday Today"
    " Last Next It Its Our His Her Their When While As By To And Of Since Recently"
    " Meanwhile"
)
# Plus nouns that open report sentences ("Experts converge in ...") but are never part of a name.
NAME_LEFT_STOPWORDS = NAME_STOPWORDS | {"Experts", "Scholars", "Participants", "Scientists"}
GENERIC_QUALIFIERS = _words(
    "International Annual Global World National First Second Third Inaugural Joint Open"
)
NAME_CONNECTORS = frozenset({"of", "on", "for", "and", "in", "the", "&", "-", "de"})
# "a professor at X" places a person, not the event.
AFFILIATION = _words(
    "professor director researcher scientist student dean president fellow lecturer chair"
    " Professor Director Researcher Scientist Student Dean President Fellow"
)
# "Lake District", "Financial District": districts that are no city's administrative part.
NOT_DISTRICTS = _words(
    "Lake Peak Financial Business Central Innovation School Congressional Historic Federal"
    " Capital Special Military Judicial Health Water Fire Design Arts Art Cultural"
    " Entertainment Shopping Tech Technology Science Knowledge Medical Theater Theatre"
    " Warehouse Garment Diamond Harbour Harbor Port Market"
)
# Words ending in 区 that name a kind of zone, not a district ("园区" park, "湾区" bay area).
ZH_NOT_DISTRICTS = _words(
    "园区 社区 地区 校区 景区 展区 湾区 特区 城区 市区 片区 新区 郊区 会区 试验区 示范区 开发区"
    " 保税区 自贸区 功能区 核心区 先行区 合作区 大湾区 产业区"
)
