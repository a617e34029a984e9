"""Forum facts: is an article about a science forum/event, and what are its name, dates, place,
organizers and attendance (English and Chinese).

Everything here is pure and deterministic: the publication date and ``now`` are arguments. The
approach is a small explainable scorer (``assess_event`` lists the reasons behind its score)
plus rule-based extractors over sentences. Every regular expression uses bounded quantifiers so
hostile input costs linear time, and input is capped at ``MAX_TEXT_CHARS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache

from summaries.errors import SummariesError

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
# Longest plausible event (a long expo); longer "ranges" are two unrelated dates.
_MAX_EVENT_DAYS = 60


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What an article says about the event it reports or announces."""

    name: str | None
    kind: str
    start: date | None
    end: date | None
    city: str | None
    venue: str | None
    organizers: tuple[str, ...]
    attendance: int | None

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
            "city": self.city,
            "venue": self.venue,
            "organizers": list(self.organizers),
            "attendance": self.attendance,
            "upcoming": self.is_upcoming(now),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> EventFacts:
        """Load what ``to_dict`` produced; malformed data raises ``SummariesError``."""
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
        attendance = d.get("attendance")
        if attendance is not None and (
            isinstance(attendance, bool) or not isinstance(attendance, int) or attendance < 0
        ):
            raise SummariesError("event facts: 'attendance' must be a non-negative int or null")
        return cls(
            name=_optional_str(d, "name"),
            kind=kind,
            start=_optional_date(d, "start"),
            end=_optional_date(d, "end"),
            city=_optional_str(d, "city"),
            venue=_optional_str(d, "venue"),
            organizers=tuple(organizers),
            attendance=attendance,
        )


def _optional_str(d: Mapping[str, object], key: str) -> str | None:
    value = d.get(key)
    if value is None or isinstance(value, str):
        return value
    raise SummariesError(f"event facts: {key!r} must be a string or null")


def _optional_date(d: Mapping[str, object], key: str) -> date | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SummariesError(f"event facts: {key!r} must be an ISO date string or null")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SummariesError(f"event facts: {key!r} is not an ISO date: {value!r}") from exc


@dataclass(frozen=True, slots=True)
class EventEvidence:
    """The forum-article score and the named reasons that make it up (for tests and debugging)."""

    score: int
    reasons: tuple[str, ...]

    @property
    def is_event(self) -> bool:
        return self.score >= EVENT_THRESHOLD


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip


def _month_alternation() -> str:
    # Title case and capitals only: lower-case "may"/"march" are usually verbs, not months.
    forms: list[str] = []
    for word in sorted(_MONTHS, key=len, reverse=True):
        forms += [word.capitalize(), word.upper()]
    return "|".join(forms)


_SEP = r"\s{0,3}(?:-|–|—|~|to|through|thru|until|till|and)\s{0,3}"
_ZH_SEP = r"\s{0,2}(?:至|到|—{1,2}|–|-|~|～|－)\s{0,2}"


def _date_regex() -> re.Pattern[str]:
    months = _month_alternation()

    def m(g: str) -> str:
        return rf"(?<![A-Za-z])(?P<{g}>{months})(?![A-Za-z])\.?"

    def d(g: str) -> str:
        return rf"(?<![\d.,])(?P<{g}>[0-3]?\d)(?:st|nd|rd|th)?(?![\d])"

    def y(g: str) -> str:
        return rf"(?P<{g}>(?:19|20)\d\d)(?!\d)"

    def opt_y(g: str) -> str:
        return rf"(?:,?\s{{0,2}}{y(g)})?"

    sp = r"\s{0,2}"
    zy = r"(?:(?P<{g}>(?:19|20)\d\d)\s{{0,2}}年\s{{0,2}})?"
    alternatives = {
        # "Dec. 30 - Jan. 2", "Nov 30, 2025 to Dec 2, 2025"
        "a": f"{m('a_m1')}{sp}{d('a_d1')}{opt_y('a_y1')}{_SEP}{m('a_m2')}{sp}{d('a_d2')}"
        f"{opt_y('a_y2')}",
        # "Nov. 16 to 17", "November 9-10, 2023"
        "b": f"{m('b_m1')}{sp}{d('b_d1')}{_SEP}{d('b_d2')}{opt_y('b_y2')}",
        # "on Dec 13", "Sept. 28", "Nov 24, 2025"
        "c": f"{m('c_m1')}{sp}{d('c_d1')}{opt_y('c_y1')}",
        # ISO "2025-11-18", optionally "to 2025-11-20"
        "i": rf"(?<![\d.]){y('i_y1')}[-/.](?P<i_m1>[01]?\d)[-/.]{d('i_d1')}"
        rf"(?:{_SEP}{y('i_y2')}[-/.](?P<i_m2>[01]?\d)[-/.]{d('i_d2')})?",
        # "30 November - 2 December 2025"
        "e": f"{d('e_d1')}{sp}{m('e_m1')}{opt_y('e_y1')}{_SEP}{d('e_d2')}{sp}{m('e_m2')}"
        f"{opt_y('e_y2')}",
        # "5-7 June 2025", "from 2 to 5 February"
        "f": f"{d('f_d1')}{_SEP}{d('f_d2')}{sp}{m('f_m2')}{opt_y('f_y2')}",
        # "18 November 2025"
        "g": f"{d('g_d1')}{sp}{m('g_m1')}{opt_y('g_y1')}",
        # "2026年12月8日至9日", "12月30日至1月2日", "11月16-17日"
        "z": zy.format(g="z_y1")
        + r"(?<!\d)(?P<z_m1>[01]?\d)\s{0,2}月\s{0,2}(?P<z_d1>[0-3]?\d)\s{0,2}[日号]?"
        + _ZH_SEP
        + zy.format(g="z_y2")
        + r"(?:(?P<z_m2>[01]?\d)\s{0,2}月\s{0,2})?(?P<z_d2>[0-3]?\d)\s{0,2}[日号]",
        # "11月18日", "2025年11月18日"
        "w": zy.format(g="w_y1") + r"(?<!\d)(?P<w_m1>[01]?\d)\s{0,2}月\s{0,2}(?P<w_d1>[0-3]?\d)"
        r"\s{0,2}[日号]",
    }
    # Longer forms come first so that, at one position, "Nov 16 to 17" beats "Nov 16".
    return re.compile("|".join(f"(?P<{k}>{v})" for k, v in alternatives.items()))


@cache
def _dates() -> re.Pattern[str]:
    return _date_regex()


def _month_number(token: str | None) -> int | None:
    if token is None:
        return None
    if token.isdigit():
        return int(token)
    return _MONTHS.get(token.lower())


def _nearest_year(month: int, day: int, reference: date) -> int | None:
    best: tuple[int, int] | None = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            distance = abs((date(year, month, day) - reference).days)
        except ValueError:
            continue
        if best is None or distance < best[0]:
            best = (distance, year)
    return None if best is None else best[1]


