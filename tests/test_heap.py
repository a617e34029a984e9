"""bot.heap: what start-up made is exempt from later collections; its garbage is not kept."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session keeps its ordinary collector


def test_objects_alive_at_start_up_are_set_aside_and_start_up_garbage_is_collected() -> None:
    kept = [_Node()]
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage

    settle_heap()

    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert kept[0].me is kept[0]
