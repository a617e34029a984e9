"""The optional HTTP endpoints for operators, on METRICS_PORT: ``/healthz`` (200 or 503 with
the health line) and ``/metrics`` (Prometheus text exposition).

A tiny tornado app in the process's own event loop (tornado is already installed for PTB's
webhook server): the health check awaits the same async database engine the process uses
and the metrics are read where they are counted, with no thread and no second server
library. prometheus-client's own server would run in a thread and could not await the
database for ``/healthz``.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from bot.errors import BotError
from bot.monitoring import Monitor
from bot.settings import Settings

log = logging.getLogger(__name__)


class _Health(RequestHandler):
    def initialize(self, monitor: Monitor) -> None:
        self._monitor = monitor

    async def get(self) -> None:
        verdict = await self._monitor.check()
        self.set_status(200 if verdict.healthy else 503)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(verdict.line + "\n")


class _Metrics(RequestHandler):
    def initialize(self, monitor: Monitor) -> None:
        self._monitor = monitor

    async def get(self) -> None:
        body = await self._monitor.scrape()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)


@dataclass
class Probes:
    """The listening endpoints; ``port`` is the one bound (``METRICS_PORT=0`` picks a free one)."""

    server: HTTPServer
    port: int

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


def start_probes(monitor: Monitor, *, port: int, address: str) -> Probes:
    """Listen on ``address:port`` in the running event loop; the caller stops them."""
    routes: list[Any] = [
        (r"/healthz", _Health, {"monitor": monitor}),
        (r"/metrics", _Metrics, {"monitor": monitor}),
    ]
    # No tornado access log line per request: Prometheus scrapes every few seconds.
    app = Application(routes, log_function=lambda _handler: None)
    server = HTTPServer(app)
    # The standard library's listener (tornado's bind_sockets leaks its socket when the
    # port is taken).
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.create_server((address, port), family=family)
    sock.setblocking(False)
    server.add_sockets([sock])
    return Probes(server, int(sock.getsockname()[1]))


def serve_probes(monitor: Monitor, settings: Settings) -> Probes | None:
    """The endpoints on METRICS_PORT, or None when it is not set."""
    if settings.metrics_port is None:
        return None
    try:
        probes = start_probes(monitor, port=settings.metrics_port, address=settings.metrics_listen)
    except OSError as exc:
        where = f"{settings.metrics_listen}:{settings.metrics_port}"
        raise BotError(f"METRICS_PORT: cannot listen on {where}: {exc.strerror or exc}") from None
    log.info(
        "health and metrics on http://%s:%d/healthz and /metrics",
        settings.metrics_listen,
        probes.port,
    )
    return probes
