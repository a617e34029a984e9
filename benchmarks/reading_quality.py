"""Reading quality on real pages: summaries a reader can use, forum dates that hold.

    .venv/bin/python benchmarks/reading_quality.py [--seeds DIR] [--corpus DIR] [--eval FILE]

Runs through the product's own pipeline (``bot.preview``, which is ingestion without the
database): the five seed reports as plain-text files (no publication date), the same
reports re-posted in a feed a year after they were published, and every article page of
../shared/corpus/articles. Prints:

- furniture sentences in stored summaries (bylines, credit and update lines, share/print
  widgets, language switchers, captions, "related" lists), found by this script's own
  patterns, independent of the product's cleaning (goal 0);
- repeated sentences within a summary, and the headline repeated as a sentence (goal 0);
- question or quote-only openers of a summary (goal 0);
- forum start dates right on the seeds, as files and re-posted (goal 5 of 5 each);
- CNN/DailyMail ROUGE of the summarizer against Lead-3 (benchmarks/summary_quality.py);
- ms per article for enrichment (summary, topics, forum facts; goal <= 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import summary_quality  # noqa: E402
from bot.preview import PreviewItem, preview_bytes  # noqa: E402
from summaries.enrichment import enrich  # noqa: E402
from summaries.extract import extract_article  # noqa: E402

NOW = datetime(2026, 12, 2, tzinfo=UTC)
# What the seed pages say: when each report was published (None: the copy does not say)
# and when its forum started.
SEED_PUBLISHED = {
    "000": date(2025, 11, 24),
    "001": None,
    "002": date(2025, 12, 5),
    "003": None,
    "004": date(2025, 11, 21),
}
SEED_START = {
    "000": date(2025, 11, 18),
    "001": date(2021, 12, 13),
    "002": date(2025, 12, 5),
    "003": date(2023, 11, 9),
    "004": date(2025, 11, 16),
}

_FURNITURE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?:writer|editor|reporter|author|source|from|updated|published|photo|image|"
        r"courtesy|credit|translated by|by)\s*[:：]",
        r"\b(?:writer|editor|updated)\s*[:：].{0,80}\|",
        r"^(?:share|print|email|font size|a a a|share this|tweet)\b.{0,20}$",
        r"^(?:中文|english)\s*[|｜]",
        r"^\[?(?:photo|image|pic|图)[/／:：]",
        r"[\[(](?:photo|image)(?: by)?[^\])]{0,60}[\])]\s*$",
        r"^(?:related|read more|you may also like|see also|more on this)\b",
        r"^(?:记者|编辑|来源|责任编辑|图片|摄影|通讯员|作者)\s*[:：]",
        r"^(?:相关新闻|延伸阅读|相关阅读|分享到)",
    )
]
_QUOTE_ONLY = re.compile(r"^[\"“‘'「『].{0,400}[\"”’'」』][.。]?$")
_NORMAL = re.compile(r"\W+")


@dataclass
class Tally:
    summaries: int = 0
    sentences: int = 0
    furniture: int = 0
    repeated: int = 0
    headline: int = 0
    question_openers: int = 0

    def add(self, title: str, summary: list[str], *, show: str) -> None:
        self.summaries += 1
        self.sentences += len(summary)
        seen: set[str] = set()
        for sentence in summary:
            key = _normal(sentence)
            if any(p.search(sentence.strip()) for p in _FURNITURE):
                self.furniture += 1
                print(f"  furniture in {show}: {sentence[:90]!r}")
            if key in seen:
                self.repeated += 1
                print(f"  repeated in {show}: {sentence[:90]!r}")
            seen.add(key)
            if title and key == _normal(title):
                self.headline += 1
                print(f"  headline repeated in {show}: {sentence[:90]!r}")
        if summary and (summary[0].rstrip().endswith(("?", "？")) or _QUOTE_ONLY.match(summary[0])):
            self.question_openers += 1
            print(f"  hook opener in {show}: {summary[0][:90]!r}")


def _normal(text: str) -> str:
    return _NORMAL.sub(" ", text.casefold()).strip()


def _seed_files(seeds: Path) -> dict[str, Path]:
    return {p.name[:3]: p for p in sorted(seeds.glob("[0-9][0-9][0-9]_*.txt"))}


def _repost_feed(files: dict[str, Path]) -> bytes:
    """An RSS feed that re-posts every seed a year after it was published."""
    items = []
    for prefix, path in files.items():
        first = SEED_PUBLISHED[prefix] or SEED_START[prefix]
        when = datetime.combine(first, datetime.min.time(), UTC) + timedelta(days=365)
        items.append(
            f"<item><title>Seed {prefix}</title><guid>seed-{prefix}</guid>"
            f"<link>https://example.org/seed-{prefix}</link>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{escape(_paragraphs(path.read_text(encoding='utf-8')))}"
            "</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Re-posts</title><link>https://example.org/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _paragraphs(text: str) -> str:
    """Plain text as the HTML paragraphs a feed would carry it in."""
    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())


def _start(item: PreviewItem) -> date | None:
    event = item.enrichment.event or {}
    value = event.get("start")
    return date.fromisoformat(value) if isinstance(value, str) else None


async def seeds_report(seeds: Path, tally: Tally) -> tuple[int, int]:
    files = _seed_files(seeds)
    right_files = 0
    print("seeds as files (no publication date):")
    for prefix, path in files.items():
        (item,) = await preview_bytes(path.read_bytes(), url=None, source=path.name, now=NOW)
        tally.add(item.title, item.enrichment.summary, show=f"seed {prefix}")
        start = _start(item)
        right_files += start == SEED_START[prefix]
        print(f"  {prefix}: title {item.title[:60]!r}; start {start} (want {SEED_START[prefix]})")
    right_reposts = 0
    print("seeds re-posted a year later:")
    items = await preview_bytes(
        _repost_feed(files), url="https://example.org/feed", source="re-posts", now=NOW
    )
    for prefix, item in zip(files, items, strict=True):
        tally.add("", item.enrichment.summary, show=f"re-posted seed {prefix}")
        start = _start(item)
        right_reposts += start == SEED_START[prefix]
        upcoming = (item.enrichment.event or {}).get("upcoming")
        print(f"  {prefix}: start {start} (want {SEED_START[prefix]}), upcoming {upcoming}")
    return right_files, right_reposts


async def pages_report(corpus: Path, tally: Tally) -> list[tuple[float, str]]:
    spent = []
    pages = sorted((corpus / "articles").glob("*/source.html"))
    for path in pages:
        content = path.read_bytes()
        (item,) = await preview_bytes(content, url=None, source=path.parent.name, now=NOW)
        tally.add(item.title, item.enrichment.summary, show=path.parent.name)
        page = extract_article(content, url=None)
        started = time.perf_counter()
        enrich(
            page.title or "", page.text, language=page.language, published=page.published, now=NOW
        )
        spent.append(((time.perf_counter() - started) * 1000, path.parent.name))
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=ROOT.parent / "shared" / "seeds")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument(
        "--eval", type=Path, default=ROOT.parent / "shared" / "eval" / "cnndm_dev.jsonl"
    )
    args = parser.parse_args()
    tally = Tally()
    right_files, right_reposts = asyncio.run(seeds_report(args.seeds, tally))
    spent = asyncio.run(pages_report(args.corpus, tally))
    for path in _seed_files(args.seeds).values():
        text = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        enrich("", text, language=None, published=None, now=NOW)
        spent.append(((time.perf_counter() - started) * 1000, path.name))

    articles = summary_quality.load_articles(args.eval)
    ours = summary_quality.run("ours", summary_quality.default_picker, articles)
    lead = summary_quality.run("lead-3", summary_quality.lead_picker, articles)

    def rouge(result: summary_quality.Result) -> str:
        r1 = statistics.fmean(s[0] for s in result.scores)
        r2 = statistics.fmean(s[1] for s in result.scores)
        return f"R-1 {r1:.2f} / R-2 {r2:.2f}"

    spent.sort()
    times = [ms for ms, _ in spent]
    print(f"\nsummaries checked: {tally.summaries} ({tally.sentences} sentences)")
    print(f"furniture sentences in summaries: {tally.furniture}")
    print(f"repeated sentences: {tally.repeated}; headline repeated: {tally.headline}")
    print(f"question or quote-only openers: {tally.question_openers}")
    print(f"forum start dates right: files {right_files}/5, re-posted {right_reposts}/5")
    print(f"CNN/DailyMail (50): ours {rouge(ours)}; Lead-3 {rouge(lead)}")
    print(
        f"enrichment ms per article ({len(times)}): mean {statistics.fmean(times):.1f}, "
        f"median {statistics.median(times):.1f}, p95 {times[int(len(times) * 0.95)]:.1f}, "
        f"max {times[-1]:.1f} ({spent[-1][1]})"
    )


if __name__ == "__main__":
    main()
