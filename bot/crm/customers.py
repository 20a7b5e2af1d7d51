"""Customer records: adding, finding and editing them, and linking people who join by link.

``find_customers`` is built for a million rows on SQLite: a phone is looked up
by equality or prefix on the indexed E.164 value, a name by an indexed prefix
range; only when those find nothing does it fall back to a substring search of
names, company names and tag names, bounded by the limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, fields, names
from bot.crm.classification import clean_classification
from bot.crm.guards import require_role
from bot.crm.models import (
    Company,
    Customer,
    CustomerKind,
    Member,
    Role,
    Workspace,
)
from bot.crm.scope import get_visible, visible_customers
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import N_
from bot.messaging import User

MAX_NAME = 200
MAX_NOTES = 2000
EDITABLE = frozenset(
    ("name", "phone", "company_id", "region", "route_order", "notes", "birthday_date")
    + tuple(fields.FIELDS)
)


@dataclass(frozen=True, slots=True)
class Existing:
    """A record that already has the phone or account; ``customer`` None when out of scope."""

    customer_id: int
    customer: Customer | None


def clean_name(text: str) -> str:
    """Return a customer's name with single spaces and no invisible characters.

    Raises:
        InvalidInput: when it has a control character, is empty, a command, or too long.
    """
    return names.clean_name(text, max_length=MAX_NAME)


async def find_existing(
    session: AsyncSession, *, actor: Member, phone: str | None, tg_user_id: int | None = None
) -> Existing | None:
    """Return the record in the actor's workspace that already has this phone or account."""
    conditions: list[ColumnElement[bool]] = []
    if phone:
        conditions.append(Customer.phone == phone)
    if tg_user_id is not None:
        conditions.append(Customer.tg_user_id == tg_user_id)
    if not conditions:
        return None
    found = await session.scalar(
        select(Customer.id)
        .where(Customer.workspace_id == actor.workspace_id, or_(*conditions))
        .limit(1)
    )
    if found is None:
        return None
    visible = await session.scalar(visible_customers(actor).where(Customer.id == found))
    return Existing(found, visible)


async def create_customer(
    session: AsyncSession,
    *,
    actor: Member,
    name: str,
    phone: str | None,
    now: datetime,
    company_id: int | None = None,
    classification: Mapping[str, Any] | None = None,
) -> Customer:
    """Add a lead owned by the actor, with a fresh join link of its own.

    ``classification`` may set the shop's choice fields (``bot.crm.fields``), region
    and route order.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when a value cannot be used.
        Conflict: when the phone is already in the workspace.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    values = _checked({"name": name, "phone": phone, "company_id": company_id})
    values |= _checked(dict(classification or {}))
    await fields.check_values(session, workspace_id=actor.workspace_id, values=values)
    if await find_existing(session, actor=actor, phone=values["phone"]) is not None:
        raise Conflict(N_("A customer with this phone number already exists."))
    await _check_company(session, actor, values.get("company_id"))
    customer = Customer(
        workspace_id=actor.workspace_id,
        owner_member_id=actor.id,
        kind=CustomerKind.LEAD,
        stage="new",
        source="staff",
        owner_assigned_at=now,
        join_token=secrets.token_urlsafe(12),
        **values,
    )
    session.add(customer)
    await session.flush()
    details = {"fields": sorted(k for k, v in values.items() if v is not None)}
    await audit.record_change(session, actor, "customer.create", customer, details)
    return customer


async def update_customer(
    session: AsyncSession, *, actor: Member, customer_id: int, changes: Mapping[str, Any]
) -> Customer:
    """Change fields of a visible customer and note the field names in the audit log.

    Raises:
        NotFound: when the customer is not among the actor's.
        InvalidInput: when a value cannot be used.
        Conflict: when the new phone belongs to another record.
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    values = _checked(dict(changes))
    await fields.check_values(session, workspace_id=actor.workspace_id, values=values)
    if values.get("phone"):
        existing = await find_existing(session, actor=actor, phone=values["phone"])
        if existing is not None and existing.customer_id != customer.id:
            raise Conflict(N_("Another customer already has this phone number."))
    await _check_company(session, actor, values.get("company_id"))
    changed = sorted(k for k, v in values.items() if getattr(customer, k) != v)
    for key in changed:
        setattr(customer, key, values[key])
    if changed:
        await session.flush()
        await audit.record_change(session, actor, "customer.update", customer, {"fields": changed})
    return customer


