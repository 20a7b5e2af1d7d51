"""Marketing spend: recorded on the shop's local day, audited, listed by month, managers only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import spend
from bot.crm.models import AuditLog
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, PermissionDenied
from tests.factories import make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_spend_is_recorded_audited_and_listed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        entry = await spend.record_spend(
            session, actor=shop.admin, amount_minor=50000, note="  flyers  ", now=NOW
        )
        # 00:30 in Shanghai is already the next local day.
        late = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
        await spend.record_spend(session, actor=shop.owner, amount_minor=100, note=None, now=late)
        month = await spend.month_spend(session, actor=shop.owner, now=late)
        audits = (await session.execute(select(AuditLog.action, AuditLog.details))).all()
        with pytest.raises(PermissionDenied):
            await spend.record_spend(session, actor=shop.li, amount_minor=100, note=None, now=NOW)
        with pytest.raises(PermissionDenied):
            await spend.month_spend(session, actor=shop.li, now=NOW)
        with pytest.raises(InvalidInput, match="keep the note under"):
            await spend.record_spend(
                session, actor=shop.owner, amount_minor=100, note="x" * 201, now=NOW
            )
    assert (entry.note, entry.currency, entry.spent_on) == ("flyers", "CNY", date(2026, 11, 23))
    assert [e.spent_on for e in month.entries] == [date(2026, 11, 23), date(2026, 11, 24)]
    assert (month.total_minor, month.currency) == (50100, "CNY")
    assert ("spend.create", {"amount_minor": 50000, "currency": "CNY"}) in audits
