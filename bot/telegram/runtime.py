"""The event loop the bot runs on: uvloop where it is installed, else asyncio's own.

uvloop runs the same asyncio code on libuv, with cheaper callbacks, futures,
timers and sockets; a campaign sent flat out is mostly those (the aiohttp
requests of ``_lean.BroadcastSender`` and the database round trips around them).
It is a dependency on the platforms it supports and absent elsewhere (Windows,
PyPy), where asyncio's own loop runs the bot unchanged.

``settle_heap`` is for the moment start-up is done: everything made so far
(modules, the frameworks' models, settings) lives as long as the process, and
freezing it keeps the collector from walking it again and again while a
campaign's requests come and go.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return uvloop's event loop factory, or None (asyncio's own) where uvloop is missing."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop from ``loop_factory`` (as ``asyncio.run``)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Collect once, then leave everything alive now out of later collections (``gc.freeze``)."""
    gc.collect()
    gc.freeze()
