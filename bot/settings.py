"""The one typed settings object, read from environment variables and an optional ``.env``.

Nothing is read at import time: ``load_settings()`` is called by the CLI / app factory.
Every command loads the settings, so this module imports only pydantic: the limits objects
come from their (heavier) modules when asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.cpus import default_workers, usable_cpus
from bot.errors import SettingsError

if TYPE_CHECKING:
    from bot.delivery import RateLimits
    from summaries.fetch import FetchLimits

DEFAULT_DATABASE_URL = "sqlite:///data/sciforum.db"
PUBLIC_BOT_API = "https://api.telegram.org"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = DEFAULT_DATABASE_URL
    telegram_bot_token: SecretStr | None = None
    # Root of the Bot API server; the bot calls {TELEGRAM_API_URL}/bot<token>/<method>.
    telegram_api_url: str = PUBLIC_BOT_API
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    feeds: Path | None = None  # a file of feed URLs (one a line) or OPML
    poll_interval: float = Field(default=600.0, gt=0)
    max_feed_errors: int = Field(default=10, ge=1)
    # Seconds for one feed as a whole (its fetch, parsing and article pages): a slow feed
    # costs its own pages, never another feed's wait.
    feed_deadline: float = Field(default=180.0, gt=0)
    # Seconds an ingest worker's claim on a feed holds (renewed while it polls): a worker
    # that dies leaves its feeds to the others after at most this long.
    ingest_lease: float = Field(default=60.0, ge=1)
    http_connect_timeout: float = Field(default=10.0, gt=0)
    http_read_timeout: float = Field(default=20.0, gt=0)
    http_total_timeout: float = Field(default=60.0, gt=0)
    http_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    http_max_redirects: int = Field(default=5, ge=0)
    http_max_connections: int = Field(default=50, ge=1)
    http_max_per_host: int = Field(default=4, ge=1)
    # Fetch hosts that resolve to loopback/private/link-local addresses (off: feeds and the
    # pages they link to come from third parties, and must not reach internal services).
    http_allow_private: bool = False
    # Telegram's documented limits; a self-hosted Bot API server in tests may allow more.
    send_rate: float = Field(default=30.0, gt=0, le=10000)  # messages per second, all chats
    chat_rate: float = Field(default=1.0, gt=0, le=1000)  # per private chat, per second
    group_rate: float = Field(default=20.0, gt=0, le=60000)  # per group or channel, per minute
    # Webhook mode (else long polling): the public HTTPS URL Telegram posts updates to.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"  # all interfaces: Telegram's servers must reach it
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    webhook_secret: SecretStr | None = None
    # Processes that summarize articles off the event loop (0: usable CPUs - 1, 1 to 4).
    summary_workers: int = Field(default=0, ge=0, le=64)
    # /healthz and /metrics (Prometheus) over HTTP on this port; unset: not served.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_listen: str = "0.0.0.0"  # all interfaces: Prometheus scrapes from elsewhere
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # Chats' own feeds (/sub, OPML import): allowed at all, and how many one chat may follow.
    own_feeds_enabled: bool = True
    own_feeds_per_chat: int = Field(default=100, ge=1, le=10000)
    # json: one JSON object per line (time, level, logger, message, feed/chat ids): bot/logs.py
    log_format: Literal["text", "json"] = "text"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Telegram only posts to HTTPS)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("feeds")
    @classmethod
    def _feeds_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    def fetch_limits(self) -> FetchLimits:
        from summaries.fetch import FetchLimits  # noqa: PLC0415

        return FetchLimits(
            connect_timeout=self.http_connect_timeout,
            read_timeout=self.http_read_timeout,
            total_timeout=self.http_total_timeout,
            max_bytes=self.http_max_bytes,
            max_redirects=self.http_max_redirects,
            max_connections=self.http_max_connections,
            max_per_host=self.http_max_per_host,
            allow_private_addresses=self.http_allow_private,
        )

    def rate_limits(self) -> RateLimits:
        from bot.delivery import RateLimits  # noqa: PLC0415

        return RateLimits(
            global_per_second=self.send_rate,
            private_per_second=self.chat_rate,
            group_per_minute=self.group_rate,
        )

    @property
    def worker_count(self) -> int:
        return self.summary_workers or default_workers(usable_cpus())

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Build the settings; a wrong value raises SettingsError naming the variable."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name}: {first['msg']} (got {first.get('input')!r})") from None
