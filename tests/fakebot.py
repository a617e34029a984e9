"""A fake Telegram Bot API server for tests and benchmarks.

`FakeTelegram` speaks the Bot API over real HTTP on 127.0.0.1 so the bot under test runs
unmodified through python-telegram-bot's own HTTP stack: point it at ``server.base_url``
(and ``server.base_file_url``).  The shapes follow core.telegram.org/bots/api: every answer
is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...,
"parameters": {...}}``.

What lives here:
- `parse_html` / `utf16_length`: the pure text rules Telegram applies to ``parse_mode=HTML``.
- `SentMessage`, `SentDocument`, `CallbackAnswer`, `ApiCall`, `Stats`, `Limits`: records.
- `FakeTelegram`: the server, its recorded state, helpers that inject user activity
  (`user_sends`, `user_clicks`, `add_chat_member_update`, `channel_post`), waiters with a
  bounded timeout, fault injection (`fail_chat`, `set_global_flood`) and optional
  enforcement of Telegram's documented send limits with `stats()` to measure them.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, NoReturn, Self
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "ApiCall",
    "CallbackAnswer",
    "FakeTelegram",
    "FaultKind",
    "HtmlParseError",
    "Limits",
    "ParsedText",
    "SentDocument",
    "SentMessage",
    "Stats",
    "parse_html",
    "utf16_length",
]

JsonDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
FaultKind = Literal[
    "blocked", "kicked", "not_found", "migrated", "retry_after", "server_error", "bad_request"
]
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
# Who speaks in a group when a helper is given no user_id (in private chats: the chat id).
DEFAULT_USER_ID = 4242
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
# Inline keyboards: Telegram refuses more than 100 buttons, or more than 8 in a row.
MAX_KEYBOARD_BUTTONS = 100
MAX_KEYBOARD_ROW = 8

# Methods that create a new message and so count against Telegram's flood limits.
_SEND_METHODS = frozenset({"sendmessage", "senddocument"})
# Update kinds Telegram leaves out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


# --------------------------------------------------------------------------- HTML rules


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is Telegram's own wording."""


@dataclass(frozen=True)
class ParsedText:
    """Plain text after markup is applied, with Bot API MessageEntity dicts."""

    text: str
    entities: tuple[JsonDict, ...] = ()


_ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE_RE = re.compile(
    r"""\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"'=]+)))?"""
)
_TEXT_RUN_RE = re.compile(r"[^<&]+")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts limits and offsets in."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_attribute(value: str) -> str:
    return _ENTITY_RE.sub(lambda m: _decode_entity(m) or m.group(0), value)


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    start: int  # UTF-16 offset in the plain text
    language: str | None = None


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _read_start_tag(text: str, index: int) -> tuple[_OpenTag, int]:
    """Parse ``<name attr="v" ...>`` at ``index``; returns the tag and the index after ``>``."""
    name_match = _TAG_NAME_RE.match(text, index + 1)
    if name_match is None:
        raise HtmlParseError(f"Empty tag name at byte offset {_byte_offset(text, index)}")
    name = name_match.group(0).lower()
    if name not in _ENTITY_OF_TAG:
        raise HtmlParseError(
            f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, index)}'
        )
    attributes: dict[str, str] = {}
    pos = name_match.end()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, index)}")
        if text[pos] == ">":
            return _OpenTag(name, attributes, start=0), pos + 1
        attr = _ATTRIBUTE_RE.match(text, pos)
        if attr is None or attr.end() == pos:
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                f"at byte offset {_byte_offset(text, index)}"
            )
        raw = next((g for g in attr.groups()[1:] if g is not None), "")
        attributes[attr.group(1).lower()] = _unescape_attribute(raw)
        pos = attr.end()


def _check_start_tag(tag: _OpenTag) -> None:
    if tag.name == "span" and tag.attributes.get("class") != "tg-spoiler":
        raise HtmlParseError('Tag "span" must have class "tg-spoiler"')
    if tag.name == "tg-emoji" and not tag.attributes.get("emoji-id", "").isdigit():
        raise HtmlParseError("Custom emoji identifier must be a number")


def _close_tag(tag: _OpenTag, end: int, stack: list[_OpenTag]) -> JsonDict | None:
    """Turn a closed tag into an entity (or fold ``<pre><code class=language-x>`` into pre)."""
    language_class = tag.attributes.get("class", "")
    pre_code = tag.name == "code" and stack and stack[-1].name == "pre"
    if pre_code and language_class.startswith("language-"):
        stack[-1].language = language_class.removeprefix("language-")
        return None
    length = end - tag.start
    if length == 0:
        return None  # Telegram drops empty entities rather than failing
    kind = _ENTITY_OF_TAG[tag.name]
    if tag.name == "blockquote" and "expandable" in tag.attributes:
        kind = "expandable_blockquote"
    entity: JsonDict = {"type": kind, "offset": tag.start, "length": length}
    if kind == "text_link":
        href = tag.attributes.get("href", "")
        if not href:
            return None  # a bare <a> is plain text in Telegram
        entity["url"] = href
    elif kind == "pre" and tag.language:
        entity["language"] = tag.language
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attributes["emoji-id"]
    return entity


