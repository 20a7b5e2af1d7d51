"""The scheduler: named periodic jobs on APScheduler, fired only by the elected leader.

Jobs keep no state of their own: each tick reads the database (due reminders,
due digests), so a restart rebuilds everything from the rows. ``Leadership``
is the seam for several workers on PostgreSQL (an advisory lock would elect
one); a single process is always the leader.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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
        """Stop firing jobs; a running job finishes on its own."""
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None

    async def tick(self, name: str) -> bool:
        """Run one job now if this process is the leader; return whether it ran."""
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
