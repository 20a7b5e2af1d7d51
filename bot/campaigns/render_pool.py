"""The render pool: worker processes that fill in admin-written templates under a hard time limit.

The sandbox bounds every construct it knows about, but its deadline is only
checked between operations, and one Python call can run for hours. So the
bot never renders admin-written text on its event loop: a few worker
processes (``render_worker``) do, fed a batch of recipients at a time. Each
recipient's answer streams back as soon as it is ready; one that takes longer
than ``row_seconds`` gets its worker killed (SIGKILL) and replaced, that
recipient is failed as ``SLOW``, and so is the rest of the batch that uses
the same text (rendering it again would only hang again). Every wait here has
a bound, and ``close()`` ends every worker within a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from bot.campaigns import templates
from bot.errors import DomainError, InvalidInput, TemplateError
from bot.i18n import LOCALES, N_

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
WORKER = (sys.executable, "-m", "bot.campaigns.render_worker")
# A recipient's render normally takes well under a millisecond; the sandbox's own
# deadline (half of this) stops slow ones with their reason first.
ROW_SECONDS = 1.0
# However many recipients a batch has, it is answered (or given back) within this.
BATCH_SECONDS = 20.0
# A fresh worker imports Jinja2 and Babel: well under a second, more on a busy machine.
START_SECONDS = 15.0
# How long a render waits for a free worker before giving up (busy, or cannot start).
WAIT_SECONDS = 10.0
# How long close() gives a worker to exit on end-of-input before it is killed.
EXIT_SECONDS = 1.0
# A killed process is gone at once; this only bounds waiting for the kernel to say so.
REAP_SECONDS = 2.0
READ_CHUNK = 1 << 16
# The longest answer line a worker may send (a 4,096-character message, JSON-escaped).
MAX_LINE = 1 << 20

TIMED_OUT = N_(
    "The template takes too long to fill in, so it was stopped. "
    "Keep it simpler: fewer loops, filters and calculations."
)
BUSY = N_("Templates can't be checked right now. Please try again in a minute.")


class Problem(StrEnum):
    """Why a recipient got no text: the template failed, ran too long, or was not tried."""

    ERROR = "error"
    SLOW = "slow"
    LATER = "later"


@dataclass(frozen=True, slots=True)
class Failure:
    """A recipient without text: the reason (a message id) and what kind of problem it was."""

    reason: str
    problem: Problem
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """One recipient to render: the template text and their variables."""

    source: str
    variables: Mapping[str, object]


Result = str | Failure


class RenderUnavailable(DomainError):
    """Raised when no render worker can be had in time; the admin may simply try again."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class RenderPool:
    """A few render worker processes shared by previews, saves and campaign delivery."""

    def __init__(
        self,
        *,
        workers: int = 2,
        row_seconds: float = ROW_SECONDS,
        batch_seconds: float = BATCH_SECONDS,
        start_seconds: float = START_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        command: Sequence[str] = WORKER,
    ) -> None:
        if workers < 1:
            msg = f"a render pool needs at least one worker, not {workers}"
            raise ValueError(msg)
        self._row_seconds = row_seconds
        self._batch_seconds = batch_seconds
        self._start_seconds = start_seconds
        self._wait_seconds = wait_seconds
        self._all = [_Worker([*command, str(os.getpid())]) for _ in range(workers)]
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        for worker in self._all:
            self._idle.put_nowait(worker)
        self._closed = False
        self._starting: set[asyncio.Task[None]] = set()
        self.killed = 0

    async def start(self) -> None:
        """Start every worker now rather than at the first render (each start is bounded)."""
        await asyncio.gather(
            *(w.ensure_started(self._start_seconds) for w in self._all), return_exceptions=True
        )

    async def close(self) -> None:
        """End every worker: end of input, then SIGKILL for those that do not exit at once."""
        self._closed = True
        for task in self._starting:
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        await asyncio.gather(*(w.close() for w in self._all), return_exceptions=True)

    def pids(self) -> list[int]:
        """Return the process ids of the workers running now (for health checks and tests)."""
        return [pid for w in self._all if (pid := w.pid) is not None]

    async def render(self, jobs: Sequence[Job]) -> list[Result]:
        """Render a batch; a recipient without text gets a ``Failure`` saying why. Never raises."""
        results: list[Result | None] = [None] * len(jobs)
        slow: set[str] = set()
        pending = list(range(len(jobs)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._batch_seconds
        while pending:
            worker = await self._acquire(deadline)
            if worker is None:
                break
            sources = sorted({jobs[i].source for i in pending})
            index = {source: n for n, source in enumerate(sources)}
            request = {
                "sources": sources,
                "rows": [[index[jobs[i].source], dict(jobs[i].variables)] for i in pending],
            }
            try:
                answers, stop = await worker.run(request, self._row_seconds, deadline)
            except BaseException:
                # Cancelled mid-batch: the worker's answers would be out of step; replace it.
                await worker.kill()
                self._idle.put_nowait(worker)
                raise
            for i, answer in zip(pending, answers, strict=False):
                results[i] = answer
            if stop is None:
                self._idle.put_nowait(worker)
                break
            await worker.kill()
            self.killed += 1
            self._replace(worker)
            rest = pending[len(answers) :]
            if stop is _Stop.LATE:
                logger.warning(
                    "render batch ran past %.0f s: %d rows left", self._batch_seconds, len(rest)
                )
                break
            culprit = rest[0]
            slow.add(jobs[culprit].source)
            problem, reason = (
                (Problem.SLOW, TIMED_OUT)
                if stop is _Stop.STALLED
                else (Problem.ERROR, templates.FAILED)
            )
            logger.warning("render worker %s on row %d of a batch: killed", stop.value, culprit)
            results[culprit] = Failure(reason, problem)
            pending = []
            for i in rest[1:]:
                if jobs[i].source in slow:
                    results[i] = Failure(reason, problem)
                else:
                    pending.append(i)
        return [r if r is not None else Failure(BUSY, Problem.LATER) for r in results]

    async def render_one(self, source: str, variables: Mapping[str, object]) -> str:
        """Render one message (a preview, a confirmation).

        Raises:
            TemplateError: when the template fails or runs too long for these values.
            RenderUnavailable: when no worker could be had in time.
        """
        (result,) = await self.render([Job(source, variables)])
        if isinstance(result, str):
            return result
        if result.problem is Problem.LATER:
            raise RenderUnavailable
        raise TemplateError(result.reason)

    async def check(self, source: str) -> str:
        """Check a text as saving does: the rules, then the sample customer in every language.

        Returns the text with Unix line ends.

        Raises:
            InvalidInput: naming what is wrong, including a render that runs too long.
            RenderUnavailable: when no worker could be had in time.
        """
        source = templates.check_source(source)
        jobs = [Job(source, templates.sample_variables(locale)) for locale in LOCALES]
        for result in await self.render(jobs):
            if isinstance(result, str):
                continue
            if result.problem is Problem.LATER:
                raise RenderUnavailable
            raise InvalidInput(result.reason, **result.params)
        return source

    def _replace(self, worker: _Worker) -> None:
        """Start a killed worker's successor now, so the next render does not wait for it."""
        self._idle.put_nowait(worker)
        if self._closed:
            return
        task = asyncio.create_task(self._start_quietly(worker), name="render-worker-start")
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start_quietly(self, worker: _Worker) -> None:
        try:
            await worker.ensure_started(self._start_seconds)
        except (OSError, TimeoutError, ValueError, _WorkerGone):
            logger.warning("replacement render worker did not start; retried at the next render")

    async def _acquire(self, deadline: float) -> _Worker | None:
        if self._closed:
            return None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self._wait_seconds)):
                worker = await self._idle.get()
        except TimeoutError:
            logger.warning("no render worker free within %.0f s", self._wait_seconds)
            return None
        try:
            await worker.ensure_started(self._start_seconds)
        except (OSError, TimeoutError, ValueError, _WorkerGone):
            logger.exception("render worker did not start")
            await worker.kill()
            self._idle.put_nowait(worker)
            return None
        except BaseException:
            self._idle.put_nowait(worker)
            raise
        if self._closed:
            self._idle.put_nowait(worker)
            return None
        return worker


