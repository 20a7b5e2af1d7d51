"""Purchases: typed amounts as minor units, recording a purchase and a customer's history.

A purchase also makes a lead a customer and moves it to the won stage: someone
who has bought has been won, whether or not a rep moved the stage first. It
earns loyalty points in the same transaction, so a purchase never exists
without its points (nor points without their purchase).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, loyalty, workspaces
from bot.crm.models import Customer, CustomerKind, Member, Purchase
from bot.crm.notes import clean_note
from bot.crm.scope import get_visible
from bot.errors import InvalidInput
from bot.i18n import N_

AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$")
CURRENCY_MARKS = re.compile(
    r"^(?:[¥￥$€£]|cny|rmb|usd|eur|元)|(?:[¥￥$€£]|cny|rmb|usd|eur|元)$", re.I
)
SYMBOLS = {"CNY": "¥", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}
MAX_MINOR = 10**12
MAX_NOTE = 500
HISTORY_PAGE = 10


@dataclass(frozen=True, slots=True)
class Recorded:
    """A purchase just saved, whether it made a lead a customer, and the new totals."""

    purchase: Purchase
    customer: Customer
    converted: bool
    count: int
    total_minor: int
    points: int = 0
    points_balance: int = 0


@dataclass(frozen=True, slots=True)
class History:
    """A customer's latest purchases and the totals over all of them."""

    customer: Customer
    purchases: Sequence[Purchase]
    count: int
    total_minor: int
    currency: str

    @property
    def repurchases(self) -> int:
        """Return how many purchases came after the first."""
        return max(self.count - 1, 0)


def parse_amount(text: str) -> int:
    """Return the minor units (two decimals) of an amount typed like 128, 128.50, ¥128.5 or 1,280.

    Raises:
        InvalidInput: when it is not a positive amount.
    """
    value = "".join(text.split())
    for _ in range(2):
        value = CURRENCY_MARKS.sub("", value)
    if value.startswith("-"):
        raise InvalidInput(N_("The amount must be more than zero, like 128 or 128.50."))
    if not AMOUNT.match(value):
        raise InvalidInput(
            N_("“{amount}” isn't an amount I understand. Try 128, 128.50 or 1,280."),
            amount=text.strip(),
        )
    minor = int(Decimal(value.replace(",", "")) * 100)
    if minor <= 0:
        raise InvalidInput(N_("The amount must be more than zero, like 128 or 128.50."))
    if minor >= MAX_MINOR:
        raise InvalidInput(N_("That amount is too large. Please check it."))
    return minor


def check_amount(amount_minor: int) -> None:
    """Refuse an amount of money that is not above zero or is past ``MAX_MINOR``.

    Raises:
        InvalidInput: when it is.
    """
    if amount_minor <= 0 or amount_minor >= MAX_MINOR:
        raise InvalidInput(N_("The amount must be more than zero, like 128 or 128.50."))


def format_money(minor: int, currency: str) -> str:
    """Return minor units as text with the currency's symbol or code, like ¥1,280.50."""
    amount = f"{minor // 100:,}.{minor % 100:02d}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


async def record_purchase(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    amount_minor: int,
    note: str | None,
    now: datetime,
) -> Recorded:
    """Save a purchase of a visible customer in the workspace's currency and credit its points.

    Raises:
        NotFound: when the customer is not among the actor's.
        InvalidInput: when the amount is not positive or the note too long.
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    check_amount(amount_minor)
    note = clean_note(note, most=MAX_NOTE)
    workspace = await workspaces.of_member(session, actor)
    purchase = Purchase(
        workspace_id=actor.workspace_id,
        customer_id=customer.id,
        member_id=actor.id,
        amount_minor=amount_minor,
        currency=workspace.currency,
        note=note,
        at=now,
    )
    session.add(purchase)
    converted = customer.kind is CustomerKind.LEAD
    customer.kind = CustomerKind.CUSTOMER
    customer.stage = "won"
    await session.flush()
    details = {"customer_id": customer.id, "converted": converted}
    await audit.record_change(session, actor, "purchase.create", purchase, details)
    points = await loyalty.award_purchase(session, purchase=purchase, workspace=workspace)
    points_balance = await loyalty.balance(session, actor.workspace_id, customer.id)
    count, total = await _totals(session, customer, workspace.currency)
    return Recorded(purchase, customer, converted, count, total, points, points_balance)


async def purchase_history(session: AsyncSession, *, actor: Member, customer_id: int) -> History:
    """Return a visible customer's latest purchases, count and total.

    Raises:
        NotFound: when the customer is not among the actor's.
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    workspace = await workspaces.of_member(session, actor)
    result = await session.execute(
        select(Purchase)
        .where(Purchase.workspace_id == actor.workspace_id, Purchase.customer_id == customer.id)
        .order_by(Purchase.at.desc(), Purchase.id.desc())
        .limit(HISTORY_PAGE)
    )
    count, total = await _totals(session, customer, workspace.currency)
    return History(customer, result.scalars().all(), count, total, workspace.currency)


async def _totals(session: AsyncSession, customer: Customer, currency: str) -> tuple[int, int]:
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Purchase.amount_minor), 0)).where(
                Purchase.workspace_id == customer.workspace_id,
                Purchase.customer_id == customer.id,
                Purchase.currency == currency,
            )
        )
    ).one()
    return int(row[0]), int(row[1])
