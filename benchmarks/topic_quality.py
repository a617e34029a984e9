"""Topic tagging quality and speed on real labelled data, old and new taggers side by side.

    .venv/bin/python benchmarks/topic_quality.py [--data DIR] [--corpus DIR]

On ../shared/topics/dev.jsonl (never used in training), with the source categories mapped by
benchmarks/topic_categories.tsv (items of "?" categories are left out): per-topic
precision/recall/F1, micro- and macro-F1 for English and Chinese, the share of items with
at least one right topic, the same on the titles alone (short texts), the share of the
general-news entries in ../shared/corpus/feeds/news_* that get any topic, and the time per
article. Taggers:

- old: the keyword tagger as it was, its 16 topics (keyword score >= MIN_SCORE);
- keywords: the same rule over all 24 topics' keywords;
- new: ``summaries.topics.tag_topics``, what the product uses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.train_topics import read_categories  # noqa: E402
from summaries.errors import FeedParseError  # noqa: E402
from summaries.feeds import parse_feed  # noqa: E402
from summaries.keywords import MIN_SCORE, keyword_scores  # noqa: E402
from summaries.topics import TOPICS, tag_topics  # noqa: E402

# fmt: off
OLD_TOPICS = frozenset({
    "ai", "synbio", "microbiology", "biomanufacturing", "genomics", "precision-medicine",
    "drug-discovery", "neuroscience", "climate", "energy", "materials", "physics", "chemistry",
    "space", "agrifood", "science-policy",
})
# fmt: on
Tagger = Callable[[str, str, str | None], set[str]]


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    text: str
    lang: str
    gold: frozenset[str]


def old_tagger(title: str, text: str, language: str | None) -> set[str]:
    scores = keyword_scores(title, text, language=language)
    return {s for s, v in scores.items() if v >= MIN_SCORE and s in OLD_TOPICS}


def keyword_tagger(title: str, text: str, language: str | None) -> set[str]:
    scores = keyword_scores(title, text, language=language)
    return {s for s, v in scores.items() if v >= MIN_SCORE}


def new_tagger(title: str, text: str, language: str | None) -> set[str]:
    return {t.slug for t in tag_topics(title, text, language=language)}


TAGGERS: dict[str, Tagger] = {"old": old_tagger, "keywords": keyword_tagger, "new": new_tagger}


def read_dev(path: Path) -> list[Item]:
    mapping = read_categories()
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        gold = mapping[raw["source_category"]]
        if gold is not None:
            items.append(Item(raw.get("title", ""), raw["text"], raw["lang"], gold))
    return items


def read_news(corpus: Path, prefix: str = "news_") -> list[Item]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    items = []
    for path in sorted((corpus / "feeds").glob(f"{prefix}*")):
        try:
            feed = parse_feed(path.read_bytes(), url=f"https://example.org/{path.name}", now=now)
        except FeedParseError:
            continue
        for entry in feed.entries:
            items.append(Item(entry.title, entry.text, entry.language or "", frozenset()))
    return items


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def f1(self) -> float:
        return 2 * self.tp / max(1, 2 * self.tp + self.fp + self.fn)

    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)


def score(items: list[Item], predicted: list[set[str]]) -> dict[str, object]:
    per_topic = {t.slug: Counts() for t in TOPICS}
    total = Counts()
    right = labelled = 0
    for item, tags in zip(items, predicted, strict=True):
        for slug in tags | item.gold:
            counts = per_topic[slug]
            if slug in tags and slug in item.gold:
                counts.tp += 1
                total.tp += 1
            elif slug in tags:
                counts.fp += 1
                total.fp += 1
            else:
                counts.fn += 1
                total.fn += 1
        if item.gold:
            labelled += 1
            right += bool(tags & item.gold)
    present = [c for s, c in per_topic.items() if c.tp + c.fn > 0]
    return {
        "micro_f1": total.f1(),
        "macro_f1": statistics.fmean(c.f1() for c in present) if present else 0.0,
        "one_right": right / max(1, labelled),
        "per_topic": per_topic,
    }


def run(tagger: Tagger, items: Iterable[Item], *, titles_only: bool = False) -> list[set[str]]:
    return [
        tagger(i.title, "" if titles_only else i.text, i.lang or None)
        for i in items
        if not titles_only or i.title
    ]


def timing(items: list[Item]) -> tuple[float, float]:
    for item in items[:20]:  # warm-up: model load, jieba, caches
        tag_topics(item.title, item.text, language=item.lang)
    spent = []
    for item in items:
        started = time.perf_counter()
        tag_topics(item.title, item.text, language=item.lang)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.95)]


def memory_cost() -> float:
    """MB of resident memory the tagger adds to an ingest worker, which has already loaded
    what it shares with the summarizer (sumy's stemmer, the language detector, jieba)."""
    import tracemalloc  # noqa: PLC0415

    from summaries.summarize import summarize  # noqa: PLC0415

    english = ("Graphene membranes", "Researchers made graphene membranes that filter salt.")
    chinese = ("石墨烯薄膜", "研究人员制备了可以过滤盐的石墨烯薄膜。研究结果发表在期刊上。")
    for _title, text in (english, chinese):
        summarize(text, language=None, max_sentences=1)
    # Allocations still held after tagging (RSS would hide them in pages freed earlier).
    tracemalloc.start()
    for title, text in (english, chinese):
        tag_topics(title, text)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return held / 1e6


def main() -> None:
    memory_mb = memory_cost()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "topics")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    dev = read_dev(args.data / "dev.jsonl")
    news = read_news(args.corpus)
    science_feeds = read_news(args.corpus, "sci_")
    by_lang = {lang: [i for i in dev if i.lang == lang] for lang in ("en", "zh")}
    titled = [i for i in dev if i.title]
    print(f"dev: {len(dev)} items ({len(by_lang['en'])} en, {len(by_lang['zh'])} zh); "
          f"general news: {len(news)} entries; science feeds: {len(science_feeds)}")  # fmt: skip

    results: dict[str, dict[str, dict[str, object]]] = {}
    for name, tagger in TAGGERS.items():
        results[name] = {
            "all": score(dev, run(tagger, dev)),
            **{lang: score(items, run(tagger, items)) for lang, items in by_lang.items()},
            "titles": score(titled, run(tagger, titled, titles_only=True)),
        }
        tagged_news = run(tagger, news)
        results[name]["news"] = {"tagged": sum(bool(t) for t in tagged_news) / len(news)}
        tagged_science = run(tagger, science_feeds)
        results[name]["science"] = {
            "tagged": sum(bool(t) for t in tagged_science) / len(science_feeds)
        }
        if name == "new":
            for item, tags in zip(news, tagged_news, strict=True):
                if tags:
                    print(f"  news tagged {sorted(tags)}: {item.title[:70]}")

    header = f"{'':34}" + "".join(f"{n:>10}" for n in TAGGERS)
    print("\n" + header)
    rows = [
        ("micro-F1, all", "all", "micro_f1"),
        ("micro-F1, English", "en", "micro_f1"),
        ("micro-F1, Chinese", "zh", "micro_f1"),
        ("macro-F1, all", "all", "macro_f1"),
        ("macro-F1, English", "en", "macro_f1"),
        ("macro-F1, Chinese", "zh", "macro_f1"),
        (">= 1 right topic, all", "all", "one_right"),
        (">= 1 right topic, English", "en", "one_right"),
        (">= 1 right topic, Chinese", "zh", "one_right"),
        ("micro-F1, titles alone", "titles", "micro_f1"),
        (">= 1 right topic, titles alone", "titles", "one_right"),
        ("general news tagged (news_* feeds)", "news", "tagged"),
        ("science feed entries tagged (sci_*)", "science", "tagged"),
    ]
    for label, part, key in rows:
        values = "".join(f"{float(results[n][part][key]):>10.3f}" for n in TAGGERS)  # type: ignore[arg-type]
        print(f"{label:34}{values}")

    print(
        f"\n{'per topic (dev, all)':22}{'n':>5}" + "".join(f"{n + ' P/R/F1':>21}" for n in TAGGERS)
    )
    for topic in TOPICS:
        cells = []
        gold_n = 0
        for name in TAGGERS:
            c = results[name]["all"]["per_topic"][topic.slug]  # type: ignore[index]
            gold_n = c.tp + c.fn
            cells.append(f"{c.precision():.2f}/{c.recall():.2f}/{c.f1():.2f}")
        print(f"{topic.slug:22}{gold_n:>5}" + "".join(f"{cell:>21}" for cell in cells))

    print(f"\nnew tagger, memory added to an ingest worker: {memory_mb:.0f} MB")
    median, p95 = timing(dev)
    print(f"\nnew tagger, ms per dev item: median {median:.2f}, p95 {p95:.2f}")
    long_items = [i for i in news if len(i.text) > 3000] or news
    median, p95 = timing(long_items)
    print(
        f"new tagger, ms per long news entry ({len(long_items)}): "
        f"median {median:.2f}, p95 {p95:.2f}"
    )


if __name__ == "__main__":
    main()
