# syntax=docker/dockerfile:1
# SciForum Digest: one process that ingests feeds and runs the Telegram bot.
#   docker build -t sciforum-digest .
#   docker run --env-file .env -v sciforum-data:/app/data sciforum-digest
#   docker compose up -d            (with PostgreSQL 16: docker-compose.yml)
#
# The base is pinned by version. digest: not pinned, because it could not be looked up where
# this file was written (no registry access). Pin it with the digest that
#   docker buildx imagetools inspect python:3.11.17-slim-bookworm
# prints: ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Dependencies alone, exactly as locked (hashes checked): this layer is rebuilt only when
# requirements/runtime.txt changes, not on every source change.
FROM base AS deps
COPY requirements/runtime.txt /tmp/runtime.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/runtime.txt

# The project as a wheel, with its package data (migrations, topic model, feed lists).
FROM base AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY summaries ./summaries
COPY db ./db
RUN pip wheel --no-deps --wheel-dir /dist .

FROM base
# tini as PID 1: it forwards SIGTERM to the app (which then stops cleanly) and reaps the
# summarizing worker processes. Its upstream version is pinned; Debian rebuilds may follow.
RUN apt-get update \
 && apt-get install -y --no-install-recommends "tini=0.19.*" \
 && rm -rf /var/lib/apt/lists/*
# uid 1000 as in earlier images, so existing data volumes stay writable.
RUN useradd --uid 1000 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin sciforum \
 && mkdir -p /app/data \
 && chown sciforum:sciforum /app/data
COPY --from=deps /opt/venv /opt/venv
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    /opt/venv/bin/pip install --no-deps /dist/*.whl
ENV PATH=/opt/venv/bin:$PATH \
    DATABASE_URL=sqlite:////app/data/sciforum.db
WORKDIR /app
# Numeric, so an orchestrator can check it is not root (Kubernetes' runAsNonRoot).
USER 1000:1000
VOLUME ["/app/data"]
# WEBHOOK_PORT's default: the webhook server listens here when WEBHOOK_URL is set (long
# polling, the default, needs no inbound port).
EXPOSE 8443
# Exit 0 while the database answers; the start period covers the first migration.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["sciforum", "health"]
# `sciforum run` stops cleanly on SIGTERM: it lets the ingest pass in flight finish and gives
# the outbox up to 15 s to record sends in flight (docker-compose.yml allows 2 minutes).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["sciforum", "run"]
