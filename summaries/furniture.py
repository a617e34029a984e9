"""Page furniture: the lines of a copied or extracted page that are not the article.

Bylines and credit lines, share/print/font-size widgets, language switchers, breadcrumbs,
photo captions and credits, "related" and contact blocks and copyright lines, in English
and Chinese. Pages put them on lines of their own (or cells of a " | " bar), so they are
recognised a line at a time; a line of prose is never dropped for mentioning an editor or
a photo, only for being nothing but furniture. Credits glued inside a prose line
("[Photo/Xinhua]", "(Reporting by …)", "（记者 张三）") are cut out of it.

Date-only lines ("Nov 24, 2025") are kept: they are not prose, but forum facts may need the
year they give. Everything here is pure and total; every pattern is bounded, so hostile
input costs linear time.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_furniture", "split_headline", "strip_furniture"]

# Lines longer than this are prose whatever they start with.
_MAX_FURNITURE_CHARS = 400
# The longest credit that closes a caption ("… Photos by X", "… Kena Betancur/Getty Images").
_CAPTION_TAIL_CHARS = 240
# What every credit closing a caption holds (see _CAPTION_TAILS).
_CAPTION_CUES = ("photo", "picture", "image", "video", "courtesy", "/", "摄", "发")
# Longer than any credit, widget, byline or date cell (the longest: a share widget with
# the headline after it).
_MAX_CELL_CHARS = 240
# Credit and widget cells are short; a long "Source: …" line is a sentence about a source.
_MAX_CREDIT_CHARS = 120
# A headline is looked for among the first lines only: further down, short lines are
# subheadings.
_HEADLINE_SCAN_LINES = 12
_HEADLINE_MAX_WORDS = 25
_HEADLINE_MAX_CJK = 60

_I = re.IGNORECASE

# Cells of a byline or widget bar: "Writer: X | Editor: Y", "Share · Print".
_CELL_SEPARATORS = re.compile(r"\s*[|｜¦]\s*|\s+[·•]\s+")
_BREADCRUMB_SEPARATORS = re.compile(r"\s*[>›»]\s*")
_BULLET = re.compile(r"^[•·▪●◆■□►▶\-–—*]\s*")
_LEADING_DATE = re.compile(
    r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?\s*"
)
# What a date in a credit bar is labelled with; the label goes, the date stays.
_DATE_LABEL = re.compile(
    r"^(?:updated|last updated|published|posted|date|发布时间|发布日期|更新时间|发表时间|日期)"
    r"\s*[:：]\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_ENDS = ".!?。！？"

# --- cells --------------------------------------------------------------------------------

# "Label: value" credits. The colon is required: "From the section …" or "Source of …" open
# sentences too. "Date:", "Venue:", "时间：", "地点：" are a forum notice's facts, not credits.
_CREDIT_LABEL = re.compile(
    r"(?:writer|written by|authors?|editors?|edited by|editing|reporters?|reporting|"
    r"correspondent|contributors?|sources?|from|via|updated|last updated|published|posted|"
    r"photos?|photographs?|photography|photographer|pictures?|images?|main image|"
    r"image source|image credit|photo credit|videos?|graphics?|illustrations?|credits?|"
    r"courtesy|text|words|translated by|translators?|translation|compiled by|produced by|"
    r"producer|contact|e-?mail|tel|phone|fax|gallery|caption|image caption|media caption|"
    r"pictured)"
    r"\s*[:：]",
    _I,
)
# Chinese credit labels: 记者/编辑/来源/责任编辑/图片/摄影/通讯员 and their kin.
_ZH_CREDIT_LABEL = re.compile(
    r"[【\[(（]?(?:本报记者|新华社记者|记者|特约记者|通讯员|实习生|评论员|责任编辑|责编|编辑|"
    r"编审|审核|审校|校对|主编|监制|策划|统筹|来源|稿源|出处|作者|文字|文|图片来源|图片|图文|"
    r"图|摄影|摄|供图|制图|视频|出品|原标题|发布时间|发布日期|发表时间|更新时间|"
    r"浏览次数|点击数|阅读数|字号|版权声明)"
    r"\s*[:：︱|丨—]",  # NFKC turns "︱" into "—"
)
# "本报记者 张三 通讯员 李四": labels and names, no colon.
_ZH_BYLINE = re.compile(
    r"(?:(?:本报|新华社|特约|见习)?(?:记者|通讯员|实习生|编辑|摄影|文|图)\s*"
    r"[\u4e00-\u9fff·]{2,4}(?:[\s、，,]+[\u4e00-\u9fff·]{2,4}){0,3}\s*){1,4}"
)
_MAX_ZH_BYLINE_CHARS = 60
# Labels whose value may be a whole caption sentence.
_CAPTION_LABEL = re.compile(
    r"(?:photo|image|picture|main image|image caption|media caption|caption|pictured|"
    r"photograph|file photo)\s*[:：]|(?:image caption|media caption|image copyright)\s|"
    r"[【\[(（]?(?:图注|图说|图片说明|原标题|版权声明)\s*[:：]|图为",
    _I,
)
_BYLINE = re.compile(r"(?i:by)\s+[A-Z\u3400-\u9fff]")
_ROLE_LINE = re.compile(
    r"(?!.{0,80}\b(?:is|was|are|were|has|had|as)\b)"
    r"(?:[\w.'’-]+\s+){0,5}(?:staff |senior |chief |contributing |science |deputy )?"
    r"(?:writer|editor|reporter|correspondent|contributor|columnist|photographer)s?",
    _I,
)
_AGENCY_CREDIT = re.compile(
    r"\(?(?:reporting|writing|editing|additional reporting|compiled|edited)\s+by\s+.{1,150}",
    _I,
)
_WIDGET = re.compile(
    r"(?:share(?: this)?(?: story| article| page| post| explainer)?"
    r"(?: (?:on|with|via|to) [\w+ ]{1,20})?|share this with|more share|"
    r"(?:read more )?about sharing\.?|share all sharing options(?: for: .{1,200})?|"
    r"print(?: this)?(?: article| page| story)?|e-?mail(?: this)?(?: article| story)?|"
    r"tweet|save|bookmark|comments?|\d{1,7} comments?|\d{1,7} shares?|view comments|"
    r"view full size image|enlarge (?:this )?image|permalink|reprints?(?: (?:and|&) permissions)?|"
    r"font size|text size|a\s?a\s?a|a\s?[+-]|[+-]\s?a|listen(?: to this article)?|"
    r"copy link|gallery: .{1,80}|photo galleries|photo of the day|"
    r"分享|分享到\w{0,8}|打印|打印文稿|打印本页|字号|字体|收藏|评论|关闭窗口|关闭|"
    r"myshare书签?|【?[大中小]】?(?:\s*【?[大中小]】?){0,2})"
    r"\s*[:：]?",
    _I,
)
_LANGUAGE = re.compile(
    r"english|中文|简体|繁體|繁体|简体中文|繁體中文|中文版|英文版|english version|en|zh|cn|"
    r"español|espanol|français|francais|deutsch|русский|العربية|日本語|한국어|português|"
    r"italiano",
    _I,
)
_NAV_LABEL = re.compile(
    r"newsroom|news|home|homepage|menu|search|contact us|about us|back to top|"
    r"skip to (?:main )?content|advertisement|sponsored|sign in|log in|subscribe|"
    r"首页|新闻|返回顶部|返回首页|网站首页|联系我们|当前位置[:：]?",
    _I,
)
# "Copyright © 2002 - …", "© Reuters"; not "Copyright law protects …".
_COPYRIGHT = re.compile(r"copyright\s*(?:©|\(c\)|\d{4})|©|\(c\)\s*\d{4}|版权所有", _I)
_ALL_RIGHTS = re.compile(r".{0,200}all rights reserved\.?", _I)

# Headers of link lists and contact boxes: the short lines under them go too.
_BLOCK_HEADER = re.compile(
    r"(?:related(?: (?:articles?|stories|story|news|links?|topics?|content|coverage|reading|"
    r"posts?|videos?))?|more related (?:topics|stories|articles)|recommended(?: related)?"
    r"(?: news| articles| stories| reading| for you)?|read more|read next|more to read|"
    r"see also|also see|you may also like|you might also like|more from [\w ]{1,30}|"
    r"more (?:stories|articles|news)|editor'?s (?:recommendations|picks)|"
    r"most (?:read|shared|popular|viewed)|further reading|contact|contacts|contact us|"
    r"media contacts?|press contacts?|"
    r"相关新闻|相关内容|相关阅读|相关链接|相关报道|相关文章|相关新闻话题|与内文相关的链接|"
    r"相关网站|延伸阅读|推荐阅读|热点推荐|猜你喜欢|更多精彩|更多阅读|联系我们|联系方式)"
    r"\s*[:：»>]?",
    _I,
)
# "Related: Scientists find …" / "Read more: …" — a header with its one link on the line.
_BLOCK_HEADER_WITH_LINK = re.compile(
    r"(?:related(?: (?:articles?|stories|story|news|links?|content|coverage))?|read more|"
    r"read next|see also|also see|more|相关新闻|相关阅读|相关报道|延伸阅读|推荐阅读|更多)"
    r"\s*[:：»]\s*.{1,200}",
    _I,
)

# --- captions (whole lines) -----------------------------------------------------------------

_ZH_NAMES = r"[\u4e00-\u9fff·]{2,5}(?:\s+[\u4e00-\u9fff·]{2,5}){0,2}"
_PHOTO_CREDIT = (
    r"[\[(（](?:photos?|images?|videos?|file photo|pictures?)\s*"
    r"(?:/|:|：|\bby\b|\bprovided\b|\bcourtesy\b|\bcredit\b)[^\[\]()（）\n]{0,80}[\])）]"
)
_STOP_BEFORE = r"(?:^|(?<=[.!?。！？”\"’)）])\s*)"
_CAPTION_TAILS = (
    # "… Center. Photos by Shao Jingfeng", "Photograph: Adrian Malloch for the Guardian"
    re.compile(
        _STOP_BEFORE + r"(?:photos?|photographs?|pictures?|images?|video|file photo)"
        r"\s*(?:by\b|[:：/])\s*[^.!?。！？\n]{1,100}\.?$",
        _I,
    ),
    # "… during the forum. Courtesy of the event organizers"
    re.compile(_STOP_BEFORE + r"\(?courtesy(?: of\b| photo\b|:)[^.!?。\n]{0,100}\)?$", _I),
    # "… in Beijing, Nov 5, 2025. [Photo/Xinhua]", "(Photo by Li He)", "(Xinhua/Li He)"
    re.compile(_PHOTO_CREDIT + "$", _I),
    re.compile(r"[(（](?:xinhua|ic|vcg|afp|ap|reuters|cfp)\s*/[^()（）\n]{1,40}[)）]$", _I),
    # "… prized for their shine. Kena Betancur/Getty Images"
    re.compile(
        _STOP_BEFORE + r"(?-i:[A-Z])[\w.'’-]{0,30}(?:\s+(?-i:[A-Z])[\w.'’-]{0,30}){0,4}\s*"
        r"(?:/\s*[\w.'’-]{1,30}(?:\s+[\w.'’-]{1,30}){0,3}\s*){0,3}/\s*"
        r"(?:getty images|afp|reuters|ap|xinhua|vcg|epa|shutterstock(?:\.com)?|istock|alamy|"
        r"bloomberg|ap photo)(?:\s*\([^()\n]{0,30}\))?$",
        _I,
    ),
    # "…拍照留念。新华社记者 才扬 摄", "（新华社记者 李贺 摄）", "新华社发"
    re.compile(
        r"(?:^|(?<=[。！？）)]))\s*(?:(?:新华社|中新社|本报)?(?:记者|通讯员|摄影|实习生)\s*"
        + _ZH_NAMES
        + r"\s*|"
        + _ZH_NAMES
        + r"\s+)摄$"
    ),
    re.compile(r"[（(][^（）()\n]{0,30}摄[）)]$|[（(]?(?:新华社|中新社|人民图片)发[）)]?$"),
)

# --- credits inside prose lines --------------------------------------------------------------

# No leading \s*: a run of spaces would be rescanned from each of its positions.
_INLINE_CREDITS = re.compile(
    _PHOTO_CREDIT
    + r"|[(（](?:reporting|writing|editing|additional reporting)\s+by\s+[^()（）\n]{1,160}[)）]"
    r"|[(（](?:xinhua|ic|vcg|afp|ap|reuters|cfp)\s*/[^()（）\n]{1,40}[)）]"
    r"|[(（【\[](?:本报记者|记者|通讯员|实习生|评论员|责任编辑|责编|编辑|作者)\s*[:：]?"
    r"[^()（）【】\[\]\n]{1,30}[)）】\]]",
    _I,
)

# Run on text whose spaces are already single: "Monday (Photo by NASA). It" -> "Monday. It".
_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[.,;:!?。，；：！？)）])")

_DATE_WORDS = frozenset(
    {
        *("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct"),
        *("nov", "dec", "january", "february", "march", "april", "june", "july"),
        *("august", "september", "october", "november", "december"),
        *("mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday"),
        *("wednesday", "thursday", "friday", "saturday", "sunday"),
        *("am", "pm", "a", "p", "m", "h", "uhr", "at", "on", "updated", "published"),
        *("posted", "last", "st", "nd", "rd", "th"),
        *("et", "est", "edt", "pst", "pdt", "cst", "cdt", "gmt", "utc", "cet", "cest"),
        *("hst", "bst", "ist", "jst"),
    }
)
_DATE_TOKEN = re.compile(r"[A-Za-z]+|\d+|[\u4e00-\u9fff]")
_DATE_CJK = frozenset("年月日时分秒星期周一二三四五六天上午下午")


def strip_furniture(text: str) -> str:
    """``text`` without its page furniture; paragraphs and the remaining lines are kept.

    Drops lines that are only bylines or credits, widgets, language switchers,
    breadcrumbs, captions, copyright notices, or a "related"/contact header with the short
    lines listed under it; cuts credits out of prose lines. Text with no furniture comes
    back unchanged.
    """
    lines = text.splitlines()
    kept: list[str] = []
    in_block = False
    changed = False
    for raw in lines:
        line = _normalize(raw)
        if not line:
            # A blank line does not end a "related" block: each link is its own paragraph.
            if kept and kept[-1]:
                kept.append("")
            continue
        if in_block and not _is_prose(line):
            changed = True
            continue
        in_block = False
        if _is_block_header(line):
            in_block = True
            changed = True
            continue
        if is_furniture(line):
            changed = True
            # A credit bar's date ("Updated: 2025-12-05") is the report's own date: forum
            # facts need it when nothing else dates the page. It stays, alone on its line.
            dated = _bar_date(line)
            if dated:
                kept.append(dated)
            continue
        cleaned = raw.strip()
        if _INLINE_CREDITS.search(raw):
            changed = True
            cleaned = " ".join(_INLINE_CREDITS.sub(" ", raw).split())
            cleaned = _SPACE_BEFORE_PUNCTUATION.sub("", cleaned)
            if not _has_words(cleaned):
                continue
        kept.append(cleaned)
    if not changed:
        return text
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept).strip()


def is_furniture(line: str) -> bool:
    """True when the whole ``line`` is page furniture (see :func:`strip_furniture`)."""
    line = _normalize(line)
    if not line:
        return False
    if len(line) > _MAX_FURNITURE_CHARS:
        return False
    if _is_caption(line) or _is_copyright(line) or _is_breadcrumb(line):
        return True
    if _BLOCK_HEADER.fullmatch(line) or _BLOCK_HEADER_WITH_LINK.fullmatch(line):
        return True
    kinds = [_cell_kind(cell) for cell in _CELL_SEPARATORS.split(line)]
    # A bar of credits may carry a date ("By X | Nov 3, 2025"); a date alone is kept.
    if all(kind == "empty" for kind in kinds):
        return True  # a bar of separators
    return "other" not in kinds and "furniture" in kinds


def split_headline(text: str) -> tuple[str | None, str]:
    """The headline of a plain-text report, and the text under it.

    The headline is the first line, among the first few, that is neither furniture, a date
    nor a one- or two-word label, provided it reads like a headline: a few words, not
    ended as a sentence. When the first such line is prose instead (a report that starts
    with its lead), there is no headline: ``(None, text)``.
    """
    lines = text.splitlines()
    for index, raw in enumerate(lines[:_HEADLINE_SCAN_LINES]):
        line = _normalize(raw)
        if not line or is_furniture(line) or _is_date(line) or _is_label(line):
            continue
        if _reads_like_headline(line):
            return line, "\n".join(lines[index + 1 :]).strip()
        break
    return None, text


# --- helpers --------------------------------------------------------------------------------


def _normalize(line: str) -> str:
    # NBSPs and full-width spaces are how copied pages pad their byline bars.
    return " ".join(unicodedata.normalize("NFKC", line).split())


def _bar_date(line: str) -> str | None:
    for cell in _CELL_SEPARATORS.split(line):
        value = _DATE_LABEL.sub("", _BULLET.sub("", cell.strip()), count=1)
        if value and _is_date(value):
            return value
    return None


def _cell_kind(cell: str) -> str:
    cell = _BULLET.sub("", cell.strip())
    if not cell:
        return "empty"
    if len(cell) > _MAX_CELL_CHARS:
        return "other"  # longer than any credit, widget or date
    if _is_date(cell):
        return "date"
    if _is_furniture_cell(cell):
        return "furniture"
    return "other"


def _is_furniture_cell(cell: str) -> bool:
    if _WIDGET.fullmatch(cell) or _is_language_switch(cell) or _NAV_LABEL.fullmatch(cell):
        return True
    undated = _LEADING_DATE.sub("", cell)
    if not undated:
        return False
    if len(undated) <= _MAX_CREDIT_CHARS and (
        _CREDIT_LABEL.match(undated) or _ZH_CREDIT_LABEL.match(undated)
    ):
        return True
    if _AGENCY_CREDIT.fullmatch(cell.strip("()（）")) and len(cell) <= 200:
        return True
    if len(cell) <= _MAX_ZH_BYLINE_CHARS and _ZH_BYLINE.fullmatch(cell):
        return True
    return _is_byline(cell) or _is_role_line(cell)


def _is_byline(cell: str) -> bool:
    """A byline: By Nada Tawfik, BBC News, New York — not "By December, the lab had grown"."""
    return (
        _BYLINE.match(cell) is not None
        and len(cell.split()) <= 14
        and not cell.rstrip("”\"’')").endswith((".", "!", "?"))
    )


def _is_role_line(cell: str) -> bool:
    """A name over a job title: Richard Adams Education editor, Staff Writer."""
    return _ROLE_LINE.fullmatch(cell) is not None and not cell.endswith(".")


def _is_language_switch(cell: str) -> bool:
    parts = [p for p in re.split(r"\s*/\s*", cell) if p]
    return bool(parts) and all(_LANGUAGE.fullmatch(p) for p in parts)


def _is_caption(line: str) -> bool:
    if _CAPTION_LABEL.match(line):
        return True
    # Credits close a caption: only its end is searched, so a long line costs no more.
    start = max(0, len(line) - _CAPTION_TAIL_CHARS)
    tail = line[start:].casefold()
    if not any(cue in tail for cue in _CAPTION_CUES):
        return False  # most lines: no credit can close them
    return any(pattern.search(line, start) for pattern in _CAPTION_TAILS)


def _is_copyright(line: str) -> bool:
    if len(line) > _MAX_CREDIT_CHARS * 2:
        return False
    return _COPYRIGHT.match(line) is not None or _ALL_RIGHTS.fullmatch(line) is not None


def _is_breadcrumb(line: str) -> bool:
    if not any(separator in line for separator in ">›»"):
        return False
    parts = _BREADCRUMB_SEPARATORS.split(line)
    if len(parts) < 2 or any(ch.isdigit() for ch in line):
        return False
    return all(
        _LETTER.search(part)
        and len(part.split()) <= 4
        and len(part) <= 24
        and part[-1] not in _ENDS
        for part in parts
    )


def _is_block_header(line: str) -> bool:
    return _BLOCK_HEADER.fullmatch(line) is not None


def _is_prose(line: str) -> bool:
    """A line that ends as a sentence and is long enough to be one: not a list entry."""
    ends = line.rstrip("”\"’')）」")[-1:] in ".!?。！？…"
    return ends and (len(_WORD.findall(line)) >= 8 or len(_CJK_CHAR.findall(line)) >= 20)


def _is_date(line: str) -> bool:
    """A line of nothing but a date and time ("Nov 24, 2025", "2017-03-10 09:58")."""
    tokens = _DATE_TOKEN.findall(line)
    if not tokens or not any(t.isdigit() for t in tokens) or len(tokens) > 16:
        return False
    return all(t.isdigit() or t.lower() in _DATE_WORDS or t in _DATE_CJK for t in tokens)


def _is_label(line: str) -> bool:
    """One or two words ("Newsroom", "Science"): a section label, not a headline."""
    return len(_WORD.findall(_CJK_CHAR.sub(" ", line))) + len(_CJK_CHAR.findall(line)) // 2 < 3


def _reads_like_headline(line: str) -> bool:
    cjk = len(_CJK_CHAR.findall(line))
    words = len(_WORD.findall(_CJK_CHAR.sub(" ", line)))
    if cjk > _HEADLINE_MAX_CJK or words > _HEADLINE_MAX_WORDS:
        return False
    # "?" and "!" end headlines too; a full stop, comma or colon ends a sentence or a label.
    return line.rstrip("”\"’')）")[-1:] not in ".。,，;；:：…"


def _has_words(text: str) -> bool:
    return _LETTER.search(text) is not None
