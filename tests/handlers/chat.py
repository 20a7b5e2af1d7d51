"""In-process chats: the dispatcher on a real SQLite file, replies kept by a recording messenger.

People here have the API of ``tests/e2e/harness.py``'s ``Person`` (``send``,
``expect``, ``press``, ``quiet``), so a chat test that needs no process (no
adapter, restart, file or webhook) moves here with its body unchanged. An update
is handled before ``send`` returns, so ``expect`` looks only at what was already
sent. Replies are rendered from their HTML the way the emulator renders them, and
markup Telegram would refuse fails the test.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.crm import invites, workspaces
from bot.crm.models import Role, WorkspaceKind, utcnow
from bot.crm.store import unit_of_work
from bot.handlers import ROUTERS
from bot.messaging import (
    BotCommand,
    CommandScope,
    Incoming,
    Keyboard,
    Kind,
    OutCopy,
    SentMessage,
    User,
)
from bot.sandbox.formatting import format_text
from tests.e2e.harness import BOT_USERNAME, Workspace
from tests.e2e.test_pipeline import CHEN, LI, OWNER, ZHOU, Crew, join


def _markup(buttons: Keyboard) -> dict[str, Any]:
    rows = [
        [
            {"text": b.text, "url": b.url} if b.url else {"text": b.text, "callback_data": b.data}
            for b in row
        ]
        for row in buttons
    ]
    return {"inline_keyboard": rows} if rows else {}


class ChatMessenger:
    """A Messenger that keeps every message per chat, shaped like the emulator's."""

    username = BOT_USERNAME

    def __init__(self) -> None:
        self.chats: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.answers: list[tuple[str, str, bool]] = []
        self.commands: dict[CommandScope, list[BotCommand]] = {}
        self.copies: list[OutCopy] = []
        self._seq = itertools.count(1)
        self._message_ids = itertools.count(1)

    def _keep(self, chat_id: int, message: dict[str, Any]) -> None:
        message.update(seq=next(self._seq), from_bot=True)
        self.chats[chat_id].append(message)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Keyboard = (),
        *,
        paid_broadcast: bool = False,
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        """Keep a text message as the user would read it."""
        message_id = next(self._message_ids)
        plain = format_text(text, "HTML", None).text
        message = {"message_id": message_id, "text": plain, "html": text}
        if reply_to_message_id is not None:
            message["reply_to_message_id"] = reply_to_message_id
        self._keep(chat_id, message | {"reply_markup": _markup(buttons)})
        return SentMessage(chat_id, message_id)

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
        """Keep a copy (in ``copies`` too): what it copies, its new caption, its buttons."""
        copy = OutCopy(chat_id, from_chat_id, message_id, caption, buttons, reply_to_message_id)
        self.copies.append(copy)
        new_id = next(self._message_ids)
        self._keep(
            chat_id,
            {
                "message_id": new_id,
                "copy_of": {"chat_id": from_chat_id, "message_id": message_id},
                "caption": None if caption is None else format_text(caption, "HTML", None).text,
                "html": caption,
                "reply_markup": _markup(buttons),
                "reply_to_message_id": reply_to_message_id,
            },
        )
        return SentMessage(chat_id, new_id)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        """Keep an edit as a new entry of the chat (as the emulator lists edits)."""
        plain = format_text(text, "HTML", None).text
        self._keep(
            chat_id,
            {
                "message_id": message_id,
                "text": plain,
                "html": text,
                "reply_markup": _markup(buttons),
                "edited": True,
            },
        )

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        """Keep a document with its bytes."""
        message_id = next(self._message_ids)
        document = {"file_name": filename, "content": content}
        self._keep(chat_id, {"message_id": message_id, "caption": caption, "document": document})
        return SentMessage(chat_id, message_id)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Keep a photo with its bytes."""
        message_id = next(self._message_ids)
        self._keep(chat_id, {"message_id": message_id, "caption": caption, "photo": content})
        return SentMessage(chat_id, message_id)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Keep the answer to a button press."""
        self.answers.append((callback_id, text, alert))

    async def download(self, file_id: str) -> bytes:
        """Refuse: files are for the end-to-end tests."""
        msg = f"no file {file_id!r} in an in-process chat"
        raise AssertionError(msg)

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Keep a command menu."""
        self.commands[scope] = list(commands)


@dataclass
class ChatBot:
    """The bot's dispatcher and the people who talk to it, in this process."""

    db_path: Path
    sessions: async_sessionmaker[AsyncSession]
    messenger: ChatMessenger = field(default_factory=ChatMessenger)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.sessions, AppInfo(), clock=utcnow, routers=ROUTERS)

    async def handle(self, incoming: Incoming) -> None:
        """Handle one update as the adapters would, replies included."""
        await self.dispatcher(incoming, self.messenger)

    def next_update_id(self) -> int:
        """Return a fresh update id."""
        return next(self._update_ids)

    def answer_to(self, callback_query_id: str) -> str | None:
        """Return the text a button press was answered with (None: not answered)."""
        texts = [text for cid, text, _ in self.messenger.answers if cid == callback_query_id]
        return texts[-1] if texts else None

    def person(self, user_id: int, first_name: str, language_code: str = "en") -> Person:
        """Return someone who chats with the bot."""
        return Person(self, user_id, first_name, language_code)

    async def create_workspace(
        self, name: str = "Wang's Tea House", kind: WorkspaceKind = WorkspaceKind.RETAIL
    ) -> Workspace:
        """Create a workspace and its owner invite, as ``scrm-bot workspace create`` does."""
        async with unit_of_work(self.sessions) as session:
            ws = await workspaces.create_workspace(
                session, name=name, timezone="Asia/Shanghai", locale="en", region="CN", kind=kind
            )
            issued = await invites.issue_invite(
                session,
                workspace_id=ws.id,
                role=Role.OWNER,
                now=utcnow(),
                ttl=timedelta(hours=72),
                actor=None,
            )
        return Workspace(ws.slug, f"inv_{issued.code}")


