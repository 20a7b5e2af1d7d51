"""Scale-out: inbound updates/s and uncapped delivery msg/s of 1, 2 and 4 workers on PostgreSQL.

Everything runs on this machine: PostgreSQL, the Bot API emulator, nginx
(``deploy/``'s configuration, see ``bench.cluster``) and N real ``python -m bot
run`` workers in webhook mode with ``scaleout.enabled``, each on its own
database made for the run.

Inbound: ``N`` members (3,000 by default) each send ``/help``, all queued in the
emulator before the workers start; the emulator then posts them through nginx,
up to ``max_connections`` (40) at once, one per chat at a time, as Telegram
does. The rate is the replies sent between the first read of the emulator's
count that finds some and the read that finds them all. Duplicates are members
who got more messages than the one answer. Uncapped delivery: a broadcast to
``M`` opted-in customers (10,000) sent by workers with no rate limit
(``bench.scaleout_worker``); msg/s from the first to the last ``sent_at``;
duplicates are chats that got the message more than once. Paced: ``P`` (3,000)
customers sent by 3 workers at Telegram's 30/s with the emulator in strict mode:
the share of the cap reached and the 429s (targets: >= 0.98, none).

For each run the CPU seconds each part used are read from ``/proc`` (workers,
their PostgreSQL backends, the emulator, nginx, and the whole machine with how
busy it was) and printed per 1,000 updates, so the database's share of the time
is seen, and whether the cores were all taken. Run:
``python -m bench.scaleout [inbound|delivery|paced ...] [--members=N] [--customers=M]
[--paced=P] [--framework=ptb|aiogram] [--workers=1,2,4]`` (inbound's worker counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bench import cluster, startup
from bench.broadcast import count_sent, emulator, gather_bounded, post
from bot.crm.store import create_engine

MEMBERS = 3000
CUSTOMERS = 10_000
INBOUND_WORKERS = (1, 2, 4)
DELIVERY_WORKERS = (1, 2)
PACED_WORKERS = 3
PACED = 3000
CAP = 30
FIRST_USER = 100_000
DEADLINE = 600.0
STEP = 0.1
RATIO_TARGET = 1.4
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One measured run: its rate, how many got more than their answer, and CPU by part."""

    rate: float
    done: int
    duplicates: int
    cpu: dict[str, float]
    refused: int = 0


async def main(
    parts: Sequence[str] = ("inbound", "delivery", "paced"),
    members: int = MEMBERS,
    customers: int = CUSTOMERS,
    paced: int = PACED,
    framework: str = "ptb",
    inbound_workers: Sequence[int] = INBOUND_WORKERS,
) -> None:
    """Measure inbound and delivery with 1, 2 (and 4) workers; print figures and ratios."""
    if cluster.nginx_binary() is None:
        print("scaleout: skipped, nginx is not installed (Debian: apt-get install nginx-light)")
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"scaleout: {framework}, webhook behind nginx, PostgreSQL, {cores} cores shared with "
        "the emulator, nginx and PostgreSQL",
        flush=True,
    )
    with emulator() as api:
        if "inbound" in parts:
            rates: dict[int, float] = {}
            for n in inbound_workers:
                got = await _inbound(api, n, members, framework)
                rates[n] = got.rate
                print(
                    f"  inbound  {n} worker{'s' if n > 1 else ' '}: {got.rate:6.0f} updates/s"
                    f" ({got.done} /help answered), duplicates {got.duplicates};"
                    f" {_cpu_line(got, members)}",
                    flush=True,
                )
            for n in inbound_workers:
                if n != 1 and 1 in rates:
                    print(f"  inbound  {n} / 1 workers: {rates[n] / rates[1]:.2f}x", flush=True)
            print(f"  (target: 2 workers >= {RATIO_TARGET}x one)", flush=True)
        if "paced" in parts:
            got = await _delivery(api, PACED_WORKERS, paced, framework, capped=True)
            print(
                f"  paced    {PACED_WORKERS} workers: {got.rate:6.2f} msg/s ({got.done} sent)"
                f" = {got.rate / CAP:.3f} of the {CAP}/s cap (strict mode), 429s {got.refused},"
                f" duplicates {got.duplicates}",
                flush=True,
            )
        if "delivery" in parts:
            sent: dict[int, float] = {}
            for n in DELIVERY_WORKERS:
                got = await _delivery(api, n, customers, framework)
                sent[n] = got.rate
                print(
                    f"  delivery {n} worker{'s' if n > 1 else ' '}: {got.rate:6.0f} msg/s"
                    f" ({got.done} sent), duplicates {got.duplicates};"
                    f" {_cpu_line(got, customers)}",
                    flush=True,
                )
            print(f"  delivery 2 / 1 workers: {sent[2] / sent[1]:.2f}x", flush=True)


