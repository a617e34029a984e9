"""The English and Chinese interface: the catalogs are complete, compiled and consistent
with their English text; dates and language codes; and a Chinese-speaking user through the
fake Bot API (replies, buttons, /language, pushed cards, command menus)."""

from __future__ import annotations

import asyncio
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot import keyboards as kb
from bot.i18n import ENGLISH, LANGUAGES, LOCALES_DIR, language_of, translator
from bot.render import ArticleCard, render_card, render_digest, render_events, render_reason
from summaries.events import EventFacts
from tests.fakebot import parse_html
from tests.test_e2e import USER, World, _add_feed, _button, _items, feeds, world
from tests.test_handlers import Harness, data_of, fake, harness, seed_article, template_db

# Fixtures used by the tests below (imported so pytest finds them here).
__all__ = ["fake", "feeds", "harness", "template_db", "world"]

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?\w+[^>]*>")
# Han characters, CJK punctuation and full-width forms: what Chinese text is written in.
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# ------------------------------------------------------------------------------ catalogs


def _catalog(language: str) -> Catalog:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


def _source_ids() -> set[str]:
    """Every message id in bot/ as `make i18n` extracts them (pyproject's keywords)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    options = config["tool"]["babel"]["extract_messages"]
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(options["keywords"]))
    found: set[str] = set()
    for path in options["input_paths"]:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / path), keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, list | tuple) else [string]


def _msgids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, list | tuple) else [message.id]


def _messages(language: str) -> list[Message]:
    return [m for m in _catalog(language) if m.id]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_source_is_in_the_catalog(language: str) -> None:
    catalog = _catalog(language)
    known = {_msgids(m)[0] for m in catalog if m.id}
    missing = sorted(_source_ids() - known)
    assert not missing, f"not in {language}'s catalog (run `make i18n`): {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_in_the_catalog_has_a_translation(language: str) -> None:
    untranslated = [
        _msgids(m)[0]
        for m in _messages(language)
        if m.fuzzy or not all(form.strip() for form in _forms(m))
    ]
    assert not untranslated, f"no {language} translation for: {untranslated}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_po_file_compiled(language: str) -> None:
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as file:
        compiled = read_mo(file)

    def pairs(catalog: Catalog) -> dict[object, object]:
        return {
            (tuple(m.id) if isinstance(m.id, list | tuple) else m.id): tuple(_forms(m))
            for m in catalog
            if m.id and not m.fuzzy
        }

    assert pairs(compiled) == pairs(_catalog(language)), "messages.mo is stale: `make i18n`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders_and_markup_of_their_message(language: str) -> None:
    wrong = []
    for message in _messages(language):
        ids = _msgids(message)
        wanted = set().union(*(set(PLACEHOLDER.findall(i)) for i in ids))
        tags = sorted(TAG.findall(ids[-1]))
        for form in _forms(message):
            if set(PLACEHOLDER.findall(form)) != wanted or sorted(TAG.findall(form)) != tags:
                wrong.append((ids[0], form))
    assert not wrong, wrong


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_are_written_in_the_language(language: str) -> None:
    not_chinese = [m.id for m in _messages(language) if not CJK.search(_forms(m)[0])]
    assert not not_chinese, not_chinese


# ------------------------------------------------------------------------------ pure API


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("zh", "zh"),
        ("zh-hans", "zh"),
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh_HK", "zh"),
        ("ZH", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("zhx", "en"),  # not a Chinese tag
    ],
)
def test_a_telegram_language_code_maps_to_an_interface_language(
    code: str | None, language: str
) -> None:
    assert language_of(code) == language


@pytest.mark.parametrize(
    ("language", "start", "end", "shown"),
    [
        ("en", date(2025, 11, 24), None, "24 Nov 2025"),
        ("en", date(2025, 9, 5), None, "5 Sep 2025"),
        ("en", date(2025, 11, 16), date(2025, 11, 17), "16–17 Nov 2025"),
        ("en", date(2025, 11, 30), date(2025, 12, 2), "30 Nov – 2 Dec 2025"),
        ("en", date(2025, 12, 30), date(2026, 1, 2), "30 Dec 2025 – 2 Jan 2026"),
        ("zh", date(2025, 11, 24), None, "2025年11月24日"),
        ("zh", date(2025, 11, 16), date(2025, 11, 17), "2025年11月16日至17日"),
        ("zh", date(2025, 11, 30), date(2025, 12, 2), "2025年11月30日至12月2日"),
        ("zh", date(2025, 12, 30), date(2026, 1, 2), "2025年12月30日至2026年1月2日"),
    ],
)
def test_dates_read_as_each_language_writes_them(
    language: str, start: date, end: date | None, shown: str
) -> None:
    assert translator(language).date_range(start, end) == shown


@pytest.mark.parametrize(
    ("language", "month", "weekday", "number"),
    [("en", "Nov 2026", "Wednesday", "1,200"), ("zh", "2026年11月", "星期三", "1,200")],
)
def test_months_weekdays_and_numbers_come_from_cldr(
    language: str, month: str, weekday: str, number: str
) -> None:
    tr = translator(language)
    assert tr.month(date(2026, 11, 3)) == month
    assert tr.weekday(2) == weekday
    assert tr.number(1200) == number


def test_english_is_the_message_itself_and_unknown_languages_are_english() -> None:
    assert translator("en") is ENGLISH
    assert translator("fr") is ENGLISH
    assert ENGLISH("Removed {topic}", topic="#ai") == "Removed #ai"
    assert ENGLISH("{braces} stay without values") == "{braces} stay without values"
    assert translator("zh")("Removed {topic}", topic="#ai") == "已取消#ai"
    assert translator("zh").ngettext("{n} article", "{n} articles", 3) == "3 篇文章"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_language_button_round_trips(language: str) -> None:
    action = kb.SetLanguage(-9223372036854775807, language)
    assert kb.parse(kb.encode(action)) == action
    assert kb.parse("lg:5:fr") is None


def _forum_card(card_id: int = 1) -> ArticleCard:
    event = EventFacts(
        name="Shenzhen Microbiology Symposium",
        kind="forum",
        start=date(2025, 12, 1),
        end=date(2025, 12, 3),
        city="Shenzhen",
        venue=None,
        organizers=("ASM",),
        attendance=1200,
        deadlines=(("abstract", date(2025, 11, 20)),),
    )
    return ArticleCard(
        id=card_id,
        title="Microbes in the spotlight",
        url="https://example.org/symposium",
        source="Lab News",
        published=datetime(2025, 11, 10, 8, 0, tzinfo=UTC),
        summary=("Researchers met.",),
        topics=("microbiology",),
        event=event,
    )


RENDER_NOW = datetime(2025, 11, 12, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "pieces"),
    [
        (
            "en",
            [
                "Lab News · 10 Nov 2025",
                "📅 1–3 Dec 2025 (upcoming)",
                "⏳ abstracts by 20 Nov 2025",
                "👥 1,200 attendees",
                "💡 because: #microbiology · rule crispr",
            ],
        ),
        (
            "zh",
            [
                "Lab News · 2025年11月10日",
                "📅 2025年12月1日至3日（即将召开）",
                "⏳ 摘要投稿截止 2025年11月20日",
                "👥 1,200 人参会",
                "💡 推送原因：#microbiology · 关键词 crispr",
            ],
        ),
    ],
)
def test_a_card_reads_in_the_chats_language(language: str, pieces: list[str]) -> None:
    tr = translator(language)
    reason = render_reason(["microbiology"], ["crispr"], tr)
    text = parse_html(
        render_card(_forum_card(), sentences=2, tz=UTC, now=RENDER_NOW, reason=reason, tr=tr)
    ).text
    for piece in pieces:
        assert piece in text


@pytest.mark.parametrize(
    ("language", "heading", "sections", "events"),
    [
        ("en", "📰 Your daily digest — 12 Nov 2025 · 2 articles", "Forums", "Upcoming forums"),
        (
            "zh",
            "📰 你的每日摘要 — 2025年11月12日 · 2 篇文章",
            "学术会议",
            "即将召开的会议 · 1\n\n📅 2025年12月1日至3日（2 周后）",
        ),
    ],
)
def test_digests_and_the_events_list_read_in_the_chats_language(
    language: str, heading: str, sections: str, events: str
) -> None:
    tr = translator(language)
    cards = [_forum_card(1), _forum_card(2)]
    (digest,) = render_digest(cards, period="daily", sentences=1, tz=UTC, now=RENDER_NOW, tr=tr)
    text = parse_html(digest).text
    assert text.startswith(heading)
    assert sections in text
    (listed,) = render_events(cards[:1], tz=UTC, now=RENDER_NOW, tr=tr)
    assert parse_html(listed).text.startswith(f"🗓 {events}")


def test_the_settings_buttons_and_weekdays_read_in_chinese() -> None:
    @dataclass
    class Weekly:
        mode: str = "weekly"
        digest_hour: int = 8
        digest_weekday: int = 2
        timezone: str = "Asia/Shanghai"
        summary_sentences: int = 2
        forums_only: bool = False
        paused: bool = False
        silent: bool = False

    tr = translator("zh")
    main = [b.text for row in kb.settings_keyboard(7, Weekly(), tr=tr).inline_keyboard for b in row]
    assert "✅ 🗞 每周" in main
    assert "📆 星期三" in main
    assert "🌐 时区：Asia/Shanghai" in main
    days = kb.settings_keyboard(7, Weekly(), "weekday", tr=tr).inline_keyboard
    assert [b.text for row in days for b in row][:2] == ["星期一", "星期二"]


# ------------------------------------------------------------------------------ through Telegram

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _texts(markup: Any) -> list[str]:
    rows = markup["inline_keyboard"] if markup else []
    return [b["text"] for row in rows for b in row]


async def test_a_chinese_speaking_user_gets_chinese_replies_and_buttons(harness: Harness) -> None:
    chat = 3131
    harness.fake.user_languages[chat] = "zh-hans"
    (welcome,) = await harness.send(chat, "/start")
    assert "科学新闻与学术会议" in (welcome.plain_text or "")
    buttons = _texts(welcome.reply_markup)
    assert "🤖 人工智能与计算" in buttons
    assert "⚙️ 设置" in buttons
    assert "✔️ 完成" in buttons
    row = await harness.chat(chat)
    assert row is not None
    assert row.language == "zh"  # remembered from the first contact

    (help_,) = await harness.send(chat, "/help")
    assert "选择关注的主题" in (help_.plain_text or "")
    assert "/language — 界面语言" in (help_.plain_text or "")

    (settings,) = await harness.send(chat, "/settings")
    assert "推送方式：⚡ 即时" in (settings.plain_text or "")
    assert "摘要：2 句" in (settings.plain_text or "")
    assert "⚡ 即时" in " ".join(_texts(settings.reply_markup))

    # Subscribed, /latest is a Chinese list with Chinese dates.
    await harness.click(chat, welcome, data_of(welcome, lambda a: isinstance(a, kb.ToggleTopic)))
    await seed_article(harness, "Neural networks learn faster", topics=["ai"], published=NOW)
    (latest,) = await harness.send(chat, "/latest")
    text = latest.plain_text or ""
    assert "你订阅的最新文章" in text
    assert "2026年3月2日" in text

    # Free text gets a pointer to /help, in Chinese.
    (answer,) = await harness.send(chat, "你好，这个机器人能做什么？")
    assert "/help" in (answer.plain_text or "")
    assert "我只回应命令" in (answer.plain_text or "")


async def test_language_switches_the_chat_to_english_and_back(harness: Harness) -> None:
    chat = 3232
    harness.fake.user_languages[chat] = "zh"
    (prompt,) = await harness.send(chat, "/language")
    assert "当前界面语言：中文" in (prompt.plain_text or "")
    assert _texts(prompt.reply_markup) == ["English", "✅ 中文"]

    answer = await harness.click(
        chat, prompt, data_of(prompt, lambda a: a == kb.SetLanguage(chat, "en"))
    )
    assert answer.text == "Saved"
    edited = harness.latest(chat, prompt)
    assert "Interface language: English" in (edited.plain_text or "")
    row = await harness.chat(chat)
    assert row is not None
    assert row.language == "en"
    # The chat's choice wins over the user's Telegram language from now on.
    (help_,) = await harness.send(chat, "/help")
    assert "Choose your topics" in (help_.plain_text or "")

    answer = await harness.click(
        chat, edited, data_of(edited, lambda a: a == kb.SetLanguage(chat, "zh"))
    )
    assert answer.text == "已保存"
    assert "界面语言：中文" in (harness.latest(chat, prompt).plain_text or "")
    (help_,) = await harness.send(chat, "/help")
    assert "选择关注的主题" in (help_.plain_text or "")


async def test_an_english_speaking_user_still_gets_english(harness: Harness) -> None:
    (welcome,) = await harness.send(3333, "/start")
    assert "Science news and forums" in (welcome.plain_text or "")
    assert "⚙️ Settings" in _texts(welcome.reply_markup)


async def _subscribe_in_chinese(world: World, chat_id: int, topic_label: str) -> None:
    world.fake.user_sends(chat_id, "/start")
    (welcome,) = await world.fake.wait_for_messages_async(chat_id, 1)
    for _ in range(5):
        if topic_label in " ".join(_texts(welcome.reply_markup)):
            break
        edits = len(world.fake.messages(chat_id, include_edits=True))
        world.fake.user_clicks(chat_id, welcome.message_id, _button(welcome, "▶"))
        await world.fake.wait_until_async(
            lambda edits=edits: len(world.fake.messages(chat_id, include_edits=True)) > edits,
            timeout=10,
        )
        welcome = world.fake.messages(chat_id, include_edits=True)[-1]
    world.fake.user_clicks(chat_id, welcome.message_id, _button(welcome, topic_label))
    await world.fake.wait_until_async(
        lambda: any(
            text.startswith("✅") and topic_label in text
            for m in world.fake.messages(chat_id, include_edits=True)
            for text in _texts(m.reply_markup)
        ),
        timeout=10,
    )


async def test_a_card_pushed_to_a_chinese_chat_is_in_chinese(world: World) -> None:
    world.fake.user_languages[USER] = "zh-CN"
    await _subscribe_in_chinese(world, USER, "微生物学")
    before = len(world.fake.messages(USER))
    await _add_feed(world, _items(1))  # the first poll is backlog: stored, not pushed
    await world.wait_passes(len(world.passes) + 2)
    world.feeds.add("/forums.rss", _items(0, 1, 2))
    await world.wait_passes(len(world.passes) + 3)
    await world.fake.wait_for_messages_async(USER, before + 1, timeout=10)
    await asyncio.sleep(0.5)

    (card,) = world.fake.messages(USER)[before:]
    text = card.plain_text or ""
    assert "Shenzhen Symposium Highlights" in text  # the article itself stays as written
    assert re.search(r"📅 20\d\d年\d{1,2}月\d{1,2}日", text), text  # Chinese dates
    assert "（已结束）" in text  # the symposium of the fixture was on 18 Nov
    assert "300 人参会" in text
    assert text.endswith("💡 推送原因：#microbiology")
    assert _texts(card.reply_markup) == ["📅 加入日历", "🔕 屏蔽 #microbiology"]


async def test_command_menus_and_descriptions_are_set_in_both_languages(world: World) -> None:
    await world.fake.wait_until_async(lambda: bool(world.fake.commands(language_code="zh")))
    english = {c["command"]: c["description"] for c in world.fake.commands()}
    chinese = {c["command"]: c["description"] for c in world.fake.commands(language_code="zh")}
    assert english.keys() == chinese.keys()
    assert "language" in chinese
    assert english["topics"] == "Choose your topics"
    assert chinese["topics"] == "选择关注的主题"
    assert all(CJK.search(text) for text in chinese.values())
    assert "Science news" in (world.fake.description() or "")
    assert "科学新闻" in (world.fake.description(language_code="zh") or "")
    assert "科学新闻" in (world.fake.description(short=True, language_code="zh") or "")