class Person:
    """A Telegram user in a private chat with the in-process bot."""

    def __init__(self, bot: ChatBot, user_id: int, first_name: str, language_code: str) -> None:
        self.bot = bot
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.cursor = 0
        self.last: dict[str, Any] = {}
        self._user = User(id=user_id, first_name=first_name, language_code=language_code)

    async def send(self, text: str) -> None:
        """Type and send a message (a command when it starts with /)."""
        update_id = self.bot.next_update_id()
        if text.startswith("/"):
            head, _, rest = text.partition(" ")
            name = head.removeprefix("/").partition("@")[0].lower()
            incoming = Incoming(
                update_id, Kind.COMMAND, self.id, self._user, text, name, rest.strip()
            )
        else:
            incoming = Incoming(update_id, Kind.TEXT, self.id, self._user, text=text)
        await self.bot.handle(incoming)

    async def expect(self, *fragments: str, timeout: float = 0) -> dict[str, Any]:
        """Return the first new bot message (or edit) containing every fragment."""
        seen: list[str] = []
        for message in self.bot.messenger.chats[self.id]:
            if message["seq"] <= self.cursor:
                continue
            self.cursor = message["seq"]
            text = message.get("text") or message.get("caption") or ""
            seen.append(text)
            if all(f in text for f in fragments):
                self.last = message
                return message
        msg = f"{self.first_name} never saw {fragments!r}; saw {seen!r}"
        raise AssertionError(msg)

    async def press(self, label: str, message: dict[str, Any] | None = None) -> None:
        """Press the inline button whose text contains ``label`` on the last (or given) message."""
        message = message or self.last
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"] and "callback_data" in button:
                    update_id = self.bot.next_update_id()
                    await self.bot.handle(
                        Incoming(
                            update_id,
                            Kind.CALLBACK,
                            self.id,
                            self._user,
                            data=button["callback_data"],
                            callback_id=f"cb{update_id}",
                            message_id=message["message_id"],
                        )
                    )
                    return
        msg = f"no button {label!r} on {message.get('text')!r}"
        raise AssertionError(msg)

    async def quiet(self, seconds: float = 0) -> list[str]:
        """Return what the bot sent since the last ``expect`` (expected to be nothing)."""
        return [
            m.get("text", "") for m in self.bot.messenger.chats[self.id] if m["seq"] > self.cursor
        ]


async def open_shop(chat: ChatBot, workspace: Workspace, *, admin: bool = False) -> Crew:
    """The owner joins with the workspace invite and invites Li and Chen (and the admin Zhou)."""
    crew = Crew(
        chat.person(OWNER, "Wang"),  # type: ignore[arg-type]
        chat.person(LI, "Li"),  # type: ignore[arg-type]
        chat.person(CHEN, "Chen"),  # type: ignore[arg-type]
        chat.person(ZHOU, "Zhou") if admin else None,  # type: ignore[arg-type]
    )
    await crew.owner.send(f"/start {workspace.owner_payload}")
    await crew.owner.expect("Welcome to")
    await join(crew.owner, crew.li)
    await join(crew.owner, crew.chen)
    if crew.zhou is not None:
        await join(crew.owner, crew.zhou, "admin")
    return crew


class Controls:
    """The part of the emulator's control API that chat tests use: forged presses, stickers."""

    def __init__(self, chat: ChatBot) -> None:
        self.chat = chat

    async def post(self, path: str, **body: Any) -> dict[str, Any]:
        """Send a forged button press (``callback``) or a ``sticker``; others need tests/e2e.

        A press returns its ``callback_query_id``, as the emulator does.
        """
        update_id = self.chat.next_update_id()
        user = User(id=body["user_id"])
        if path == "callback":
            incoming = Incoming(
                update_id,
                Kind.CALLBACK,
                user.id,
                user,
                data=body["data"],
                callback_id=f"cb{update_id}",
                message_id=body["message_id"],
            )
        elif path == "sticker":
            incoming = Incoming(update_id, Kind.STICKER, user.id, user)
        else:
            msg = f"{path!r} needs the emulator: move the test back to tests/e2e"
            raise AssertionError(msg)
        await self.chat.handle(incoming)
        return {"callback_query_id": incoming.callback_id} if incoming.callback_id else {}