async def join_by_link(
    session: AsyncSession,
    *,
    workspace: Workspace,
    user: User,
    chat_id: int,
    locale: str,
    referrer: Member | None,
) -> tuple[Customer, bool]:
    """Find or create the sender's record in ``workspace``; return it and whether it is new.

    A new record is a lead owned by the referring member, or unowned (the lead
    pool) when the workspace's public link was used. An existing record keeps
    its owner: a second link does not steal a customer from their rep.
    """
    customer = await session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace.id, Customer.tg_user_id == user.id
        )
    )
    if customer is not None:
        customer.chat_id = chat_id
        return customer, False
    customer = Customer(
        workspace_id=workspace.id,
        owner_member_id=referrer.id if referrer else None,
        name=(user.full_name or user.username or str(user.id))[:200],
        tg_user_id=user.id,
        chat_id=chat_id,
        locale=locale,
        kind=CustomerKind.LEAD,
        source="referral" if referrer else "join_link",
    )
    session.add(customer)
    await session.flush()
    details = {"source": customer.source, "owner_member_id": customer.owner_member_id}
    await audit.record_system(session, "customer.join", customer, details)
    return customer, True


async def for_account(session: AsyncSession, *, tg_user_id: int) -> Sequence[Customer]:
    """Return every customer record linked to a Telegram account, newest first.

    One person may be a customer of several merchants using the same bot.
    """
    result = await session.execute(
        select(Customer)
        .where(Customer.tg_user_id == tg_user_id)
        .order_by(Customer.updated_at.desc(), Customer.id.desc())
    )
    return result.scalars().all()


async def get_for_account(
    session: AsyncSession, *, customer_id: int, tg_user_id: int
) -> Customer | None:
    """Return the customer record only if it belongs to this Telegram account."""
    return await session.scalar(
        select(Customer).where(Customer.id == customer_id, Customer.tg_user_id == tg_user_id)
    )


async def link_by_token(
    session: AsyncSession, *, token: str, user: User, chat_id: int, locale: str
) -> tuple[Workspace, Customer]:
    """Link the Telegram account that opened a record's own join link to that record.

    Raises:
        NotFound: when no record has this token.
        Conflict: when the record is linked to another account, or this account
            already belongs to another record in the same workspace.
    """
    customer = await session.scalar(select(Customer).where(Customer.join_token == token))
    if customer is None or not token or customer.erased_at is not None:
        raise NotFound(N_("This link isn't valid any more. Please ask the shop for a new one."))
    workspace = await session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    if customer.tg_user_id == user.id:
        customer.chat_id = chat_id
        return workspace, customer
    if customer.tg_user_id is not None:
        raise Conflict(N_("This link was already used by another Telegram account."))
    other = await session.scalar(
        select(Customer.id).where(
            Customer.workspace_id == customer.workspace_id, Customer.tg_user_id == user.id
        )
    )
    if other is not None:
        raise Conflict(
            N_("Your Telegram account is already linked to another record at this shop.")
        )
    customer.tg_user_id = user.id
    customer.chat_id = chat_id
    customer.locale = customer.locale or locale
    await session.flush()
    await audit.record_system(session, "customer.link", customer)
    return workspace, customer


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - EDITABLE
    if unknown:
        msg = f"not editable: {sorted(unknown)}"
        raise ValueError(msg)
    if "name" in values:
        values["name"] = clean_name(str(values["name"]))
    values = clean_classification(values)
    notes = values.get("notes")
    if notes is not None:
        values["notes"] = str(notes).strip() or None
        if values["notes"] and len(values["notes"]) > MAX_NOTES:
            raise InvalidInput(N_("Please keep the notes under {max} characters."), max=MAX_NOTES)
    return values


async def _check_company(session: AsyncSession, actor: Member, company_id: int | None) -> None:
    if company_id is None:
        return
    found = await session.scalar(
        select(Company.id).where(
            Company.id == company_id, Company.workspace_id == actor.workspace_id
        )
    )
    if found is None:
        raise NotFound(N_("That company doesn't exist."))
