"""Webhook mode: registered with Telegram's secret token, and requests without it refused."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path

import httpx

from bot.app import run_bot
from bot.context import open_context
from bot.settings import Settings
from tests.fakebot import FakeTelegram

SECRET = "s3cret-Token_for-tests"
USER = 77


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _help_update() -> dict[str, object]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private", "first_name": "Ada"},
            "from": {"id": USER, "is_bot": False, "first_name": "Ada"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def test_webhook_mode_registers_the_secret_and_refuses_requests_without_it(
    tmp_path: Path,
) -> None:
    port = _free_port()
    with FakeTelegram() as fake:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp_path / 'hook.db'}",
            telegram_bot_token=fake.token,
            telegram_api_url=fake.url,
            webhook_url="https://bot.example.org/hook",
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_path="hook",
            webhook_secret=SECRET,
        )
        lines: list[str] = []
        async with open_context(settings, processes=False) as ctx:
            bot = asyncio.create_task(run_bot(ctx, announce=lines.append))
            try:
                # run_bot announces once start_webhook has returned, i.e. the server listens;
                # setWebhook alone may be seen before that.
                await fake.wait_until_async(
                    lambda: fake.webhook() is not None and any("webhook" in x for x in lines),
                    timeout=15,
                )
                hook = fake.webhook()
                assert hook is not None
                assert hook["url"] == "https://bot.example.org/hook"
                assert hook["secret_token"] == SECRET
                assert fake.commands()  # setMyCommands at start

                url = f"http://127.0.0.1:{port}/hook"
                async with httpx.AsyncClient(trust_env=False) as client:
                    refused = await client.post(url, json=_help_update())
                    forged = await client.post(
                        url,
                        json=_help_update(),
                        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    )
                    accepted = await client.post(
                        url,
                        json=_help_update(),
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    )
                assert (refused.status_code, forged.status_code) == (403, 403)
                assert accepted.status_code == 200
                (reply,) = await fake.wait_for_messages_async(USER, 1, timeout=10)
                assert "/subscribe" in reply.plain_text
                assert any("webhook" in line for line in lines)
            finally:
                bot.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bot
