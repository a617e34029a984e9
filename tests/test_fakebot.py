"""Spec of the fake Bot API server, driven through python-telegram-bot's real HTTP stack."""

from __future__ import annotations

import asyncio
import datetime as dtm
import functools
import ssl
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from tests.fakebot import (
    DEFAULT_TOKEN,
    FakeTelegram,
    HtmlParseError,
    Limits,
    parse_html,
    utf16_length,
)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    # Each httpx client otherwise loads the CA bundle afresh (~0.1 s a bot); the fake
    # speaks plain HTTP, so one shared context changes nothing but the test run time.
    return ssl.create_default_context()


def make_bot(server: FakeTelegram, token: str = DEFAULT_TOKEN) -> Bot:
    """A real PTB Bot on its real HTTP stack, pointed at the fake."""
    return Bot(
        token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(connection_pool_size=8, httpx_kwargs={"verify": shared_ssl_context()}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"verify": shared_ssl_context()}),
    )


class FrozenClock:
    """A clock the test moves by hand, so rate limits are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def ptb_timedeltas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future timedelta durations (no deprecation warnings on retry_after)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def server() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(server) as real_bot:
        yield real_bot


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --------------------------------------------------------------------------- pure HTML rules


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("plain text", "plain text", []),
        ("<b>bold</b> and <strong>x</strong>", "bold and x", [("bold", 0, 4), ("bold", 9, 1)]),
        (
            "<i>a</i><em>b</em><u>c</u><ins>d</ins>",
            "abcd",
            [("italic", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("underline", 3, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ('<a href="https://x.org/">link</a>', "link", [("text_link", 0, 4)]),
        ("<code>c</code>", "c", [("code", 0, 1)]),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", [("pre", 0, 5)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
        ("&lt;tag&gt; &amp; &quot;q&quot;", '<tag> & "q"', []),
        ("&#65;&#x42; &nbsp; a & b > c", "AB &nbsp; a & b > c", []),
        ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
        ("<b></b>empty", "empty", []),
    ],
)
def test_parse_html_applies_telegram_tags(
    html: str, plain: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(html)
    assert parsed.text == plain
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_parse_html_keeps_link_url_and_pre_language() -> None:
    link, pre = parse_html(
        '<a href="https://x.org/?a=1&amp;b=2">l</a><pre><code class="language-py">p</code></pre>'
    ).entities
    assert link["url"] == "https://x.org/?a=1&b=2"
    assert pre["language"] == "py"


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", "Empty tag name at byte offset 2"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("é<p>", 'Unsupported start tag "p" at byte offset 2'),
        ('<span class="other">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", "Custom emoji identifier must be a number"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(html: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(html)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "units"), [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("中文", 2), ("a😀b", 4)]
)
def test_utf16_length_counts_code_units(text: str, units: int) -> None:
    assert utf16_length(text) == units


# --------------------------------------------------------------------------- through PTB


async def test_get_me_answers_with_the_bot_user(bot: Bot, server: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == int(DEFAULT_TOKEN.split(":")[0])
    assert me.username == server.bot_user["username"]


async def test_send_message_is_recorded_and_returns_a_message(
    bot: Bot, server: FakeTelegram
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    sent = await bot.send_message(
        -1001234,
        "<b>News</b> &amp; views",
        parse_mode="HTML",
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        message_thread_id=7,
    )
    second = await bot.send_message(-1001234, "again")
    assert (sent.message_id, second.message_id) == (1, 2)
    assert sent.text == "News & views"
    assert sent.chat.type == "supergroup"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    (recorded, _) = server.messages(-1001234)
    assert recorded.method == "sendMessage"
    assert recorded.text == "<b>News</b> &amp; views"
    assert recorded.plain_text == "News & views"
    assert recorded.parse_mode == "HTML"
    assert recorded.thread_id == 7
    assert recorded.link_preview_options == {"is_disabled": True}
    assert recorded.reply_markup == {
        "inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]
    }


async def test_invalid_html_surfaces_as_bad_request(bot: Bot, server: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Unsupported start tag"):
        await bot.send_message(5, "<p>not telegram html</p>", parse_mode="HTML")
    assert server.messages(5) == []


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("x" * 4096, True),
        ("x" * 4097, False),
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2049, False),
        ("&amp;" * 4096, True),  # counted after entity parsing
        ("<b>" + "x" * 4096 + "</b>", True),
    ],
)
async def test_message_length_is_counted_in_utf16_after_parsing(
    bot: Bot, text: str, accepted: bool
) -> None:
    if accepted:
        await bot.send_message(5, text, parse_mode="HTML")
    else:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(5, text, parse_mode="HTML")


async def test_retry_after_fault_surfaces_as_retry_after_then_clears(
    bot: Bot, server: FakeTelegram
) -> None:
    server.fail_chat(5, "retry_after", retry_after=7, times=1)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(5, "hello")
    assert seconds(info.value.retry_after) == 7
    await bot.send_message(5, "hello")
    assert server.stats().too_many_requests == 1


async def test_blocked_chat_surfaces_as_forbidden(bot: Bot, server: FakeTelegram) -> None:
    server.fail_chat(5, "blocked")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(5, "hello")


async def test_migrated_group_surfaces_as_chat_migrated(bot: Bot, server: FakeTelegram) -> None:
    server.fail_chat(-42, "migrated", migrate_to_chat_id=-100042)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-42, "hello")
    assert info.value.new_chat_id == -100042


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("not_found", BadRequest, "(?i)chat not found"),
        ("kicked", Forbidden, "bot was kicked from the group chat"),
        ("server_error", NetworkError, "Internal Server Error"),
        ("bad_request", BadRequest, "(?i)message can't be sent"),
    ],
)
async def test_other_chat_faults_map_to_ptb_errors(
    bot: Bot, server: FakeTelegram, kind: str, error: type[Exception], match: str
) -> None:
    server.fail_chat(-42, kind)  # type: ignore[arg-type]
    with pytest.raises(error, match=match):
        await bot.send_message(-42, "hello")


async def test_global_flood_answers_every_chat_with_429(bot: Bot, server: FakeTelegram) -> None:
    server.set_global_flood(3, times=2)
    for chat_id in (1, 2):
        with pytest.raises(RetryAfter):
            await bot.send_message(chat_id, "x")
    await bot.send_message(3, "x")


async def test_bad_requests_are_rejected_like_telegram(bot: Bot, server: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message("@nobody_here", "x")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(5, "   ")
    big = InlineKeyboardButton("b", callback_data="x" * 65)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(5, "x", reply_markup=InlineKeyboardMarkup([[big]]))
    server.register_chat(-1009, chat_type="channel", username="science_news")
    assert (await bot.send_message("@science_news", "by username")).chat.id == -1009


async def test_wrong_token_and_unknown_method_are_refused(bot: Bot, server: FakeTelegram) -> None:
    stranger = make_bot(server, "999:WRONG")
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await stranger.initialize()
    await stranger.shutdown()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_document_records_filename_and_bytes(bot: Bot, server: FakeTelegram) -> None:
    sent = await bot.send_document(
        5, b"a,b\n1,2\n", filename="digest.csv", caption="<i>weekly</i>", parse_mode="HTML"
    )
    assert sent.document is not None
    assert sent.document.file_name == "digest.csv"
    assert sent.caption == "weekly"
    (recorded,) = server.messages(5)
    assert recorded.document is not None
    assert (recorded.document.filename, recorded.document.content) == ("digest.csv", b"a,b\n1,2\n")
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"a,b\n1,2\n"


async def test_edits_deletes_and_not_modified(bot: Bot, server: FakeTelegram) -> None:
    sent = await bot.send_message(5, "first")
    await bot.edit_message_text("second", chat_id=5, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("second", chat_id=5, message_id=sent.message_id)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    await bot.edit_message_reply_markup(5, sent.message_id, reply_markup=markup)
    assert await bot.delete_message(5, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("third", chat_id=5, message_id=sent.message_id)
    assert [m.method for m in server.messages(5, include_edits=True)] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    assert server.deleted_messages(5) == [sent.message_id]


async def test_chat_admins_members_and_leaving(bot: Bot, server: FakeTelegram) -> None:
    server.set_chat_admins(-100777, [11, 12], owner_id=10)
    assert (await bot.get_chat_member(-100777, 10)).status == "creator"
    assert (await bot.get_chat_member(-100777, 11)).status == "administrator"
    assert (await bot.get_chat_member(-100777, 99)).status == "member"
    admins = await bot.get_chat_administrators(-100777)
    assert sorted(a.user.id for a in admins) == [10, 11, 12]
    with pytest.raises(BadRequest, match=r"(?i)no administrators in the private chat"):
        await bot.get_chat_administrators(5)
    chat = await bot.get_chat(-100777)
    assert chat.type == "supergroup"
    assert await bot.leave_chat(-100777)
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(-100777, "still here?")
    assert server.left_chats() == [-100777]


async def test_commands_and_webhook_are_recorded(bot: Bot, server: FakeTelegram) -> None:
    await bot.set_my_commands([("start", "Subscribe"), ("topics", "Pick topics")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "topics"]
    assert [c["command"] for c in server.commands()] == ["start", "topics"]
    await bot.set_webhook("https://example.invalid/hook")
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert server.webhook() is None


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, server: FakeTelegram
) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, server.user_sends, 5, "/start")
    started = time.monotonic()
    (update,) = await bot.get_updates(timeout=4)
    assert time.monotonic() - started < 2
    assert update.message is not None
    assert update.message.text == "/start"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert server.pending_updates() == 0


async def test_long_poll_is_capped_and_stop_wakes_waiters() -> None:
    with FakeTelegram(max_poll_timeout=0.3) as fake:
        async with make_bot(fake) as capped:
            started = time.monotonic()
            assert await capped.get_updates(timeout=30) == ()
            assert time.monotonic() - started < 2
    fake = FakeTelegram().start()
    async with make_bot(fake) as waiting:
        poll = asyncio.create_task(waiting.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await asyncio.to_thread(fake.stop)
        assert await poll == ()
        assert time.monotonic() - started < 2


async def test_member_updates_and_channel_posts_are_delivered(
    bot: Bot, server: FakeTelegram
) -> None:
    server.add_chat_member_update(5, "kicked")
    server.channel_post(-100500, "channel news")
    blocked, post = await bot.get_updates(timeout=0)
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert post.channel_post is not None
    assert post.channel_post.chat.type == "channel"
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(5, "are you there?")
    server.add_chat_member_update(5, "member")
    await bot.send_message(5, "welcome back")


async def test_json_and_urlencoded_bodies_are_both_accepted(server: FakeTelegram) -> None:
    url = f"{server.base_url}{DEFAULT_TOKEN}/sendMessage"
    async with httpx.AsyncClient() as client:
        as_json = await client.post(url, json={"chat_id": 5, "text": "json"})
        as_form = await client.post(url, data={"chat_id": "5", "text": "form"})
        unknown = await client.post(f"{server.base_url}{DEFAULT_TOKEN}/nope", json={})
    assert as_json.json()["result"]["text"] == "json"
    assert as_form.json()["ok"] is True
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert [m.plain_text for m in server.messages(5)] == ["json", "form"]


@pytest.mark.parametrize(
    ("path", "content_type", "body", "status"),
    [
        ("sendMessage", "application/json", b"[1, 2]", 400),
        ("sendMessage", "application/json", b"{not json", 400),
        ("sendMessage", "application/x-www-form-urlencoded", b"chat_id=abc&text=x", 400),
        ("getUpdates", "application/x-www-form-urlencoded", b"offset=abc", 400),
        ("sendDocument", "multipart/form-data", b"--no boundary--", 400),
        ("sendDocument", "multipart/form-data; boundary=zz", b"\xff\xfe garbage", 400),
        ("editMessageText", "application/json", b'{"chat_id": 5, "message_id": "x"}', 400),
    ],
)
async def test_hostile_requests_get_bot_api_errors_not_crashes(
    server: FakeTelegram, path: str, content_type: str, body: bytes, status: int
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{server.base_url}{DEFAULT_TOKEN}/{path}",
            content=body,
            headers={"Content-Type": content_type},
        )
        still_alive = await client.post(f"{server.base_url}{DEFAULT_TOKEN}/getMe")
    assert answer.status_code == status
    assert answer.json()["ok"] is False
    assert answer.json()["error_code"] == status
    assert still_alive.json()["ok"] is True


async def test_a_second_long_poll_terminates_the_first_with_conflict(
    server: FakeTelegram,
) -> None:
    url = f"{server.base_url}{DEFAULT_TOKEN}/getUpdates"
    async with httpx.AsyncClient() as client:
        first = asyncio.create_task(client.post(url, json={"timeout": 3}))
        await asyncio.sleep(0.2)
        second = await client.post(url, json={"timeout": 0})
        superseded = await first
    assert second.json() == {"ok": True, "result": []}
    assert superseded.status_code == 409
    assert "terminated by other getUpdates request" in superseded.json()["description"]


async def test_wait_for_messages_gives_up_after_its_timeout(server: FakeTelegram) -> None:
    with pytest.raises(TimeoutError, match="expected 1 message"):
        await server.wait_for_messages_async(5, 1, timeout=0.1)
    with pytest.raises(TimeoutError):
        server.wait_for_messages(5, 1, timeout=0.1)


# --------------------------------------------------------------------------- rate limits


async def test_enforced_limits_throttle_private_group_and_global_sends() -> None:
    clock = FrozenClock()
    limits = Limits(private_burst=2, group_burst=0, global_burst=0)
    with FakeTelegram(enforce_limits=True, limits=limits, clock=clock) as fake:
        async with make_bot(fake) as limited:
            for _ in range(3):
                await limited.send_message(5, "burst")
            with pytest.raises(RetryAfter) as private:
                await limited.send_message(5, "one too many")
            assert seconds(private.value.retry_after) == 1
            clock.now += 1.0
            await limited.send_message(5, "refilled")

            clock.now += 10.0
            for _ in range(20):
                await limited.send_message(-100900, "group")
            with pytest.raises(RetryAfter) as group:
                await limited.send_message(-100900, "21st in a minute")
            assert seconds(group.value.retry_after) == 3  # one token per 3 s at 20/min

            clock.now += 10.0
            for chat_id in range(100, 130):
                await limited.send_message(chat_id, "broadcast")
            with pytest.raises(RetryAfter):
                await limited.send_message(130, "31st this second")
        stats = fake.stats()
    assert stats.sends == 3 + 1 + 20 + 30
    assert stats.too_many_requests == 3
    assert stats.max_chat_rate == 20
    assert stats.max_group_rate_per_minute == 20
    assert stats.max_global_rate == 30


async def test_default_limits_tolerate_jitter_but_not_a_faster_sender() -> None:
    clock = FrozenClock()
    with FakeTelegram(enforce_limits=True, clock=clock) as fake:
        async with make_bot(fake) as limited:
            for chat_id in range(100, 140):  # 30/s plus a burst of 10 for HTTP jitter
                await limited.send_message(chat_id, "broadcast")
            with pytest.raises(RetryAfter):
                await limited.send_message(140, "41st at once")
            clock.now += 0.5
            for chat_id in range(140, 155):  # refilled at 30/s
                await limited.send_message(chat_id, "broadcast")
    assert fake.stats().too_many_requests == 1


async def test_stats_measure_rates_of_an_unthrottled_burst(bot: Bot, server: FakeTelegram) -> None:
    await asyncio.gather(*(bot.send_message(1000 + i, f"n{i}") for i in range(40)))
    stats = server.stats()
    assert (stats.sends, stats.errors, stats.too_many_requests) == (40, 0, 0)
    assert stats.max_chat_rate == 1
    assert 1 <= stats.max_global_rate <= 40


# --------------------------------------------------------------------------- an Application


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Topics", callback_data="topics")]])
    await update.effective_message.reply_html("<b>Welcome!</b>", reply_markup=markup)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"chose {query.data}")
    await query.edit_message_text(f"You chose {query.data}")


def build_application(server: FakeTelegram) -> Application:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(DEFAULT_TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start_command))
    application.add_handler(CallbackQueryHandler(on_button))
    return application


async def test_application_answers_commands_and_button_clicks(server: FakeTelegram) -> None:
    application = build_application(server)
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        try:
            server.user_sends(5, "/start")
            (welcome,) = await server.wait_for_messages_async(5, 1, timeout=5)
            assert welcome.plain_text == "Welcome!"
            assert welcome.parse_mode == "HTML"
            server.user_clicks(5, welcome.message_id, "topics")
            await server.wait_until_async(
                lambda: len(server.messages(5, include_edits=True)) == 2, timeout=5
            )
        finally:
            await application.updater.stop()
            await application.stop()
    (answer,) = server.callback_answers()
    assert answer.text == "chose topics"
    edit = server.messages(5, include_edits=True)[-1]
    assert (edit.method, edit.plain_text) == ("editMessageText", "You chose topics")


async def test_group_command_with_bot_mention_reaches_the_handler(server: FakeTelegram) -> None:
    application = build_application(server)
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        try:
            server.user_sends(-100321, f"/start@{server.bot_user['username']}", user_id=77)
            (reply,) = await server.wait_for_messages_async(-100321, 1, timeout=5)
        finally:
            await application.updater.stop()
            await application.stop()
    assert reply.plain_text == "Welcome!"
