"""An in-memory Messenger for unit tests of jobs that send (the port, not our own code)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messaging import BotCommand, CommandScope, Keyboard, OutCopy, SentMessage


class RecordingMessenger:
    """Keep every text sent, per chat, and answer like Telegram would."""

    username = "TestBot"

    def __init__(self) -> None:
        self.texts: list[tuple[int, str]] = []
        self.paid: list[bool] = []
        self.replies_to: list[int | None] = []
        self.copies: list[OutCopy] = []

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Keyboard = (),
        *,
        paid_broadcast: bool = False,
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        """Record a text message (and whether it was a paid broadcast, or a reply)."""
        self.texts.append((chat_id, text))
        self.paid.append(paid_broadcast)
        self.replies_to.append(reply_to_message_id)
        return SentMessage(chat_id, len(self.texts))

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
        """Record a copy of a message."""
        self.copies.append(
            OutCopy(chat_id, from_chat_id, message_id, caption, buttons, reply_to_message_id)
        )
        return SentMessage(chat_id, 100_000 + len(self.copies))

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        """Record an edit as a text."""
        self.texts.append((chat_id, text))

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        """Accept a document."""
        return SentMessage(chat_id, 0)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Accept a photo."""
        return SentMessage(chat_id, 0)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Accept a callback answer."""

    async def download(self, file_id: str) -> bytes:
        """Return no bytes."""
        return b""

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Accept a command menu."""