def _resolve_match(
    match: re.Match[str], reference: date | None, year_hint: int | None
) -> tuple[date, date] | None:
    key = match.lastgroup
    if key is None:
        return None
    g = match.groupdict()

    def part(name: str) -> str | None:
        return g.get(f"{key}_{name}")

    m1, m2 = _month_number(part("m1")), _month_number(part("m2"))
    sm, em = m1 or m2, m2 or m1
    sd_text, ed_text = part("d1"), part("d2") or part("d1")
    if sm is None or em is None or sd_text is None or ed_text is None:
        return None
    sd, ed = int(sd_text), int(ed_text)
    y1, y2 = part("y1"), part("y2")
    wraps = (em, ed) < (sm, sd)
    if y1 is None and y2 is None and year_hint is not None:
        y1 = str(year_hint)
    if y1 and y2:
        sy, ey = int(y1), int(y2)
    elif y1:
        sy = int(y1)
        ey = sy + wraps
    elif y2:
        ey = int(y2)
        sy = ey - wraps
    elif reference is not None:
        nearest = _nearest_year(sm, sd, reference)
        if nearest is None:
            return None
        sy, ey = nearest, nearest + wraps
    else:
        return None
    try:
        start, end = date(sy, sm, sd), date(ey, em, ed)
    except ValueError:
        return None
    if not 0 <= (end - start).days <= _MAX_EVENT_DAYS:
        return None
    return start, end


@lru_cache(maxsize=1024)
def _first_dates(
    fragment: str, reference: date | None, year_hint: int | None = None
) -> tuple[date, date] | None:
    for match in _dates().finditer(fragment):
        resolved = _resolve_match(match, reference, year_hint)
        if resolved is not None:
            return resolved
    return None


def resolve_dates(text_fragment: str, *, reference: date) -> tuple[date, date] | None:
    """The first date or date range in ``text_fragment`` as (start, end), end inclusive.

    A missing year is the one putting the start nearest to ``reference`` (so it may cross a
    year boundary); a range whose end month precedes its start month runs into the next year.
    A single day gives start == end. None when nothing date-like resolves to a real date.
    """
    if not isinstance(text_fragment, str):
        raise SummariesError("resolve_dates needs a string")
    return _first_dates(text_fragment[:MAX_TEXT_CHARS], reference)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

_KIND_OF: dict[str, str] = {
    "forum": "forum", "conference": "conference", "symposium": "symposium",
    "symposia": "symposium", "congress": "congress", "summit": "summit", "workshop": "workshop",
    "expo": "expo", "exposition": "expo", "colloquium": "symposium", "convention": "conference",
    "meeting": "conference", "seminar": "workshop", "exhibition": "expo", "fair": "expo",
}  # fmt: skip
# Nouns that make a sentence about an event in running text; the rest only count inside names.
_EN_NOUN = re.compile(
    r"(?<![\w-])(?P<sub>sub-?\s?)?(?P<noun>forums?|conferences?|symposi(?:um|a|ums)|congress"
    r"|summits?|workshops?|expos?|colloqui(?:um|a))(?![\w-])",
    re.IGNORECASE,
)
_ZH_KIND_OF: dict[str, str] = {
    "论坛": "forum", "研讨会": "symposium", "峰会": "summit", "博览会": "expo", "展览会": "expo",
    "大会": "conference", "年会": "conference", "会议": "conference", "学术会": "conference",
    "交流会": "conference", "工作坊": "workshop", "研讨班": "workshop", "座谈会": "forum",
}  # fmt: skip
_ZH_NOUN = re.compile(
    r"(?P<noun>论坛|研讨会|峰会|博览会|展览会|年会|学术会|交流会|工作坊|研讨班|座谈会|大会|会议)"
)
# Political sessions, phone calls and venues ("会议中心") that share the nouns.
_ZH_NOT_BEFORE = ("分", "子", "代表", "常务", "全体", "答问", "视频", "电话", "政治局")
_ZH_NOT_AFTER = ("中心", "室", "厅", "堂", "场", "馆")
_GENERIC_EVENT = re.compile(r"\b(?:event|meeting|gathering)s?\b|活动", re.IGNORECASE)

_EN_EVENT_VERB = re.compile(
    r"\b(?:held|kick(?:ed|s)? off|open(?:ed|s)|gather(?:ed|s)?|convene[ds]?|converge[ds]?"
    r"|t(?:ook|akes?) place|attended|brought together|brings together|drew|attracted|hosted"
    r"|co-hosted|organi[sz]ed|co-organi[sz]ed|registration|register|concluded|wrapped up"
    r"|inaugurated|staged|welcomed|will be held|is held)\b",
    re.IGNORECASE,
)
_ZH_EVENT_VERB = re.compile(
    r"举行|举办|召开|开幕|闭幕|落幕|启幕|拉开帷幕|揭幕|主办|承办|报名|汇聚|齐聚|参会|与会|将于"
)
# Where a conference is only the place a study was presented.
_PASSING = re.compile(
    r"\b(?:presented|reported|described|unveiled|announced|showcased|spoke|speaking|talk"
    r"|poster|presentation)\b.{0,60}\b(?:at|during)\b",
    re.IGNORECASE,
)
_ZH_PASSING = re.compile(r"上(?:作|做)?了?(?:报告|发布|展示|介绍|宣读|发表)")
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

