"""Train the topic model that ships as summaries/data/topic_model.npz.

    .venv/bin/python benchmarks/train_topics.py [--data ../shared/topics] [--out PATH]

Reads the labelled abstracts in ``--data`` (train.jsonl and train_zh_titles.jsonl; never
dev.jsonl, which stays for measuring), maps each source category to the product's topics
with benchmarks/topic_categories.tsv, and adds general-news negatives: the CNN/DailyMail
articles of ../shared/eval, cut into passages, labelled with no topic (the abstracts alone
never show the model what a non-science text looks like). Features come from
``summaries.tagger.text_features``, so training and tagging hash the same things.

One L2-regularised logistic regression per topic (scikit-learn's liblinear, balanced class
weights). Thresholds per topic and script (Chinese or not) maximise F1 on 5-fold
out-of-fold decisions over the training set, so dev.jsonl never tunes anything. Everything
is seeded: the same data and library versions give the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summaries.tagger import TopicModel, hashed_counts, save_model  # noqa: E402
from summaries.topics import TOPICS  # noqa: E402

SEED = 20261202
BITS = 18
C = 8.0
FOLDS = 5
# A general-news passage weighs this many abstracts: there are few of them, and they stand
# for everything a science feed's neighbours write about.
NEGATIVE_WEIGHT = 3.0
NEWS_PASSAGE_SENTENCES = 6
# CNN/DailyMail articles that are about science or medicine: not negatives.
NEWS_NOT_NEGATIVE = frozenset({"realsumm-001", "realsumm-037"})
# A script's own threshold needs this many positives in that script; else the pooled one.
MIN_SCRIPT_POSITIVES = 25
THRESHOLD_GRID = np.round(np.arange(-2.5, 2.51, 0.05), 2)
CATEGORIES = Path(__file__).with_name("topic_categories.tsv")


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    text: str
    chinese: bool
    topics: frozenset[str]
    weight: float = 1.0


def read_categories(path: Path = CATEGORIES) -> dict[str, frozenset[str] | None]:
    """Source category -> its topics (empty: none of ours; None: too mixed, left out)."""
    known = {t.slug for t in TOPICS}
    mapping: dict[str, frozenset[str] | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("category\t"):
            continue
        category, topics, reason = line.split("\t")
        if not reason.strip():
            raise ValueError(f"{category}: every mapping needs a reason")
        if topics == "?":
            mapping[category] = None
            continue
        slugs = frozenset() if topics == "-" else frozenset(topics.split(","))
        if not slugs <= known:
            raise ValueError(f"{category}: unknown topics {sorted(slugs - known)}")
        mapping[category] = slugs
    return mapping


def read_items(path: Path, mapping: dict[str, frozenset[str] | None]) -> Iterator[Item]:
    """The labelled items of one .jsonl file whose category is mapped (not "?")."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            topics = mapping[raw["source_category"]]
            if topics is not None:
                yield Item(raw.get("title", ""), raw.get("text", ""), raw["lang"] == "zh", topics)


def news_negatives(path: Path) -> Iterator[Item]:
    """General-news passages with no topic, from the CNN/DailyMail evaluation file."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            if raw["id"] in NEWS_NOT_NEGATIVE:
                continue
            sentences = raw["sentences"]
            for start in range(0, len(sentences), NEWS_PASSAGE_SENTENCES):
                passage = " ".join(sentences[start : start + NEWS_PASSAGE_SENTENCES])
                yield Item("", passage, False, frozenset(), NEGATIVE_WEIGHT)


# Feeds of ../shared/corpus that are not science and not the general-news check (news_*):
# games, fantasy sport, gardening, Chinese general news and commentary.
NEGATIVE_FEEDS = {
    "odd_giantbomb_podcast_huge.rss": 100,
    "odd_feedburner_xhtml.atom": 10,
    "odd_neverwinter_relative-urls.xml": 2,
    "odd_medium_content-encoded.rss": 7,
    "zh_dapenti_iframe.xml": 30,
    "zh_caogen_bom.xml": 22,
}


def feed_negatives(corpus: Path) -> Iterator[Item]:
    """Entries of non-science corpus feeds, labelled with no topic."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from summaries.feeds import parse_feed  # noqa: PLC0415

    now = datetime(2026, 1, 1, tzinfo=UTC)
    for name, limit in NEGATIVE_FEEDS.items():
        feed = parse_feed(
            (corpus / "feeds" / name).read_bytes(), url=f"https://x.invalid/{name}", now=now
        )
        for entry in feed.entries[:limit]:
            chinese = (entry.language or "").startswith("zh")
            yield Item(entry.title, entry.text, chinese, frozenset(), NEGATIVE_WEIGHT)


def lee_negatives() -> Iterator[Item]:
    """The Lee corpus: 300 ABC (Australia) news stories that gensim ships as test data."""
    from importlib import resources  # noqa: PLC0415

    path = resources.files("gensim").joinpath("test/test_data/lee_background.cor")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            yield Item("", line, False, frozenset(), NEGATIVE_WEIGHT)


