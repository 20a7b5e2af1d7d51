"""Privacy requests: a person's own data as a file, and erasure of their personal data.

Erasure blanks personal columns in place instead of deleting rows, so anonymous figures
(purchase amounts and dates, follow-up counts, survey scores, campaign statistics) and
the consent history survive. The name becomes ``🗑 #<id>``, the same in every language,
and everything a person could be recognised by is cleared, so cards, /find and exports
need no filter of their own. The Telegram link is cut: no campaign reaches the record,
and re-joining starts afresh.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, companies, consent, customers, workspaces
from bot.crm.guards import require_role
from bot.crm.inbox import history as inbox_history
from bot.crm.models import (
    CampaignRun,
    ChatMessage,
    Complaint,
    ComplaintStatus,
    ConsentAction,
    ConsentEvent,
    ConversationState,
    Customer,
    CustomerShare,
    CustomerTag,
    FollowUp,
    Member,
    OutboxMessage,
    PointsEntry,
    Purchase,
    Reminder,
    Role,
    SurveyAnswer,
    Tag,
    Workspace,
)
from bot.crm.purchases import format_money
from bot.crm.scope import get_visible
from bot.errors import Conflict, NotFound
from bot.i18n import N_
from bot.localtime import show_day, zone

ERASED_TEXT = "—"
Record = tuple[Workspace, Customer]
_Texts = FollowUp | Reminder | Purchase | PointsEntry | SurveyAnswer | Complaint
_About = _Texts | OutboxMessage | ConsentEvent | CustomerTag | CustomerShare | ChatMessage
# Personal text in rows about the person, and what each column is erased to.
_BLANKED: tuple[tuple[type[_About], dict[str, Any]], ...] = (
    (FollowUp, {"summary": ERASED_TEXT, "outcome": None, "next_step": None}),
    (Reminder, {"text": ERASED_TEXT}),
    (Purchase, {"note": None}),
    (PointsEntry, {"note": None}),
    (SurveyAnswer, {"comment": None}),
    (Complaint, {"text": None, "photo_file_id": None, "resolution": None}),
)
_PERSONAL = ("phone", "notes", "birthday_date", "region", "route_order", "company_id")
# What a retail shop noted about the person (bot.crm.fields): personal, so erased too.
_DESCRIBED = ("gender", "age_band", "preferences")
_LINK = ("tg_user_id", "chat_id", "join_token", "locale", "timezone")
# The record's own columns in the copy; "consent" says whether the shop may send messages.
PROFILE = (
    ("name", "phone", "notes", "birthday_date", "region", "route_order", "ownership")
    + ("business_type", "location_type", "locale", "timezone", "kind", "stage", "grade")
    + ("score", "value_tier", "consent", "reachable", "source", "created_at")
    + ("last_contact_at", "erased_at", "gender", "age_band", "preferences")
)
# The rows about the person in the copy (and counted by /privacy): section -> table, columns.
SECTIONS: Mapping[str, tuple[type[_About], tuple[str, ...]]] = {
    "consent_history": (ConsentEvent, ("at", "action", "source")),
    "follow_ups": (FollowUp, ("at", "channel", "summary", "outcome", "next_step")),
    "purchases": (Purchase, ("at", "amount_minor", "currency", "note")),
    "points": (PointsEntry, ("at", "delta", "reason", "note")),
    "survey_answers": (SurveyAnswer, ("at", "score", "comment")),
    "complaints": (Complaint, ("created_at", "status", "text", "resolution", "resolved_at")),
}


# Counted by /privacy beside the sections: campaign messages sent, and the messages of
# conversations with the shop, both ways (their texts are in the copy's "conversation").
_COUNTED: list[tuple[str, type[_About]]] = [("sent", OutboxMessage), ("messages", ChatMessage)]


@dataclass(frozen=True, slots=True)
class DataFile:
    """A copy of someone's data: a JSON file's name and UTF-8 bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Summary:
    """What one shop keeps about a person: their record and row counts per section."""

    workspace: Workspace
    customer: Customer
    counts: Mapping[str, int]


