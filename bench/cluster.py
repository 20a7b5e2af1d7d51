"""Several bot workers on one PostgreSQL database behind nginx, for benchmarks and tests.

The nginx configuration is made from the one in ``deploy/``: the webhook location
(``deploy/nginx-scaleout-webhook.conf``) as it is, and the upstream of
``deploy/nginx-scaleout.conf`` with its server parameters kept and its addresses
replaced by the workers' ports. nginx runs as an unprivileged foreground process
(``nginx -p DIR -c CONF -g 'daemon off;'``) with its pid, logs and temporary files
in a directory of its own, listening on a free loopback port. Each run gets a
PostgreSQL database of its own (``scaleout_<random>``), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.crm import migrate, workspaces
from bot.crm.models import Consent, Customer, Member, Role
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PG_ADMIN_DSN = os.environ.get(
    "SCRM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
WEBHOOK_PATH = "/telegram/webhook"
TOKEN = "123456789:AAsandbox-token-for-local-testing_only"  # noqa: S105 - the emulator's
WEBHOOK_SECRET = "scaleout-Webhook_secret"  # noqa: S105 - the emulator's, for loopback
# The upstream's server lines in deploy/nginx-scaleout.conf: address, then parameters.
_SERVER = re.compile(r"^\s*server\s+\S+(?P<params>[^;]*);", re.MULTILINE)
_UPSTREAM = re.compile(r"upstream scrm_workers \{(?P<body>.*?)\n\}", re.DOTALL)


class Unavailable(RuntimeError):
    """Raised when nginx or PostgreSQL is not there; the message says which and why."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str | None:
    """Return the path of nginx (Debian puts it in /usr/sbin), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def nginx_config(prefix: Path, listen: int, workers: Sequence[int]) -> str:
    """Return an nginx.conf in front of ``workers`` (ports), listening on 127.0.0.1:``listen``."""
    production = (DEPLOY / "nginx-scaleout.conf").read_text()
    upstream = _UPSTREAM.search(production)
    if upstream is None:
        msg = "deploy/nginx-scaleout.conf has no 'upstream scrm_workers' block"
        raise ValueError(msg)
    body = upstream.group("body")
    server = _SERVER.search(body)
    params = server.group("params") if server else ""
    lines = [line for line in body.splitlines() if not _SERVER.match(line)]
    lines += [f"    server 127.0.0.1:{port}{params};" for port in workers]
    location = (DEPLOY / "nginx-scaleout-webhook.conf").read_text()
    # As root, nginx's worker processes would drop to "nobody", who cannot write here.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    joined = "\n".join(lines)
    return (
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\n"
        "events {\n    worker_connections 1024;\n}\n"
        f"http {{\n    access_log off;\n{temp}\n"
        f"    upstream scrm_workers {{{joined}\n    }}\n"
        f"    server {{\n        listen 127.0.0.1:{listen};\n{location}\n    }}\n}}\n"
    )


@contextlib.asynccontextmanager
async def nginx(prefix: Path, workers: Sequence[int]) -> AsyncIterator[str]:
    """Run nginx in front of ``workers``; yield the webhook URL Telegram is to post to.

    Raises:
        Unavailable: when nginx is not installed.
    """
    binary = nginx_binary()
    if binary is None:
        msg = "nginx is not installed (Debian: apt-get install nginx-light)"
        raise Unavailable(msg)
    listen = free_port()
    conf = await asyncio.to_thread(_write_config, prefix, listen, workers)
    proc = await asyncio.create_subprocess_exec(
        binary,
        "-p",
        str(prefix),
        "-c",
        str(conf),
        "-g",
        "daemon off;",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_listening(listen, proc)
        yield f"http://127.0.0.1:{listen}{WEBHOOK_PATH}"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)  # nginx's fast shutdown
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _write_config(prefix: Path, listen: int, workers: Sequence[int]) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, listen, workers))
    return conf


async def _wait_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(10):
        while True:
            if proc.returncode is not None:
                assert proc.stderr is not None
                err = (await proc.stderr.read()).decode(errors="replace")
                msg = f"nginx exited: {err}"
                raise RuntimeError(msg)
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _admin() -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(
        PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://", 1),
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": 3},
    )
    try:
        try:
            conn = await engine.connect()
        except (OSError, SQLAlchemyError, TimeoutError) as exc:
            msg = f"PostgreSQL not reachable at {PG_ADMIN_DSN} ({exc.__class__.__name__})"
            raise Unavailable(msg) from exc
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """Create and migrate a database of its own; yield its SQLAlchemy URL; drop it after.

    Raises:
        Unavailable: when PostgreSQL does not answer.
    """
    name = f"scaleout_{secrets.token_hex(4)}"
    async with _admin() as admin:
        await admin.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    try:
        await migrate.upgrade_async(url)
        yield url
    finally:
        async with _admin() as admin:
            await admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def plain_dsn(url: str) -> str:
    """Return the asyncpg DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def worker_env(
    api: str, url: str, port: int, hook: str, framework: str = "ptb", **extra: str
) -> dict[str, str]:
    """Return the SCRM_ settings of one worker: webhook via ``hook``, listening on ``port``."""
    return {
        "SCRM_TELEGRAM__TOKEN": TOKEN,
        "SCRM_TELEGRAM__FRAMEWORK": framework,
        "SCRM_TELEGRAM__MODE": "webhook",
        "SCRM_TELEGRAM__API_BASE_URL": api,
        "SCRM_TELEGRAM__WEBHOOK_URL": hook,
        "SCRM_TELEGRAM__WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "SCRM_TELEGRAM__WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SCRM_DATABASE__URL": url,
        "SCRM_SCALEOUT__ENABLED": "true",
        "SCRM_OPS__LISTEN": "",
        **extra,
    }


async def seed_shop(
    url: str, *, members: Iterable[int] = (), customers: Iterable[int] = ()
) -> None:
    """Make one shop (no quiet hours) with staff ``members`` and opted-in ``customers``.

    Both are Telegram user ids; everyone's chat id is their user id. The owner is user 1.
    """
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            shop = await workspaces.create_workspace(
                session, name="Scale Tea", timezone="Asia/Shanghai", locale="en", region="CN"
            )
            shop.quiet_start = shop.quiet_end = "00:00"
            await session.flush()
            staff = [(1, Role.OWNER)] + [(m, Role.STAFF) for m in members]
            await session.execute(
                insert(Member),
                [
                    {
                        "workspace_id": shop.id,
                        "tg_user_id": tg,
                        "chat_id": tg,
                        "role": role,
                        "display_name": f"Rep {tg}",
                        "referral_code": f"ref{tg}",
                        "active": True,
                    }
                    for tg, role in staff
                ],
            )
            rows = [
                {
                    "workspace_id": shop.id,
                    "name": f"Guest{c} Tan",
                    "tg_user_id": c,
                    "chat_id": c,
                    "consent": Consent.OPTED_IN,
                    "created_at": now,
                }
                for c in customers
            ]
            if rows:
                await session.execute(insert(Customer), rows)
    finally:
        await engine.dispose()
