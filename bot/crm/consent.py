"""Consent: opt-in, opt-out and reachability changes, each kept as an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import Consent, ConsentAction, ConsentEvent, Customer

_STATE = {
    ConsentAction.OPT_IN: Consent.OPTED_IN,
    ConsentAction.OPT_OUT: Consent.OPTED_OUT,
    ConsentAction.DECLINED: Consent.OPTED_OUT,
}


def set_consent(
    session: AsyncSession,
    customer: Customer,
    *,
    action: ConsentAction,
    source: str,
    now: datetime,
    actor_member_id: int | None = None,
) -> None:
    """Record a consent decision and apply it to the customer at once."""
    session.add(
        ConsentEvent(
            workspace_id=customer.workspace_id,
            customer_id=customer.id,
            action=action,
            source=source,
            actor_member_id=actor_member_id,
            at=now,
        )
    )
    if action in _STATE:
        customer.consent = _STATE[action]
    if action is ConsentAction.BLOCKED:
        customer.reachable = False
    if action in (ConsentAction.UNBLOCKED, ConsentAction.OPT_IN):
        # Opting in happens in a live chat, so the account can be reached again.
        customer.reachable = True
    customer.updated_at = now


async def change_consent(
    session: AsyncSession,
    customer: Customer,
    *,
    action: ConsentAction,
    source: str,
    now: datetime,
    actor_member_id: int | None = None,
) -> bool:
    """Apply a consent decision only if it changes the customer; return whether it did.

    An unchanged decision (a button pressed twice) records no event.
    """
    target = _STATE[action]
    # The check is part of the UPDATE, so it reads the committed row inside this
    # transaction: of several updates racing on one customer (two workers, or a
    # button pressed three times), only the first matches and writes an event.
    values: dict[str, object] = {"consent": target, "updated_at": now}
    if action is ConsentAction.OPT_IN:
        values["reachable"] = True
    result = await session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.consent != target)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)  # noqa: S101 - an UPDATE has a cursor
    if result.rowcount == 0:
        await session.refresh(customer)
        return False
    set_consent(
        session,
        customer,
        action=action,
        source=source,
        now=now,
        actor_member_id=actor_member_id,
    )
    return True


async def opt_out_everywhere(
    session: AsyncSession, customers: Sequence[Customer], *, source: str, now: datetime
) -> list[Customer]:
    """Opt the account out of every workspace it had opted in to; return those changed."""
    changed = []
    for customer in customers:
        if customer.consent is not Consent.OPTED_IN:
            continue
        if await change_consent(
            session, customer, action=ConsentAction.OPT_OUT, source=source, now=now
        ):
            changed.append(customer)
    return changed


def set_reachable(
    session: AsyncSession, customers: Sequence[Customer], *, reachable: bool, now: datetime
) -> None:
    """Mark an account's records (un)reachable after it blocked or unblocked the bot."""
    action = ConsentAction.UNBLOCKED if reachable else ConsentAction.BLOCKED
    for customer in customers:
        if customer.reachable != reachable:
            set_consent(session, customer, action=action, source="my_chat_member", now=now)