def not_erased() -> ColumnElement[bool]:
    """Return the condition that keeps erased records out of a customer query."""
    return Customer.erased_at.is_(None)


async def own_records(session: AsyncSession, *, tg_user_id: int) -> list[Record]:
    """Return the shops and records linked to a Telegram account, erased ones left out."""
    result = await session.execute(
        select(Workspace, Customer)
        .join(Workspace, Workspace.id == Customer.workspace_id)
        .where(Customer.tg_user_id == tg_user_id, not_erased())
        .order_by(Workspace.name, Customer.id)
    )
    return [(workspace, customer) for workspace, customer in result]


async def summarise(session: AsyncSession, *, tg_user_id: int) -> list[Summary]:
    """Count what each shop keeps about the account's person, for /privacy.

    ``counts`` holds each section's rows, ``sent`` (campaign messages) and
    ``messages`` (conversation messages with the shop, in and out).
    """
    summaries = []
    for workspace, c in await own_records(session, tg_user_id=tg_user_id):
        counts = {}
        for key, model in [(k, m) for k, (m, _) in SECTIONS.items()] + _COUNTED:
            query = select(func.count()).select_from(model).where(*_about(model, c))
            counts[key] = int(await session.scalar(query) or 0)
        summaries.append(Summary(workspace, c, counts))
    return summaries


async def export_own_data(
    session: AsyncSession, *, tg_user_id: int, now: datetime
) -> DataFile | None:
    """Gather everything every shop keeps about the account's person; None when nothing."""
    records = await own_records(session, tg_user_id=tg_user_id)
    shops = [await _shop_data(session, workspace, customer) for workspace, customer in records]
    # Named by the shops' local date, as their exports are; shops in different zones
    # share no local date, so the name then says UTC.
    zones = {zone(workspace.timezone) for workspace, _ in records}
    tz = zones.pop() if len(zones) == 1 else None
    return _file("my-data", shops, now, tz) if shops else None


async def export_customer_data(
    session: AsyncSession, *, actor: Member, customer_id: int, now: datetime
) -> DataFile:
    """Gather everything the actor's shop keeps about one customer, for an access request.

    Raises:
        PermissionDenied: when the actor is not an active owner or admin.
        NotFound: when the customer is not in the actor's scope.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    workspace = await workspaces.of_member(session, actor)
    data = await _shop_data(session, workspace, customer)
    await audit.record_change(session, actor, "customer.data_export", customer)
    return _file(f"customer-{customer.id}-data", [data], now, zone(workspace.timezone))


async def erase_own(
    session: AsyncSession, *, tg_user_id: int, customer_id: int, now: datetime
) -> Workspace:
    """Erase the personal data of the account's own record at one shop; return the shop.

    Raises:
        NotFound: when the record is not linked to this account (or is erased already).
    """
    customer = await customers.get_for_account(
        session, customer_id=customer_id, tg_user_id=tg_user_id
    )
    if customer is None or customer.erased_at is not None:
        raise NotFound(N_("There's nothing left to erase at that shop."))
    workspace = await session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    await _erase(session, customer, now=now, actor_member_id=None)
    return workspace


async def erase_customer(
    session: AsyncSession, *, actor: Member, customer_id: int, now: datetime
) -> Customer:
    """Erase a customer's personal data on a request received outside the bot.

    Raises:
        PermissionDenied: when the actor is not an active owner or admin.
        NotFound: when the customer is not in the actor's scope.
        Conflict: when the record was erased already.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    if customer.erased_at is not None:
        raise Conflict(N_("Customer #{id} was erased already."), id=customer.id)
    await _erase(session, customer, now=now, actor_member_id=actor.id)
    return customer


