"""An in-memory Messenger for unit tests of jobs that send (the port, not our own code)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messaging import BotCommand, CommandScope, Keyboard, SentMessage


class RecordingMessenger:
    """Keep every text sent, per chat, and answer like Telegram would."""

    username = "TestBot"

    def __init__(self) -> None:
        self.texts: list[tuple[int, str]] = []
        self.paid: list[bool] = []

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Record a text message (and whether it was a paid broadcast)."""
        self.texts.append((chat_id, text))
        self.paid.append(paid_broadcast)
        return SentMessage(chat_id, len(self.texts))

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
