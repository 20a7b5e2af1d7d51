"""The per-update context handed to every handler and dialog step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import EXPIRED
from bot.crm.models import Member, Role, Workspace
from bot.errors import ButtonExpired, PermissionDenied
from bot.i18n import N_, translate
from bot.localtime import zone
from bot.messaging import (
    BotCommand,
    Incoming,
    Keyboard,
    Messenger,
    OutAnswer,
    OutEdit,
    Outgoing,
    OutText,
)

if TYPE_CHECKING:
    from bot.campaigns.render_pool import RenderPool
    from bot.chat.menus import Menus

Clock = Callable[[], datetime]
Downloader = Callable[[str], Awaitable[bytes]]


async def _no_download(file_id: str) -> bytes:
    msg = "this context has no messenger to download files with"
    raise RuntimeError(msg)


@dataclass(frozen=True, slots=True)
class OutCommands:
    """Replace the command menu shown in one chat (sent after commit like a message)."""

    chat_id: int
    commands: tuple[BotCommand, ...]
    language_code: str | None = None


Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True, slots=True)
class OutLater:
    """Work run after commit, in turn with the replies: sends whose message ids are stored.

    ``run`` gets the messenger and the session factory; it opens its own unit of
    work for what it records, and a ``DeliveryError`` it lets out is logged.
    """

    run: Callable[[Messenger, Sessions], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AppInfo:
    """Facts about the running bot that handlers need."""

    bot_username: str = ""
    default_locale: str = "en"
    conversation_ttl_minutes: int = 24 * 60
    invite_ttl_hours: int = 72
    # Worker processes that fill in admin-written templates (previews, saves, confirmations).
    renders: RenderPool | None = None
    # Where the nightly backups are written (empty: backups are off); /backup sends the newest.
    backup_dir: str = ""


@dataclass(slots=True)
class Context:
    """One update being handled: its session, who sent it, and the replies to send."""

    session: AsyncSession
    incoming: Incoming
    app: AppInfo
    menus: Menus
    clock: Clock
    locale: str
    member: Member | None = None
    workspace: Workspace | None = None
    # The shop the sender was removed from (or left), when they are no member now.
    former_shop: str | None = None
    # Fetches a file the user sent (``incoming.file.file_id``) through the messenger.
    download: Downloader = _no_download
    outgoing: list[Outgoing | OutCommands | OutLater] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        """Return the chat the update came from."""
        return self.incoming.chat_id

    @property
    def user_id(self) -> int:
        """Return the Telegram user who sent the update."""
        return self.incoming.user.id

    @property
    def role(self) -> Role | None:
        """Return the sender's role, or None for customers and strangers."""
        return self.member.role if self.member else None

    @property
    def tz(self) -> ZoneInfo:
        """Return the workspace's time zone (UTC outside a workspace)."""
        return zone(self.workspace.timezone if self.workspace else None)

    def staff(self) -> tuple[Member, Workspace]:
        """Return the acting member and their workspace.

        Raises:
            PermissionDenied: when the sender is not a member (routers check this first).
        """
        if self.member is None or self.workspace is None:
            raise self.refusal(N_("Sorry, your role can't do that."))
        return self.member, self.workspace

    def refusal(self, message: str, /, **params: object) -> PermissionDenied:
        """Return the error refusing a command or button the sender may not use.

        Someone removed from a shop (or who left it) hears that instead of ``message``.
        """
        if self.member is None and self.former_shop is not None:
            return PermissionDenied(
                N_(
                    "🚪 You're no longer a member of {shop}, so I can't do that for you. "
                    "If this is a mistake, please ask the shop for a new invite."
                ),
                shop=self.former_shop,
            )
        return PermissionDenied(message, **params)

    def expired(self) -> ButtonExpired:
        """Return the error answering the pressed button as expired, and nothing else.

        For a button whose row is gone, or belongs to another shop or person.
        """
        return ButtonExpired(EXPIRED)

    def now(self) -> datetime:
        """Return the current UTC time from the injected clock."""
        return self.clock()

    def t(self, message: str, /, **params: object) -> str:
        """Translate a message into the sender's language."""
        return translate(self.locale, message, **params)

    def reply(self, text: str, buttons: Keyboard = ()) -> None:
        """Send a message back to the sender's chat."""
        self.outgoing.append(OutText(self.chat_id, text, buttons))

    def send(self, chat_id: int, text: str, buttons: Keyboard = ()) -> None:
        """Send a message to another chat (e.g. notify a rep)."""
        self.outgoing.append(OutText(chat_id, text, buttons))

    def edit(self, text: str, buttons: Keyboard = ()) -> None:
        """Replace the message whose button was pressed (or reply when there is none)."""
        if self.incoming.message_id is None:
            self.reply(text, buttons)
            return
        self.outgoing.append(OutEdit(self.chat_id, self.incoming.message_id, text, buttons))

    def answer(self, text: str = "", alert: bool = False) -> None:
        """Answer the pressed button's callback query with a toast.

        A press its handler leaves unanswered is answered without one by the dispatcher.
        """
        if self.incoming.callback_id:
            self.outgoing.append(OutAnswer(self.incoming.callback_id, text, alert))

    def set_menu(self, chat_id: int, commands: tuple[BotCommand, ...]) -> None:
        """Replace the command menu of a chat once the update commits."""
        self.outgoing.append(OutCommands(chat_id, commands))

    def deep_link(self, payload: str) -> str:
        """Return the t.me link that opens the bot with ``/start payload``."""
        return f"https://t.me/{self.app.bot_username}?start={payload}"
