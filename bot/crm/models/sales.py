"""Sales tables: teams, shares, follow-ups, reminders, tags and purchases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.crm.models.base import Base, WorkspaceMixin, enum_column
from bot.crm.models.columns import CustomerId, DefaultNow, IntPk, MemberRef


class Channel(StrEnum):
    """How a rep was in touch with a customer."""

    CALL = "call"
    VISIT = "visit"
    CHAT = "chat"
    EMAIL = "email"
    OTHER = "other"


class TagDimension(StrEnum):
    """The four dimensions tags are grouped in."""

    DEMOGRAPHIC = "demographic"
    INTEREST = "interest"
    SOCIAL = "social"
    BEHAVIOUR = "behaviour"


class Team(WorkspaceMixin, Base):
    """A group of staff (a branch or a sales team); an admin may be limited to one."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[DefaultNow]


class CustomerShare(WorkspaceMixin, Base):
    """A customer an admin shared with a member who does not own it."""

    __tablename__ = "customer_share"
    __table_args__ = (UniqueConstraint("workspace_id", "customer_id", "member_id"),)

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[DefaultNow]


class FollowUp(WorkspaceMixin, Base):
    """One contact with a customer: channel, what happened, outcome and next step."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_customer_id_at", "customer_id", "at"),)

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    member_id: Mapped[MemberRef | None]
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    at: Mapped[DefaultNow]


class Reminder(WorkspaceMixin, Base):
    """A rep's reminder, due at a minute; the scheduler only wakes due rows."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_due", "done_at", "fired_at", "due_at"),
        Index("ix_reminder_member_id_due_at", "member_id", "due_at"),
    )

    id: Mapped[IntPk]
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    customer_id: Mapped[CustomerId | None]
    follow_up_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_up.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[DefaultNow]


class Tag(WorkspaceMixin, Base):
    """A weighted tag in one dimension, defined by admins."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(40))
    dimension: Mapped[TagDimension] = mapped_column(enum_column(TagDimension))
    weight: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[DefaultNow]


class CustomerTag(WorkspaceMixin, Base):
    """A tag put on a customer."""

    __tablename__ = "customer_tag"
    __table_args__ = (
        UniqueConstraint("workspace_id", "customer_id", "tag_id"),
        Index("ix_customer_tag_tag_id", "tag_id"),
    )

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"))
    created_at: Mapped[DefaultNow]


class Purchase(WorkspaceMixin, Base):
    """A purchase: an amount in minor units of a currency, with an optional note."""

    __tablename__ = "purchase"
    # customer_id first serves lookups by customer alone; workspace_id next gives a card's
    # "customer and workspace" two equalities, so SQLite never takes the workspace index.
    __table_args__ = (
        Index("ix_purchase_customer_id_workspace_id_at", "customer_id", "workspace_id", "at"),
    )

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    member_id: Mapped[MemberRef | None]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[DefaultNow]