def features(items: list[Item], bits: int) -> Any:
    import scipy.sparse as sp  # noqa: PLC0415 -- training only: the product never needs scipy

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, item in enumerate(items):
        for bucket, value in hashed_counts(item.title, item.text, bits=bits).items():
            rows.append(row)
            cols.append(bucket)
            vals.append(value)
    shape = (len(items), 1 << bits)
    return sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)


def weigh(counts: Any, idf: np.ndarray) -> Any:
    import scipy.sparse as sp  # noqa: PLC0415

    weighted = sp.csr_matrix(counts.multiply(idf[np.newaxis, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ weighted)


def fit(x: Any, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 -- training only

    model = LogisticRegression(
        C=C, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=SEED
    )
    model.fit(x, y, sample_weight=weights)
    return model.coef_[0], float(model.intercept_[0])


def best_threshold(decision: np.ndarray, truth: np.ndarray) -> float:
    best, best_f1 = 0.0, -1.0
    for threshold in THRESHOLD_GRID:
        predicted = decision >= threshold
        tp = float((predicted & truth).sum())
        f1 = 2 * tp / max(1.0, float(predicted.sum() + truth.sum()))
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def train(
    data: Path, news: Path, corpus: Path | None = None, *, bits: int = BITS, log: bool = True
) -> TopicModel:
    mapping = read_categories()
    items = list(read_items(data / "train.jsonl", mapping))
    items += read_items(data / "train_zh_titles.jsonl", mapping)
    items += news_negatives(news)
    if corpus is not None:
        items += feed_negatives(corpus)
    items += lee_negatives()
    slugs = tuple(t.slug for t in TOPICS if any(t.slug in i.topics for i in items))
    started = time.perf_counter()
    counts = features(items, bits)
    if log:
        print(f"{len(items)} items, {len(slugs)} topics with data; features in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    seen = np.asarray((counts > 0).sum(axis=0)).ravel()
    # Buckets never seen in training carry no weight; an idf of 0 keeps them from diluting
    # the words the model knows.
    idf = np.where(seen > 0, np.log((1 + len(items)) / (1 + seen)) + 1, 0.0)
    x = weigh(counts, idf)
    y = np.array([[s in i.topics for s in slugs] for i in items])
    weights = np.array([i.weight for i in items])
    chinese = np.array([i.chinese for i in items])

    from sklearn import __version__ as sklearn_version  # noqa: PLC0415 -- training only
    from sklearn.model_selection import KFold  # noqa: PLC0415

    out_of_fold = np.zeros(y.shape)
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fold, (fit_rows, held_rows) in enumerate(folds.split(x)):
        for j in range(len(slugs)):
            coef, intercept = fit(x[fit_rows], y[fit_rows, j], weights[fit_rows])
            out_of_fold[held_rows, j] = x[held_rows] @ coef + intercept
        if log:
            print(f"fold {fold + 1}/{FOLDS} done", file=sys.stderr)
    thresholds: dict[str, np.ndarray] = {}
    for script, rows in (("zh", chinese), ("other", ~chinese)):
        values = []
        for j in range(len(slugs)):
            pooled = best_threshold(out_of_fold[:, j], y[:, j])
            if y[rows, j].sum() >= MIN_SCRIPT_POSITIVES:
                values.append(best_threshold(out_of_fold[rows, j], y[rows, j]))
            else:
                values.append(pooled)
        thresholds[script] = np.array(values, dtype=np.float32)

    weight_matrix = np.zeros((1 << bits, len(slugs)), dtype=np.float32)
    bias = np.zeros(len(slugs), dtype=np.float32)
    for j in range(len(slugs)):
        weight_matrix[:, j], bias[j] = fit(x, y[:, j], weights)
    info = {
        "trained_on": "../shared/topics train.jsonl + train_zh_titles.jsonl; "
        "../shared/eval cnndm_dev.jsonl passages as negatives",
        "items": len(items),
        "positives": {
            script: {s: int(y[rows, j].sum()) for j, s in enumerate(slugs)}
            for script, rows in (("zh", chinese), ("other", ~chinese))
        },
        "C": C,
        "negative_weight": NEGATIVE_WEIGHT,
        "folds": FOLDS,
        "seed": SEED,
        "scikit_learn": sklearn_version,
        "numpy": np.__version__,
    }
    return TopicModel(
        slugs=slugs,
        bits=bits,
        weights=weight_matrix.astype(np.float16),
        bias=bias,
        idf=idf.astype(np.float16),
        thresholds=thresholds,
        info=info,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "topics")
    parser.add_argument(
        "--news", type=Path, default=ROOT.parent / "shared" / "eval" / "cnndm_dev.jsonl"
    )
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "summaries" / "data" / "topic_model.npz")
    args = parser.parse_args()
    model = train(args.data, args.news, args.corpus)
    save_model(model, args.out)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, {len(model.slugs)} topics)")


if __name__ == "__main__":
    main()