def _cpu_line(run: Run, count: int) -> str:
    cpu = dict(run.cpu)
    busy, total = cpu.pop("machine", 0.0), cpu.pop("machine total", 0.0) or 1.0
    parts = ", ".join(f"{name} {sec / count * 1000:.2f}" for name, sec in sorted(cpu.items()))
    database = cpu.get("postgres", 0.0) / (sum(cpu.values()) or 1.0)
    return (
        f"CPU s per 1,000: {parts}, whole machine {busy / count * 1000:.2f}"
        f" (busy {busy / total:.0%}); database share {database:.0%}"
    )


async def _inbound(api: str, workers: int, members: int, framework: str) -> Run:
    users = range(FIRST_USER, FIRST_USER + members)
    async with cluster.pg_database() as url:
        await cluster.seed_shop(url, members=users)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=DEADLINE)
        async with aiohttp.ClientSession(api, connector=connector, timeout=timeout) as http:
            await post(http, "reset")
            await _make_users(http, users)
            async with _workers(api, url, workers, framework, "bot") as (pids, hook):
                # Every /help queued at once while the workers wait, as after an outage.
                await _paused(http)
                await gather_bounded(
                    [partial(post, http, "send", user_id=u, text="/help") for u in users]
                )
                before = _cpu(pids, url)
                await _resumed(http, hook)
                sent, first, last = await count_sent(http, members, deadline=DEADLINE, step=STEP)
                cpu = _spent(before, _cpu(pids, url))
            async with http.get("/_emulator/state") as got:
                chats = (await got.json())["users"]
        counts = [int(chat["message_count"]) for chat in chats if int(chat["id"]) in users]
        answered = sum(1 for c in counts if c >= 2)
        # Every /help gets the same answer: a chat holding more than the usual count got
        # some of it twice.
        usual = min(counts) if counts else 0
        duplicates = sum(1 for c in counts if c > usual)
        handled = await _scalar(url, "SELECT count(*) FROM processed_update")
    assert handled == members, f"{handled} updates handled of {members}"
    return Run(sent / (last - first) if last > first else 0.0, answered, duplicates, cpu)


async def _delivery(
    api: str, workers: int, customers: int, framework: str, *, capped: bool = False
) -> Run:
    users = range(FIRST_USER, FIRST_USER + customers)
    async with cluster.pg_database() as url:
        await cluster.seed_shop(url, customers=users)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=DEADLINE)
        async with aiohttp.ClientSession(api, connector=connector, timeout=timeout) as http:
            await post(http, "reset")
            await _make_users(http, users)
            module = "bot" if capped else "bench.scaleout_worker"
            await post(http, "strict", enabled=capped, global_per_second=CAP, chat_per_second=1)
            async with _workers(api, url, workers, framework, module) as (pids, _):
                before = _cpu(pids, url)
                await _execute(url, *(_CAPPED if capped else _BROADCAST))
                await _wait_reported(url)
                cpu = _spent(before, _cpu(pids, url))
            async with http.get("/_emulator/state") as got:
                chats = (await got.json())["users"]
            async with http.get("/_emulator/stats") as got:
                refused = int((await got.json())["too_many_requests_sent"])
            await post(http, "strict", enabled=False)
        twice = sum(1 for chat in chats if int(chat["message_count"]) > 1)
        first, last, sent = await _row(
            url,
            "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)),"
            " count(*) FROM outbox_message WHERE status = 'sent'",
        )
    rate = (int(sent) - 1) / (float(last) - float(first)) if sent and last > first else 0.0
    return Run(rate, int(sent), twice, cpu, refused)


# A one-off broadcast to every opted-in customer, as the campaign service writes one.
_CAPPED = (
    "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
    " status, created_at) VALUES (1, 'Bench', 'broadcast', 'holiday', '{}', '10:00',"
    " 'active', now())",
    "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key, status,"
    " paid_broadcast, scheduled_for, total, error_streak, created_at)"
    " VALUES (1, (SELECT max(id) FROM campaign), 'once', 'holiday', 'running', false, now(),"
    " 0, 0, now())",
)
_BROADCAST = (
    "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
    " status, created_at) VALUES (1, 'Bench', 'broadcast', 'holiday', '{}', '10:00',"
    " 'active', now())",
    "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key, status,"
    " paid_broadcast, scheduled_for, total, error_streak, created_at)"
    " VALUES (1, (SELECT max(id) FROM campaign), 'once', 'holiday', 'running', true, now(),"
    " 0, 0, now())",
)


