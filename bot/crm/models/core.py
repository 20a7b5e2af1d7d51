"""Core tables: workspaces, members, invites, customers, consent, dialogs and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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

from bot.crm.models.base import Base, WorkspaceMixin, enum_column, utcnow
from bot.crm.models.columns import DefaultNow, IntPk, MemberRef


class Role(StrEnum):
    """A member's role in a workspace, from most to least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    STAFF = "staff"


class WorkspaceKind(StrEnum):
    """What sort of business a workspace is, which picks the fields its customers have."""

    RETAIL = "retail"
    TRADE = "trade"


class CustomerKind(StrEnum):
    """Whether a person is still a lead or already a customer."""

    LEAD = "lead"
    CUSTOMER = "customer"


class Consent(StrEnum):
    """A customer's current answer to receiving campaign messages."""

    UNKNOWN = "unknown"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class ConsentAction(StrEnum):
    """What happened in a consent event."""

    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    DECLINED = "declined"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"


class Segment(StrEnum):
    """A customer's RFM segment; see ``bot.crm.rfm`` for the mapping from scores."""

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL = "potential"
    NEW = "new"
    AT_RISK = "at_risk"
    HIBERNATING = "hibernating"
    LOST = "lost"


class ValueTier(StrEnum):
    """The merchant-facing value tier, from the frequency and monetary scores."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ValueClass(StrEnum):
    """Whether a buying customer is of value, has potential, or has lapsed."""

    VALUE = "value"
    POTENTIAL = "potential"
    LAPSED = "lapsed"


class AtRiskReason(StrEnum):
    """Why a customer was flagged as drifting away."""

    QUIET = "quiet"
    TIER_DROP = "tier_drop"


class Workspace(Base):
    """One merchant's tenant: its own members, customers and settings."""

    __tablename__ = "workspace"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    region: Mapped[str | None] = mapped_column(String(2))
    # Retail shops describe customers by gender, age band and preferences; trade
    # businesses by ownership, business and location type (see ``bot.crm.fields``).
    kind: Mapped[WorkspaceKind] = mapped_column(
        enum_column(WorkspaceKind), default=WorkspaceKind.RETAIL
    )
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    lead_return_days: Mapped[int] = mapped_column(Integer, default=14)
    # Grade thresholds on the tag score, highest first, e.g. {"A": 80, "B": 50}; else "C".
    grade_thresholds: Mapped[dict[str, Any]] = mapped_column(default=lambda: {"A": 80, "B": 50})
    # The merchant's own names for the fixed pipeline stages (key -> label).
    stage_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Campaign messages wait outside quiet hours (local "HH:MM", may wrap midnight) and a
    # customer gets at most ``campaign_cap_messages`` of them in ``campaign_cap_days``.
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="09:00")
    campaign_cap_messages: Mapped[int] = mapped_column(Integer, default=2)
    campaign_cap_days: Mapped[int] = mapped_column(Integer, default=7)
    # Loyalty points earned per whole unit of currency spent (0 = no points).
    points_per_unit: Mapped[int] = mapped_column(Integer, default=1)
    # Hours a complaint may stay unresolved before its assignee is reminded.
    complaint_sla_hours: Mapped[int] = mapped_column(Integer, default=48)
    created_at: Mapped[DefaultNow]


class Member(WorkspaceMixin, Base):
    """A Telegram user who works in a workspace (owner, admin or staff)."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("workspace_id", "tg_user_id"),
        Index("ix_member_tg_user_id", "tg_user_id"),
    )

    id: Mapped[IntPk]
    tg_user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    referral_code: Mapped[str] = mapped_column(String(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the member was removed or left (``active`` False); cleared on rejoining.
    removed_at: Mapped[datetime | None]
    # The Telegram @username without the @, as last seen; colleagues may name them by it.
    username: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    # Local "HH:MM" at which the rep gets the daily digest, or None for no digest.
    digest_time: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[DefaultNow]


class Invite(WorkspaceMixin, Base):
    """A single-use, expiring invitation to join a workspace with a role."""

    __tablename__ = "invite"

    id: Mapped[IntPk]
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    created_by_member_id: Mapped[MemberRef | None]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_member_id: Mapped[MemberRef | None]
    revoked_at: Mapped[datetime | None]
    # The team a team-limited admin invited into: whoever joins lands in it.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    created_at: Mapped[DefaultNow]


class Company(WorkspaceMixin, Base):
    """A customer's company; branches point at their parent, at most three levels deep."""

    __tablename__ = "company"
    __table_args__ = (UniqueConstraint("workspace_id", "parent_id", "name"),)

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    level: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[DefaultNow]


