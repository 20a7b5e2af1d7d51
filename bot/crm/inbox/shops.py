"""Shop choice: which shop a message is for when the writer is a customer of several.

``route`` answers for every message from a customer's Telegram account:

1. One shop knows them: that shop.
2. They chose a shop for the current conversation (``choose_shop``, the buttons or
   ``/shop``): that shop. A choice holds until a conversation with that shop
   that was open at, or opened after, the choice is closed; then they are asked
   again for the next one.
3. Otherwise, when exactly one of their shops has an open conversation with
   them, that shop: the conversation goes on.
4. Otherwise the handler asks, with one button per shop in ``Route.choices``,
   and calls ``choose_shop`` with the answer.

Erased records are never routed to. Nobody's choice is seen by the shops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import Customer, ShopChoice, Thread, ThreadStatus, Workspace
from bot.errors import NotFound
from bot.i18n import N_

Record = tuple[Workspace, Customer]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a customer's message goes: ``customer`` when known, else ask among ``choices``.

    Both empty: the account is no customer of any shop (show the join hint).
    """

    customer: Customer | None
    choices: tuple[Record, ...]


async def records_of(session: AsyncSession, *, tg_user_id: int) -> list[Record]:
    """Return the shops and live records linked to a Telegram account, by shop name."""
    result = await session.execute(
        select(Workspace, Customer)
        .join(Workspace, Workspace.id == Customer.workspace_id)
        .where(Customer.tg_user_id == tg_user_id, Customer.erased_at.is_(None))
        .order_by(Workspace.name, Customer.id)
    )
    return [(workspace, customer) for workspace, customer in result]


async def route(session: AsyncSession, *, tg_user_id: int) -> Route:
    """Return which shop's record a message from this account belongs to, or the shops to ask."""
    records = await records_of(session, tg_user_id=tg_user_id)
    if len(records) <= 1:
        return Route(records[0][1] if records else None, ())
    by_shop = {workspace.id: customer for workspace, customer in records}
    choice = await session.get(ShopChoice, tg_user_id)
    if choice is not None and choice.workspace_id in by_shop:
        chosen = by_shop[choice.workspace_id]
        if not await _conversation_ended(session, chosen, since=choice.chosen_at):
            return Route(chosen, ())
    open_in = list(
        await session.scalars(
            select(Thread.customer_id).where(
                Thread.customer_id.in_([c.id for c in by_shop.values()]),
                Thread.status == ThreadStatus.OPEN,
            )
        )
    )
    if len(open_in) == 1:
        return Route(next(c for c in by_shop.values() if c.id == open_in[0]), ())
    return Route(None, tuple(records))


async def chosen_shop(session: AsyncSession, *, tg_user_id: int) -> int | None:
    """Return the workspace id of the account's last shop choice, if any (for ``/shop``)."""
    choice = await session.get(ShopChoice, tg_user_id)
    return choice.workspace_id if choice is not None else None


async def choose_shop(
    session: AsyncSession, *, tg_user_id: int, workspace_id: int, now: datetime
) -> Customer:
    """Record that the account's messages go to ``workspace_id``; return their record there.

    Raises:
        NotFound: when the account is no (live) customer of that shop.
    """
    customer = await session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id,
            Customer.tg_user_id == tg_user_id,
            Customer.erased_at.is_(None),
        )
    )
    if customer is None:
        raise NotFound(N_("You're not a customer of that shop."))
    choice = await session.get(ShopChoice, tg_user_id)
    if choice is None:
        session.add(ShopChoice(tg_user_id=tg_user_id, workspace_id=workspace_id, chosen_at=now))
    else:
        choice.workspace_id, choice.chosen_at = workspace_id, now
    await session.flush()
    return customer


async def clear_choice(
    session: AsyncSession, *, tg_user_id: int, workspace_id: int | None = None
) -> None:
    """Forget the account's shop choice (only when it is ``workspace_id``, if given)."""
    statement = delete(ShopChoice).where(ShopChoice.tg_user_id == tg_user_id)
    if workspace_id is not None:
        statement = statement.where(ShopChoice.workspace_id == workspace_id)
    await session.execute(statement)


async def _conversation_ended(
    session: AsyncSession, customer: Customer, *, since: datetime
) -> bool:
    closed = await session.scalar(
        select(Thread.id)
        .where(
            Thread.workspace_id == customer.workspace_id,
            Thread.customer_id == customer.id,
            Thread.status == ThreadStatus.CLOSED,
            Thread.closed_at >= since,
        )
        .limit(1)
    )
    return closed is not None
