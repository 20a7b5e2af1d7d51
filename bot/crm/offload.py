"""Heavy work off the event loop: one short-lived worker process per job, with a deadline.

The event loop serves every shop, and pure-Python CPU work (openpyxl, matplotlib,
thousands of rows) holds the GIL even in a thread, so a big job would still stall
everyone's replies. ``run_in_process`` runs a picklable top-level function in a
child forked from a ``forkserver`` that has already imported the heavy modules:
the child starts in milliseconds, its memory is capped (``RLIMIT_AS``) and
returned to the system when it exits, and a job past its deadline is killed
without touching any other job. At most ``MAX_JOBS`` children run at once; a
job waits at most ``QUEUE_WAIT`` seconds for a slot.

On SQLite an update's transaction holds the database's single write lock from
its first write (the dispatcher records every update id) until it commits, so a
handler that waits seconds for a job would make every other shop's update wait
as long. ``release_write_lock`` commits what the update has written so far
before such a wait; the rest of the update runs in a new transaction.

Domain errors raised in the child (``InvalidInput`` and its siblings) come back
as the same class with the same message id, so the dispatcher replies as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import weakref
from collections.abc import AsyncIterable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import DomainError, InvalidInput
from bot.i18n import N_

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_JOBS = 2
QUEUE_WAIT = 30.0
MEMORY_BUDGET = 1024 * 1024 * 1024
# Imported once by the fork server, so a job's child starts with them loaded.
PRELOAD = ("bot.crm.importer", "bot.crm.export", "bot.crm.charts", "charset_normalizer")
BUSY = N_("I'm busy with other large jobs right now; please try again in a minute.")
TOO_SLOW = N_(
    "That took longer than {seconds} seconds, so I stopped it. Please try a smaller one."
)
TOO_HEAVY = N_("That needed more memory than I allow for one job. Please try a smaller one.")

# Ends a feed; compared by value because it arrives unpickled as a new string.
_END = "\x00offload:end-of-feed\x00"
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class _Refused:
    """A domain error raised in the child, carried back by class name, key and params."""

    kind: str
    key: str
    params: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Crashed:
    """An unexpected exception in the child, carried back as its type and text."""

    kind: str
    text: str


class WorkerCrashed(RuntimeError):
    """Raised when a worker process failed unexpectedly (a bug, not a user's mistake)."""


async def run_in_process(
    fn: Callable[..., T],
    /,
    *args: Any,
    deadline: float,
    memory: int = MEMORY_BUDGET,
    feed: AsyncIterable[Any] | None = None,
) -> T:
    """Run ``fn(*args)`` in a fresh worker process and return its result.

    ``fn`` and its arguments and result must be picklable; ``fn`` must be a
    module-level function. With ``feed``, the call is ``fn(items, *args)``, where
    ``items`` iterates what ``feed`` yields here, sent over as it comes (the way
    an export streams rows from the database into a file being written there).

    Raises:
        InvalidInput: when no slot frees up in ``QUEUE_WAIT`` seconds, the job runs
            past ``deadline`` seconds, or it needs more than ``memory`` bytes.
        DomainError: whatever domain error ``fn`` raised, as the same class.
        WorkerCrashed: when ``fn`` failed with any other exception.
    """
    slots = _slots_of_loop()
    try:
        async with asyncio.timeout(QUEUE_WAIT):
            await slots.acquire()
    except TimeoutError as exc:
        raise InvalidInput(BUSY) from exc
    try:
        return await _run(fn, args, deadline=deadline, memory=memory, feed=feed)
    finally:
        slots.release()


async def release_write_lock(session: AsyncSession) -> None:
    """Commit the update's writes so far, so a long job does not hold SQLite's write lock.

    For handlers about to wait on heavy work. Only what is already done is
    committed (the update's id, so a crash now means the user sends it again);
    anything after runs in a new transaction that the dispatcher commits or
    rolls back as usual.
    """
    if session.in_transaction():
        await session.commit()


def _slots_of_loop() -> asyncio.Semaphore:
    # A semaphore belongs to one event loop; tests and benchmarks run several in turn.
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(MAX_JOBS)
    return slots


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


async def _run(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    *,
    deadline: float,
    memory: int,
    feed: AsyncIterable[Any] | None,
) -> T:
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    items, sender = context.Pipe(duplex=False) if feed is not None else (None, None)
    process = context.Process(
        target=_child,
        args=(writer, items, memory, fn, args),
        name=f"job-{fn.__name__}",
        daemon=True,
    )
    loop = asyncio.get_running_loop()
    # Starting talks to the fork server (and starts it the first time): not on the loop.
    await asyncio.to_thread(process.start)
    writer.close()
    if items is not None:
        items.close()
    feeding = asyncio.create_task(_send_all(feed, sender)) if feed and sender else None
    ready = asyncio.Event()
    loop.add_reader(reader.fileno(), ready.set)
    try:
        async with asyncio.timeout(deadline):
            await ready.wait()
            if feeding is not None:
                await feeding
        outcome = _receive(reader)
    except TimeoutError as exc:
        logger.warning("job %s killed after %.0f s", fn.__name__, deadline)
        raise InvalidInput(TOO_SLOW, seconds=round(deadline)) from exc
    finally:
        loop.remove_reader(reader.fileno())
        reader.close()
        if process.is_alive():
            process.kill()
        if feeding is not None and not feeding.done():
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
        await asyncio.to_thread(process.join, 10)
    if isinstance(outcome, _Refused):
        raise _domain_error(outcome)
    if isinstance(outcome, _Crashed):
        if outcome.kind == "MemoryError":
            raise InvalidInput(TOO_HEAVY)
        msg = f"job {fn.__name__} failed in its worker: {outcome.kind}: {outcome.text}"
        raise WorkerCrashed(msg)
    result: T = outcome
    return result


async def _send_all(feed: AsyncIterable[Any], sender: Connection) -> None:
    # Pickling and writing block when the child is busy; a thread keeps the loop free,
    # and the full pipe holds the feed back until the child has caught up.
    try:
        async for item in feed:
            await asyncio.to_thread(sender.send, item)
        await asyncio.to_thread(sender.send, _END)
    except (BrokenPipeError, ConnectionResetError):
        logger.info("a job's worker stopped reading its feed")  # its outcome says why
    finally:
        sender.close()


def _items(source: Connection) -> Iterator[Any]:
    while (item := source.recv()) != _END:
        yield item


def _receive(reader: Connection) -> Any:
    try:
        return reader.recv()
    except EOFError:
        # The child died without a word: killed by the kernel, usually for memory.
        logger.warning("a job's worker process exited without a result")
        return _Crashed("MemoryError", "no result")


def _domain_error(refused: _Refused) -> DomainError:
    kinds = {cls.__name__: cls for cls in _subclasses(DomainError)}
    return kinds.get(refused.kind, DomainError)(refused.key, **refused.params)


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


def _child(
    writer: Connection,
    items: Connection | None,
    memory: int,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    """Cap this process's memory, run the job and send back its result or error."""
    _limit_memory(memory)
    outcome: Any
    try:
        outcome = fn(_items(items), *args) if items is not None else fn(*args)
    except DomainError as exc:
        outcome = _Refused(type(exc).__name__, exc.key, dict(exc.params))
    except MemoryError:
        outcome = _Crashed("MemoryError", "")
    except Exception as exc:  # noqa: BLE001 - every failure must reach the parent
        logger.exception("job %s failed", getattr(fn, "__name__", "?"))
        outcome = _Crashed(type(exc).__name__, str(exc)[:500])
    with contextlib.suppress(BrokenPipeError):
        writer.send(outcome)
    writer.close()


def _limit_memory(budget: int) -> None:
    # The child starts as a copy of the fork server: allow what it has plus the budget.
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    size = pages * os.sysconf("SC_PAGE_SIZE") + budget
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    resource.setrlimit(resource.RLIMIT_AS, (size, hard))
