"""The scheduler: named jobs fire on their own, on the leader or everywhere, at an instant or
periodically, and survive a failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.crm.models import utcnow
from bot.scheduler import Scheduler


class Follower:
    """Leadership held by another process."""

    async def is_leader(self) -> bool:
        """Return False."""
        return False


async def test_every_fires_the_job_once_started() -> None:
    fired = asyncio.Event()

    async def job() -> None:
        fired.set()

    scheduler = Scheduler(clock=utcnow)
    scheduler.every("ping", 0.05, job)
    scheduler.start()
    try:
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        scheduler.shutdown()


async def test_jobs_run_only_on_the_leader() -> None:
    runs: list[str] = []

    async def job() -> None:
        runs.append("ran")

    follower = Scheduler(clock=utcnow, leadership=Follower())
    follower.every("ping", 60, job)
    assert await follower.tick("ping") is False
    leader = Scheduler(clock=utcnow)
    leader.every("ping", 60, job)
    assert await leader.tick("ping") is True
    assert runs == ["ran"]


async def test_a_failing_job_is_logged_and_the_next_tick_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    scheduler = Scheduler(clock=utcnow)
    scheduler.every("flaky", 60, job)
    assert await scheduler.tick("flaky")
    assert await scheduler.tick("flaky")
    assert calls == [1, 1]
    assert "job flaky failed" in caplog.text


async def test_a_job_for_every_process_runs_on_a_follower_too() -> None:
    runs: list[str] = []

    async def job() -> None:
        runs.append("ran")

    follower = Scheduler(clock=utcnow, leadership=Follower())
    follower.every("sync", 60, job, leader_only=False)
    assert await follower.tick("sync") is True
    assert runs == ["ran"]


async def test_once_plans_replaces_and_cancels_by_name() -> None:
    fired = asyncio.Event()

    async def job() -> None:
        fired.set()

    scheduler = Scheduler(clock=utcnow)
    later = utcnow() + timedelta(hours=1)
    scheduler.once("before-start", later, job)
    scheduler.every("sync", 60, job, at_start=False)
    scheduler.start()
    try:
        assert scheduler.planned().keys() == {"sync"}
        assert scheduler.planned()["sync"] > utcnow() + timedelta(seconds=50)
        scheduler.once("campaign:1", later, job)
        scheduler.once("campaign:1", later + timedelta(hours=1), job)
        assert scheduler.planned()["campaign:1"] == later + timedelta(hours=1)
        scheduler.cancel("campaign:1")
        scheduler.cancel("campaign:1")
        assert "campaign:1" not in scheduler.planned()
        scheduler.once("now", utcnow(), job)
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        await scheduler.stop(grace=1)
    assert scheduler.planned() == {}


def test_names_are_unique() -> None:
    async def job() -> None:
        return None

    scheduler = Scheduler(clock=utcnow)
    scheduler.every("a", 1, job)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.every("a", 1, job)
