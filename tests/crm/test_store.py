"""The store: database errors never carry customer data into messages or the log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.models import Customer
from bot.crm.store import unit_of_work
from tests.factories import make_shop

pytestmark = pytest.mark.timeout(60)

PHONE = "+8613800000605"
SECRET_NAME = "Zhao Secretname"


async def test_integrity_error_hides_parameters(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        session.add(Customer(workspace_id=shop.li.workspace_id, name="Wang", phone=PHONE))
    with pytest.raises(IntegrityError) as caught:
        await _add_duplicate(sessions, shop.li.workspace_id)
    text = str(caught.value) + caplog.text
    assert "insert failed" in caplog.text
    assert "INSERT INTO customer" in text
    assert PHONE not in text
    assert SECRET_NAME not in text
    assert "hidden due to hide_parameters" in text


async def _add_duplicate(sessions: async_sessionmaker[AsyncSession], workspace_id: int) -> None:
    async with unit_of_work(sessions) as session:
        session.add(Customer(workspace_id=workspace_id, name=SECRET_NAME, phone=PHONE))
        try:
            await session.flush()
        except IntegrityError:
            logging.getLogger("tests.store").exception("insert failed")
            raise
