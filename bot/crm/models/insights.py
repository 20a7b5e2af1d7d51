"""Tables for knowing customers: loyalty points, surveys, complaints and marketing spend."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

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


class PointsReason(StrEnum):
    """Why a customer's points changed."""

    PURCHASE = "purchase"
    ADJUST = "adjust"
    REDEEM = "redeem"


class ComplaintStatus(StrEnum):
    """Where a complaint is: open → in progress → resolved."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class PointsEntry(WorkspaceMixin, Base):
    """One movement in a customer's points ledger; the balance is their sum."""

    __tablename__ = "points_entry"
    __table_args__ = (
        Index("ix_points_entry_customer_id_at", "customer_id", "at"),
        # A purchase earns points once, however often its handler runs.
        UniqueConstraint("purchase_id"),
    )

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[PointsReason] = mapped_column(enum_column(PointsReason))
    note: Mapped[str | None] = mapped_column(String(200))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id", ondelete="SET NULL"))
    member_id: Mapped[MemberRef | None]
    at: Mapped[DefaultNow]


class SurveyAnswer(WorkspaceMixin, Base):
    """A customer's 1–5 satisfaction score (5 = very satisfied), with an optional comment."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id"),
        Index("ix_survey_answer_workspace_id_at", "workspace_id", "at"),
    )

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    # The survey run it answers; None for the "were you satisfied?" after a complaint.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_run.id", ondelete="SET NULL"))
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint.id", ondelete="SET NULL")
    )
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[DefaultNow]


class Complaint(WorkspaceMixin, Base):
    """A customer's complaint, assigned to a member, with a due time from the shop's SLA."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_workspace_id_status", "workspace_id", "status"),)

    id: Mapped[IntPk]
    customer_id: Mapped[CustomerId]
    assigned_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_column(ComplaintStatus), default=ComplaintStatus.OPEN
    )
    # "customer" (/complain) or "survey" (a low score opened it).
    source: Mapped[str] = mapped_column(String(16), default="customer")
    text: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    overdue_reminded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[DefaultNow]


class MarketingSpend(WorkspaceMixin, Base):
    """Money spent on winning customers, entered with /spend, for CAC."""

    __tablename__ = "marketing_spend"
    __table_args__ = (
        Index("ix_marketing_spend_workspace_id_spent_on", "workspace_id", "spent_on"),
    )

    id: Mapped[IntPk]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    spent_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    member_id: Mapped[MemberRef | None]
    created_at: Mapped[DefaultNow]


__all__ = [
    "Complaint",
    "ComplaintStatus",
    "MarketingSpend",
    "PointsEntry",
    "PointsReason",
    "SurveyAnswer",
]