def parse_html(text: str) -> ParsedText:
    """Apply Telegram's HTML parse mode: supported tags only, properly nested and closed.

    Only ``&lt; &gt; &amp; &quot;`` and numeric character references are decoded; other
    ``&name;`` sequences stay literal, as Telegram leaves them. Raises `HtmlParseError`
    with Telegram's description on unsupported tags, bad nesting or unclosed tags.
    """
    out: list[str] = []
    length16 = 0
    stack: list[_OpenTag] = []
    entities: list[JsonDict] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = _ENTITY_RE.match(text, i)
            decoded = _decode_entity(match) if match else None
            if match is not None and decoded is not None:
                out.append(decoded)
                length16 += utf16_length(decoded)
                i = match.end()
            else:
                out.append("&")
                length16 += 1
                i += 1
            continue
        if char != "<":
            run = _TEXT_RUN_RE.match(text, i)
            assert run is not None  # the class matches at least this character
            out.append(run.group(0))
            length16 += utf16_length(run.group(0))
            i = run.end()
            continue
        if text.startswith("</", i):
            close = text.find(">", i)
            if close == -1:
                raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, i)}")
            name = text[i + 2 : close].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            tag = stack.pop()
            if name != tag.name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{tag.name}>", found "</{name}>"'
                )
            entity = _close_tag(tag, length16, stack)
            if entity is not None:
                entities.append(entity)
            i = close + 1
            continue
        tag, i = _read_start_tag(text, i)
        _check_start_tag(tag)
        tag.start = length16
        stack.append(tag)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), tuple(entities))


_MARKDOWN_ESCAPE_RE = re.compile(r"\\(.)")


def _parse_text(text: str, parse_mode: str | None) -> ParsedText:
    mode = (parse_mode or "").lower()
    if mode == "":
        return ParsedText(text)
    if mode == "html":
        return parse_html(text)
    if mode in ("markdown", "markdownv2"):
        # Markdown is recorded, not validated: only escapes are undone for the plain text.
        return ParsedText(_MARKDOWN_ESCAPE_RE.sub(r"\1", text))
    raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SentDocument:
    """A file the bot uploaded (or re-sent by file_id/URL, then with empty content)."""

    filename: str
    content: bytes
    mime_type: str | None
    file_id: str


