"""Python's cyclic garbage collector, paused while bulk work builds many small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk read or a report build, then put it back
    as it was.

    A year of checks builds half a million small tuples, and a monthly report of 100 keywords
    hundreds of thousands of rows, points and chart values; none of them can hold a cycle,
    and the collector would otherwise walk the growing heap again and again meanwhile (a
    quarter of a 7.3 M-row status, a fifth of a report's build). Nothing is collected late
    that would not be: reference counting frees everything as usual, and whatever cycle the
    work leaves is collected once the collector runs again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