class Customer(WorkspaceMixin, Base):
    """A person in one workspace: a lead or a customer, with their consent state."""

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("workspace_id", "tg_user_id"),
        UniqueConstraint("workspace_id", "phone"),
        Index("ix_customer_tg_user_id", "tg_user_id"),
        Index("ix_customer_workspace_id_name", "workspace_id", "name"),
        Index(
            "ix_customer_workspace_id_region_route_order", "workspace_id", "region", "route_order"
        ),
        # /today reads a rep's customers by last contact; workspace_id leads so that SQLite's
        # planner, with two equalities here, never prefers another workspace_id index.
        Index(
            "ix_customer_workspace_id_owner_contact",
            "workspace_id",
            "owner_member_id",
            "last_contact_at",
        ),
        # /atrisk and the churn alerts read the customers at risk, newest first.
        Index("ix_customer_workspace_id_at_risk_since", "workspace_id", "at_risk_since"),
        # /tiers says when the shop was last recomputed: the newest stamp, read off the index.
        Index("ix_customer_workspace_id_tiers_computed_at", "workspace_id", "tiers_computed_at"),
    )

    id: Mapped[IntPk]
    owner_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    tg_user_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str | None] = mapped_column(String(16))
    # The customer's own IANA zone when known; quiet hours fall back to the workspace's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[CustomerKind] = mapped_column(
        enum_column(CustomerKind), default=CustomerKind.LEAD
    )
    consent: Mapped[Consent] = mapped_column(enum_column(Consent), default=Consent.UNKNOWN)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(32), default="staff")
    notes: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16), default="new")
    grade: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer, default=0)
    ownership: Mapped[str | None] = mapped_column(String(16))
    business_type: Mapped[str | None] = mapped_column(String(24))
    location_type: Mapped[str | None] = mapped_column(String(24))
    # Retail fields: option keys of the shop's lists; preferences may hold several.
    gender: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    preferences: Mapped[list[str] | None] = mapped_column(JSON)
    region: Mapped[str | None] = mapped_column(String(64))
    route_order: Mapped[int | None] = mapped_column(Integer)
    birthday_date: Mapped[date | None] = mapped_column(Date)
    # The customer's own join link (/start c_<token>) that links their Telegram account.
    join_token: Mapped[str | None] = mapped_column(String(24), unique=True)
    last_contact_at: Mapped[datetime | None]
    owner_assigned_at: Mapped[datetime | None]
    # Set by /forget: personal data was erased; the row stays for anonymous counts.
    erased_at: Mapped[datetime | None]
    # Value tiers, written only by bot.crm.tiers.recompute; None until the customer buys.
    rfm_recency: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_frequency: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_monetary: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_segment: Mapped[Segment | None] = mapped_column(enum_column(Segment))
    value_tier: Mapped[ValueTier | None] = mapped_column(enum_column(ValueTier))
    # The tier before the last change and when it changed: churn detection reads a drop here.
    previous_value_tier: Mapped[ValueTier | None] = mapped_column(enum_column(ValueTier))
    value_tier_changed_at: Mapped[datetime | None]
    value_class: Mapped[ValueClass | None] = mapped_column(enum_column(ValueClass))
    clv_minor: Mapped[int | None] = mapped_column(BigInteger)
    tiers_computed_at: Mapped[datetime | None]
    # Churn episodes, written only by bot.crm.churn: set once when flagged, cleared on contact.
    usual_interval_days: Mapped[int | None] = mapped_column(Integer)
    # When the usual interval was last worked out; it only changes with new activity.
    usual_interval_computed_at: Mapped[datetime | None]
    at_risk_since: Mapped[datetime | None]
    at_risk_reason: Mapped[AtRiskReason | None] = mapped_column(enum_column(AtRiskReason))
    churn_alerted_at: Mapped[datetime | None]
    created_at: Mapped[DefaultNow]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConsentEvent(WorkspaceMixin, Base):
    """One change of a customer's consent or reachability: who, when, how."""

    __tablename__ = "consent_event"

    id: Mapped[IntPk]
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction))
    source: Mapped[str] = mapped_column(String(32))
    actor_member_id: Mapped[MemberRef | None]
    at: Mapped[DefaultNow]


class ConversationState(WorkspaceMixin, Base):
    """The step and collected answers of one user's open dialog in one chat."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("workspace_id", "chat_id", "user_id"),)

    id: Mapped[IntPk]
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    dialog: Mapped[str] = mapped_column(String(48))
    step: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditLog(WorkspaceMixin, Base):
    """A record of who changed what, kept for the merchant's review."""

    __tablename__ = "audit_log"

    id: Mapped[IntPk]
    actor_member_id: Mapped[MemberRef | None]
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ProcessedUpdate(Base):
    """An update id already handled, so a redelivered update is not handled twice.

    Not tenant data: Telegram's update ids belong to the bot, and the row is
    written in the same transaction as the handler's changes.
    """

    __tablename__ = "processed_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class UserPref(Base):
    """A Telegram account's own preferences (its language), kept across workspaces.

    Not tenant data: it belongs to the person, who may be a member of one
    workspace and a customer of others.
    """

    __tablename__ = "user_pref"

    tg_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    locale: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
