"""Campaign tables: versioned message templates, campaigns, their runs and the outbox."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.crm.models.base import Base, WorkspaceMixin, enum_column
from bot.crm.models.columns import CustomerId, DefaultNow, IntPk, MemberRef


class CampaignKind(StrEnum):
    """What triggers a campaign's runs."""

    WELCOME = "welcome"  # one perpetual run; a customer is added when they opt in
    BIRTHDAY = "birthday"  # one run a day, for customers whose birthday it is
    HOLIDAY = "holiday"  # one run on a date
    WEEKLY = "weekly"  # one run a week, on a weekday at a time
    BROADCAST = "broadcast"  # one run, now or on a date
    SURVEY = "survey"  # like a broadcast, with satisfaction buttons


class CampaignStatus(StrEnum):
    """Whether a campaign still fires."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    DONE = "done"


class RunStatus(StrEnum):
    """Where a campaign run is in its life."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class OutboxStatus(StrEnum):
    """One recipient's message: pending → sending → sent | skipped | failed | blocked | unknown."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class MessageTemplate(WorkspaceMixin, Base):
    """A named message text in one language, optionally a variant for one value grade."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("workspace_id", "key", "locale", "variant"),)

    id: Mapped[IntPk]
    key: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    # "" for the text everyone gets, else a grade ("A", "B", …) whose customers get this one.
    variant: Mapped[str] = mapped_column(String(8), default="")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[DefaultNow]


class TemplateVersion(WorkspaceMixin, Base):
    """One saved text of a template; versions are never changed, rollback adds one."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[IntPk]
    template_id: Mapped[int] = mapped_column(ForeignKey("message_template.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    # "default", "edit" or "rollback:<n>": where this text came from.
    origin: Mapped[str] = mapped_column(String(24), default="edit")
    created_by_member_id: Mapped[MemberRef | None]
    created_at: Mapped[DefaultNow]


class Campaign(WorkspaceMixin, Base):
    """A campaign: which template goes to which audience, and when."""

    __tablename__ = "campaign"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CampaignKind] = mapped_column(enum_column(CampaignKind))
    template_key: Mapped[str] = mapped_column(String(32))
    # Filters on opted-in customers: grades, tags, stages (lists), owner_member_id, region.
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Weekly: 0 = Monday … 6 = Sunday. Local "HH:MM" in the workspace's zone for every kind.
    weekday: Mapped[int | None] = mapped_column(SmallInteger)
    send_time: Mapped[str] = mapped_column(String(5), default="10:00")
    run_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus), default=CampaignStatus.ACTIVE
    )
    created_by_member_id: Mapped[MemberRef | None]
    created_at: Mapped[DefaultNow]
    # The latest scheduled occurrence that was fired (or deliberately skipped).
    last_fired_at: Mapped[datetime | None]


class CampaignRun(WorkspaceMixin, Base):
    """One firing of a campaign; its outbox rows are its recipients."""

    __tablename__ = "campaign_run"
    # One run per occurrence ("2026-W48", "2026-11-30", "once", "welcome"): a schedule
    # that fires twice (restart, second process) cannot create a second run.
    __table_args__ = (UniqueConstraint("campaign_id", "occurrence"),)

    id: Mapped[IntPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(32))
    template_key: Mapped[str] = mapped_column(String(32))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus), default=RunStatus.RUNNING)
    paid_broadcast: Mapped[bool] = mapped_column(default=False)
    scheduled_for: Mapped[DefaultNow]
    materialised_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Consecutive transient errors; the run pauses itself at the configured threshold.
    error_streak: Mapped[int] = mapped_column(Integer, default=0)
    paused_reason: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    created_by_member_id: Mapped[MemberRef | None]
    created_at: Mapped[DefaultNow]


class OutboxMessage(WorkspaceMixin, Base):
    """One recipient of one run and what became of their message."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id"),
        # Claiming scans a run's pending rows by ascending id.
        Index("ix_outbox_message_run_status_id", "run_id", "status", "id"),
        # The per-customer cap counts a customer's recent sends.
        Index("ix_outbox_message_customer_sent", "customer_id", "sent_at"),
    )

    id: Mapped[IntPk]
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_run.id", ondelete="CASCADE"))
    customer_id: Mapped[CustomerId]
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    # Why a row was skipped, failed or deferred (e.g. "opted_out", "capped", "quiet_hours").
    reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Not claimed before this moment: quiet-hours deferral or retry backoff.
    not_before_at: Mapped[datetime | None]
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # The worker that claimed the row (several workers on PostgreSQL): while the row is
    # ``sending`` and that worker's presence lock is gone, the row is a crash leftover.
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)


class SendPace(Base):
    """The campaign pace every worker shares (several workers on PostgreSQL): one row.

    Not tenant data: Telegram's limits are the bot's. Workers reserve send slots by
    moving ``next_at`` on; a 429 from Telegram moves ``paused_until`` on for all, and
    a message answered late holds back the slot a second after it.
    """

    __tablename__ = "send_pace"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[datetime]
    paused_until: Mapped[datetime]
    # A message that arrived late: the slots from ``hold_from`` on (a second of the pace
    # after it) start no earlier than ``hold_until`` (a second after its arrival).
    hold_from: Mapped[datetime | None]
    hold_until: Mapped[datetime | None]


__all__ = [
    "Campaign",
    "CampaignKind",
    "CampaignRun",
    "CampaignStatus",
    "MessageTemplate",
    "OutboxMessage",
    "OutboxStatus",
    "RunStatus",
    "SendPace",
    "TemplateVersion",
]
