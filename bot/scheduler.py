"""The scheduler: named periodic jobs on APScheduler, fired only by the elected leader.

Jobs keep no state of their own: each tick reads the database (due reminders,
due digests), so a restart rebuilds everything from the rows. ``Leadership``
is the seam for several workers on PostgreSQL (an advisory lock would elect
one); a single process is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

Job = Callable[[], Awaitable[None]]
Clock = Callable[[], datetime]
logger = logging.getLogger(__name__)


class Leadership(Protocol):
    """Decides whether this process fires jobs right now."""

    async def is_leader(self) -> bool:
        """Return True when this process may fire jobs."""
        ...


class SoleLeader:
    """Leadership for a single process: always the leader."""

    async def is_leader(self) -> bool:
        """Return True."""
        return True


class Scheduler:
    """Run named jobs every few seconds, one instance of each at a time."""

    def __init__(self, clock: Clock, leadership: Leadership | None = None) -> None:
        self._clock = clock
        self._leadership: Leadership = leadership or SoleLeader()
        self._jobs: dict[str, tuple[float, Job]] = {}
        self._aps: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Register ``job`` to run every ``seconds`` once the scheduler starts."""
        if name in self._jobs:
            msg = f"job {name!r} is already registered"
            raise ValueError(msg)
        self._jobs[name] = (seconds, job)
        if self._aps is not None:
            self._add(name, seconds)

    def start(self) -> None:
        """Start firing the registered jobs (needs a running event loop)."""
        self._aps = AsyncIOScheduler(timezone="UTC")
        for name, (seconds, _) in self._jobs.items():
            self._add(name, seconds)
        self._aps.start()
        logger.info("scheduler started with %d jobs", len(self._jobs))

    def shutdown(self) -> None:
        """Stop firing jobs; APScheduler cancels the ones running."""
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None

    async def stop(self, grace: float) -> None:
        """Stop firing jobs; let running ones finish for ``grace`` seconds, then cancel them."""
        if self._aps is not None and self._aps.running:
            self._aps.pause()
        await finish_running(self._running, grace)
        self.shutdown()

    async def tick(self, name: str) -> bool:
        """Run one job now if this process is the leader; return whether it ran."""
        with running_in(self._running):
            if not await self._leadership.is_leader():
                return False
            try:
                await self._jobs[name][1]()
            except Exception:
                logger.exception("job %s failed", name)
            return True

    def _add(self, name: str, seconds: float) -> None:
        assert self._aps is not None  # noqa: S101 - called after start()
        self._aps.add_job(
            self.tick,
            "interval",
            args=[name],
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=self._clock(),
        )


@contextlib.contextmanager
def running_in(tasks: set[asyncio.Task[object]]) -> Iterator[None]:
    """Keep the current task in ``tasks`` while the block runs (for ``finish_running``)."""
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - always called from a task
        yield
        return
    tasks.add(task)
    try:
        yield
    finally:
        tasks.discard(task)


async def finish_running(tasks: set[asyncio.Task[object]], grace: float) -> None:
    """Wait up to ``grace`` seconds for ``tasks``, then cancel what is left and let it unwind.

    A job cut short is safe to cut: jobs keep no state, and the next tick starts again
    from the rows. The unwinding is bounded too (one second), so stopping never hangs.
    """
    mine = asyncio.current_task()
    running = {task for task in tasks if not task.done() and task is not mine}
    if not running:
        return
    _, left = await asyncio.wait(running, timeout=grace)
    if left:
        logger.warning("stopping: cancelling %d jobs still running", len(left))
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=1.0)
