"""Tags, scores and grades on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import tags
from bot.crm.models import Customer, TagDimension
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound, PermissionDenied
from tests.factories import add_customer, make_shop


def test_grade_helpers() -> None:
    thresholds = {"A": 80, "B": 50}
    assert [tags.grade_for(thresholds, s) for s in (100, 80, 79, 50, 0, -5)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "C",
    ]
    assert tags.lowest_grade({"A": 90, "B": 60, "C": 30}) == "D"
    assert tags.parse_grades("a=80, B=50") == {"A": 80, "B": 50}
    assert tags.describe_grades({"B": 50, "A": 80}) == "A ≥ 80, B ≥ 50, C"
    for bad in ("", "A80", "A=x", "A=80 B=80", "A=1 B=2 C=3 D=4 E=5 F=6 G=7"):
        with pytest.raises(InvalidInput):
            tags.parse_grades(bad)
    assert tags.parse_dimension("INT") is TagDimension.INTEREST
    with pytest.raises(InvalidInput) as refused:
        tags.parse_dimension("colour")
    assert "demographic" in refused.value.key
    assert tags.parse_dimension("兴趣") is TagDimension.INTEREST
    with pytest.raises(InvalidInput):
        tags.clean_tag_name("two words")
    assert tags.clean_tag_name("+VIP") == "vip"


async def test_tags_score_and_grade(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        qian = await add_customer(session, shop, "Qian", shop.chen)
        with pytest.raises(PermissionDenied):
            await tags.define_tag(
                session, actor=shop.li, name="vip", dimension=TagDimension.SOCIAL, weight=5
            )
        await tags.define_tag(
            session, actor=shop.owner, name="vip", dimension=TagDimension.SOCIAL, weight=60
        )
        await tags.define_tag(
            session, actor=shop.admin, name="tea-lover", dimension=TagDimension.INTEREST, weight=30
        )
        await tags.define_tag(
            session, actor=shop.admin, name="cold", dimension=TagDimension.BEHAVIOUR, weight=-20
        )
        with pytest.raises(InvalidInput):
            await tags.define_tag(
                session, actor=shop.admin, name="x", dimension=TagDimension.SOCIAL, weight=5000
            )

        done = await tags.change_tags(
            session, actor=shop.li, customer_id=zhao.id, add=["+vip", "tea-lover"]
        )
        assert (done.customer.score, done.customer.grade) == (90, "A")
        assert [t.name for t in done.tags] == ["vip", "tea-lover"]
        done = await tags.change_tags(
            session, actor=shop.li, customer_id=zhao.id, add=["cold"], remove=["-vip"]
        )
        assert (done.customer.score, done.customer.grade) == (10, "C")
        with pytest.raises(InvalidInput) as unknown:
            await tags.change_tags(session, actor=shop.li, customer_id=zhao.id, add=["tea-lovr"])
        assert unknown.value.params["close"] == "tea-lover"
        with pytest.raises(NotFound):
            await tags.change_tags(session, actor=shop.li, customer_id=qian.id, add=["vip"])

        await tags.define_tag(
            session, actor=shop.admin, name="tea-lover", dimension=TagDimension.INTEREST, weight=70
        )
        await session.refresh(zhao)
        assert (zhao.score, zhao.grade) == (50, "B")
        await tags.set_grades(
            session, actor=shop.admin, workspace=shop.workspace, thresholds={"A": 40, "B": 10}
        )
        await session.refresh(zhao)
        await session.refresh(qian)
        assert (zhao.grade, qian.grade) == ("A", "C")
        assert await tags.delete_tag(session, actor=shop.admin, name="tea-lover") == 1
        await session.refresh(zhao)
        assert (zhao.score, zhao.grade) == (-20, "C")
        with pytest.raises(NotFound):
            await tags.delete_tag(session, actor=shop.admin, name="tea-lover")
        listed = await tags.list_tags(session, actor=shop.li)
        assert {t.name for t in listed} == {"vip", "cold"}
        scores = await session.execute(select(Customer.name, Customer.score).order_by(Customer.id))
        assert scores.all() == [("Zhao", -20), ("Qian", 0)]