# Canonical (English) city -> aliases, English and Chinese.
_CITIES: dict[str, tuple[str, ...]] = {
    "Beijing": ("Beijing", "Peking", "北京"), "Shanghai": ("Shanghai", "上海"),
    "Shenzhen": ("Shenzhen", "深圳"), "Guangzhou": ("Guangzhou", "Canton", "广州"),
    "Tianjin": ("Tianjin", "天津"), "Qingdao": ("Qingdao", "青岛"),
    "Hangzhou": ("Hangzhou", "杭州"), "Wuhan": ("Wuhan", "武汉"), "Chengdu": ("Chengdu", "成都"),
    "Hong Kong": ("Hong Kong", "香港"), "Macao": ("Macao", "Macau", "澳门"),
    "Nanjing": ("Nanjing", "南京"), "Xi'an": ("Xi'an", "Xian", "西安"), "Hefei": ("Hefei", "合肥"),
    "Suzhou": ("Suzhou", "苏州"), "Chongqing": ("Chongqing", "重庆"),
    "Changsha": ("Changsha", "长沙"), "Xiamen": ("Xiamen", "厦门"), "Dalian": ("Dalian", "大连"),
    "Shenyang": ("Shenyang", "沈阳"), "Harbin": ("Harbin", "哈尔滨"), "Jinan": ("Jinan", "济南"),
    "Zhengzhou": ("Zhengzhou", "郑州"), "Kunming": ("Kunming", "昆明"),
    "Fuzhou": ("Fuzhou", "福州"), "Ningbo": ("Ningbo", "宁波"), "Dongguan": ("Dongguan", "东莞"),
    "Zhuhai": ("Zhuhai", "珠海"), "Foshan": ("Foshan", "佛山"), "Nanchang": ("Nanchang", "南昌"),
    "Changchun": ("Changchun", "长春"), "Lanzhou": ("Lanzhou", "兰州"),
    "Taiyuan": ("Taiyuan", "太原"), "Guiyang": ("Guiyang", "贵阳"), "Nanning": ("Nanning", "南宁"),
    "Haikou": ("Haikou", "海口"), "Sanya": ("Sanya", "三亚"), "Urumqi": ("Urumqi", "乌鲁木齐"),
    "Wuxi": ("Wuxi", "无锡"), "Yantai": ("Yantai", "烟台"), "Taipei": ("Taipei", "台北"),
    "Hsinchu": ("Hsinchu", "新竹"), "Xiong'an": ("Xiong'an", "Xiongan", "雄安"),
    "Tokyo": ("Tokyo", "东京"), "Kyoto": ("Kyoto", "京都"), "Osaka": ("Osaka", "大阪"),
    "Seoul": ("Seoul", "首尔"), "Daejeon": ("Daejeon",), "Singapore": ("Singapore", "新加坡"),
    "Bangkok": ("Bangkok", "曼谷"), "Kuala Lumpur": ("Kuala Lumpur", "吉隆坡"),
    "Jakarta": ("Jakarta", "雅加达"), "Hanoi": ("Hanoi", "河内"),
    "New Delhi": ("New Delhi", "新德里"),
    "Bengaluru": ("Bengaluru", "Bangalore", "班加罗尔"), "Mumbai": ("Mumbai", "孟买"),
    "Islamabad": ("Islamabad", "伊斯兰堡"), "Dubai": ("Dubai", "迪拜"),
    "Abu Dhabi": ("Abu Dhabi", "阿布扎比"), "Doha": ("Doha", "多哈"),
    "Riyadh": ("Riyadh", "利雅得"),
    "Tel Aviv": ("Tel Aviv", "特拉维夫"), "Istanbul": ("Istanbul", "伊斯坦布尔"),
    "Tehran": ("Tehran", "德黑兰"), "Cairo": ("Cairo", "开罗"), "Nairobi": ("Nairobi", "内罗毕"),
    "Cape Town": ("Cape Town", "开普敦"), "Johannesburg": ("Johannesburg", "约翰内斯堡"),
    "Addis Ababa": ("Addis Ababa", "亚的斯亚贝巴"), "Moscow": ("Moscow", "莫斯科"),
    "Saint Petersburg": ("Saint Petersburg", "St. Petersburg", "圣彼得堡"),
    "Novosibirsk": ("Novosibirsk", "新西伯利亚"), "London": ("London", "伦敦"),
    "Cambridge": ("Cambridge", "剑桥"), "Oxford": ("Oxford", "牛津"),
    "Edinburgh": ("Edinburgh", "爱丁堡"), "Manchester": ("Manchester", "曼彻斯特"),
    "Paris": ("Paris", "巴黎"), "Lyon": ("Lyon", "里昂"), "Berlin": ("Berlin", "柏林"),
    "Munich": ("Munich", "慕尼黑"), "Heidelberg": ("Heidelberg", "海德堡"),
    "Hamburg": ("Hamburg", "汉堡"), "Frankfurt": ("Frankfurt", "法兰克福"),
    "Vienna": ("Vienna", "维也纳"), "Zurich": ("Zurich", "Zürich", "苏黎世"),
    "Geneva": ("Geneva", "日内瓦"), "Basel": ("Basel", "巴塞尔"), "Lausanne": ("Lausanne", "洛桑"),
    "Amsterdam": ("Amsterdam", "阿姆斯特丹"), "Brussels": ("Brussels", "布鲁塞尔"),
    "Copenhagen": ("Copenhagen", "哥本哈根"), "Stockholm": ("Stockholm", "斯德哥尔摩"),
    "Oslo": ("Oslo", "奥斯陆"), "Helsinki": ("Helsinki", "赫尔辛基"),
    "Madrid": ("Madrid", "马德里"), "Barcelona": ("Barcelona", "巴塞罗那"),
    "Lisbon": ("Lisbon", "里斯本"), "Rome": ("Rome", "罗马"),
    "Milan": ("Milan", "米兰"), "Athens": ("Athens", "雅典"), "Warsaw": ("Warsaw", "华沙"),
    "Prague": ("Prague", "布拉格"), "Budapest": ("Budapest", "布达佩斯"),
    "Dublin": ("Dublin", "都柏林"), "Washington": ("Washington, D.C.", "Washington", "华盛顿"),
    "New York": ("New York", "纽约"), "Boston": ("Boston", "波士顿"),
    "San Francisco": ("San Francisco", "旧金山"), "San Diego": ("San Diego", "圣迭戈"),
    "Los Angeles": ("Los Angeles", "洛杉矶"), "Chicago": ("Chicago", "芝加哥"),
    "Seattle": ("Seattle", "西雅图"), "Houston": ("Houston", "休斯敦"),
    "Philadelphia": ("Philadelphia", "费城"), "Toronto": ("Toronto", "多伦多"),
    "Montreal": ("Montreal", "蒙特利尔"), "Vancouver": ("Vancouver", "温哥华"),
    "Ottawa": ("Ottawa", "渥太华"), "Mexico City": ("Mexico City", "墨西哥城"),
    "São Paulo": ("São Paulo", "Sao Paulo", "圣保罗"),
    "Rio de Janeiro": ("Rio de Janeiro", "里约热内卢"),
    "Buenos Aires": ("Buenos Aires", "布宜诺斯艾利斯"), "Sydney": ("Sydney", "悉尼"),
    "Melbourne": ("Melbourne", "墨尔本"), "Canberra": ("Canberra", "堪培拉"),
    "Auckland": ("Auckland", "奥克兰"),
}  # fmt: skip
# Science districts and parks -> their city; they are reported as the venue when no better one.
_DISTRICTS: dict[str, str] = {
    "Guangming": "Shenzhen", "光明区": "Shenzhen", "光明科学城": "Shenzhen",
    "Nanshan": "Shenzhen", "南山区": "Shenzhen", "Futian": "Shenzhen", "福田区": "Shenzhen",
    "Qianhai": "Shenzhen", "前海": "Shenzhen", "Longgang": "Shenzhen", "龙岗区": "Shenzhen",
    "Hetao": "Shenzhen", "河套": "Shenzhen", "Haidian": "Beijing", "海淀区": "Beijing",
    "Zhongguancun": "Beijing", "中关村": "Beijing", "Huairou": "Beijing", "怀柔": "Beijing",
    "Pudong": "Shanghai", "浦东": "Shanghai", "Zhangjiang": "Shanghai", "张江": "Shanghai",
    "Lingang": "Shanghai", "临港": "Shanghai", "Nansha": "Guangzhou", "南沙": "Guangzhou",
    "Binhai": "Tianjin", "滨海新区": "Tianjin", "Yuhang": "Hangzhou", "余杭": "Hangzhou",
    "Optics Valley": "Wuhan", "光谷": "Wuhan", "Songshan Lake": "Dongguan", "松山湖": "Dongguan",
}  # fmt: skip
_DISTRICT_SUFFIX = re.compile(r"\s(?:District|New Area|New District|Science City|Hi-Tech Zone)\b")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ORG_HEADS = _words(
    "Society Institute Institutes University Academy Association Center Centre Centers Council"
    " Ministry Bureau Government Committee Commission Foundation Alliance Organization"
    " Organisation Agency Laboratory Laboratories Lab Hospital School College Department Group"
    " Company Corporation Inc Inc. Ltd Ltd. Co. Federation Network Consortium Union Office"
    " Administration Institution Board Authority Observatory Initiative Programme Program Park"
    " Museum Fund Trust Daily Press Journal"
)
_VENUE_HEADS = _words(
    "Center Centre Hall Hotel University Institute Park Museum Auditorium Stadium Campus"
    " Building Palace Academy Resort Plaza Tower Complex Arena Theater Theatre Library"
    " Guesthouse Pavilion Expo Venue College School Laboratory Observatory Gardens Lodge Inn"
    " Club Room Square Centres Centers"
)
_ZH_VENUE_SUFFIX = re.compile(
    r"(?:中心|酒店|宾馆|饭店|大厦|会堂|礼堂|大学|学院|研究院|研究所|校区|园区|科学城|园|馆|厅|广场|大楼|山庄)$"
)
_ZH_ORG_SUFFIX = re.compile(
    r"(?:大学|学院|研究院|研究所|学会|协会|政府|委员会|中心|公司|集团|医院|实验室|科学院|部|局|厅|院|所|会|社|联盟)$"
)
_ABBREVIATIONS = _words(
    "Dr Prof Mr Mrs Ms Mt St Co Ltd Inc Corp Jr Sr No Vol Fig Amb Gen Gov Sen Rep Jan Feb Mar"
    " Apr Jun Jul Aug Sep Sept Oct Nov Dec U.S e.g i.e al vs"
)
# Capitalised words that start sentences or clauses rather than names.
_NAME_STOPWORDS = _words(
    "The A An This That These Those During At In On For From With After Before Yesterday Today"
    " Last Next It Its Our His Her Their When While As By To And Of Since Recently"
    " Meanwhile"
)
# Plus nouns that open report sentences ("Experts converge in ...") but are never part of a name.
_NAME_LEFT_STOPWORDS = _NAME_STOPWORDS | {"Experts", "Scholars", "Participants", "Scientists"}
_GENERIC_QUALIFIERS = _words(
    "International Annual Global World National First Second Third Inaugural Joint Open"
)


