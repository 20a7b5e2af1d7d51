"""Names: control characters are refused wherever a name is typed, invisible spaces dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import companies, customers, names, teams
from bot.crm.models import Company, Customer
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput
from tests.factories import make_shop

pytestmark = pytest.mark.timeout(60)

HIDDEN = "hidden control character"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["Wang\x00Li", "Wang\x1bLi", "Wang\x7fLi", "Wang\x85Li", "Wang\x1fLi", "Wang\u202eiL"],
)
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match=HIDDEN):
        names.clean_name(text, max_length=200)
    with pytest.raises(InvalidInput, match=HIDDEN):
        customers.clean_name(text)
    with pytest.raises(InvalidInput, match=HIDDEN):
        companies.parse_path(f"Tea / {text}")


async def test_team_names_refuse_control_characters(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        with pytest.raises(InvalidInput, match=HIDDEN):
            await teams.create_team(session, actor=shop.owner, name="North\x00")
        north = await teams.create_team(session, actor=shop.owner, name="North\tEast")
        assert north.name == "North East"


def test_spaces_and_invisible_marks_are_tidied() -> None:
    assert names.clean_name("\ufeff Wang\tLi\n", max_length=200) == "Wang Li"
    assert names.clean_name("Wang\u200bLi", max_length=200) == "WangLi"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467 Wang"
    assert names.clean_name(family, max_length=200) == family
    with pytest.raises(InvalidInput, match="keep it under") as caught:
        names.clean_name("Wang Li", max_length=5)
    assert caught.value.params == {"length": 7, "max": 5}
    with pytest.raises(InvalidInput, match="company"):
        names.clean_name("  ", max_length=5, hint="Please send a company name.")


async def test_services_store_nothing_with_a_control_character(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        with pytest.raises(InvalidInput, match=HIDDEN):
            await companies.resolve_path(session, actor=shop.li, path=["Tea\x00House"])
        wang = await customers.create_customer(
            session, actor=shop.li, name="Wang", phone=None, now=NOW
        )
        with pytest.raises(InvalidInput, match=HIDDEN):
            await customers.update_customer(
                session, actor=shop.li, customer_id=wang.id, changes={"name": "Wang\x00"}
            )
        with pytest.raises(InvalidInput, match=HIDDEN):
            await customers.create_customer(
                session, actor=shop.li, name="Li\x00", phone=None, now=NOW
            )
        assert await session.scalar(select(func.count()).select_from(Company)) == 0
        assert (await session.scalars(select(Customer.name))).all() == ["Wang"]