class _Stop(StrEnum):
    STALLED = "stalled"
    DIED = "died"
    LATE = "late"


class _WorkerGone(Exception):
    """The worker exited or answered out of protocol."""


class _Worker:
    """One worker process: started on demand, fed one request at a time, killed on overrun."""

    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)
        self._proc: asyncio.subprocess.Process | None = None
        self._buffer = bytearray()
        # A replacement may be starting in the background when a render takes this worker.
        self._starting = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """Return the process id while the process runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def ensure_started(self, seconds: float) -> None:
        async with self._starting:
            if self._proc is not None and self._proc.returncode is None:
                return
            await self._start(seconds)

    async def _start(self, seconds: float) -> None:
        await self.kill()
        self._buffer.clear()
        async with asyncio.timeout(seconds):
            self._proc = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=ROOT,
                env=_worker_env(),
            )
            line = await self._read_line()
        if line is None or json.loads(line) != {"ready": True}:
            raise _WorkerGone

    async def run(
        self, request: Mapping[str, object], row_seconds: float, deadline: float
    ) -> tuple[list[Result], _Stop | None]:
        """Send one request and collect answers until all came or the worker overran."""
        proc = self._proc
        assert proc is not None  # noqa: S101 - started by _acquire
        assert proc.stdin is not None  # noqa: S101 - a pipe
        rows = request["rows"]
        assert isinstance(rows, list)  # noqa: S101 - built by RenderPool.render
        answers: list[Result] = []
        loop = asyncio.get_running_loop()
        moved = loop.time()
        try:
            async with asyncio.timeout_at(min(deadline, moved + row_seconds)) as limit:
                proc.stdin.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
                await proc.stdin.drain()
                while len(answers) < len(rows):
                    line = await self._read_line()
                    if line is None:
                        return answers, _Stop.DIED
                    answers.append(_result(json.loads(line)))
                    now = loop.time()
                    if now - moved > row_seconds / 10:
                        # Progress: the next row gets (nearly) its full allowance. Moving the
                        # timer only now and then keeps it off the per-row cost.
                        moved = now
                        limit.reschedule(min(deadline, now + row_seconds))
        except TimeoutError:
            return answers, _Stop.LATE if loop.time() >= deadline else _Stop.STALLED
        except (ConnectionError, _WorkerGone, ValueError):
            return answers, _Stop.DIED
        return answers, None

    async def kill(self) -> None:
        """SIGKILL the process (if any) and reap it, waiting a bounded time."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await _reap(proc)

    async def close(self) -> None:
        """Let an idle worker exit on end of input; kill it when it does not at once."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_SECONDS):
                await proc.wait()
        await self.kill()

    async def _read_line(self) -> bytes | None:
        """Return the next answer line, or None at end of output."""
        proc = self._proc
        assert proc is not None  # noqa: S101 - started
        assert proc.stdout is not None  # noqa: S101 - a pipe
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_LINE:
                raise _WorkerGone
            chunk = await proc.stdout.read(READ_CHUNK)
            if not chunk:
                return None
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line


def _result(answer: object) -> Result:
    match answer:
        case [1, str(text)]:
            return text
        case [0, str(reason), dict(params)]:
            problem = Problem.SLOW if reason == templates.TOO_SLOW else Problem.ERROR
            return Failure(reason, problem, params)
    raise _WorkerGone


async def _reap(proc: asyncio.subprocess.Process) -> None:
    try:
        async with asyncio.timeout(REAP_SECONDS):
            await proc.wait()
    except TimeoutError:
        logger.warning("render worker %d did not exit after SIGKILL", proc.pid)


def _worker_env() -> dict[str, str]:
    """Return the worker's environment: enough to run Python, no bot settings or secrets."""
    env = {"PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    for name in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
