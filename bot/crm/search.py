"""Search: finding the customers a member may see by name, phone, company or tag."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.guards import require_role
from bot.crm.models import Company, Customer, CustomerTag, Member, Role, Tag, Workspace
from bot.crm.phones import normalize_phone
from bot.crm.scope import visible_customers
from bot.errors import InvalidInput

FIND_LIMIT = 10
MIN_PHONE_DIGITS = 4
_PHONEISH = re.compile(r"^\+?[\d\s\-().]+$")


async def find_customers(
    session: AsyncSession, *, actor: Member, text: str, limit: int = FIND_LIMIT
) -> list[Customer]:
    """Return up to ``limit`` visible customers matching a name, phone, company or tag.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    text = " ".join(text.split())
    if not text:
        return []
    digits = re.sub(r"\D", "", text)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if _PHONEISH.match(text) and len(digits) >= MIN_PHONE_DIGITS:
        return await _find_phone(session, actor, text, digits, limit, sqlite=sqlite)
    base = visible_customers(actor)
    found = await _all(
        session, base.where(_prefix(Customer.name, text, sqlite=sqlite)), limit, by_name=True
    )
    if found:
        return found
    company_ids = select(Company.id).where(
        Company.workspace_id == actor.workspace_id, Company.name.icontains(text, autoescape=True)
    )
    tagged = (
        select(CustomerTag.customer_id)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(Tag.workspace_id == actor.workspace_id, Tag.name.icontains(text, autoescape=True))
    )
    matches = or_(
        Customer.name.icontains(text, autoescape=True),
        Customer.company_id.in_(company_ids),
        Customer.id.in_(tagged),
    )
    return await _all(session, base.where(matches), limit, by_name=True)


async def _find_phone(
    session: AsyncSession, actor: Member, text: str, digits: str, limit: int, *, sqlite: bool
) -> list[Customer]:
    workspace = await session.get(Workspace, actor.workspace_id)
    region = workspace.region if workspace else None
    base = visible_customers(actor)
    try:
        exact = normalize_phone(text, region=region)
    except InvalidInput:
        exact = None
    if exact is not None:
        found = await _all(session, base.where(Customer.phone == exact), limit)
        if found:
            return found
    if text.startswith("+"):
        prefix = "+" + digits
    elif region:
        prefix = f"+{phonenumbers.country_code_for_region(region)}{digits.lstrip('0')}"
    else:
        prefix = "+" + digits
    found = await _all(session, base.where(_prefix(Customer.phone, prefix, sqlite=sqlite)), limit)
    if found:
        return found
    return await _all(session, base.where(Customer.phone.like(f"%{digits}%")), limit)


def _prefix(column: Any, prefix: str, *, sqlite: bool) -> ColumnElement[bool]:
    """Match a prefix so that SQLite can use the column's index (a range, not LIKE)."""
    if sqlite:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        matched: ColumnElement[bool] = (column >= prefix) & (column < upper)
    else:
        matched = column.startswith(prefix, autoescape=True)
    return matched


async def _all(
    session: AsyncSession, query: Select[Any], limit: int, *, by_name: bool = False
) -> list[Customer]:
    order = (Customer.name, Customer.id) if by_name else (Customer.id,)
    result = await session.execute(query.order_by(*order).limit(limit))
    return list(result.scalars().all())
