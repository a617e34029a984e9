"""Charts: the admin's /stats picture, drawn from plain per-day counts.

``stats_chart`` is pure (counts in, PNG bytes out) and CPU-bound: call it off the event loop.
matplotlib is imported on first use with its non-interactive Agg backend, so nothing here
needs a display and the CLI does not pay for the import.
"""

from __future__ import annotations

import io
from typing import Any

from db.stats import DailySeries
from summaries.topics import topic_by_slug

# Stacked bars get unreadable past a handful of colours: the busiest topics, then "other".
MAX_TOPICS = 6


def stats_chart(series: DailySeries) -> bytes:
    """A PNG with two panels: new articles a day by topic (stacked), messages sent a day."""
    import matplotlib  # noqa: PLC0415 -- heavy, and only /stats draws

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    labels = [day.strftime("%d %b") for day in series.days]
    positions = list(range(len(labels)))
    figure: Any = Figure(figsize=(9, 6), dpi=100, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    base = [0] * len(labels)
    for name, counts in _stacks(series.articles):
        top.bar(positions, counts, bottom=base, label=name, width=0.8)
        base = [b + c for b, c in zip(base, counts, strict=True)]
    top.set_title("New articles a day, by topic")
    if series.articles:
        top.legend(loc="upper left", fontsize="small", ncols=2)
    bottom.bar(positions, series.deliveries, color="tab:gray", width=0.8)
    bottom.set_title("Messages sent a day")
    step = max(1, len(labels) // 10)
    bottom.set_xticks(positions[::step], labels[::step], rotation=45, ha="right")
    for axes in (top, bottom):
        axes.grid(axis="y", alpha=0.3)
        axes.set_ylim(bottom=0)
    out = io.BytesIO()
    # No metadata: the same counts always give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _stacks(articles: dict[str, tuple[int, ...]]) -> list[tuple[str, tuple[int, ...]]]:
    ranked = sorted(articles.items(), key=lambda item: (-sum(item[1]), item[0]))
    shown = [(slug, counts) for slug, counts in ranked if slug][:MAX_TOPICS]
    rest = [counts for slug, counts in ranked if (slug, counts) not in shown]
    stacks = [(_label(slug), counts) for slug, counts in shown]
    if rest:
        stacks.append(("other", tuple(sum(day) for day in zip(*rest, strict=True))))
    return stacks


def _label(slug: str) -> str:
    topic = topic_by_slug(slug)
    return topic.name if topic is not None else slug
