"""Classification: regions with visiting order, and route moves."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import classification
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound
from tests.factories import add_customer, make_shop


def test_parse_route() -> None:
    assert classification.parse_route(" old  town 3 ") == ("old town", 3)
    assert classification.parse_route("north") == ("north", None)
    assert classification.parse_route("12") == ("12", None)
    with pytest.raises(InvalidInput, match="from 1 to"):
        classification.parse_route("north 0")
    with pytest.raises(InvalidInput, match="send a region"):
        classification.parse_route("/skip")


def test_clean_classification() -> None:
    assert classification.clean_classification({"region": "  a   b "}) == {"region": "a b"}
    with pytest.raises(InvalidInput, match="keep the region under"):
        classification.clean_classification({"region": "x" * 65})


async def test_route_and_move_renumber_within_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        a = await add_customer(session, shop, "Ai", shop.li, region="North", route_order=2)
        b = await add_customer(session, shop, "Bo", shop.li, region="north")
        c = await add_customer(session, shop, "Cai", shop.li, region="north", route_order=1)
        d = await add_customer(session, shop, "Du", shop.chen, region="north", route_order=1)
        await add_customer(session, shop, "Elsewhere", shop.li, region="south")
        mine = await classification.route(session, actor=shop.li, region="NORTH")
        everyone = await classification.route(session, actor=shop.owner, region="north")
        _, moved = await classification.move_in_route(
            session, actor=shop.li, customer_id=b.id, position=1
        )
        _, last = await classification.move_in_route(
            session, actor=shop.li, customer_id=c.id, position=99
        )
        with pytest.raises(NotFound):
            await classification.move_in_route(
                session, actor=shop.li, customer_id=d.id, position=1
            )
        regions = await classification.regions(session, actor=shop.li)
    assert [x.name for x in mine] == ["Cai", "Ai", "Bo"]
    assert len(everyone) == 4
    assert [x.name for x in moved] == ["Bo", "Cai", "Ai"]
    assert [(x.name, x.route_order) for x in last] == [("Bo", 1), ("Ai", 2), ("Cai", 3)]
    assert a.route_order == 2 and d.route_order == 1
    assert sorted(regions) == [("North", 1), ("north", 2), ("south", 1)]
