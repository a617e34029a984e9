# SciForum Digest: one process that ingests feeds and runs the Telegram bot.
#   docker build -t sciforum-digest .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v sciforum-data:/app/data sciforum-digest
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY summaries ./summaries
COPY db ./db
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 1000 sciforum
COPY --from=build /install /usr/local
WORKDIR /app
RUN mkdir -p /app/data && chown sciforum /app/data
USER sciforum
ENV DATABASE_URL=sqlite:////app/data/sciforum.db \
    PYTHONUNBUFFERED=1
VOLUME ["/app/data"]
# The schema is upgraded on start; PostgreSQL: set DATABASE_URL=postgresql://user:pass@host/db
CMD ["sciforum", "run"]
