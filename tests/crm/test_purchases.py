"""Purchases: amounts as minor units, recording, conversion and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import purchases
from bot.crm.models import CustomerKind
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound
from tests.factories import add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("128", 12800),
        ("128.50", 12850),
        ("¥128.5", 12850),
        ("1,280", 128000),
        ("1,280.05", 128005),
        ("128元", 12800),
        ("CNY 99", 9900),
        ("0.01", 1),
    ],
)
def test_parse_amount(typed: str, minor: int) -> None:
    assert purchases.parse_amount(typed) == minor


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("abc", "isn't an amount"),
        ("12.345", "isn't an amount"),
        ("1,28", "isn't an amount"),
        ("", "isn't an amount"),
        ("99999999999", "too large"),
    ],
)
def test_parse_amount_refuses(typed: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        purchases.parse_amount(typed)


def test_format_money() -> None:
    assert purchases.format_money(128000, "CNY") == "¥1,280.00"
    assert purchases.format_money(5, "CHF") == "0.05 CHF"


async def test_record_and_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        first = await purchases.record_purchase(
            session, actor=shop.li, customer_id=zhao.id, amount_minor=12850, note=" 250g ", now=NOW
        )
        assert (first.converted, first.count, first.total_minor) == (True, 1, 12850)
        assert (zhao.kind, zhao.stage) == (CustomerKind.CUSTOMER, "won")
        assert first.purchase.currency == "CNY" and first.purchase.note == "250g"
        second = await purchases.record_purchase(
            session,
            actor=shop.li,
            customer_id=zhao.id,
            amount_minor=100,
            note=None,
            now=NOW + timedelta(days=1),
        )
        assert (second.converted, second.count, second.total_minor) == (False, 2, 12950)
        with pytest.raises(NotFound):
            await purchases.record_purchase(
                session, actor=shop.chen, customer_id=zhao.id, amount_minor=1, note=None, now=NOW
            )
        with pytest.raises(InvalidInput):
            await purchases.record_purchase(
                session, actor=shop.li, customer_id=zhao.id, amount_minor=0, note=None, now=NOW
            )
        history = await purchases.purchase_history(session, actor=shop.owner, customer_id=zhao.id)
        assert [p.amount_minor for p in history.purchases] == [100, 12850]
        assert (history.count, history.total_minor, history.repurchases) == (2, 12950, 1)
        with pytest.raises(NotFound):
            await purchases.purchase_history(session, actor=shop.chen, customer_id=zhao.id)
