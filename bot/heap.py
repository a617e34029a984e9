"""The process's heap as the garbage collector sees it: what start-up made is set aside once.

A long-running process makes a few hundred thousand objects at start (modules, settings,
the ORM's mappings, compiled queries) that live as long as it does. CPython's full
collections traverse every tracked object each time; an ingest pass over 10,000 feeds
makes enough objects (a task, a coroutine and a timer per feed, their responses) to run
several of them, and each went through the start-up heap again (1.1 s of a 5,000-feed
all-304 pass, 0.5 s once set aside; benchmarks/README.md). ``gc.freeze`` moves every
object alive now into a generation no collection looks at; what start-up left as garbage
is collected first, so nothing collectable is kept.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what start-up left behind, then exempt the survivors from later collections."""
    gc.collect()
    gc.freeze()
