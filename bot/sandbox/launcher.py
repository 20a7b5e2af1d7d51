"""Sandbox mode: start the emulator as its own process, seed a workspace, run the bot on it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import serve
from bot.config import Settings
from bot.crm import invites, migrate, workspaces
from bot.crm.models import Member, Role, Workspace, utcnow
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from bot.sandbox.demo import JOINED, PEOPLE, seed_demo
from bot.sandbox.server import EmulatorConfig

DEMO_NAME = "Demo Tea House"
LISTENING = re.compile(rb"listening on (http://\S+)")


async def run_sandbox(settings: Settings, stop: asyncio.Event, *, demo: bool = True) -> None:
    """Run the emulator and the bot against it until ``stop`` is set.

    With ``demo`` an empty database first gets the demo shop (team, customers,
    purchases, follow-ups); without it, an empty shop and an owner invite.
    """
    config = EmulatorConfig(bot_username=settings.sandbox.bot_username)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--state-file",
        str(chats_file(settings)),
        "--host",
        settings.sandbox.host,
        "--port",
        str(settings.sandbox.port),
        "--token",
        config.token,
        "--bot-username",
        config.bot_username,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        url = await _emulator_url(proc)
        local = settings.model_copy(
            update={
                "telegram": settings.telegram.model_copy(
                    update={"api_base_url": url, "mode": "polling", "poll_timeout": 10}
                )
            }
        )
        owner_link = await _seed(local, demo=demo)
        await _open_persona_chats(url)
        _print_help(url, config.bot_username, owner_link)
        await serve(local, token=config.token, stop=stop)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


def chats_file(settings: Settings) -> Path:
    """Return where the web chat's people and messages are kept: beside a SQLite database."""
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.name + ".chats.json")
    return Path(settings.sandbox.data_dir) / "chats.json"


async def _emulator_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None  # noqa: S101 - created with a pipe
    async with asyncio.timeout(30):
        while line := await proc.stdout.readline():
            if match := LISTENING.search(line):
                return match.group(1).decode()
    msg = "the Bot API emulator did not start (is the sandbox port already in use?)"
    raise RuntimeError(msg)


async def _open_persona_chats(url: str) -> None:
    """Create the web chat's people in the emulator, so the bot can write to them at once.

    The shop's reminders and digests then land in chats the page shows, rather
    than failing with "chat not found" before anyone opened the page.
    """
    people = [(uid, name) for uid, _, name in PEOPLE]
    people += [(uid, name.split()[0]) for uid, name in JOINED]
    async with aiohttp.ClientSession() as http:
        for uid, first_name in people:
            body = {"id": uid, "first_name": first_name}
            async with http.post(f"{url}/_emulator/users", json=body) as response:
                response.raise_for_status()


async def _seed(settings: Settings, *, demo: bool) -> str | None:
    """Create the shop on first run; return an owner invite payload while it has no owner."""
    url = settings.database.url
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            workspace = await session.scalar(select(Workspace).order_by(Workspace.id).limit(1))
            if workspace is None and demo:
                workspace = (await seed_demo(session, now=utcnow())).workspace
            if workspace is None:
                workspace = await workspaces.create_workspace(
                    session, name=DEMO_NAME, timezone="Asia/Shanghai", locale="en", region="CN"
                )
            has_owner = await session.scalar(
                select(Member.id).where(
                    Member.workspace_id == workspace.id, Member.role == Role.OWNER
                )
            )
            if has_owner:
                return None
            issued = await invites.issue_invite(
                session,
                workspace_id=workspace.id,
                role=Role.OWNER,
                now=utcnow(),
                ttl=timedelta(days=30),
                actor=None,
            )
            return f"inv_{issued.code}"
    finally:
        await engine.dispose()


def _print_help(url: str, username: str, owner_payload: str | None) -> None:
    who = (
        "the owner starts with the invite below."
        if owner_payload
        else "Owner Wang, reps Li and Chen, customers Zhao and Sun are ready; try /help or /today."
    )
    lines = [
        f"Open the web chat: {url}/",
        f"  Be the owner, a rep or a customer there; {who}",
        f"Bot API emulator: {url}  (control API under {url}/_emulator/)",
        "Talk to the bot as a Telegram user with id 1001:",
    ]
    if owner_payload:
        lines.append(
            f"  curl -s {url}/_emulator/send -H 'content-type: application/json' "
            f'-d \'{{"user_id": 1001, "text": "/start {owner_payload}"}}\''
        )
        lines.append(f"  (that is the owner invite https://t.me/{username}?start={owner_payload})")
    lines += [
        f"  curl -s {url}/_emulator/send -H 'content-type: application/json' "
        '-d \'{"user_id": 1001, "text": "/help"}\'',
        "Read the bot's replies in that chat:",
        f"  curl -s {url}/_emulator/chats/1001/messages",
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201 - the sandbox talks to a person
