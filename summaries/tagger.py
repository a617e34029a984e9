"""Tagger: the learned topic classifier — text features, the shipped linear model, margins.

An article becomes hashed features: stemmed English words and word pairs (stop words
dropped), and for Chinese jieba's words plus character pairs; the title counts twice, LaTeX
in abstracts is skipped, and only the first MAX_TEXT_CHARS characters are read. Each
feature is hashed with CRC-32 into 2**bits buckets; a bucket's value is (1 + log count)
times its idf, and the vector is L2-normalised. One logistic-regression model per topic
(one-vs-rest) gives a decision value; its threshold, chosen per topic and per script
(Chinese or not) by cross-validation at training time, is subtracted, so a margin >= 0
means "this topic".

The weights are trained by ``benchmarks/train_topics.py`` from ``../shared/topics`` and ship
as ``summaries/data/topic_model.npz``; here they are only read, with numpy, once per process
and only when first needed. ``text_features`` is what both sides hash, so training and
tagging cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from summaries.sentences import jieba_tokenizer
from summaries.terms import stemmer

MODEL_FILE = "topic_model.npz"
MODEL_FORMAT = 1
# Topics are settled in an article's first paragraphs; reading more costs time, not accuracy.
# Chinese packs about twice the words into a character, and segmenting it is the slow part.
MAX_TEXT_CHARS = 4000
MAX_CHINESE_CHARS = 2000

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W\d_]+(?:['’][^\W\d_]+)*")
_CJK_CHARS = re.compile(f"[{_CJK}]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Inline LaTeX in abstracts ("$\alpha$-stable"): markup, not vocabulary. Bounded: linear time.
_LATEX = re.compile(r"\$[^$]{1,300}\$")

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class TopicModel:
    """One-vs-rest linear topic model over hashed features (see the module docstring)."""

    slugs: tuple[str, ...]
    bits: int
    weights: npt.NDArray[np.float16]  # (2**bits, topics)
    bias: FloatArray  # (topics,)
    idf: npt.NDArray[np.float16]  # (2**bits,); 0 for buckets never seen in training
    thresholds: Mapping[str, FloatArray]  # script ("zh", "other") -> (topics,)
    info: Mapping[str, Any]  # how it was trained: data, figures, parameters

    def examples(self, slug: str, script: str) -> int:
        """How many training texts in ``script`` ("zh" or "other") were about ``slug``."""
        positives: Mapping[str, Mapping[str, int]] = self.info.get("positives", {})
        return int(positives.get(script, {}).get(slug, 0))

    def margins(self, title: str, text: str) -> dict[str, float]:
        """Each topic's decision value minus its threshold; {} for a text with no features."""
        counts = hashed_counts(title, text, bits=self.bits)
        if not counts:
            return {}
        buckets = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values *= self.idf[buckets]
        norm = float(np.linalg.norm(values))
        if norm == 0.0:
            return {}
        decision = (values / norm) @ self.weights[buckets].astype(np.float32) + self.bias
        margin = decision - self.thresholds[text_script(title, text)]
        return {slug: round(float(m), 3) for slug, m in zip(self.slugs, margin, strict=True)}


def text_features(title: str, text: str) -> Iterator[str]:
    """The features of an article, in order, with repeats (see the module docstring)."""
    limit = MAX_CHINESE_CHARS if text_script(title, text) == "zh" else MAX_TEXT_CHARS
    for part in (title, title, text[:limit]):
        yield from _part_features(part)


def _part_features(part: str) -> Iterator[str]:
    folded = _LATEX.sub(" ", unicodedata.normalize("NFKC", part).casefold())
    stem = stemmer()
    stop = _stop_words()
    previous: str | None = None  # word pairs never span the title and the text
    for match in _TOKEN.finditer(folded):
        token = match.group()
        if "\u3400" <= token[0] <= "\ufaff":
            yield from jieba_tokenizer().lcut(token, HMM=False)
            for i in range(len(token) - 1):
                yield "#" + token[i : i + 2]
            previous = None
        elif len(token) > 1 and token not in stop:
            word = stem(token)
            yield word
            if previous is not None:
                yield f"{previous} {word}"
            previous = word


def hashed_counts(title: str, text: str, *, bits: int) -> dict[int, float]:
    """Feature bucket -> 1 + log(count), for ``text_features``."""
    mask = (1 << bits) - 1
    counts = Counter(zlib.crc32(f.encode()) & mask for f in text_features(title, text))
    return {bucket: 1.0 + math.log(n) for bucket, n in counts.items()}


def load_model(path: Path | None = None) -> TopicModel:
    """The shipped model (or the one at ``path``), read once per process."""
    return _load(str(path) if path is not None else None)


def save_model(model: TopicModel, path: Path) -> None:
    """Write ``model`` where ``load_model`` reads it (used by the training script)."""
    meta = {
        "format": MODEL_FORMAT,
        "slugs": list(model.slugs),
        "bits": model.bits,
        "scripts": sorted(model.thresholds),
        "info": dict(model.info),
    }
    arrays: dict[str, Any] = {
        "weights": model.weights.astype(np.float16),
        "bias": model.bias.astype(np.float32),
        "idf": model.idf.astype(np.float16),
        "meta": np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
    }
    for script, values in model.thresholds.items():
        arrays[f"thresholds_{script}"] = values.astype(np.float32)
    with path.open("wb") as out:
        np.savez_compressed(out, **arrays)


@cache
def _load(path: str | None) -> TopicModel:
    if path is None:
        with resources.files("summaries").joinpath("data", MODEL_FILE).open("rb") as stream:
            return _read(stream)
    with open(path, "rb") as stream:
        return _read(stream)


def _read(stream: Any) -> TopicModel:
    with np.load(stream, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"topic model format {meta.get('format')!r}, want {MODEL_FORMAT}")
        return TopicModel(
            slugs=tuple(meta["slugs"]),
            bits=int(meta["bits"]),
            weights=data["weights"],
            bias=data["bias"],
            idf=data["idf"],
            thresholds={s: data[f"thresholds_{s}"] for s in meta["scripts"]},
            info=meta["info"],
        )


def text_script(title: str, text: str) -> str:
    """ "zh" for a mostly Chinese text, "other" for the rest: thresholds differ by script."""
    # Two characters make about one Chinese word: more of those than Latin words is Chinese.
    sample = f"{title}\n{text[:MAX_TEXT_CHARS]}"
    chinese = len(_CJK_CHARS.findall(sample)) > 2 * len(_LATIN_WORD.findall(sample))
    return "zh" if chinese else "other"


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sumy.utils import get_stop_words  # noqa: PLC0415 -- lazy: sumy's import is heavy

    return frozenset(get_stop_words("english"))