# --------------------------------------------------------------------------------------------
# Sentences and tokens
# --------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?]{1,3}[\"'”’)]{0,2}\s{1,20}(?=[\"'“‘(A-Z0-9\u4e00-\u9fff])")
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_LAST_WORD = re.compile(r"([\w.]{1,20})[.!?]{1,3}[\"'”’)]{0,2}\s{1,20}$")


def _split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for line in text.splitlines():
        for piece in _ZH_SENTENCE_END.split(line):
            start = 0
            for match in _SENTENCE_END.finditer(piece):
                last = _LAST_WORD.search(piece, max(0, match.start() - 21), match.end())
                word = last.group(1) if last else ""
                if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                    continue
                sentences.append(piece[start : match.end()].strip())
                start = match.end()
            sentences.append(piece[start:].strip())
    return [piece for s in sentences if s for piece in _bounded(s)]


# No real sentence is this long; cutting bounds the work every per-sentence rule does.
_MAX_SENTENCE_CHARS = 1_000


def _bounded(sentence: str) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > _MAX_SENTENCE_CHARS:
        cut = sentence.rfind(" ", _MAX_SENTENCE_CHARS // 2, _MAX_SENTENCE_CHARS)
        cut = cut if cut > 0 else _MAX_SENTENCE_CHARS
        pieces.append(sentence[:cut])
        sentence = sentence[cut:].lstrip()
    if sentence:
        pieces.append(sentence)
    return pieces


_TOKEN = re.compile(
    r"\([A-Za-z][A-Za-z0-9&*\-]{0,14}\)|[A-Za-z0-9][\w'’&\-]{0,60}(?:\.\w{1,3}){0,3}|[^\w\s]"
)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    start: int
    end: int


@lru_cache(maxsize=1024)
def _tokens(sentence: str) -> tuple[_Tok, ...]:
    raw = [_Tok(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
    merged: list[_Tok] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        # "Co." and "Ltd." keep their dots: they are parts of names, not sentence ends.
        if nxt and nxt.text == "." and nxt.start == tok.end and tok.text in _ABBREVIATIONS:
            merged.append(_Tok(tok.text + ".", tok.start, nxt.end))
            i += 2
            continue
        merged.append(tok)
        i += 1
    return tuple(merged)


def _is_cap(tok: _Tok) -> bool:
    t = tok.text
    return t[0].isupper() or t[0].isdigit() or t.startswith("(")


def _is_acronym(text: str) -> bool:
    core = text.strip("()")
    return len(core) >= 2 and core[0].isupper() and sum(c.isupper() for c in core) >= 2


def _is_month(text: str) -> bool:
    return text.rstrip(".").lower() in _MONTHS and text[0].isupper()


_CJK = re.compile(r"[\u4e00-\u9fff]")
_CAPITALISED_WORD = re.compile(r"[A-Z][\w'’.]{0,20}")


@dataclass(frozen=True, slots=True)
class _Mention:
    alias: str
    start: int
    end: int


@cache
def _city_aliases() -> tuple[dict[str, str], re.Pattern[str], int]:
    """alias -> city ("district:" prefixed for districts), a regex over the Chinese aliases,
    and the longest Latin alias in words.

    Latin aliases are looked up word by word in the dict: a regex alternation of a few hundred
    names is tried at every position of the text and costs far more.
    """
    lookup = {a: c for c, al in _CITIES.items() for a in al}
    lookup.update({a: "district:" + c for a, c in _DISTRICTS.items()})
    cjk = sorted((a for a in lookup if _CJK.search(a)), key=len, reverse=True)
    longest = max(len(a.split()) for a in lookup if not _CJK.search(a))
    return lookup, re.compile("|".join(re.escape(a) for a in cjk)), longest


@cache
def _alias_first_words() -> frozenset[str]:
    lookup, _, _ = _city_aliases()
    return frozenset(a.split()[0].rstrip(",") for a in lookup if not _CJK.search(a))


def _city_mentions(text: str) -> list[_Mention]:
    lookup, cjk, longest = _city_aliases()
    first_words = _alias_first_words()
    mentions: list[_Mention] = []
    for m in _CAPITALISED_WORD.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "'’-_"):
            continue
        word = m.group().rstrip(".,;:!?)'’s")
        if word not in first_words and m.group().rstrip(".,;:!?)") not in first_words:
            continue
        # Longest alias first: "Washington, D.C." before "Washington", "Hong Kong" whole.
        words = text[m.start() : m.start() + 40].split(" ")[:longest]
        for n in range(len(words), 0, -1):
            candidate = " ".join(words[:n]).rstrip(".,;:!?)'’s")
            candidate = candidate.removesuffix("'s").removesuffix("’s")
            if candidate in lookup or (candidate + "." in lookup):
                alias = candidate if candidate in lookup else candidate + "."
                mentions.append(_Mention(alias, m.start(), m.start() + len(alias)))
                break
    if _CJK.search(text):
        mentions += [_Mention(m.group(), m.start(), m.end()) for m in cjk.finditer(text)]
    return mentions


# --------------------------------------------------------------------------------------------
# Event nouns and sentences
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Noun:
    kind: str
    start: int
    end: int
    singular: bool
    passing: bool


def _find_nouns(sentence: str) -> list[_Noun]:
    nouns: list[_Noun] = []
    for m in _EN_NOUN.finditer(sentence):
        word = m.group("noun")
        if m.group("sub"):
            continue
        lower = word.lower()
        # "Congress passed the bill": only a named or lower-case congress is a meeting.
        if word == "Congress" and not re.search(r"[A-Z0-9][\w)]*\s$", sentence[: m.start()]):
            continue
        if (
            lower.startswith("summit")
            and word[0].islower()
            and sentence[m.end() :].startswith(" of")
        ):
            continue
        singular = lower in ("forum", "conference", "symposium", "congress", "summit", "workshop")
        singular = singular or lower in ("expo", "colloquium")
        base = lower.rstrip("s") if lower not in ("symposia", "colloquia") else lower
        kind = _KIND_OF.get(base, _KIND_OF.get(lower, "conference"))
        window = sentence[max(0, m.start() - 90) : m.start()]
        nouns.append(_Noun(kind, m.start(), m.end(), singular, bool(_PASSING.search(window))))
    for m in _ZH_NOUN.finditer(sentence):
        before = sentence[max(0, m.start() - 3) : m.start()]
        after = sentence[m.end() : m.end() + 2]
        if any(before.endswith(b) for b in _ZH_NOT_BEFORE):
            continue
        if any(after.startswith(a) for a in _ZH_NOT_AFTER):
            continue
        passing = bool(_ZH_PASSING.match(sentence, m.end()))
        nouns.append(_Noun(_ZH_KIND_OF[m.group("noun")], m.start(), m.end(), True, passing))
    return nouns


@dataclass(frozen=True, slots=True)
class _Sentence:
    index: int
    text: str
    nouns: tuple[_Noun, ...]

    @property
    def live_nouns(self) -> tuple[_Noun, ...]:
        return tuple(n for n in self.nouns if not n.passing)

    @property
    def is_event(self) -> bool:
        return bool(self.live_nouns)

    @property
    def has_verb(self) -> bool:
        return bool(_EN_EVENT_VERB.search(self.text) or _ZH_EVENT_VERB.search(self.text))


def _sentences(text: str) -> list[_Sentence]:
    return [_Sentence(i, s, tuple(_find_nouns(s))) for i, s in enumerate(_split_sentences(text))]


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_NAME_CONNECTORS = frozenset({"of", "on", "for", "and", "in", "the", "&", "-", "de"})


def _is_place(text: str) -> bool:
    lookup, _, _ = _city_aliases()
    return text in lookup or text in ("China", "Russia", "Japan", "Korea")


def _en_name_at(tokens: tuple[_Tok, ...], i: int, sentence: str) -> str | None:
    """The capitalised name around the event-noun token ``tokens[i]``, or None."""
    left = i
    while left > 0 and i - left < 12:
        tok = tokens[left - 1]
        if (
            tok.text in _NAME_LEFT_STOPWORDS
            or tok.text.endswith(("'s", "’s"))
            or _is_month(tok.text)
        ):
            break
        if _is_cap(tok) or tok.text in ("&", "-"):
            left -= 1
            continue
        if tok.text in ("of", "and", "for", "on") and left - 2 >= 0 and _is_cap(tokens[left - 2]):
            if tokens[left - 2].text in _NAME_STOPWORDS:
                break
            left -= 1
            continue
        break
    while left < i and tokens[left].text in _NAME_CONNECTORS:
        left += 1
    right = i + 1
    if right < len(tokens) and (
        re.fullmatch(r"(?:19|20)\d\d", tokens[right].text) or tokens[right].text.startswith("(")
    ):
        right += 1
    if right < len(tokens) and tokens[right].text in ("on", "of", "for"):
        j = right
        while j < len(tokens) and j - i < 25:
            tok = tokens[j]
            if tok.text in _NAME_CONNECTORS:
                nxt = tokens[j + 1] if j + 1 < len(tokens) else None
                if nxt is None or not _is_cap(nxt) or _is_month(nxt.text):
                    break
                if tok.text in ("in", "at") and _is_place(nxt.text):
                    break
                if nxt.text[0].isdigit():
                    break
                j += 1
                continue
            if _is_cap(tok) and not _is_month(tok.text) and not tok.text[0].isdigit():
                j += 1
                right = j
                continue
            break
    words = [t.text for t in tokens[left:right]]
    others = [w for w in words if w != tokens[i].text and w not in _NAME_CONNECTORS]
    if not others or all(w in _GENERIC_QUALIFIERS for w in others):
        return None
    return sentence[tokens[left].start : tokens[right - 1].end]


@lru_cache(maxsize=1024)
def _en_names(sentence: str) -> tuple[tuple[str, str], ...]:
    """(name, kind) for every named event in an English sentence, in order."""
    tokens = _tokens(sentence)
    names: list[tuple[str, str]] = []
    for i, tok in enumerate(tokens):
        kind = _KIND_OF.get(tok.text.lower())
        if kind is None or not tok.text[0].isupper() or (tok.text == "Fair" and i == 0):
            continue
        if i > 0 and tokens[i - 1].text.lower() in ("sub", "sub-"):
            continue
        name = _en_name_at(tokens, i, sentence)
        if name:
            names.append((name, kind))
    return tuple(names)


_ZH_NAME_STOP_CHARS = frozenset(
    "，。；：、！？,;:!?（）()【】[]「」『』“”\"'《》 \t在于的由了将是为"
)
_ZH_NAME_STOP_PAIRS = (
    "出席",
    "参加",
    "参与",
    "举办",
    "举行",
    "召开",
    "主办",
    "承办",
    "开幕",
    "关于",
)
_ZH_NAME_PREFIX = re.compile(r"^(?:本届|本次|此次|这次|该|今年|今天|昨天|近日|日前)")


@lru_cache(maxsize=1024)
def _zh_names(sentence: str) -> tuple[tuple[str, str], ...]:
    names: list[tuple[str, str]] = []
    for noun in _find_nouns(sentence):
        if noun.kind not in _ZH_KIND_OF.values() or sentence[noun.start].isascii():
            continue
        left = noun.start
        while left > 0 and noun.start - left < 40:
            ch = sentence[left - 1]
            if ch in _ZH_NAME_STOP_CHARS or (
                ch == "日" and sentence[left - 2 : left - 1].isdigit()
            ):
                break
            if sentence[left - 2 : left] in _ZH_NAME_STOP_PAIRS:
                break
            left -= 1
        name = _ZH_NAME_PREFIX.sub("", sentence[left : noun.end])
        core = name[: -(noun.end - noun.start)]
        if len(core) >= 2 and not core.isdigit():
            names.append((name, noun.kind))
    return tuple(names)


# --------------------------------------------------------------------------------------------
# Organizers
# --------------------------------------------------------------------------------------------

_ORG_SEPARATORS: tuple[tuple[str, ...], ...] = (
    ("in", "partnership", "with"),
    ("in", "collaboration", "with"),
    ("in", "cooperation", "with"),
    ("together", "with"),
    ("jointly", "with"),
    ("along", "with"),
    (",", "and"),
    (",",),
    ("and",),
    ("&",),
)
_COMPANY_TAILS = frozenset({"Ltd.", "Ltd", "Inc.", "Inc", "LLC", "Co.", "Corp."})


def _org_chunk(tokens: tuple[_Tok, ...], i: int) -> tuple[int, int] | None:
    """The [start, end) token span of one organization name starting at or after ``i``."""
    if i < len(tokens) and tokens[i].text in ("the", "The"):
        i += 1
    start = j = i
    ands = 0
    while j < len(tokens) and j - start < 18:
        tok = tokens[j]
        nxt = tokens[j + 1] if j + 1 < len(tokens) else None
        if _is_cap(tok) and not _is_month(tok.text) and tok.text not in _NAME_STOPWORDS:
            j += 1
            continue
        if j > start and tok.text == "," and nxt is not None and nxt.text in _COMPANY_TAILS:
            j += 1
            continue
        if j > start and tok.text in ("of", "for", "the", "&", "-", "de", "in", "on", "and"):
            if nxt is None or not _is_cap(nxt) or _is_month(nxt.text):
                break
            if tok.text == "and":
                prev = tokens[j - 1].text
                if nxt.text == "the" or prev in _ORG_HEADS or _is_acronym(prev) or ands:
                    break
                ands += 1
            if tok.text in ("in", "on") and (_is_place(nxt.text) or nxt.text[0].isdigit()):
                break
            j += 1
            continue
        break
    while j > start and tokens[j - 1].text in _NAME_CONNECTORS | {","}:
        j -= 1
    return (start, j) if j > start else None


def _org_list(tokens: tuple[_Tok, ...], i: int, sentence: str) -> tuple[list[str], int]:
    """Organizations listed from token ``i``: "A, B and the C in partnership with D"."""
    orgs: list[str] = []
    while i < len(tokens) and len(orgs) < 10:
        span = _org_chunk(tokens, i)
        if span is None:
            break
        orgs.append(sentence[tokens[span[0]].start : tokens[span[1] - 1].end])
        i = after = span[1]
        # ", in collaboration with" is two separators in a row.
        matched = True
        while matched:
            matched = False
            for sep in _ORG_SEPARATORS:
                if tuple(t.text for t in tokens[i : i + len(sep)]) == sep:
                    i += len(sep)
                    matched = True
                    break
        if i == after:
            break
    return [o for o in orgs if o not in _NAME_STOPWORDS], i


_PASSIVE_BY = re.compile(
    r"\b(?:(?:co-?|jointly\s|mainly\s)?(?:hosted|organi[sz]ed|convened|held)|co-sponsored|run)\sby\s",
    re.IGNORECASE,
)
_ACTIVE_VERB = re.compile(
    r"(?:,\s)?\b(?:successfully\s|jointly\s|recently\s|also\s)?(?:co-)?(?:hosted|organi[sz]ed"
    r"|convened|held)\s(?:a|an|the|its|this)\b"
)
_EN_ORG_LABEL = re.compile(
    r"^\s{0,4}(?:Organi[sz]ers?|Organi[sz]ed by|Hosts?|Hosted by|Co-hosts?|Co-organi[sz]ers?)"
    r"\s{0,3}[:：]\s{0,3}(?P<orgs>.{2,300})$"
)


@lru_cache(maxsize=1024)
def _en_organizers(sentence: str, label: bool) -> tuple[str, ...]:
    found: list[str] = []
    if label and (m := _EN_ORG_LABEL.match(sentence)):
        tokens = _tokens(m.group("orgs"))
        return tuple(_org_list(tokens, 0, m.group("orgs"))[0])
    for m in list(_PASSIVE_BY.finditer(sentence))[:3]:
        tail = sentence[m.end() : m.end() + 400]
        found += _org_list(_tokens(tail), 0, tail)[0]
    verb = _ACTIVE_VERB.search(sentence)
    if verb and verb.start() > 0:
        subject = sentence[: verb.start()]
        tokens = _tokens(subject)
        orgs, end = _org_list(tokens, 0, subject)
        rest = [t.text for t in tokens[end:]]
        if orgs and not rest and any(_looks_like_org(o) for o in orgs):
            found += orgs
    return tuple(found)


def _looks_like_org(text: str) -> bool:
    words = text.split()
    return any(w.strip("().,") in _ORG_HEADS or _is_acronym(w) for w in words)


_ZH_ORG_LABEL = re.compile(
    r"(?:联合|共同)?(?:主办|承办)(?:单位|方)\s{0,2}(?:[:：为是]|包括)\s{0,2}(?P<orgs>[^。；;\n]{2,200})"
)
_ZH_ORG_BY = re.compile(r"由(?P<orgs>[^。；;，,\n由]{2,120}?)(?:联合|共同)?(?:主办|承办|举办|发起)")
_ZH_ORG_BARE = re.compile(
    r"(?:^|[，,。；;\s、])(?P<orgs>[^，,。；;\s由的、]{2,60}?)(?:联合|共同)?(?:主办|承办)(?!单位|方)"
)
_ZH_ORG_CUT = re.compile(r"[，,](?:联合)?(?:主办|承办|协办|支持|指导)")


def _split_zh_orgs(text: str) -> list[str]:
    text = _ZH_ORG_CUT.split(text, maxsplit=1)[0]
    out: list[str] = []
    for piece in re.split(r"[、，,；;]|以及", text):
        parts = re.split(r"(?<=[\u4e00-\u9fff])(?:和|与|及)(?=[\u4e00-\u9fff])", piece)
        merged: list[str] = []
        for part in parts:
            if merged and not _ZH_ORG_SUFFIX.search(merged[-1]):
                merged[-1] += "和" + part
            else:
                merged.append(part)
        for raw in merged:
            org = re.sub(r"(?:等单位|等|联合|共同)$", "", raw.strip(" “”\"'：:"))
            if len(org) >= 2:
                out.append(org)
    return out


@lru_cache(maxsize=1024)
def _zh_organizers(sentence: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in (_ZH_ORG_LABEL, _ZH_ORG_BY, _ZH_ORG_BARE):
        for m in pattern.finditer(sentence):
            found += _split_zh_orgs(m.group("orgs"))
    return tuple(found)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = re.sub(r"^the\s", "", item.strip(), flags=re.IGNORECASE).casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Attendance
# --------------------------------------------------------------------------------------------

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
_ZH_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if "," in text:
        return int(text.replace(",", ""))
    total = section = digit = 0
    for ch in text:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
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
            before.rstrip(". ").lower().endswith(mo) for mo in _MONTHS
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


def _attendance(sentences: list[_Sentence]) -> int | None:
    for s in sentences:
        if not (s.is_event or _ATT_EN_CONTEXT.search(s.text) or _ZH_EVENT_VERB.search(s.text)):
            continue
        counts = _attendance_in(s.text)
        if counts:
            return max(counts)
    return None


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------

_EN_VENUE_LABEL = re.compile(
    r"^\s{0,4}(?:Venue|Location|Where|Place)\s{0,3}[:：]\s{0,3}(?P<v>.{2,200})$"
)
_ZH_VENUE_LABEL = re.compile(
    r"(?:会议|活动|举办|论坛|大会)?地点\s{0,2}[:：]\s{0,2}(?P<v>[^。；;\n]{2,60})"
)
_ZH_VENUE_AT = re.compile(
    r"[在于](?P<v>[^，,。；;\s在于]{2,30}?)(?:隆重|盛大|顺利|成功|正式)?"
    r"(?:举行|召开|举办|开幕|启幕|拉开帷幕|落幕|闭幕)"
)
_AFFILIATION = _words(
    "professor director researcher scientist student dean president fellow lecturer chair"
    " Professor Director Researcher Scientist Student Dean President Fellow"
)


def _en_venue(sentence: str) -> str | None:
    tokens = _tokens(sentence)
    for i, tok in enumerate(tokens):
        if tok.text not in ("at", "in") or (i > 0 and tokens[i - 1].text in _AFFILIATION):
            continue
        span = _org_chunk(tokens, i + 1)
        if span is None:
            continue
        words = [t.text for t in tokens[span[0] : span[1]]]
        heads = [k for k, w in enumerate(words) if w in _VENUE_HEADS]
        if not heads:
            continue
        last = span[0] + heads[-1]
        # "Kyoto University Clock Tower Centennial Hall": keep capitalised words past the head.
        while last + 1 < span[1] and tokens[last + 1].text not in _NAME_CONNECTORS:
            last += 1
        return sentence[tokens[span[0]].start : tokens[last].end]
    return None


def _zh_venue(sentence: str) -> str | None:
    for pattern in (_ZH_VENUE_LABEL, _ZH_VENUE_AT):
        for m in pattern.finditer(sentence):
            venue = m.group("v").strip()
            if _ZH_VENUE_SUFFIX.search(venue):
                return venue
    return None


def _district_venue(sentence: str) -> str | None:
    lookup, _, _ = _city_aliases()
    for m in _city_mentions(sentence):
        if lookup[m.alias].startswith("district:"):
            tail = _DISTRICT_SUFFIX.match(sentence, m.end)
            if not _CJK.search(m.alias) and tail is None:
                continue
            return sentence[m.start : tail.end() if tail else m.end]
    return None


def _city_scores(
    sentence: str, weight: float, scores: dict[str, float], *, in_venue: bool = False
) -> None:
    lookup, _, _ = _city_aliases()
    for m in _city_mentions(sentence):
        city = lookup[m.alias].removeprefix("district:")
        w = weight
        # A district inside a name ("Zhangjiang Science Hall") or any place in the venue's
        # name still places the event there.
        if in_venue or lookup[m.alias].startswith("district:"):
            scores[city] = scores.get(city, 0.0) + w
            continue
        after = sentence[m.end : m.end + 30]
        before = sentence[max(0, m.start - 30) : m.start]
        if not _CJK.search(m.alias):
            # "Shenzhen Institute of ...", "University of Hong Kong": an organization's name.
            nxt = re.match(r"\s([A-Z][a-z]+)", after)
            if (nxt and nxt.group(1) not in ("District", "City", "Province", "New")) or re.search(
                r"[A-Z]\w+\sof\s(?:the\s)?$", before
            ):
                w = 0.5
        elif re.match(
            r"^[^，,。；;\s]{0,10}?(?:大学|研究院|研究所|学院|医院|公司|集团|学会|协会|日报)", after
        ):
            w = 0.5
        scores[city] = scores.get(city, 0.0) + w


# --------------------------------------------------------------------------------------------
# Scoring and extraction
# --------------------------------------------------------------------------------------------


def _is_zh(text: str, language: str | None) -> bool:
    if language:
        return language.lower().startswith("zh")
    sample = text[:3000]
    cjk = len(_CJK.findall(sample))
    latin = len(re.findall(r"[A-Za-z]", sample))
    return cjk > 0.3 * (cjk + latin) if cjk + latin else False


def _clean(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SummariesError(f"extract_event: {what} must be a string, got {type(value).__name__}")
    return value[:MAX_TEXT_CHARS].replace("\x00", " ")


def _has_cue(text: str, pattern: re.Pattern[str], before: re.Pattern[str] | None) -> bool:
    for m in pattern.finditer(text):
        if before is None or before.search(text[max(0, m.start() - 6) : m.start()]):
            return True
    return False


def _research_penalty(text: str) -> tuple[int, list[str]]:
    hits = [name for name, pattern, before in _RESEARCH_CUES if _has_cue(text, pattern, before)]
    return -min(8, 2 * len(hits)), [f"research:{h}" for h in hits]


def _assess(
    title: _Sentence | None, body: list[_Sentence], text: str, reference: date | None
) -> EventEvidence:
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
    if any(_first_dates(s.text, reference, None) for s in events[:20]):
        add(2, "dated-event")
    if _attendance(body[:60]) is not None:
        add(2, "attendance")
    if any(_en_organizers(s.text, False) or _zh_organizers(s.text) for s in events[:20]):
        add(1, "organizers")
    if sum(len(s.live_nouns) for s in events) >= 3:
        add(1, "repeated-noun")
    if any(_en_names(s.text) or _zh_names(s.text) for s in events[:10]):
        add(1, "named-event")
    penalty, cues = _research_penalty(text)
    if penalty:
        score += penalty
        reasons += cues
    return EventEvidence(score, tuple(reasons))


def assess_event(title: str, text: str, *, published: datetime | None = None) -> EventEvidence:
    """Score how much an article reads like a forum report or announcement, with reasons.

    Points: event noun in the title (+3) or lead (+2); a sentence pairing an event noun with an
    event verb (+3); a date in an event sentence (+2); attendance (+2); organizers (+1); the
    event named repeatedly (+1) or by a proper name (+1); minus 2 per distinct research-paper
    cue (at most -8). Event nouns in passing ("presented at the annual meeting") do not count.
    """
    title, text = _clean(title, "title"), _clean(text, "text")
    reference = published.date() if published else None
    heading = _Sentence(-1, title, tuple(_find_nouns(title))) if title.strip() else None
    return _assess(heading, _sentences(text), text, reference)


def _pick_kind(title: _Sentence | None, events: list[_Sentence]) -> str:
    votes: dict[str, int] = {}
    for weight, sentences in ((3, [title] if title else []), (1, events)):
        for s in sentences:
            for n in s.live_nouns:
                if n.singular:
                    votes[n.kind] = votes.get(n.kind, 0) + weight
    if not votes:
        return "conference"
    return max(votes.items(), key=lambda kv: kv[1])[0]


def _title_is_headline_case(title: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][\w'-]*", title) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.6


_UNTIL = re.compile(r"\b(?:until|through|till|runs? to|closes? on|ends? on)\s|(?:持续|闭幕)")


def _later_end(
    sentences: list[_Sentence], start: date, reference: date | None, year_hint: int | None
) -> date:
    """The end of a one-day-dated event that another sentence says "runs until Sept. 28"."""
    for s in sentences:
        if not (s.is_event or _GENERIC_EVENT.search(s.text)):
            continue
        for m in _UNTIL.finditer(s.text):
            found = _first_dates(s.text[m.end() : m.end() + 40], reference or start, year_hint)
            if found and 0 < (found[1] - start).days <= _MAX_EVENT_DAYS:
                return found[1]
    return start


def _is_headline(line: str) -> bool:
    return _title_is_headline_case(line) and not line.rstrip().endswith((".", "!", "?", "”", '"'))


def extract_event(
    title: str, text: str, *, published: datetime | None, language: str | None = None
) -> EventFacts | None:
    """The event an article reports or announces, or None when it is not a forum article.

    ``published`` anchors dates without a year; without it, a year in the event's name is used,
    else only dates that state their year. ``language`` ("en", "zh", ...) only settles which
    script's rules go first; it is detected when missing.
    """
    title, text = _clean(title, "title"), _clean(text, "text")
    reference = published.date() if published else None
    heading = _Sentence(-1, title, tuple(_find_nouns(title))) if title.strip() else None
    body = _sentences(text)
    if not _assess(heading, body, text, reference).is_event:
        return None
    zh = _is_zh(title + text, language)
    events = [s for s in body if s.is_event]

    # The anchor is the first event sentence giving a date: it usually names, dates and places
    # the event in one go ("The X Forum was held Dec. 5 at Y").
    year_hint: int | None = None
    anchor = next((s for s in events if _first_dates(s.text, reference)), None)
    if anchor is None:
        anchor = next((s for s in events if s.has_verb), events[0] if events else None)

    names: list[tuple[str, str]] = []
    ordered = ([anchor] if anchor else []) + [s for s in events if s is not anchor]
    zh_title = [heading] if heading and zh else []
    en_title = [heading] if heading and not zh and not _title_is_headline_case(title) else []
    for s in zh_title + ordered + en_title:
        # A headline copied into the body ("Shenzhen Symposium Highlights ...") capitalises
        # every word, so its capitalised runs are not names.
        if s is not heading and _is_headline(s.text):
            continue
        found = (_zh_names(s.text) + _en_names(s.text)) if zh else _en_names(s.text)
        if found:
            names = list(found)
            break
    name, name_kind = names[0] if names else (None, None)
    if reference is None and name and (y := re.search(r"(?<!\d)(?:19|20)\d\d(?!\d)", name)):
        year_hint = int(y.group())

    start = end = None
    labels = [
        s
        for s in body
        if re.match(r"^\s{0,4}(?:Dates?|When|Time|会议时间|时间|日期|举办时间)\s{0,2}[:：]", s.text)
    ]
    date_sources = labels + ([anchor] if anchor else []) + events
    if anchor is not None:
        date_sources += [s for s in body if 0 < s.index - anchor.index <= 2]
    for s in date_sources:
        found_dates = _first_dates(s.text, reference, year_hint)
        if found_dates:
            start, end = found_dates
            break
    if start is not None and start == end and anchor is not None:
        end = _later_end(body[anchor.index : anchor.index + 4], start, reference, year_hint)

    venue = None
    venue_sources = [
        s for s in body if _EN_VENUE_LABEL.match(s.text) or _ZH_VENUE_LABEL.search(s.text)
    ]
    venue_sources += [anchor] if anchor else []
    venue_sources += [s for s in events if s.has_verb and s is not anchor]
    for s in venue_sources:
        if m := _EN_VENUE_LABEL.match(s.text):
            venue = m.group("v").strip()
            break
        venue = _zh_venue(s.text) or _en_venue(s.text)
        if venue:
            break
    if venue is None and anchor is not None:
        venue = _district_venue(anchor.text)
    if venue is None and heading is not None:
        venue = _district_venue(heading.text)

    scores: dict[str, float] = {}
    if heading:
        _city_scores(heading.text, 3, scores)
    for s in body:
        weight = 5.0 if s is anchor else 2.0 if s.is_event else 1.0
        _city_scores(s.text, weight, scores)
    if venue:
        _city_scores(venue, 6, scores, in_venue=True)
    city = max(scores.items(), key=lambda kv: kv[1])[0] if scores else None
    if city is not None and scores[city] < 2:
        city = None

    organizers: list[str] = []
    for s in body[:200]:
        if (
            s.is_event
            or _GENERIC_EVENT.search(s.text)
            or _EN_ORG_LABEL.match(s.text)
            or _ZH_ORG_LABEL.search(s.text)
        ):
            organizers += _zh_organizers(s.text) + _en_organizers(s.text, True)

    return EventFacts(
        name=name,
        kind=name_kind or _pick_kind(heading, events),
        start=start,
        end=end,
        city=city,
        venue=venue,
        organizers=_dedupe(organizers)[:8],
        attendance=_attendance(body),
    )
