"""The project's own message types and the Messenger port the adapters implement.

Handlers, conversations, the CRM and campaigns speak only these types; the
framework adapters in ``bot/telegram/`` translate them to and from Bot API calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Kind(StrEnum):
    """What an incoming update carries.

    The kinds of a person's message are named as the Bot API's Message fields are
    (``voice``, ``video_note``...); a venue counts as its ``LOCATION``, and ``OTHER``
    is any other message (a poll, a dice, a service message such as a pin).
    """

    TEXT = "text"
    COMMAND = "command"
    CALLBACK = "callback"
    DOCUMENT = "document"
    PHOTO = "photo"
    STICKER = "sticker"
    VOICE = "voice"
    VIDEO = "video"
    VIDEO_NOTE = "video_note"
    AUDIO = "audio"
    ANIMATION = "animation"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"


@dataclass(frozen=True, slots=True)
class User:
    """The Telegram user behind an update."""

    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """Return first and last name joined by a space."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


# The kinds of message a person sends that carry a file (``Incoming.file`` is set).
MEDIA_KINDS = frozenset(
    {
        Kind.DOCUMENT,
        Kind.PHOTO,
        Kind.STICKER,
        Kind.VOICE,
        Kind.VIDEO,
        Kind.VIDEO_NOTE,
        Kind.AUDIO,
        Kind.ANIMATION,
    }
)
# The kinds whose copy takes a new caption (``Messenger.copy_message``); the copy of a
# text, sticker, video note, location or contact keeps its content and ignores one.
CAPTION_KINDS = frozenset(
    {Kind.DOCUMENT, Kind.PHOTO, Kind.VOICE, Kind.VIDEO, Kind.AUDIO, Kind.ANIMATION}
)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the user sent, addressed by Telegram's file id.

    ``duration`` is in seconds, for voice, video, video notes, audio and animations.
    """

    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A point on the map the user sent (a venue's location included)."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Contact:
    """A phone contact the user sent; ``user_id`` when it is a Telegram user's own."""

    phone_number: str
    first_name: str
    last_name: str | None = None
    user_id: int | None = None
    vcard: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a private chat, translated out of the framework's types.

    ``command`` is the command name without slash or ``@bot`` suffix, lower-cased;
    ``args`` is the rest of the line. For callbacks ``data`` is the button's
    callback data, ``callback_id`` the query to answer and ``message_id`` the
    message that carried the button.

    For a person's message ``own_message_id`` is the message itself (what
    ``Messenger.copy_message`` copies; ``message_id`` stays None, as it names only a
    pressed button's message) and ``text`` is what they wrote: the text of a text
    message, else the caption of a media message ("" without one).
    ``caption`` is that caption again, set only when the message has one, so
    ``caption is None`` tells a typed text from a caption. ``file`` is set for every
    kind in ``MEDIA_KINDS`` (for a photo its largest size), ``location`` and
    ``contact`` for those kinds. ``reply_to_message_id`` is the message of the same
    chat this one replies to (Telegram's reply, the swipe), when it still exists.
    """

    update_id: int
    kind: Kind
    chat_id: int
    user: User
    text: str = ""
    command: str | None = None
    args: str = ""
    data: str | None = None
    callback_id: str | None = None
    message_id: int | None = None
    file: FileRef | None = None
    own_message_id: int | None = None
    caption: str | None = None
    reply_to_message_id: int | None = None
    location: Location | None = None
    contact: Contact | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """An inline keyboard button: callback data, or a URL when ``url`` is set."""

    text: str
    data: str | None = None
    url: str | None = None


Keyboard = Sequence[Sequence[Button]]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Telegram answered for a sent message."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class OutText:
    """A text message to send (HTML parse mode), optionally with inline buttons."""

    chat_id: int
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True, slots=True)
class OutEdit:
    """Replace the text (and buttons) of a message the bot sent earlier."""

    chat_id: int
    message_id: int
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True, slots=True)
class OutDocument:
    """A file to send as a document."""

    chat_id: int
    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True, slots=True)
class OutPhoto:
    """An image (PNG/JPEG bytes) to send as a photo."""

    chat_id: int
    content: bytes
    caption: str = ""


@dataclass(frozen=True, slots=True)
class OutCopy:
    """A copy of a message to send (``Messenger.copy_message``), as test doubles record it."""

    chat_id: int
    from_chat_id: int
    message_id: int
    caption: str | None = None
    buttons: Keyboard = ()
    reply_to_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutAnswer:
    """The answer to a callback query (a toast, or nothing)."""

    callback_id: str
    text: str = ""
    alert: bool = False


Outgoing = OutText | OutEdit | OutDocument | OutPhoto | OutAnswer


@dataclass(frozen=True, slots=True)
class BotCommand:
    """A command shown in Telegram's menu."""

    command: str
    description: str


@dataclass(frozen=True, slots=True)
class CommandScope:
    """Where a command list applies: ``default`` or one private chat."""

    chat_id: int | None = None
    language_code: str | None = None


@dataclass(slots=True)
class Replies:
    """The messages a handler wants sent, delivered after its unit of work commits."""

    items: list[Outgoing] = field(default_factory=list)

    def add(self, item: Outgoing) -> None:
        """Queue one outgoing message."""
        self.items.append(item)


class Messenger(Protocol):
    """Send messages through Telegram; implemented by each framework adapter.

    Every method raises ``bot.errors.DeliveryError`` subclasses on failure:
    ``Blocked`` (403), ``RetryAfter`` (429), ``BadRequest`` (400), ``TransientError``
    (5xx and network). Nothing else escapes.

    A text longer than Telegram allows (4,096 characters, 1,024 for a caption) is
    sent as several messages in order, cut at line breaks, else at spaces, never
    inside a tag or an entity; buttons go under the last part.
    """

    @property
    def username(self) -> str:
        """Return the bot's username, without the @."""
        ...

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Keyboard = (),
        *,
        paid_broadcast: bool = False,
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        """Send an HTML text message with optional inline buttons; return the last part sent.

        ``paid_broadcast`` asks Telegram to bill the message in Stars so it may go
        beyond the free broadcast limit (``allow_paid_broadcast``).
        ``reply_to_message_id`` makes the (first) part a reply to that message of the
        chat; when that message is gone the text is sent all the same, as no reply.
        """
        ...

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
        """Send a copy of a message (Bot API ``copyMessage``): media arrive as media.

        The copy has no link to the original and comes from the bot. ``caption``
        (HTML) replaces the caption of a kind in ``CAPTION_KINDS``; None (or "")
        keeps the original's. Other kinds (a text, a sticker, a video note, a
        location, a contact) keep their content and ignore it. A caption over 1,024
        characters is cut and goes on in text messages after the copy; the buttons
        stay on the copy. ``reply_to_message_id`` is as for ``send_text``. Returns
        the copy.

        A message that is gone raises ``BadRequest`` ("message to copy not found"),
        as does one Telegram cannot copy ("message can't be copied": a service
        message such as a pin, a giveaway, an invoice).
        """
        ...

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        """Replace a sent message's text and buttons (a long text goes on in new messages)."""
        ...

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        """Upload and send a document."""
        ...

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Upload and send a photo."""
        ...

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Answer a callback query so the client stops its spinner."""
        ...

    async def download(self, file_id: str) -> bytes:
        """Download a file the user sent."""
        ...

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Register the command menu for a scope."""
        ...


class Broadcaster(Protocol):
    """A lean sender of many texts (a campaign), opened and closed by whoever uses it.

    ``send_text`` behaves as ``Messenger.send_text`` does, errors included.
    """

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Send an HTML text message with optional inline buttons."""
        ...

    async def aclose(self) -> None:
        """Close its connections."""
        ...


@runtime_checkable
class CanBroadcast(Protocol):
    """A Messenger that can open a Broadcaster for the campaign delivery engine."""

    def open_broadcast(self, connections: int) -> Broadcaster:
        """Return a Broadcaster using up to ``connections`` connections at once."""
        ...


class UpdateHandler(Protocol):
    """What an adapter feeds every translated update into."""

    async def __call__(self, incoming: Incoming, messenger: Messenger) -> None:
        """Handle one update; never raises."""
        ...
