"""The scheduler: named jobs on APScheduler, periodic or at an instant, one run of each at a time.

Jobs keep no state of their own: each tick reads the database (due reminders,
due digests, campaigns' next occurrences), so a restart rebuilds everything from
the rows. Periodic jobs fire only on the elected leader unless registered for
every process. ``Leadership`` is the seam for several workers on PostgreSQL (an
advisory lock elects one); a single process is always the leader. Both the
jobs' scheduler and the campaign scheduler run on this one wrapper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_SUBMITTED,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.base import STATE_RUNNING  # type: ignore[import-untyped]

from bot.metrics import METRICS

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


@dataclass(frozen=True, slots=True)
class _Periodic:
    seconds: float
    job: Job
    leader_only: bool
    at_start: bool


class Scheduler:
    """Run named jobs every few seconds or at an instant, one instance of each at a time."""

    def __init__(self, clock: Clock, leadership: Leadership | None = None) -> None:
        self._clock = clock
        self._leadership: Leadership = leadership or SoleLeader()
        self._jobs: dict[str, _Periodic] = {}
        self._aps: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()

    def every(
        self,
        name: str,
        seconds: float,
        job: Job,
        *,
        leader_only: bool = True,
        at_start: bool = True,
    ) -> None:
        """Register ``job`` to run every ``seconds`` once the scheduler starts.

        ``leader_only=False`` runs it on every process; ``at_start=False`` waits one
        interval before the first run instead of running it at once.
        """
        if name in self._jobs:
            msg = f"job {name!r} is already registered"
            raise ValueError(msg)
        self._jobs[name] = _Periodic(seconds, job, leader_only, at_start)
        if self._aps is not None:
            self._add(name)

    def once(self, name: str, when: datetime, job: Job) -> None:
        """Run ``job`` at ``when`` on every process, replacing a plan of that name.

        Nothing is planned before the scheduler starts: whoever plans at an instant
        plans again from the rows when it starts.
        """
        if self._aps is not None:
            self._aps.add_job(
                self._run,
                "date",
                run_date=when,
                args=[name, job, False],
                id=name,
                replace_existing=True,
                max_instances=1,
                misfire_grace_time=None,
            )

    def cancel(self, name: str) -> None:
        """Drop what is planned under ``name``, if anything."""
        if self._aps is not None and self._aps.get_job(name) is not None:
            self._aps.remove_job(name)

    def planned(self) -> dict[str, datetime]:
        """Return the next run of every planned job by name (nothing before the start)."""
        if self._aps is None:
            return {}
        return {job.id: job.next_run_time for job in self._aps.get_jobs()}

    def start(self) -> None:
        """Start firing the registered jobs (needs a running event loop)."""
        self._aps = AsyncIOScheduler(timezone="UTC")
        for name in self._jobs:
            self._add(name)
        self._aps.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        self._aps.start()
        logger.info("scheduler started with %d jobs", len(self._jobs))

    @property
    def running(self) -> bool:
        """Return True while jobs are being fired (started, not paused or shut down)."""
        return self._aps is not None and self._aps.state == STATE_RUNNING

    def _submitted(self, event: JobSubmissionEvent) -> None:
        planned = getattr(event, "scheduled_run_times", None) or []
        if planned:
            lag = (self._clock() - max(planned)).total_seconds()
            METRICS.scheduler_lag.observe(max(lag, 0.0))

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
        """Run one registered job now (a leader-only one only on the leader); return if it ran."""
        periodic = self._jobs[name]
        return await self._run(name, periodic.job, periodic.leader_only)

    async def _run(self, name: str, job: Job, leader_only: bool) -> bool:
        with running_in(self._running):
            if leader_only and not await self._leadership.is_leader():
                return False
            try:
                await job()
            except Exception:
                # No immediate retry (it could spin): the next tick, or the next plan
                # made from the rows, runs it again.
                logger.exception("job %s failed", name)
            return True

    def _add(self, name: str) -> None:
        assert self._aps is not None  # noqa: S101 - called after start()
        periodic = self._jobs[name]
        # APScheduler's default first run is one interval from now.
        first = {"next_run_time": self._clock()} if periodic.at_start else {}
        self._aps.add_job(
            self.tick,
            "interval",
            args=[name],
            seconds=periodic.seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            **first,
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