async def _erase(
    session: AsyncSession, c: Customer, *, now: datetime, actor_member_id: int | None
) -> None:
    for model, values in _BLANKED:
        await session.execute(update(model).where(*_about(model, c)).values(values))
    # Open reminders would only ask a rep to call someone who asked to be forgotten, and
    # nobody can be told a complaint's outcome any more: both are closed.
    await session.execute(
        update(Reminder)
        .where(*_about(Reminder, c), Reminder.done_at.is_(None))
        .values(done_at=now)
    )
    await session.execute(
        update(Complaint)
        .where(*_about(Complaint, c), Complaint.status != ComplaintStatus.RESOLVED)
        .values(status=ComplaintStatus.RESOLVED, resolved_at=now)
    )
    for link in (CustomerTag, CustomerShare):
        await session.execute(delete(link).where(*_about(link, c)))
    states = await session.scalars(
        select(ConversationState).where(ConversationState.workspace_id == c.workspace_id)
    )
    for state in states:  # the person's own dialogs, and staff dialogs about them
        if state.data.get("customer_id") == c.id or state.user_id == c.tg_user_id:
            await session.delete(state)
    # Conversation texts and files go too; the Telegram link is still there to find
    # the person's shop choice.
    await inbox_history.erase_messages(session, customer=c, now=now)
    c.name = f"🗑 #{c.id}"
    for column in _PERSONAL + _DESCRIBED + _LINK:
        setattr(c, column, None)
    c.erased_at = now
    # Recorded even when already opted out: the history then shows why it stays so.
    consent.set_consent(
        session,
        c,
        action=ConsentAction.OPT_OUT,
        source="erasure",
        now=now,
        actor_member_id=actor_member_id,
    )
    await audit.record(
        session,
        workspace_id=c.workspace_id,
        actor_member_id=actor_member_id,
        action="customer.erase",
        entity="customer",
        entity_id=c.id,
        details={"by": "admin" if actor_member_id else "customer"},
    )


def _about(model: type[_About], customer: Customer) -> tuple[ColumnElement[bool], ...]:
    return (model.workspace_id == customer.workspace_id, model.customer_id == customer.id)


async def _shop_data(session: AsyncSession, workspace: Workspace, c: Customer) -> dict[str, Any]:
    chain = (
        await companies.chain(session, workspace_id=workspace.id, company_id=c.company_id)
        if c.company_id is not None
        else []
    )
    # The company with its parents, as exports write it: "Jade Garden Tea / Hangzhou".
    company = companies.describe(chain) or None
    tags = await session.scalars(
        select(Tag.name)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(*_about(CustomerTag, c))
        .order_by(Tag.name)
    )
    profile = {column: _plain(getattr(c, column)) for column in PROFILE}
    data: dict[str, Any] = {
        "shop": workspace.name,
        "customer_id": c.id,
        "profile": profile | {"company": company, "tags": list(tags.all())},
    }
    for key, (model, columns) in SECTIONS.items():
        rows = await session.scalars(select(model).where(*_about(model, c)).order_by(model.id))
        data[key] = [{col: _plain(getattr(row, col)) for col in columns} for row in rows]
    for purchase in data["purchases"]:
        purchase["amount"] = format_money(purchase["amount_minor"], purchase["currency"])
    data["points_balance"] = sum(entry["delta"] for entry in data["points"])
    sent = await session.execute(
        select(OutboxMessage.sent_at, OutboxMessage.status, CampaignRun.template_key)
        .join(CampaignRun, CampaignRun.id == OutboxMessage.run_id)
        .where(*_about(OutboxMessage, c))
        .order_by(OutboxMessage.id)
    )
    data["messages_sent"] = [
        {"sent_at": _plain(at), "template": key, "status": _plain(status)}
        for at, status, key in sent
    ]
    data["conversation"] = await inbox_history.export_rows(session, customer=c)
    return data


def _plain(value: object) -> object:
    """Return a value JSON can hold: dates as ISO 8601 text, enums as their value."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value.value if isinstance(value, StrEnum) else value


def _file(stem: str, shops: list[dict[str, Any]], now: datetime, tz: ZoneInfo | None) -> DataFile:
    """Return the JSON file, named by the local date in ``tz`` (None: the UTC date, said so)."""
    if tz is None:
        moment, day = now.astimezone(UTC), f"{show_day(now, ZoneInfo('UTC'))}-UTC"
    else:
        moment, day = now.astimezone(tz), show_day(now, tz)
    document = {"generated_at": moment.isoformat(), "shops": shops}
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return DataFile(f"{stem}-{day}.json", text.encode("utf-8"))
