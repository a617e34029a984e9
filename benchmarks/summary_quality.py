"""Summary quality benchmark: ROUGE of each candidate summarizer on CNN/DailyMail articles.

Scores sumy's LexRank, TextRank, LSA, Luhn, SumBasic and Reduction, Lead-3, and our
default (``summaries.summarize.summarize``) with ROUGE-1 / ROUGE-2 / ROUGE-Lsum F1
(rouge-score, stemming on), k = 3 sentences, on the evaluation set described in
``shared/eval/README.md``. The sumy algorithms and Lead-3 get the set's own sentence split;
ours gets each article as one sentence per line through the public ``summarize()``, so its
own splitting and language detection are part of what is scored.

The product strips page furniture before summarizing (``summaries.enrichment``); the
"furniture stripped first" row checks that this eats no prose the references rely on.

The default ranker's weights were tuned on the first 25 articles; the ``test`` columns
(the other 25) are the figure that is not fitted. Run from the repository root:

    .venv/bin/python benchmarks/summary_quality.py [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rouge_score import rouge_scorer
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from summaries.furniture import strip_furniture
from summaries.sentences import Tokenizer
from summaries.summarize import summarize

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / ".." / "shared" / "eval" / "cnndm_dev.jsonl"
TUNE_ARTICLES = 25
K = 3
TIMING_WORDS = 1_000
TIMING_RUNS = 30

Picker = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class Article:
    sentences: list[str]
    reference: str


@dataclass(frozen=True)
class Result:
    name: str
    scores: list[tuple[float, float, float]]  # per article, R-Lsum F1 x 100
    ms_per_article: float


def load_articles(path: Path) -> list[Article]:
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            articles.append(Article(item["sentences"], "\n".join(item["reference"])))
    return articles


def sumy_picker(algorithm: str) -> Picker:
    """sumy's own summarizer on the set's sentences (our tokenizer: punkt is not installed)."""

    classes: dict[str, Any] = {
        "lexrank": LexRankSummarizer,
        "textrank": TextRankSummarizer,
        "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer,
        "sumbasic": SumBasicSummarizer,
        "reduction": ReductionSummarizer,
    }
    tokenizer = Tokenizer("en")
    summarizer = classes[algorithm](Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    def pick(sentences: list[str]) -> list[str]:
        document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in sentences])])
        return [str(s) for s in summarizer(document, K)]

    return pick


def lead_picker(sentences: list[str]) -> list[str]:
    return sentences[:K]


def default_picker(sentences: list[str]) -> list[str]:
    return summarize("\n".join(sentences), max_sentences=K).sentences


def product_picker(sentences: list[str]) -> list[str]:
    return summarize(strip_furniture("\n".join(sentences)), max_sentences=K).sentences


def run(name: str, pick: Picker, articles: Sequence[Article]) -> Result:

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    pick(articles[0].sentences)  # load lazily-built resources outside the clock
    scores = []
    elapsed = 0.0
    for article in articles:
        start = time.perf_counter()
        chosen = pick(article.sentences)
        elapsed += time.perf_counter() - start
        rouge = scorer.score(article.reference, "\n".join(chosen))
        scores.append(
            (
                100 * rouge["rouge1"].fmeasure,
                100 * rouge["rouge2"].fmeasure,
                100 * rouge["rougeLsum"].fmeasure,
            )
        )
    return Result(name, scores, 1000 * elapsed / len(articles))


def mean(scores: Sequence[tuple[float, float, float]]) -> str:
    columns = zip(*scores, strict=True)
    return " | ".join(f"{statistics.fmean(c):.2f}" for c in columns)


def timing_text(articles: Sequence[Article]) -> str:
    """A real ~1,000-word news text: the set's sentences in paragraphs of four."""
    sentences: list[str] = []
    words = 0
    for sentence in (s for a in articles for s in a.sentences):
        sentences.append(sentence)
        words += len(sentence.split())
        if words >= TIMING_WORDS:
            break
    return "\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def median_ms(text: str) -> float:

    summarize(text)
    times = []
    for _ in range(TIMING_RUNS):
        start = time.perf_counter()
        summarize(text)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation JSONL")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"evaluation set not found: {args.data}", file=sys.stderr)
        return 2
    articles = load_articles(args.data)
    candidates: list[tuple[str, Picker]] = [
        ("sumy LexRank", sumy_picker("lexrank")),
        ("sumy TextRank", sumy_picker("textrank")),
        ("sumy LSA", sumy_picker("lsa")),
        ("sumy Luhn", sumy_picker("luhn")),
        ("sumy SumBasic", sumy_picker("sumbasic")),
        ("sumy Reduction", sumy_picker("reduction")),
        ("Lead-3", lead_picker),
        ("**ours: pacsum (default)**", default_picker),
        ("ours, furniture stripped first", product_picker),
    ]
    tune = min(TUNE_ARTICLES, len(articles) // 2)
    print(
        f"{len(articles)} articles from {args.data.name}, k = {K}; ROUGE F1 x 100 "
        f"(rouge-score, stemmer on); tune = first {tune}, test = the other {len(articles) - tune}"
    )
    print()
    print(
        "| summarizer | all R-1 | all R-2 | all R-Lsum | tune R-1 | tune R-2 | tune R-Lsum "
        "| test R-1 | test R-2 | test R-Lsum | ms/article |"
    )
    print("|---|" + "---:|" * 10)
    for name, pick in candidates:
        result = run(name, pick, articles)
        print(
            f"| {name} | {mean(result.scores)} | {mean(result.scores[:tune])} "
            f"| {mean(result.scores[tune:])} | {result.ms_per_article:.1f} |"
        )
    text = timing_text(articles)
    print()
    print(
        f"summarize() on a {len(text.split())}-word article (no language given): "
        f"median {median_ms(text):.1f} ms over {TIMING_RUNS} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