@dataclass(frozen=True)
class SentMessage:
    """One message the bot sent or edited, as the fake recorded it."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    plain_text: str | None
    parse_mode: str | None
    entities: tuple[JsonDict, ...]
    reply_markup: JsonDict | None
    thread_id: int | None
    link_preview_options: JsonDict | None
    timestamp: float
    document: SentDocument | None = None
    caption: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_edit(self) -> bool:
        return self.method.startswith("edit")


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class ApiCall:
    """One HTTP request to the Bot API and the status the fake answered."""

    method: str
    params: Mapping[str, Any]
    status: int
    timestamp: float


@dataclass(frozen=True)
class Limits:
    """Telegram's documented broadcast limits (Bots FAQ), enforced when asked to.

    Each is a token bucket refilled at the documented rate: private chats 1/s, groups and
    channels ``group_per_minute`` per 60 s, the bot as a whole ``global_per_second``. A full
    bucket holds the rate's own burst (1, 20, 30) plus ``*_burst`` extra tokens: a sender
    paced exactly at the limit (PTB's AIORateLimiter) reaches the server with some HTTP
    jitter, and Telegram does not punish that; a sender going faster does get 429s.
    """

    private_per_second: float = 1.0
    private_burst: int = 2
    group_per_minute: int = 20
    group_burst: int = 3
    global_per_second: int = 30
    global_burst: int = 10


@dataclass(frozen=True)
class Stats:
    """Send-rate measurements; rates are counts of accepted sends in any sliding window."""

    requests: int
    sends: int
    errors: int
    too_many_requests: int
    max_chat_rate: int
    max_group_rate_per_minute: int
    max_global_rate: int
    duration: float


@dataclass
class _Fault:
    kind: FaultKind
    times: int | None
    retry_after: int
    migrate_to_chat_id: int | None
    description: str | None
    methods: frozenset[str] | None


@dataclass
class _Chat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    owner_id: int | None = None
    admin_ids: frozenset[int] = frozenset()
    bot_is_admin: bool = False
    bot_left: bool = False


@dataclass
class _StoredMessage:
    data: JsonDict
    from_bot: bool


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _max_in_window(timestamps: list[float], window: float) -> int:
    """Most events in any half-open window of ``window`` seconds; ``timestamps`` sorted."""
    best = 0
    start = 0
    for end, stamp in enumerate(timestamps):
        while stamp - timestamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# --------------------------------------------------------------------------- request decoding

_INT_PARAMS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "max_connections",
        "reply_to_message_id",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "reply_parameters",
    }
)
_BOOL_VALUES = {"true": True, "false": False}
_INTEGER_RE = re.compile(r"-?[0-9]+")


def _coerce_form_value(name: str, value: str) -> Any:
    """Form fields arrive as strings; give known parameters their JSON types back."""
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _INT_PARAMS or (name == "chat_id" and _INTEGER_RE.fullmatch(value)):
        try:
            return int(value)
        except ValueError:
            return value
    if value in _BOOL_VALUES and name not in ("text", "caption", "data"):
        return _BOOL_VALUES[value]
    return value


@dataclass(frozen=True)
class _Upload:
    filename: str
    content: bytes
    mime_type: str | None


def _parse_multipart(content_type: str, body: bytes) -> tuple[JsonDict, dict[str, _Upload]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not isinstance(parsed, EmailMessage) or not parsed.is_multipart():
        raise _ApiError(400, "Bad Request: can't parse multipart/form-data body")
    params: JsonDict = {}
    uploads: dict[str, _Upload] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            uploads[name] = _Upload(filename, content, part.get_content_type())
        else:
            params[name] = _coerce_form_value(name, content.decode("utf-8", "replace"))
    return params, uploads


def _decode_request(
    content_type: str, body: bytes, query: str
) -> tuple[JsonDict, dict[str, _Upload]]:
    params: JsonDict = {k: _coerce_form_value(k, v) for k, v in parse_qsl(query)}
    uploads: dict[str, _Upload] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params, uploads
    if media_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise _ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(decoded, dict):
            raise _ApiError(400, "Bad Request: JSON body must be an object")
        params.update(decoded)
    elif media_type == "multipart/form-data":
        form, uploads = _parse_multipart(content_type, body)
        params.update(form)
    else:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({k: _coerce_form_value(k, v) for k, v in pairs})
    return params, uploads


# --------------------------------------------------------------------------- HTTP layer


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # A broadcast opens many pooled connections at once; a short backlog drops SYNs and
    # costs a one-second retransmit per dropped connection.
    request_queue_size = 1024

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are closed eventually
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raw_length = self.headers.get("Content-Length") or "0"
        if not raw_length.isdigit() or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.close_connection = True  # the body's end is unknown, so is the next request
            status, content_type, payload = FakeTelegram.error_response(
                400, "Bad Request: a Content-Length header is required"
            )
        else:
            length = int(raw_length)
            body = self.rfile.read(length) if length > 0 else b""
            status, content_type, payload = self.server.fake.handle_http(
                self.command, self.path, self.headers.get("Content-Type", ""), body
            )
        phrase = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1")
        try:
            self.wfile.write(head + payload)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. a cancelled long poll)


# --------------------------------------------------------------------------- the fake


class FakeTelegram:
    """A fake Bot API server on 127.0.0.1 with recorded state and fault injection.

    Use as ``with FakeTelegram() as server:`` (or ``start()``/``stop()``); point the bot at
    ``server.base_url`` and ``server.base_file_url``. All helpers are thread-safe and
    non-blocking except the ``wait_*`` ones, which have ``*_async`` twins for event loops.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "sciforum_test_bot",
        enforce_limits: bool = False,
        limits: Limits = Limits(),
        max_poll_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        strict_chats: bool = False,
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.limits = limits
        self.max_poll_timeout = max_poll_timeout
        self.strict_chats = strict_chats
        self._clock = clock
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "SciForum Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._cond = threading.Condition()
        self._stopping = False
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[int, dict[int, _StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._send_times: list[float] = []
        self._send_times_by_chat: dict[int, list[float]] = {}
        self._calls: list[ApiCall] = []
        self._status_counts: dict[int, int] = {}
        self._updates: deque[JsonDict] = deque()
        self._update_ids = itertools.count(1)
        self._poll_generation = 0
        self._allowed_updates: list[str] = []
        self._webhook: JsonDict | None = None
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        # setMyDescription / setMyShortDescription by (method, language_code).
        self._descriptions: dict[tuple[str, str], str] = {}
        # Telegram app language of each user (``language_code`` in updates); "en" if unset.
        self.user_languages: dict[int, str] = {}
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._callback_ids = itertools.count(1)
        self._callback_answers: list[CallbackAnswer] = []
        self._files: dict[str, SentDocument] = {}
        self._file_ids = itertools.count(1)
        self._deleted: dict[int, list[int]] = {}
        self._left_chats: list[int] = []
        self._faults: dict[int, _Fault] = {}
        self._global_flood: tuple[int, int | None] | None = None
        # Token buckets (tokens, last refill) per chat id; None is the bot-wide bucket.
        self._buckets: dict[int | None, tuple[float, float]] = {}
        self._handlers: dict[str, Callable[[JsonDict, dict[str, _Upload]], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": lambda _p, _u: True,
                "close": lambda _p, _u: True,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "setMyDescription": self._set_my_description,
                "setMyShortDescription": self._set_my_description,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "leaveChat": self._leave_chat,
                "getFile": self._get_file,
            }.items()
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid once started."""
        if self._httpd is None:
            raise RuntimeError("FakeTelegram is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping = False
        self._httpd = _HttpServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits for the loop to notice
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls and close open keep-alive connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        httpd.shutdown()
        with httpd.connections_lock:
            connections = list(httpd.connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- HTTP entry

    def handle_http(
        self, verb: str, path: str, content_type: str, body: bytes
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request: (status, content type, body)."""
        parts = urlsplit(path)
        # PTB percent-quotes file URLs, so the token's colon may arrive as %3A.
        segments = [unquote(segment) for segment in parts.path.split("/")]
        if len(segments) >= 4 and segments[1] == "file" and segments[2].startswith("bot"):
            return self._serve_file(segments[2][3:], "/".join(segments[3:]))
        if len(segments) != 3 or not segments[1].startswith("bot") or not segments[2]:
            return self._error_response(_ApiError(404, "Not Found"))
        token, method = segments[1][3:], segments[2]
        now = self._clock()
        if token != self.token:
            return self._error_response(_ApiError(401, "Unauthorized"))
        try:
            params, uploads = _decode_request(content_type, body, parts.query)
        except _ApiError as exc:
            return self._error_response(exc)
        handler = self._handlers.get(method.lower())
        status = 200
        try:
            if handler is None:
                raise _ApiError(404, "Not Found")
            result = handler(params, uploads)
            response: tuple[int, str, bytes] = (
                200,
                "application/json",
                json.dumps({"ok": True, "result": result}).encode(),
            )
        except _ApiError as exc:
            status = exc.code
            response = self._error_response(exc)
        except (TypeError, ValueError) as exc:
            # A parameter of the wrong type (say offset=abc): Telegram answers 400 too.
            status = 400
            response = self.error_response(400, f"Bad Request: invalid parameter: {exc}")
        with self._cond:
            self._calls.append(ApiCall(method, params, status, now))
            self._status_counts[status] = self._status_counts.get(status, 0) + 1
        return response

    @staticmethod
    def error_response(
        code: int, description: str, parameters: JsonDict | None = None
    ) -> tuple[int, str, bytes]:
        """An HTTP answer in the Bot API's error shape: (status, content type, body)."""
        payload: JsonDict = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return code, "application/json", json.dumps(payload).encode()

    @classmethod
    def _error_response(cls, exc: _ApiError) -> tuple[int, str, bytes]:
        return cls.error_response(exc.code, exc.description, exc.parameters)

    def _serve_file(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        if token != self.token:
            return self._error_response(_ApiError(401, "Unauthorized"))
        with self._cond:
            document = next(
                (d for d in self._files.values() if self._file_path(d) == file_path), None
            )
        if document is None:
            return self._error_response(_ApiError(404, "Not Found"))
        return 200, document.mime_type or "application/octet-stream", document.content

    # ----------------------------------------------------------------- chats and users

    def register_chat(
        self,
        chat_id: int,
        *,
        chat_type: ChatType | None = None,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> None:
        """Declare a chat (type, title, @username); unknown ids are inferred from their sign."""
        with self._cond:
            chat = self._chat(chat_id, chat_type)
            if chat_type is not None:
                chat.type = chat_type
            chat.title = title or chat.title
            chat.username = username or chat.username
            chat.is_forum = chat.is_forum or is_forum

    def set_chat_admins(
        self,
        chat_id: int,
        admin_ids: Iterable[int],
        *,
        owner_id: int | None = None,
        bot_is_admin: bool = False,
    ) -> None:
        """Who getChatMember/getChatAdministrators report as admins of a group chat."""
        with self._cond:
            chat = self._chat(chat_id)
            chat.admin_ids = frozenset(admin_ids)
            chat.owner_id = owner_id
            chat.bot_is_admin = bot_is_admin

    def _chat(self, chat_id: int, chat_type: ChatType | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_type is None:
                if chat_id > 0:
                    chat_type = "private"
                elif str(chat_id).startswith("-100"):
                    chat_type = "supergroup"
                else:
                    chat_type = "group"
            chat = _Chat(chat_id, chat_type)
            if chat_type == "private":
                chat.first_name = f"User {chat_id}"
                chat.username = f"user{chat_id}"
            else:
                chat.title = f"{chat_type.title()} {chat_id}"
            self._chats[chat_id] = chat
        return chat

    @staticmethod
    def _chat_json(chat: _Chat) -> JsonDict:
        data: JsonDict = {"id": chat.id, "type": chat.type}
        for key in ("title", "username", "first_name"):
            if getattr(chat, key) is not None:
                data[key] = getattr(chat, key)
        if chat.is_forum:
            data["is_forum"] = True
        return data

    def _user_json(self, user_id: int) -> JsonDict:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
            "username": f"user{user_id}",
            "language_code": self.user_languages.get(user_id, "en"),
        }

    def _resolve_chat(self, params: JsonDict) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            for chat in self._chats.values():
                if (chat.username or "").lower() == wanted:
                    return chat
            raise _ApiError(400, "Bad Request: chat not found")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None
        if chat_id == 0 or (self.strict_chats and chat_id not in self._chats):
            raise _ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id)

    # ----------------------------------------------------------------- faults and limits

    def fail_chat(
        self,
        chat_id: int,
        kind: FaultKind,
        *,
        retry_after: int = 5,
        migrate_to_chat_id: int | None = None,
        times: int | None = None,
        description: str | None = None,
        methods: Collection[str] | None = None,
    ) -> None:
        """Make requests targeting ``chat_id`` fail like Telegram does.

        ``times`` limits how many requests fail (default: 1 for ``retry_after`` and
        ``server_error``, unlimited otherwise). ``methods`` narrows it to some methods.
        ``migrated`` answers with ``migrate_to_chat_id`` (default ``-100<abs id>``).
        """
        if times is None and kind in ("retry_after", "server_error"):
            times = 1
        if kind == "migrated" and migrate_to_chat_id is None:
            migrate_to_chat_id = int(f"-100{abs(chat_id)}")
        with self._cond:
            self._faults[chat_id] = _Fault(
                kind,
                times,
                retry_after,
                migrate_to_chat_id,
                description,
                frozenset(m.lower() for m in methods) if methods is not None else None,
            )

    def clear_fault(self, chat_id: int | None = None) -> None:
        """Remove the fault on one chat, or on all chats."""
        with self._cond:
            if chat_id is None:
                self._faults.clear()
            else:
                self._faults.pop(chat_id, None)

    def set_global_flood(self, retry_after: int | None, *, times: int | None = None) -> None:
        """Answer the next ``times`` sends (all if None) to any chat with 429; None clears."""
        with self._cond:
            self._global_flood = None if retry_after is None else (retry_after, times)

    def _apply_fault(self, chat: _Chat, method: str) -> None:
        if chat.bot_left and method in _SEND_METHODS:
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        fault = self._faults.get(chat.id)
        if fault is None or (fault.methods is not None and method not in fault.methods):
            return
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del self._faults[chat.id]
        kind = fault.kind
        if kind == "blocked":
            raise _ApiError(403, fault.description or "Forbidden: bot was blocked by the user")
        if kind == "kicked":
            default = f"Forbidden: bot was kicked from the {chat.type} chat"
            raise _ApiError(403, fault.description or default)
        if kind == "not_found":
            raise _ApiError(400, fault.description or "Bad Request: chat not found")
        if kind == "migrated":
            raise _ApiError(
                400,
                fault.description or "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": fault.migrate_to_chat_id},
            )
        if kind == "retry_after":
            self._too_many(fault.retry_after)
        if kind == "server_error":
            raise _ApiError(500, fault.description or "Internal Server Error")
        raise _ApiError(400, fault.description or "Bad Request: message can't be sent")

    @staticmethod
    def _too_many(retry_after: float) -> NoReturn:
        seconds = max(1, math.ceil(retry_after))
        raise _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

    def _check_flood(self, chat: _Chat, now: float) -> None:
        if self._global_flood is not None:
            retry_after, times = self._global_flood
            if times is not None:
                self._global_flood = (retry_after, times - 1) if times > 1 else None
            self._too_many(retry_after)
        if not self.enforce_limits:
            return
        limits = self.limits
        if chat.type == "private":
            chat_bucket = (chat.id, 1.0 + limits.private_burst, limits.private_per_second)
        else:
            per_minute = float(limits.group_per_minute)
            chat_bucket = (chat.id, per_minute + limits.group_burst, per_minute / 60.0)
        global_rate = float(limits.global_per_second)
        # Both buckets must have a token before either is spent, so a refused send costs none.
        buckets = [(None, global_rate + limits.global_burst, global_rate), chat_bucket]
        levels = [self._bucket_level(key, capacity, rate, now) for key, capacity, rate in buckets]
        for level, (_, _, rate) in zip(levels, buckets, strict=True):
            if level < 1.0:
                self._too_many((1.0 - level) / rate)
        for level, (key, _, _) in zip(levels, buckets, strict=True):
            self._buckets[key] = (level - 1.0, now)

    def _bucket_level(self, key: int | None, capacity: float, rate: float, now: float) -> float:
        tokens, at = self._buckets.get(key, (capacity, now))
        return min(capacity, tokens + (now - at) * rate)

    # ----------------------------------------------------------------- user activity

    def _queue_update(self, kind: str, payload: JsonDict) -> JsonDict:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._cond.notify_all()
        return update

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        thread_id: int | None = None,
    ) -> JsonDict:
        """Queue a ``message`` update from a user; /commands carry bot_command entities."""
        with self._cond:
            message = self._user_message(chat_id, user_id, chat_type, forum=thread_id is not None)
            message["text"] = text
            entities = [
                {"type": "bot_command", "offset": utf16_length(text[: m.start()]), "length": n}
                for m in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?", text)
                if (n := utf16_length(m.group(0)))
            ]
            if entities:
                message["entities"] = entities
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            return self._queue_user_message(chat_id, message)

    def _user_message(
        self, chat_id: int, user_id: int | None, chat_type: ChatType | None, *, forum: bool
    ) -> JsonDict:
        """A user's message in the chat, without its content (call with the lock held)."""
        chat = self._chat(chat_id, chat_type)
        chat.type = chat_type or chat.type
        if forum:
            chat.is_forum = True
        sender = user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
        return {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat_json(chat),
            "from": self._user_json(sender),
        }

    def _queue_user_message(self, chat_id: int, message: JsonDict) -> JsonDict:
        self._messages.setdefault(chat_id, {})[message["message_id"]] = _StoredMessage(
            message, from_bot=False
        )
        return self._queue_update("message", message)

    def user_sends_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str | None = None,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
    ) -> JsonDict:
        """Queue a ``message`` update carrying a file from a user (getFile serves it)."""
        with self._cond:
            file_id = f"DOC{next(self._file_ids)}"
            self._files[file_id] = SentDocument(filename, content, mime_type, file_id)
            message = self._user_message(chat_id, user_id, chat_type, forum=False)
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": filename,
                "mime_type": mime_type or "application/octet-stream",
                "file_size": len(content),
            }
            return self._queue_user_message(chat_id, message)

    def user_clicks(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> JsonDict:
        """Queue a ``callback_query`` for a button on a message the bot sent."""
        with self._cond:
            stored = self._messages.get(chat_id, {}).get(message_id)
            if stored is None or not stored.from_bot:
                raise KeyError(f"the bot sent no message {message_id} to chat {chat_id}")
            query_id = str(next(self._callback_ids))
            self._callback_queries[query_id] = False
            sender = (
                user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
            )
            query = {
                "id": query_id,
                "from": self._user_json(sender),
                "chat_instance": str(chat_id),
                "message": stored.data,
                "data": data,
            }
            return self._queue_update("callback_query", query)

    def add_chat_member_update(
        self,
        chat_id: int,
        new_status: MemberStatus,
        *,
        old_status: MemberStatus | None = None,
        user_id: int | None = None,
        chat_type: ChatType | None = None,
        apply: bool = True,
    ) -> JsonDict:
        """Queue a ``my_chat_member`` update (the bot blocked, kicked, added, promoted).

        With ``apply`` the fake also behaves accordingly: kicked/left makes later sends
        fail with 403, member/administrator clears that.
        """
        with self._cond:
            chat = self._chat(chat_id, chat_type)
            if old_status is None:
                old_status = "member" if new_status in ("kicked", "left") else "left"
            actor = (
                user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
            )
            payload = {
                "chat": self._chat_json(chat),
                "from": self._user_json(actor),
                "date": int(time.time()),
                "old_chat_member": self._member_json(self.bot_user, old_status),
                "new_chat_member": self._member_json(self.bot_user, new_status),
            }
            if apply:
                if new_status in ("kicked", "left"):
                    self._faults[chat_id] = _Fault(
                        "blocked" if chat.type == "private" else "kicked",
                        None,
                        0,
                        None,
                        None,
                        None,
                    )
                else:
                    self._faults.pop(chat_id, None)
                    chat.bot_left = False
                    chat.bot_is_admin = new_status == "administrator"
            return self._queue_update("my_chat_member", payload)

    def channel_post(self, chat_id: int, text: str, *, title: str | None = None) -> JsonDict:
        """Queue a ``channel_post`` update in a channel (registered as such)."""
        with self._cond:
            chat = self._chat(chat_id, "channel")
            chat.type = "channel"
            chat.title = title or chat.title or f"Channel {chat_id}"
            chat.first_name = None
            message: JsonDict = {
                "message_id": self._new_message_id(chat_id),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "sender_chat": self._chat_json(chat),
                "text": text,
            }
            self._messages.setdefault(chat_id, {})[message["message_id"]] = _StoredMessage(
                message, from_bot=False
            )
            return self._queue_update("channel_post", message)

    def group_migrates(self, chat_id: int, new_chat_id: int) -> JsonDict:
        """Queue the service message a group posts when it becomes a supergroup
        (``migrate_to_chat_id``); sends to the old id then answer "group chat was upgraded"."""
        with self._cond:
            chat = self._chat(chat_id, "group")
            message: JsonDict = {
                "message_id": self._new_message_id(chat_id),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self._user_json(DEFAULT_USER_ID),
                "migrate_to_chat_id": new_chat_id,
            }
            return self._queue_update("message", message)

    @staticmethod
    def _member_json(user: JsonDict, status: MemberStatus) -> JsonDict:
        member: JsonDict = {"status": status, "user": user}
        if status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_manage_video_chats",
                    ),
                    False,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_pin_messages",
                    ),
                    True,
                )
            )
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "restricted":
            member.update(
                {"is_member": True, "until_date": 0, "can_send_messages": True}
                | dict.fromkeys(
                    (
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_manage_topics",
                    ),
                    False,
                )
            )
        return member

    # ----------------------------------------------------------------- inspection

    def messages(self, chat_id: int, *, include_edits: bool = False) -> list[SentMessage]:
        """What the bot sent to ``chat_id`` in order (edits only if asked)."""
        with self._cond:
            return [m for m in self._sent.get(chat_id, []) if include_edits or not m.is_edit]

    def all_messages(self, *, include_edits: bool = False) -> dict[int, list[SentMessage]]:
        with self._cond:
            return {
                chat_id: [m for m in sent if include_edits or not m.is_edit]
                for chat_id, sent in self._sent.items()
            }

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every API request so far (optionally of one method, case-insensitive)."""
        with self._cond:
            if method is None:
                return list(self._calls)
            return [c for c in self._calls if c.method.lower() == method.lower()]

    def callback_answers(self) -> list[CallbackAnswer]:
        with self._cond:
            return list(self._callback_answers)

    def commands(self, *, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The command list set by setMyCommands for a scope (default scope if None)."""
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def description(self, *, short: bool = False, language_code: str = "") -> str | None:
        """What setMyDescription (or setMyShortDescription) set for a language ("": default)."""
        method = "setMyShortDescription" if short else "setMyDescription"
        with self._cond:
            return self._descriptions.get((method, language_code))

    def webhook(self) -> JsonDict | None:
        with self._cond:
            return dict(self._webhook) if self._webhook else None

    def deleted_messages(self, chat_id: int) -> list[int]:
        with self._cond:
            return list(self._deleted.get(chat_id, []))

    def left_chats(self) -> list[int]:
        with self._cond:
            return list(self._left_chats)

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    def stats(self) -> Stats:
        """Counts and the busiest sliding windows of accepted sends."""
        with self._cond:
            by_chat = {c: list(ts) for c, ts in self._send_times_by_chat.items()}
            overall = sorted(self._send_times)
            errors = sum(n for code, n in self._status_counts.items() if code != 200)
            too_many = self._status_counts.get(429, 0)
            requests = len(self._calls)
        groups = [ts for chat_id, ts in by_chat.items() if chat_id < 0]
        return Stats(
            requests=requests,
            sends=len(overall),
            errors=errors,
            too_many_requests=too_many,
            max_chat_rate=max((_max_in_window(ts, 1.0) for ts in by_chat.values()), default=0),
            max_group_rate_per_minute=max((_max_in_window(ts, 60.0) for ts in groups), default=0),
            max_global_rate=_max_in_window(overall, 1.0),
            duration=overall[-1] - overall[0] if overall else 0.0,
        )

    # ----------------------------------------------------------------- waiting

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until ``predicate()`` holds (re-checked on every recorded send/update)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                # Bounded sub-waits: the predicate may depend on state outside the fake.
                self._cond.wait(min(remaining, 0.05))

    async def wait_until_async(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - same signature as the blocking twin
    ) -> None:
        """`wait_until` for an event loop: polls without blocking the loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if predicate():
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)

    def _enough_messages(self, chat_id: int, count: int) -> Callable[[], bool]:
        def check() -> bool:
            sent = self._sent.get(chat_id, [])
            return sum(1 for m in sent if not m.is_edit) >= count

        return check

    def _timeout_detail(self, chat_id: int, count: int, timeout: float) -> str:
        got = [m.plain_text or m.caption for m in self.messages(chat_id)]
        return f"expected {count} message(s) to chat {chat_id} within {timeout} s, got {got!r}"

    def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Block until the bot has sent ``count`` messages to ``chat_id``; returns them all."""
        try:
            self.wait_until(self._enough_messages(chat_id, count), timeout)
        except TimeoutError:
            raise TimeoutError(self._timeout_detail(chat_id, count, timeout)) from None
        return self.messages(chat_id)

    async def wait_for_messages_async(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - same signature as the blocking twin
    ) -> list[SentMessage]:
        """`wait_for_messages` for an event loop."""
        try:
            await self.wait_until_async(self._enough_messages(chat_id, count), timeout)
        except TimeoutError:
            raise TimeoutError(self._timeout_detail(chat_id, count, timeout)) from None
        return self.messages(chat_id)

    # ----------------------------------------------------------------- API methods

    def _get_me(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        return self.bot_user

    def _get_updates(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_poll_timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed]
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()
            self._confirm_updates(offset)
            while True:
                if generation != self._poll_generation:
                    raise _ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                ready = [u for u in self._updates if self._is_allowed(u)][:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._stopping:
                    return ready
                self._cond.wait(remaining)

    def _confirm_updates(self, offset: int) -> None:
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        else:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        # Updates of kinds not allowed are never delivered, so Telegram drops them.
        kept = [u for u in self._updates if self._is_allowed(u)]
        if len(kept) != len(self._updates):
            self._updates = deque(kept)

    def _is_allowed(self, update: JsonDict) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _set_webhook(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            url = str(params.get("url") or "")
            self._webhook = {k: v for k, v in params.items() if k != "certificate"} if url else None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _delete_webhook(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            info: JsonDict = {
                "url": (self._webhook or {}).get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook:
                info["max_connections"] = int(self._webhook.get("max_connections") or 40)
                if "allowed_updates" in self._webhook:
                    info["allowed_updates"] = self._webhook["allowed_updates"]
            return info

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: commands must be an array")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands[key] = commands
        return True

    def _set_my_description(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        short = "short_description" in params
        text = str(params.get("short_description" if short else "description") or "")
        if len(text) > (120 if short else 512):
            raise _ApiError(400, "Bad Request: description is too long")
        method = "setMyShortDescription" if short else "setMyDescription"
        with self._cond:
            self._descriptions[(method, str(params.get("language_code") or ""))] = text
        return True

    def _get_my_commands(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            return self._commands.get(key, [])

    def _delete_my_commands(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands.pop(key, None)
        return True

    @staticmethod
    def _check_reply_markup(markup: Any) -> JsonDict | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        if sum(len(r) for r in rows) > MAX_KEYBOARD_BUTTONS or any(
            len(r) > MAX_KEYBOARD_ROW for r in rows
        ):
            raise _ApiError(400, "Bad Request: reply markup is too long")
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _link_preview(params: JsonDict) -> JsonDict | None:
        options = params.get("link_preview_options")
        if isinstance(options, dict):
            return options
        if params.get("disable_web_page_preview") is True:
            return {"is_disabled": True}
        return None

    def _formatted(self, params: JsonDict, key: str, limit: int, what: str) -> ParsedText:
        raw = params.get(key)
        text = "" if raw is None else str(raw)
        explicit = params.get("entities" if key == "text" else "caption_entities")
        if isinstance(explicit, list):
            parsed = ParsedText(text, tuple(e for e in explicit if isinstance(e, dict)))
        else:
            try:
                parsed = _parse_text(text, params.get("parse_mode"))
            except HtmlParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if utf16_length(parsed.text) > limit:
            raise _ApiError(400, f"Bad Request: {what} is too long")
        return parsed

    def _thread_id(self, params: JsonDict) -> int | None:
        raw = params.get("message_thread_id")
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: invalid message_thread_id") from None

    def _record_send(
        self,
        method: str,
        chat: _Chat,
        params: JsonDict,
        parsed: ParsedText,
        *,
        document: SentDocument | None = None,
    ) -> JsonDict:
        """Rate-check, store and record a new bot message; returns its Message JSON."""
        reply_markup = self._check_reply_markup(params.get("reply_markup"))
        thread_id = self._thread_id(params)
        now = self._clock()
        with self._cond:
            self._apply_fault(chat, method.lower())
            self._check_flood(chat, now)
            message_id = self._new_message_id(chat.id)
            message: JsonDict = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self.bot_user,
            }
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            text_key, entities_key = (
                ("caption", "caption_entities") if document else ("text", "entities")
            )
            if document is not None and method == "sendPhoto":
                # Telegram answers a photo with its sizes; the fake keeps the one it got.
                message["photo"] = [
                    {
                        "file_id": document.file_id,
                        "file_unique_id": f"u{document.file_id}",
                        "width": 1,
                        "height": 1,
                        "file_size": len(document.content),
                    }
                ]
            elif document is not None:
                message["document"] = {
                    "file_id": document.file_id,
                    "file_unique_id": f"u{document.file_id}",
                    "file_name": document.filename,
                    "mime_type": document.mime_type or "application/octet-stream",
                    "file_size": len(document.content),
                }
            if parsed.text:
                message[text_key] = parsed.text
            if parsed.entities:
                message[entities_key] = list(parsed.entities)
            preview = self._link_preview(params)
            if preview is not None and document is None:
                message["link_preview_options"] = preview
            if reply_markup is not None and "inline_keyboard" in reply_markup:
                message["reply_markup"] = reply_markup
            self._messages.setdefault(chat.id, {})[message_id] = _StoredMessage(
                message, from_bot=True
            )
            raw_text = params.get(text_key)
            self._sent.setdefault(chat.id, []).append(
                SentMessage(
                    method=method,
                    chat_id=chat.id,
                    message_id=message_id,
                    text=None if document else (None if raw_text is None else str(raw_text)),
                    plain_text=None if document else parsed.text,
                    parse_mode=params.get("parse_mode") or None,
                    entities=parsed.entities,
                    reply_markup=reply_markup,
                    thread_id=thread_id,
                    link_preview_options=preview,
                    timestamp=now,
                    document=document,
                    caption=parsed.text if document else None,
                    params={k: v for k, v in params.items() if k not in ("document", "photo")},
                )
            )
            self._send_times.append(now)
            self._send_times_by_chat.setdefault(chat.id, []).append(now)
            self._cond.notify_all()
            return message

    def _send_message(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
        if "text" not in params:
            raise _ApiError(400, "Bad Request: message text is empty")
        parsed = self._formatted(params, "text", MAX_TEXT_LENGTH, "message")
        if not parsed.text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        return self._record_send("sendMessage", chat, params, parsed)

    def _send_document(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
        document = self._document_from(params, uploads)
        parsed = self._formatted(params, "caption", MAX_CAPTION_LENGTH, "message caption")
        return self._record_send("sendDocument", chat, params, parsed, document=document)

    def _send_photo(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
        photo = self._document_from(params, uploads, field="photo")
        if photo.content and not photo.content.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8")):
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        parsed = self._formatted(params, "caption", MAX_CAPTION_LENGTH, "message caption")
        return self._record_send("sendPhoto", chat, params, parsed, document=photo)

    def _document_from(
        self, params: JsonDict, uploads: dict[str, _Upload], *, field: str = "document"
    ) -> SentDocument:
        ref = params.get(field)
        upload = uploads.get(field)
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = uploads.get(ref.removeprefix("attach://"))
        if upload is not None:
            with self._cond:
                file_id = f"DOC{next(self._file_ids)}"
                document = SentDocument(upload.filename, upload.content, upload.mime_type, file_id)
                self._files[file_id] = document
            return document
        if isinstance(ref, str) and ref:
            with self._cond:
                known = self._files.get(ref)
            if known is not None:
                return known
            if ref.startswith(("http://", "https://")):
                name = ref.rstrip("/").rsplit("/", 1)[-1] or "file"
                return SentDocument(name, b"", None, f"URL:{ref}")
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise _ApiError(400, f"Bad Request: there is no {field} in the request")

    def _editable(self, params: JsonDict, verb: str) -> tuple[_Chat, _StoredMessage]:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, f"{verb}message")
            try:
                message_id = int(params.get("message_id") or 0)
            except (TypeError, ValueError):
                message_id = 0
            stored = self._messages.get(chat.id, {}).get(message_id)
        if stored is None:
            raise _ApiError(400, f"Bad Request: message to {verb} not found")
        if not stored.from_bot:
            raise _ApiError(400, f"Bad Request: message can't be {verb}ed")
        return chat, stored

    def _apply_edit(
        self,
        method: str,
        chat: _Chat,
        stored: _StoredMessage,
        params: JsonDict,
        *,
        changes: JsonDict,
        reply_markup: JsonDict | None,
        parsed: ParsedText | None,
    ) -> JsonDict:
        with self._cond:
            before = stored.data
            after = {k: v for k, v in before.items() if k not in ("reply_markup", "edit_date")}
            after.update(changes)
            if parsed is not None and not parsed.entities:
                after.pop("entities", None)
            if reply_markup is not None and "inline_keyboard" in reply_markup:
                after["reply_markup"] = reply_markup
            same = {k: v for k, v in before.items() if k != "edit_date"} == after
            if same:
                raise _ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            after["edit_date"] = int(time.time())
            stored.data = after
            self._sent.setdefault(chat.id, []).append(
                SentMessage(
                    method=method,
                    chat_id=chat.id,
                    message_id=after["message_id"],
                    text=str(params["text"]) if "text" in params else None,
                    plain_text=after.get("text"),
                    parse_mode=params.get("parse_mode") or None,
                    entities=parsed.entities if parsed else (),
                    reply_markup=reply_markup,
                    thread_id=after.get("message_thread_id"),
                    link_preview_options=self._link_preview(params),
                    timestamp=self._clock(),
                    params=dict(params),
                )
            )
            self._cond.notify_all()
            return after

    def _edit_message_text(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        chat, stored = self._editable(params, "edit")
        parsed = self._formatted(params, "text", MAX_TEXT_LENGTH, "message")
        if not parsed.text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if "text" not in stored.data:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        changes: JsonDict = {"text": parsed.text}
        if parsed.entities:
            changes["entities"] = list(parsed.entities)
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(
            "editMessageText",
            chat,
            stored,
            params,
            changes=changes,
            reply_markup=markup,
            parsed=parsed,
        )

    def _edit_message_reply_markup(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        chat, stored = self._editable(params, "edit")
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(
            "editMessageReplyMarkup",
            chat,
            stored,
            params,
            changes={},
            reply_markup=markup,
            parsed=None,
        )

    def _delete_message(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, "deletemessage")
            try:
                message_id = int(params.get("message_id") or 0)
            except (TypeError, ValueError):
                message_id = 0
            if self._messages.get(chat.id, {}).pop(message_id, None) is None:
                raise _ApiError(400, "Bad Request: message to delete not found")
            self._deleted.setdefault(chat.id, []).append(message_id)
            self._cond.notify_all()
        return True

    def _answer_callback_query(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if self._callback_queries.get(query_id, True):
                raise _ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                )
            self._callback_queries[query_id] = True
            text = params.get("text")
            self._callback_answers.append(
                CallbackAnswer(
                    query_id,
                    None if text is None else str(text),
                    params.get("show_alert") is True,
                    params.get("url"),
                )
            )
            self._cond.notify_all()
        return True

    def _get_chat(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, "getchat")
            info = self._chat_json(chat)
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": dict.fromkeys(
                    (
                        "unlimited_gifts",
                        "limited_gifts",
                        "unique_gifts",
                        "premium_subscription",
                        "gifts_from_channels",
                    ),
                    False,
                ),
            }
        )
        return info

    def _status_of(self, chat: _Chat, user_id: int) -> MemberStatus:
        if user_id == self.bot_user["id"]:
            if chat.bot_left:
                return "left"
            return "administrator" if chat.bot_is_admin else "member"
        if chat.type == "private":
            return "member"
        if user_id == chat.owner_id:
            return "creator"
        return "administrator" if user_id in chat.admin_ids else "member"

    def _user_or_bot(self, user_id: int) -> JsonDict:
        return self.bot_user if user_id == self.bot_user["id"] else self._user_json(user_id)

    def _get_chat_member(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        try:
            user_id = int(params.get("user_id") or 0)
        except (TypeError, ValueError):
            user_id = 0
        if user_id <= 0:
            raise _ApiError(400, "Bad Request: invalid user_id specified")
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, "getchatmember")
            status = self._status_of(chat, user_id)
        return self._member_json(self._user_or_bot(user_id), status)

    def _get_chat_administrators(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, "getchatadministrators")
            if chat.type == "private":
                raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
            ids = sorted(chat.admin_ids | ({chat.owner_id} if chat.owner_id else set()))
            if chat.bot_is_admin:
                ids.append(self.bot_user["id"])
            return [self._member_json(self._user_or_bot(i), self._status_of(chat, i)) for i in ids]

    def _leave_chat(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        with self._cond:
            chat = self._resolve_chat(params)
            self._apply_fault(chat, "leavechat")
            if chat.type == "private":
                raise _ApiError(
                    400, "Bad Request: chat member status can't be changed in private chats"
                )
            chat.bot_left = True
            self._left_chats.append(chat.id)
            self._cond.notify_all()
        return True

    @staticmethod
    def _file_path(document: SentDocument) -> str:
        return f"documents/{document.file_id}_{document.filename}"

    def _get_file(self, params: JsonDict, uploads: dict[str, _Upload]) -> Any:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            document = self._files.get(file_id)
        if document is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(document.content),
            "file_path": self._file_path(document),
        }
