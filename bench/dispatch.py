"""Dispatcher throughput: updates handled per second on SQLite, replies to an in-memory port.

Measures the bot's own cost per update (transaction, membership lookup, routing,
reply rendering) without the network, as `/help` from members and `/start` from
new customers. Run: ``python -m bench.dispatch [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm import invites, members, migrate, workspaces
from bot.crm.models import Role, utcnow
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from bot.handlers import ROUTERS
from bot.messaging import BotCommand, CommandScope, Incoming, Keyboard, Kind, SentMessage, User


class CountingMessenger:
    """A Messenger that only counts what it is asked to send."""

    username = "BenchBot"

    def __init__(self) -> None:
        self.sent = 0

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Keyboard = (),
        *,
        paid_broadcast: bool = False,
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        self.sent += 1
        self.seen(chat_id, text, buttons)
        return SentMessage(chat_id, self.sent)

    def seen(self, chat_id: int, text: str, buttons: Keyboard) -> None:
        """Hook for benchmarks that look at what was sent; this one only counts."""

    async def copy_message(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        caption: str | None = None,
        buttons: Keyboard = (),
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        self.sent += 1
        return SentMessage(chat_id, self.sent)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        self.sent += 1

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        return SentMessage(chat_id, 0)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        return SentMessage(chat_id, 0)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        return None

    async def download(self, file_id: str) -> bytes:
        return b""

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        return None


async def main(n: int = 2000) -> None:
    """Seed a shop, then time ``n`` /help updates from its owner and ``n`` joins by link."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate.upgrade_async(url)
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        async with unit_of_work(sessions) as session:
            ws = await workspaces.create_workspace(
                session, name="Bench Tea", timezone="Asia/Shanghai", locale="en", region="CN"
            )
            issued = await invites.issue_invite(
                session,
                workspace_id=ws.id,
                role=Role.OWNER,
                now=utcnow(),
                ttl=timedelta(hours=1),
                actor=None,
            )
            await members.join_with_invite(
                session, code=issued.code, tg_user_id=1, chat_id=1, display_name="O", now=utcnow()
            )
        dispatcher = Dispatcher(sessions, AppInfo(), clock=utcnow, routers=ROUTERS)
        messenger = CountingMessenger()
        for label, make in (
            ("/help from a member", lambda i: _command(i, 1, "help", "")),
            (
                "/start w_<slug> from new customers",
                lambda i: _command(i, 10_000 + i, "start", f"w_{ws.slug}"),
            ),
        ):
            offset = 100_000 if "start" in label else 0
            started = time.perf_counter()
            await asyncio.gather(*(dispatcher(make(offset + i), messenger) for i in range(n)))
            elapsed = time.perf_counter() - started
            print(f"{label:40s} {n / elapsed:8.0f} updates/s  ({elapsed * 1000 / n:.2f} ms each)")
        await engine.dispose()


def _command(update_id: int, user_id: int, command: str, args: str) -> Incoming:
    return Incoming(
        update_id=update_id + 1,
        kind=Kind.COMMAND,
        chat_id=user_id,
        user=User(id=user_id, first_name="Bench"),
        text=f"/{command} {args}".strip(),
        command=command,
        args=args,
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
