"""The template store on a real database: defaults, save, history, rollback, scope and roles."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import template_store, template_versions
from bot.crm.models import AuditLog, MessageTemplate, TemplateVersion
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound, PermissionDenied
from tests.factories import add_customer, make_shop

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
NEW_TEXT = "<b>Hello {{ first_name }}</b>, see you at {{ merchant }}!"


async def test_delivery_reads_files_until_defaults_are_copied(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        ws = shop.workspace.id
        bodies = await template_store.current_bodies(session, ws, "birthday")
        assert {b.template_id for b in bodies.values()} == {None}
        assert len(bodies) == 8  # en and zh-CN, each plain and A/B/C
        assert await template_store.current_bodies(session, ws, "nope") == {}
        assert await session.scalar(select(MessageTemplate.id).limit(1)) is None

        assert await template_store.ensure_defaults(session, workspace_id=ws) == 28
        assert await template_store.ensure_defaults(session, workspace_id=ws) == 0
        bodies = await template_store.current_bodies(session, ws, "birthday")
        assert None not in {b.template_id for b in bodies.values()}
        assert {b.version for b in bodies.values()} == {1}
        default = template_store.default_bodies()["birthday"][("en", "A")]
        assert bodies[("en", "A")].body == default
        assert await template_store.keys(session, ws) == list(template_store.DEFAULT_KEYS)


async def test_save_history_and_rollback(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        listed = await template_versions.list_templates(session, actor=shop.admin)
        assert [t.key for t in listed[:2]] == ["welcome", "welcome"]
        assert [(t.locale, t.variant) for t in listed[:2]] == [("en", ""), ("zh-CN", "")]
        first = await template_versions.current_text(
            session, actor=shop.admin, key="welcome", locale="en", variant=""
        )
        assert first is not None and (first.version, first.origin) == (1, "default")

        saved = await template_versions.save_version(
            session,
            actor=shop.admin,
            key="welcome",
            locale="en",
            variant="",
            body=NEW_TEXT,
            now=NOW,
        )
        assert (saved.version, saved.origin, saved.author) == (2, "edit", "Zhou")
        bodies = await template_store.current_bodies(session, shop.workspace.id, "welcome")
        assert bodies[("en", "")].body == NEW_TEXT
        assert bodies[("zh-CN", "")].version == 1

        back = await template_versions.rollback(
            session, actor=shop.owner, template_id=saved.template_id, version=1, now=LATER
        )
        assert (back.version, back.origin, back.author, back.body) == (
            3,
            "rollback:1",
            "Wang",
            first.body,
        )
        versions = await template_versions.history(
            session, actor=shop.admin, template_id=saved.template_id
        )
        assert [(v.version, v.origin) for v in versions] == [
            (3, "rollback:1"),
            (2, "edit"),
            (1, "default"),
        ]
        assert {v.current_version for v in versions} == {3}

        with pytest.raises(InvalidInput):
            await template_versions.rollback(
                session, actor=shop.owner, template_id=saved.template_id, version=3, now=LATER
            )
        with pytest.raises(NotFound):
            await template_versions.rollback(
                session, actor=shop.owner, template_id=saved.template_id, version=9, now=LATER
            )
        audit = await session.scalars(
            select(AuditLog.details).where(AuditLog.action == "template.save")
        )
        assert [(d["version"], d["origin"]) for d in audit] == [(2, "edit"), (3, "rollback:1")]


async def test_refused_text_and_new_variants(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        with pytest.raises(InvalidInput) as refused:
            await template_versions.save_version(
                session,
                actor=shop.admin,
                key="welcome",
                locale="en",
                variant="",
                body="Hi {{ phone }}",
                now=NOW,
            )
        assert refused.value.params["name"] == "{{ phone }}"
        assert (
            await session.scalar(select(TemplateVersion.id).where(TemplateVersion.version == 2))
            is None
        )

        created = await template_versions.save_version(
            session,
            actor=shop.admin,
            key="welcome",
            locale="zh",
            variant="a",
            body="{{ first_name }}，贵宾您好！",
            now=NOW,
        )
        assert (created.locale, created.variant, created.version) == ("zh-CN", "A", 1)
        spring = await template_versions.save_version(
            session,
            actor=shop.admin,
            key="Spring_Sale",
            locale="en",
            variant="",
            body="Spring sale at {{ merchant }}!",
            now=NOW,
        )
        assert spring.key == "spring_sale"
        keys = await template_store.keys(session, shop.workspace.id)
        assert keys == [*template_store.DEFAULT_KEYS, "spring_sale"]
        for bad in ({"key": "x y"}, {"locale": "fr"}, {"variant": "A:1"}):
            args = {"key": "welcome", "locale": "en", "variant": ""} | bad
            with pytest.raises(InvalidInput):
                await template_versions.save_version(
                    session, actor=shop.admin, body="Hi", now=NOW, **args
                )


async def test_staff_and_other_workspaces_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        listed = await template_versions.list_templates(session, actor=shop.admin)
        with pytest.raises(PermissionDenied):
            await template_versions.list_templates(session, actor=shop.li)
        with pytest.raises(PermissionDenied):
            await template_versions.save_version(
                session, actor=shop.li, key="welcome", locale="en", variant="", body="Hi", now=NOW
            )
        with pytest.raises(NotFound):
            await template_versions.history(session, actor=other.admin, template_id=listed[0].id)
        with pytest.raises(NotFound):
            await template_versions.rollback(
                session, actor=other.owner, template_id=listed[0].id, version=1, now=NOW
            )


async def test_customer_variables_use_the_owner_rep_or_the_shop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        mine = await add_customer(session, shop, "Zhao Lei", shop.li, grade="A")
        pooled = await add_customer(session, shop, "Qian", None)
        day = date(2026, 12, 1)
        values = await template_store.customer_variables_for(
            session, customer=mine, workspace=shop.workspace, locale="en", today=day
        )
        assert (values["first_name"], values["owner"], values["grade"]) == ("Zhao", "Li", "A")
        values = await template_store.customer_variables_for(
            session, customer=pooled, workspace=shop.workspace, locale="en", today=day
        )
        assert (values["owner"], values["merchant"], values["points"]) == ("Tea", "Tea", 0)
