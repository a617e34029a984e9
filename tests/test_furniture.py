"""Page furniture (summaries.furniture): bylines, widgets, language switchers, captions and
"related" blocks are dropped; prose that merely mentions an editor or a photo is kept.

The lines are real: from the seed reports (tests/fixtures/seeds) and the corpus pages
(tests/fixtures/articles, as extracted or as their whole-page text), unless marked.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from summaries.furniture import is_furniture, split_headline, strip_furniture

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))

NBSP = "\u00a0"


@pytest.mark.parametrize(
    "line",
    [
        # bylines and credit lines
        pytest.param(
            "Writer: Windy Shao | Editor: Zhang Chanwen | From: Shenzhen Daily | "
            "Updated: 2025-11-21",
            id="seed-004-credit-bar",
        ),
        pytest.param(
            f"Writer:{NBSP}Windy Shao{NBSP} |{NBSP} Editor:{NBSP}Lin Qiuying{NBSP} |{NBSP} "
            f"From:{NBSP}Original{NBSP} |{NBSP} Updated:{NBSP}2025-12-05",
            id="seed-002-credit-bar-with-nbsp",
        ),
        pytest.param("by Tia Ghose, Staff Writer | October 29, 2014 07:38am ET", id="livescience"),
        pytest.param(
            "By HNN Staff | November 18, 2019 at 2:26 PM HST - Updated November 18 at 4:46 PM",
            id="hawaiinewsnow",
        ),
        pytest.param("By Umair Irfan Updated Nov 13, 2019, 10:28am EST", id="vox"),
        pytest.param("By Nada Tawfik, BBC News, New York", id="bbc"),
        pytest.param(
            "by Eleanor Ainge Roy (reporting) and Adrian Malloch (photography)", id="guardian"
        ),
        pytest.param("By Antonio Regalado on December 4, 2014", id="technologyreview"),
        pytest.param("Richard Adams Education editor", id="guardian-role"),
        pytest.param("Seattle Times business reporter", id="seattletimes-role"),
        pytest.param("(Reporting by Will Dunham; Editing by Tom Brown)", id="reuters-credit"),
        pytest.param("Source: CDC, Chicago Department of Public Health", id="bbc-source"),
        # share / print / font-size widgets
        pytest.param("Share", id="seed-002-share"),
        pytest.param("Print", id="seed-002-print"),
        pytest.param("A+", id="seed-002-bigger"),
        pytest.param("A-", id="seed-002-smaller"),
        pytest.param("A A A", id="font-size-letters"),
        pytest.param("Font Size", id="webmd-font-size"),
        pytest.param("Print Article", id="webmd-print"),
        pytest.param("Share this story", id="vox-share"),
        pytest.param("Share on Facebook", id="guardian-share"),
        pytest.param("Share this with Messenger", id="bbc-share"),
        pytest.param("More Share", id="technologyreview-share"),
        pytest.param("941 comments", id="bbc-comments"),
        pytest.param("View full size image", id="livescience-enlarge"),
        pytest.param("Permalink", id="wired-permalink"),
        pytest.param("分享到", id="gmw-share"),
        pytest.param("打印文稿", id="bbc-zh-print"),
        pytest.param("字号：大 中 小", id="zh-font-size"),
        # language switchers and navigation
        pytest.param("中文 |", id="seed-000-language"),
        pytest.param("中文 | English", id="zh-fixture-language"),
        pytest.param("English | 中文", id="english-first"),
        pytest.param("Newsroom", id="seed-000-section"),
        pytest.param("首页 > 新闻", id="zh-fixture-breadcrumb"),
        pytest.param("|", id="wired-bare-separator"),
        # captions and photo credits
        pytest.param(
            "The launch ceremony of the online platform for the Guangming International "
            "Technology Transfer and Transformation Center. Photos by Shao Jingfeng",
            id="seed-002-caption",
        ),
        pytest.param(
            "Russian experts visit Shenzhen University of Advanced Technology during the forum. "
            "Courtesy of the event organizers",
            id="seed-004-caption",
        ),
        pytest.param(
            "Shiny Morpho butterflies are prized for their intense, shiny blue. "
            "Kena Betancur/Getty Images",
            id="wired-caption",
        ),
        pytest.param(
            "Whale expert Hori Parata. Photograph: Adrian Malloch for the Guardian",
            id="guardian-caption",
        ),
        pytest.param("Sanjeev Verma/Hindustan Times/Getty Images", id="vox-credit"),
        pytest.param("Credit: NASA/ESA", id="space-credit"),
        pytest.param("Image copyright Reuters", id="bbc-image-copyright"),
        pytest.param("Image caption About 40 bodies were buried on Thursday", id="bbc-caption"),
        pytest.param("Photo: Unnati Chauhan", id="rutgers-photo"),
        pytest.param("Photo by James Martin/CNET", id="cnet-photo"),
        pytest.param("© Reuters", id="sciencealert-credit"),
        pytest.param(
            "Visitors try out a humanoid robot at the expo in Beijing. [Photo/Xinhua]",
            id="china-daily-caption-pattern",
        ),
        pytest.param(
            "Delegates tour the lab during the symposium. (Photo by Li Wei)",
            id="photo-by-caption-pattern",
        ),
        # "related" headers
        pytest.param("Related:", id="space-related"),
        pytest.param("Related Articles", id="seed-000-related"),
        pytest.param("Read More", id="natgeo-read-more"),
        pytest.param("You May Also Like", id="rutgers-also-like"),
        pytest.param("Editor's Recommendations", id="livescience-recommendations"),
        pytest.param("Related: Scientists map the first full Titan surface", id="related-link"),
        pytest.param("相关新闻", id="zh-related"),
        pytest.param("延伸阅读：", id="zh-further-reading"),
        # copyright
        pytest.param("Copyright © 2002 - Chinese Academy of Sciences", id="seed-000-copyright"),
        pytest.param("Copyright 2019 Hawaii News Now. All rights reserved.", id="hnn-copyright"),
        # Chinese credits and captions
        pytest.param("责任编辑：王芳", id="zh-fixture-editor"),
        pytest.param("[责任编辑:肖春芳]", id="gmw-editor"),
        pytest.param("责任编辑： 焦鹏", id="xinhua-editor"),
        pytest.param("2020-02-19 20:29:58 来源： 半月谈", id="xinhua-source"),
        pytest.param("2017-03-10 09:58:03来源：网易科学人作者：责任编辑：肖春芳", id="gmw-source"),
        pytest.param("出品︱网易科学人栏目组 胖胖", id="gmw-producer"),
        pytest.param("原标题：他晚于阿姆斯特朗登月 却是首个敢在月球喝酒的人",
                     id="gmw-original-title"),
        pytest.param("图注：奥尔德林的圣餐杯回到了地球上", id="gmw-caption"),
        pytest.param("本报记者 张三 通讯员 李四", id="zh-reporter-byline-pattern"),
        pytest.param("记者：王明 摄影：李华", id="zh-reporter-photographer-pattern"),
        pytest.param(
            "2月17日，在武汉血液中心的中国医学科学院CPnCoV项目组，康复病人、来自汉口医院的护士"
            "蔡桃英在献血浆时拍照留念。新华社记者 才扬 摄",
            id="xinhua-caption",
        ),
        pytest.param("图为论坛开幕式现场。", id="zh-caption-pattern"),
    ],
)  # fmt: skip
def test_a_line_of_page_furniture_is_furniture(line: str) -> None:
    assert is_furniture(line)
    first, *rest = strip_furniture(
        f"A real sentence of the report comes first here.\n{line}"
    ).split("\n")
    assert first == "A real sentence of the report comes first here."
    # At most the bar's date stays, alone and unlabelled (see the test below).
    assert len(rest) <= 1
    assert not any(re.search(r"(?i)\bby\b|writer|editor|staff", r) for r in rest)


@pytest.mark.parametrize(
    ("bar", "kept"),
    [
        ("Writer: Windy Shao | Editor: Zhang Chanwen | Updated: 2025-11-21", "2025-11-21"),
        (f"From:{NBSP}Original{NBSP} |{NBSP} Updated:{NBSP}2025-12-05", "2025-12-05"),
        ("by Tia Ghose, Staff Writer | October 29, 2014 07:38am ET", "October 29, 2014 07:38am ET"),
        ("记者 张三 | 发布时间：2025-11-18 09:30", "2025-11-18 09:30"),
        ("Writer: Windy Shao | Editor: Zhang Chanwen", None),
    ],
)
def test_a_credit_bar_leaves_its_date_for_the_forum_facts(bar: str, kept: str | None) -> None:
    stripped = strip_furniture(f"{bar}\nThe forum opened on Monday in the city hall.")
    expected = ([kept] if kept else []) + ["The forum opened on Monday in the city hall."]
    assert stripped.split("\n") == expected


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(
            '"I think meetings like this are super important," said Professor Ashley Shade, '
            "the Editor-in-Chief of the ASM journal mSystems.",
            id="seed-000-editor-in-chief",
        ),
        pytest.param(
            "He vowed to keep trying, but the BBC's North America editor Jon Sopel said the "
            "president did not sound very confident.",
            id="bbc-editor-in-prose",
        ),
        pytest.param(
            "The editor of Nature said the journal would publish the forum's findings.",
            id="editor-of-nature",
        ),
        pytest.param(
            "Prof. Helmut Kettenmann from the Shenzhen University of Advanced Technology told "
            "Shenzhen Daily that his team has been cooperating with the Brain Science "
            "Infrastructure for a year.",
            id="seed-002-told-shenzhen-daily",
        ),
        pytest.param(
            "Finding water vapor on Europa, he said, is the “next best thing” to liquid water.",
            id="hnn-short-prose",
        ),
        pytest.param("Experts gather to share insights", id="seed-002-subheading"),
        pytest.param("Nov 24, 2025", id="seed-000-dateline-kept-for-forum-facts"),
        pytest.param("Share prices of biotech firms rose after the forum.", id="share-in-prose"),
        pytest.param("Photos taken by the rover show a dry riverbed.", id="photos-in-prose"),
        pytest.param("Copyright law was the subject of the second panel.", id="copyright-in-prose"),
        pytest.param("By December, the lab had grown to 40 people.", id="by-in-prose"),
        pytest.param("Date: November 18-20, 2025", id="forum-notice-date"),
        pytest.param("Venue: Shenzhen Convention Center", id="forum-notice-venue"),
        pytest.param("Contact tracing was discussed at length.", id="contact-in-prose"),
        pytest.param(
            "2025年11月20日，第十届国际量子科学论坛在合肥开幕，来自二十多个国家和地区的四百余名科学家"
            "参加了会议。",
            id="zh-fixture-lead",
        ),
        pytest.param("时间：2025年11月18日至20日", id="zh-forum-notice-time"),
        pytest.param("记者了解到，本届论坛共设六个分论坛。", id="zh-reporter-learned"),
        pytest.param("他跟着记者去拍摄", id="zh-shoot-in-prose"),
        pytest.param("第十届国际量子科学论坛在合肥开幕", id="zh-fixture-headline"),
    ],
)  # fmt: skip
def test_prose_that_mentions_furniture_words_is_kept(line: str) -> None:
    assert not is_furniture(line)
    text = f"First paragraph of the report, long enough to be prose.\n\n{line}"
    assert strip_furniture(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Visitors view exhibits at the expo [Photo/Xinhua] on Monday.",
            "Visitors view exhibits at the expo on Monday.",
            id="photo-credit-in-brackets",
        ),
        pytest.param(
            "The map was released on Monday (Photo by NASA). It shows lakes.",
            "The map was released on Monday. It shows lakes.",
            id="photo-credit-in-parentheses",
        ),
        pytest.param(
            "正是有了英勇的你们，才有这座英雄的城！（评论员 罗博 萧海川）",
            "正是有了英勇的你们，才有这座英雄的城！",
            id="xinhua-commentator-credit",
        ),
        pytest.param(
            "论坛在合肥开幕。（记者 张三）",
            "论坛在合肥开幕。",
            id="zh-reporter-credit",
        ),
    ],
)  # fmt: skip
def test_credits_inside_a_prose_line_are_cut_out(text: str, expected: str) -> None:
    assert strip_furniture(text) == expected


def test_a_related_block_goes_with_its_links_until_prose_resumes() -> None:
    # newspaper_space.com1: the list under "Related:", one link a paragraph.
    text = (
        "Mars is the fourth planet from the sun, and the seventh largest.\n\n"
        "Related:\n\nHow Big is Mars?\n\nHow Far Away is Mars?\n\nHow Was Mars Formed?\n\n"
        "Scientists think Mars once had a thick atmosphere and liquid water on its surface."
    )
    assert strip_furniture(text) == (
        "Mars is the fourth planet from the sun, and the seventh largest.\n\n"
        "Scientists think Mars once had a thick atmosphere and liquid water on its surface."
    )


def test_the_contact_box_closing_seed_000_is_dropped_whole() -> None:
    text = (FIXTURES / "seeds" / "000_4f7f9f5734775d9e.txt").read_text(encoding="utf-8")
    stripped = strip_furniture(text)
    assert stripped.endswith("the ASM journal mSystems.")
    for line in ("Contact", "YU Rong", "E-mail:", "86-10-68597521", "Copyright", "中文"):
        assert line not in stripped


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem for p in SEEDS])
def test_a_seed_keeps_every_line_of_prose(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    stripped = strip_furniture(text).splitlines()
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 12 and line.rstrip().endswith((".", '"', "”")) and "Photos by" not in line:
            assert line.strip() in stripped


def test_text_without_furniture_comes_back_unchanged() -> None:
    text = "One paragraph.\n\n\nAnother, after extra blank lines.\n"
    assert strip_furniture(text) == text
    assert strip_furniture("") == ""


@pytest.mark.parametrize(
    ("name", "headline"),
    [
        ("seeds/000_4f7f9f5734775d9e.txt",
         "Shenzhen Symposium Highlights Global Collaboration in Microbial Biotechnology"),
        ("seeds/001_754d7d6a045a83e8.txt", None),
        ("seeds/002_e8b3459d31ab7e89.txt",
         "Experts converge in Guangming to chart future of scientific infrastructures"),
        ("seeds/003_034e7e5437f64165.txt",
         "International Cooperation key to Industrial Biotechnology Innovation"),
        ("seeds/004_5a2f9e8ddc78b2b8.txt",
         "Chinese, Russian experts gather in Guangming for cooperation in molecular medicine"),
        ("summarize/zh_article.txt", "第十届国际量子科学论坛在合肥开幕"),
        ("summarize/de_article.txt", None),
    ],
)  # fmt: skip
def test_the_headline_of_a_plain_text_report_skips_the_furniture_above_it(
    name: str, headline: str | None
) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    found, below = split_headline(text)
    assert found == headline
    if headline is None:
        assert below == text  # the report starts with its lead: nothing is taken away
    else:
        assert headline not in below.splitlines()[:1]
        assert text.rstrip().endswith(below.rstrip()[-40:])


@pytest.mark.parametrize(
    "text",
    [
        "Share\nPrint\nWhat if the smallest organisms could solve the biggest problems?\nMore.",
        "Nov 24, 2025\n\nScience\n\nA study of 40 lakes found that warming cut oxygen.",
    ],
)
def test_a_question_can_be_a_headline_but_a_sentence_cannot(text: str) -> None:
    found, _ = split_headline(text)
    assert found is None or found.endswith("?")


@pytest.mark.parametrize(
    "hostile",
    [
        " " * 200_000 + "x",
        "[Photo" * 40_000,
        "(Photo by " * 30_000,
        "Share " * 40_000,
        "By A " * 40_000,
        "记者" * 100_000 + "摄",
        "A" * 100_000 + "/Getty Images",
        ("Kena Betancur " * 5 + "/") * 10_000,
        "Related\n" + "link\n" * 20_000,
        "a | " * 50_000,
    ],
    ids=["spaces", "brackets", "parens", "share", "by", "zh-credit", "caps", "slashes",
         "related", "cells"],
)  # fmt: skip
def test_hostile_text_is_stripped_in_linear_time(hostile: str) -> None:
    start = time.perf_counter()
    strip_furniture(hostile)
    split_headline(hostile)
    assert time.perf_counter() - start < 5.0
