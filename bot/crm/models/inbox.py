"""Inbox tables: conversations with customers, their messages, relayed copies and settings.

A ``Thread`` is one conversation between a customer and the shop (not a staff
dialog: those are ``ConversationState``). A customer has at most one open thread
per shop, kept so by a partial unique index; a closed thread is never reopened
by the customer's next message, which opens a new one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from bot.crm.models.base import Base, WorkspaceMixin, enum_column, utcnow

MAX_FILE_ID = 255


class ThreadStatus(StrEnum):
    """Whether a conversation still waits for the shop."""

    OPEN = "open"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """Why a conversation was closed."""

    DONE = "done"  # a member pressed Done
    QUIET = "quiet"  # answered, then quiet for a day
    ERASED = "erased"  # the customer's data was erased


class Direction(StrEnum):
    """Whether a message came from the customer or went to them."""

    IN = "in"
    OUT = "out"


class MessageKind(StrEnum):
    """What a conversation message carries, as Telegram names its content."""

    TEXT = "text"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    VIDEO_NOTE = "video_note"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    ANIMATION = "animation"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"


class RelayRole(StrEnum):
    """What a message in a member's chat is: the customer's content, or the notice about it."""

    COPY = "copy"
    NOTICE = "notice"


# The predicate of the partial unique index on open threads; an ON CONFLICT that
# relies on the index repeats it word for word.
OPEN_THREAD = sql_text("status = 'open'")


class Thread(WorkspaceMixin, Base):
    """One conversation with a customer, from their message until it is done or quiet.

    ``waiting_since`` is the first customer message not yet answered (None when
    the shop spoke last); the inbox order, waiting times and SLA read it.
    """

    __tablename__ = "chat_thread"
    __table_args__ = (
        # At most one open conversation per customer: a second writer fails and re-reads.
        Index(
            "ix_chat_thread_open_customer",
            "customer_id",
            unique=True,
            sqlite_where=OPEN_THREAD,
            postgresql_where=OPEN_THREAD,
        ),
        # The inbox and the SLA job read a shop's open threads by waiting time.
        Index(
            "ix_chat_thread_workspace_status_waiting", "workspace_id", "status", "waiting_since"
        ),
        # A rep's own inbox.
        Index("ix_chat_thread_assignee_status", "assignee_member_id", "status"),
        # The quiet-close job reads answered open threads by their last reply.
        Index("ix_chat_thread_status_last_outbound", "status", "last_outbound_at"),
        # Response-time figures read a shop's threads opened in a window.
        Index("ix_chat_thread_workspace_opened", "workspace_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # None: nobody in particular; the shop's owner and admins get the messages.
    assignee_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    status: Mapped[ThreadStatus] = mapped_column(
        enum_column(ThreadStatus), default=ThreadStatus.OPEN
    )
    # The campaign run whose message the customer last answered by replying to it.
    campaign_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_run.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_outbound_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    # Set once per unanswered wait; cleared by the next reply.
    sla_reminded_at: Mapped[datetime | None]
    sla_escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[CloseReason | None] = mapped_column(enum_column(CloseReason))
    closed_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )


class ChatMessage(WorkspaceMixin, Base):
    """One message of a conversation, in or out, with its kind and Telegram file id."""

    __tablename__ = "chat_message"
    __table_args__ = (
        # History pages through a customer's messages newest first by id; workspace_id in the
        # middle, as on purchases, so SQLite never prefers the workspace index.
        Index("ix_chat_message_customer_id_workspace_id_id", "customer_id", "workspace_id", "id"),
        Index("ix_chat_message_thread_id_id", "thread_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("chat_thread.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind))
    # The text, or a media message's caption; blanked by erasure.
    text: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(MAX_FILE_ID))
    # The original in the customer's chat: sent by them (in) or by the bot for a member (out).
    tg_chat_id: Mapped[int] = mapped_column(BigInteger)
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Who answered, for outbound messages.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]


class Relay(WorkspaceMixin, Base):
    """A message in a member's chat that stands for a conversation, so a reply to it finds it.

    Not tenant-unique: Telegram's (chat, message id) pair names one message of the bot.
    """

    __tablename__ = "chat_relay"
    __table_args__ = (
        UniqueConstraint("staff_chat_id", "staff_message_id"),
        Index("ix_chat_relay_thread_id", "thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("chat_thread.id", ondelete="CASCADE"))
    # The customer message this copy or notice is about (None for a notice of the thread).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_message.id", ondelete="SET NULL")
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    role: Mapped[RelayRole] = mapped_column(enum_column(RelayRole))
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    staff_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuickReply(WorkspaceMixin, Base):
    """A saved answer, by key and language, that members can send with a tap."""

    __tablename__ = "quick_reply"
    __table_args__ = (UniqueConstraint("workspace_id", "key", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    # Template source, checked by the caller as admin templates are before it is stored.
    text: Mapped[str] = mapped_column(Text)
    updated_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxSettings(Base):
    """A shop's inbox settings; a shop without a row has the defaults."""

    __tablename__ = "inbox_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # Local "HH:MM" in the shop's zone; both None means always open; start > end wraps midnight.
    open_from: Mapped[str | None] = mapped_column(String(5))
    open_until: Mapped[str | None] = mapped_column(String(5))
    # Minutes an unanswered conversation may wait before its rep is reminded; None is off.
    reply_sla_minutes: Mapped[int | None] = mapped_column(Integer)
    sign_replies: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShopChoice(Base):
    """Which shop a customer of several shops is writing to.

    Not tenant data: it belongs to the person, like ``UserPref``.
    """

    __tablename__ = "inbox_shop_choice"

    tg_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "ChatMessage",
    "CloseReason",
    "Direction",
    "InboxSettings",
    "MessageKind",
    "QuickReply",
    "Relay",
    "RelayRole",
    "ShopChoice",
    "Thread",
    "ThreadStatus",
]