@contextlib.asynccontextmanager
async def _workers(
    api: str, url: str, count: int, framework: str, module: str
) -> AsyncIterator[tuple[list[int], str]]:
    """Run nginx and ``count`` ready workers (``python -m MODULE``); yield their pids and URL."""
    ports = [cluster.free_port() for _ in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        async with cluster.nginx(Path(tmp) / "nginx", ports) as hook:
            procs = []
            try:
                for i, port in enumerate(ports):
                    env = startup.bot_environment(
                        api,
                        Path(tmp) / "unused.db",
                        framework,
                        Path(tmp),
                        **cluster.worker_env(api, url, port, hook, framework),
                    )
                    argv = [sys.executable, "-m", *module.split()]
                    if module == "bot":
                        argv.append("run")
                    log = (Path(tmp) / f"worker-{i}.log").open("wb")
                    procs.append(
                        await asyncio.create_subprocess_exec(
                            *argv, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
                        )
                    )
                    log.close()
                await _ready([Path(tmp) / f"worker-{i}.log" for i in range(count)])
                yield [proc.pid for proc in procs], hook
            finally:
                await asyncio.gather(*(startup.stop(proc) for proc in procs))


async def _ready(logs: list[Path]) -> None:
    """Wait until every worker has logged that it runs."""
    async with asyncio.timeout(60):
        while not all("is running" in log.read_text(errors="replace") for log in logs):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def _paused(http: aiohttp.ClientSession) -> None:
    """Take the webhook away (the updates stay queued), as if Telegram held them back."""
    await _bot_api(http, "deleteWebhook")


async def _resumed(http: aiohttp.ClientSession, hook: str) -> None:
    """Set the workers' webhook again: the queued updates go out at once."""
    await _bot_api(http, "setWebhook", url=hook, secret_token=cluster.WEBHOOK_SECRET)


async def _bot_api(http: aiohttp.ClientSession, method: str, **params: str) -> None:
    async with http.post(f"/bot{cluster.TOKEN}/{method}", json=params) as got:
        got.raise_for_status()


async def _make_users(http: aiohttp.ClientSession, users: range) -> None:
    await gather_bounded([partial(post, http, "users", id=u, first_name="U") for u in users])


async def _wait_reported(url: str) -> None:
    sql = "SELECT count(*) FROM campaign_run WHERE reported_at IS NOT NULL"
    async with asyncio.timeout(DEADLINE):
        while True:  # noqa: ASYNC110 - polling another process's database
            if await _scalar(url, sql):
                return
            await asyncio.sleep(0.25)


def _cpu(workers: list[int], url: str) -> dict[int, tuple[str, float]]:
    """Return the CPU seconds so far of every process that plays a part, by pid.

    Pid 0 holds the whole machine's busy and total CPU seconds (``/proc/stat``).
    """
    database = url.rsplit("/", 1)[1]
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    found: dict[int, tuple[str, float]] = {
        0: ("machine", (sum(ticks) - idle) / TICK),
        -1: ("machine total", sum(ticks) / TICK),
    }
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            raw = (entry / "cmdline").read_bytes()
            cmdline = raw.replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = None
        if pid in workers:
            role = "workers"
        elif cmdline.startswith("postgres:") and f" {database} " in cmdline:
            role = "postgres"
        elif cmdline.startswith("nginx"):
            role = "nginx"
        elif "-m bot emulator" in cmdline:
            role = "emulator"
        if role is not None:
            found[pid] = (role, (int(fields[11]) + int(fields[12])) / TICK)
    return found


def _spent(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    spent: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        spent[role] = spent.get(role, 0.0) + seconds - before.get(pid, (role, 0.0))[1]
    return spent


async def _scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(sql)) or 0)
    finally:
        await engine.dispose()


async def _row(url: str, sql: str) -> tuple[float, float, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            first, last, count = (await conn.execute(text(sql))).one()
    finally:
        await engine.dispose()
    return float(first or 0), float(last or 0), int(count or 0)


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for sql in statements:
                await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _arguments(
    argv: Sequence[str],
) -> tuple[tuple[str, ...], int, int, int, str, tuple[int, ...]]:
    every = ("inbound", "delivery", "paced")
    parts = tuple(a for a in argv if a in every) or every
    options = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    return (
        parts,
        int(options.get("members", MEMBERS)),
        int(options.get("customers", CUSTOMERS)),
        int(options.get("paced", PACED)),
        options.get("framework", "ptb"),
        tuple(int(n) for n in options.get("workers", "1,2,4").split(",")),
    )


if __name__ == "__main__":
    asyncio.run(main(*_arguments(sys.argv[1:])))
