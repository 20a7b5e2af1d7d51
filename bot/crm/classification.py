"""Classification: a customer's sales route (region and visiting order within it).

The route is for reps who visit their customers in rounds; ``route`` lists one
region in visiting order and ``move_in_route`` renumbers it. The choice fields
(ownership, gender…) are the shop's own lists, in ``bot.crm.fields``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Role
from bot.crm.scope import get_visible, visible_customers
from bot.errors import InvalidInput
from bot.i18n import N_

MAX_REGION = 64
MAX_ROUTE_ORDER = 9999
ROUTE_CAP = 50


def clean_classification(values: dict[str, Any]) -> dict[str, Any]:
    """Check the route values among ``values``; return them tidied.

    The choice fields are checked against the shop's own lists by ``bot.crm.fields``.

    Raises:
        InvalidInput: when the region or order is unusable.
    """
    if values.get("region") is not None:
        values["region"] = " ".join(str(values["region"]).split()) or None
        if values["region"] and len(values["region"]) > MAX_REGION:
            raise InvalidInput(
                N_("Please keep the region under {max} characters."), max=MAX_REGION
            )
    order = values.get("route_order")
    if order is not None and not 1 <= int(order) <= MAX_ROUTE_ORDER:
        raise InvalidInput(
            N_("The visiting order must be a number from 1 to {max}."), max=MAX_ROUTE_ORDER
        )
    return values


def parse_route(text: str) -> tuple[str, int | None]:
    """Return the region and optional visiting order typed like ``north`` or ``north 3``.

    Raises:
        InvalidInput: when the region is empty or too long, or the order is not 1-9999.
    """
    words = text.split()
    order: int | None = None
    if len(words) > 1 and words[-1].lstrip("#").isdigit():
        order = int(words.pop().lstrip("#"))
        if not 1 <= order <= MAX_ROUTE_ORDER:
            raise InvalidInput(
                N_("The visiting order must be a number from 1 to {max}."), max=MAX_ROUTE_ORDER
            )
    region = " ".join(words)
    if not region or region.startswith("/") or len(region) > MAX_REGION:
        raise InvalidInput(
            N_("Please send a region, optionally with the visiting order: north 3."),
        )
    return region, order


async def route(session: AsyncSession, *, actor: Member, region: str) -> Sequence[Customer]:
    """Return the actor's customers in a region in visiting order (unnumbered last).

    Staff get the customers they own; owners and admins every visible customer.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    query = visible_customers(actor).where(
        func.lower(Customer.region) == " ".join(region.split()).lower()
    )
    if actor.role is Role.STAFF:
        query = query.where(Customer.owner_member_id == actor.id)
    result = await session.execute(
        query.order_by(
            Customer.route_order.is_(None), Customer.route_order, Customer.name, Customer.id
        ).limit(ROUTE_CAP)
    )
    return result.scalars().all()


async def move_in_route(
    session: AsyncSession, *, actor: Member, customer_id: int, position: int
) -> tuple[Customer, Sequence[Customer]]:
    """Move a customer to ``position`` in their region's route and renumber the rest.

    Returns the customer and the region's route in its new order.

    Raises:
        NotFound: when the customer is not among the actor's.
        InvalidInput: when the customer has no region.
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    if not customer.region:
        raise InvalidInput(
            N_("#{id} has no region yet. Set one on the card first."), id=customer.id
        )
    stops = [c for c in await route(session, actor=actor, region=customer.region)]
    stops = [c for c in stops if c.id != customer.id]
    index = max(0, min(position - 1, len(stops)))
    stops.insert(index, customer)
    for number, stop in enumerate(stops, start=1):
        stop.route_order = number
    await session.flush()
    details = {"position": index + 1, "renumbered": len(stops)}
    await audit.record_change(session, actor, "customer.route", customer, details)
    return customer, stops


async def regions(session: AsyncSession, *, actor: Member) -> list[tuple[str, int]]:
    """Return the regions of the actor's route customers with their counts, busiest first.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    scoped = visible_customers(actor).where(Customer.region.is_not(None))
    if actor.role is Role.STAFF:
        scoped = scoped.where(Customer.owner_member_id == actor.id)
    inner = scoped.subquery()
    result = await session.execute(
        select(inner.c.region, func.count())
        .group_by(inner.c.region)
        .order_by(func.count().desc(), inner.c.region)
        .limit(ROUTE_CAP)
    )
    return [(str(region), int(count)) for region, count in result.all()]
