"""Privacy requests on a real database: what erasure removes, what stays, and the data copy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import audiences
from bot.crm import customers, export, privacy, search
from bot.crm.export_filter import ExportFilter
from bot.crm.inbox import threads
from bot.crm.models import (
    AuditLog,
    Campaign,
    CampaignKind,
    CampaignRun,
    Channel,
    Company,
    Complaint,
    ComplaintStatus,
    Consent,
    ConsentAction,
    ConsentEvent,
    ConversationState,
    Customer,
    CustomerShare,
    CustomerTag,
    FollowUp,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    PointsEntry,
    PointsReason,
    Purchase,
    Reminder,
    SurveyAnswer,
    Tag,
    TagDimension,
)
from bot.crm.store import unit_of_work
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.messaging import User
from tests.factories import Shop, add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
ACCOUNT = 5550001
PHONE = "+8613800138000"
SUN = {
    "phone": PHONE,
    "notes": "prefers green tea",
    "birthday_date": date(1990, 5, 4),
    "region": "east",
    "route_order": 3,
    "tg_user_id": ACCOUNT,
    "chat_id": ACCOUNT,
    "join_token": "sun-token",
    "locale": "en",
    "consent": Consent.OPTED_IN,
}
DIALOG: dict[str, Any] = {"dialog": "d", "step": "s", "expires_at": LATER}
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Story:
    """A shop whose customer Sun has a full history, a bystander, and a second shop."""

    shop: Shop
    other: Shop
    sun: Customer
    bystander: Customer
    sun_elsewhere: Customer


async def _story(sessions: Sessions) -> Story:
    async with unit_of_work(sessions) as session:
        shop, other = await make_shop(session, "Tea"), await make_shop(session, "Porcelain")
        ws = shop.workspace.id
        company, tag = (
            Company(workspace_id=ws, name="Sun Trading"),
            Tag(workspace_id=ws, name="vip", dimension=TagDimension.INTEREST, weight=30),
        )
        campaign = Campaign(workspace_id=ws, name="S", kind=CampaignKind.SURVEY, template_key="s")
        session.add_all([company, tag, campaign])
        await session.flush()
        run = CampaignRun(
            workspace_id=ws, campaign_id=campaign.id, occurrence="1", template_key="s"
        )
        sun = await add_customer(session, shop, "Sun Mei", shop.li, company_id=company.id, **SUN)
        bystander = await add_customer(session, shop, "Qian Lu", shop.li, phone="+8613800138999")
        elsewhere = await add_customer(session, other, "Sun Mei", other.li, tg_user_id=ACCOUNT)
        session.add(run)
        await session.flush()
        mine: dict[str, Any] = {"workspace_id": ws, "customer_id": sun.id}
        session.add_all(
            [
                CustomerTag(**mine, tag_id=tag.id),
                CustomerShare(**mine, member_id=shop.chen.id),
                ConsentEvent(**mine, action=ConsentAction.OPT_IN, source="button", at=NOW),
                FollowUp(**mine, channel=Channel.CALL, summary="her son's wedding", at=NOW),
                Reminder(**mine, member_id=shop.li.id, text="call Sun", due_at=LATER),
                Purchase(**mine, amount_minor=12850, currency="CNY", note="for Mrs Sun", at=NOW),
                PointsEntry(**mine, delta=128, reason=PointsReason.ADJUST, note="gift", at=NOW),
                SurveyAnswer(**mine, run_id=run.id, score=2, comment="stale tea", at=NOW),
                Complaint(**mine, text="Sun Mei: stale", photo_file_id="p1", due_at=LATER),
                OutboxMessage(**mine, run_id=run.id, status=OutboxStatus.SENT, sent_at=NOW),
                _dialog(ws, ACCOUNT, {}),
                _dialog(ws, shop.li.tg_user_id, {"customer_id": sun.id}),
                _dialog(ws, shop.chen.tg_user_id, {"customer_id": bystander.id}),
            ]
        )
        await threads.record_inbound(
            session,
            customer=sun,
            kind=MessageKind.TEXT,
            text="is the pu'er in?",
            file_id=None,
            tg_chat_id=ACCOUNT,
            tg_message_id=1,
            now=NOW,
        )
    return Story(shop, other, sun, bystander, elsewhere)


def _dialog(ws: int, user: int, data: dict[str, Any]) -> ConversationState:
    return ConversationState(workspace_id=ws, chat_id=user, user_id=user, data=data, **DIALOG)


async def _forget(sessions: Sessions, story: Story) -> None:
    async with unit_of_work(sessions) as s:
        shop = await privacy.erase_own(s, tg_user_id=ACCOUNT, customer_id=story.sun.id, now=LATER)
        assert shop.name == "Tea"


async def _one(session: AsyncSession, model: Any, customer_id: int) -> Any:
    return (await session.scalars(select(model).where(model.customer_id == customer_id))).one()


async def test_forget_erases_personal_data_and_keeps_aggregates(sessions: Sessions) -> None:
    story = await _story(sessions)
    await _forget(sessions, story)
    async with unit_of_work(sessions) as session:
        sun = await session.get(Customer, story.sun.id)
        assert sun is not None
        assert sun.name == f"🗑 #{sun.id}"
        assert {key: getattr(sun, key) for key in SUN} == dict.fromkeys(SUN) | {
            "consent": Consent.OPTED_OUT
        }
        assert (sun.company_id, sun.erased_at) == (None, LATER)
        events = await session.execute(
            select(ConsentEvent.action, ConsentEvent.source).order_by(ConsentEvent.id)
        )
        assert events.all() == [("opt_in", "button"), ("opt_out", "erasure")]
        follow_up = await _one(session, FollowUp, sun.id)
        assert (follow_up.channel, follow_up.summary, follow_up.at) == (Channel.CALL, "—", NOW)
        reminder = await _one(session, Reminder, sun.id)
        assert (reminder.text, reminder.done_at) == ("—", LATER)
        purchase = await _one(session, Purchase, sun.id)
        assert (purchase.amount_minor, purchase.at, purchase.note) == (12850, NOW, None)
        points = await _one(session, PointsEntry, sun.id)
        assert (points.delta, points.note) == (128, None)
        answer = await _one(session, SurveyAnswer, sun.id)
        assert (answer.score, answer.comment) == (2, None)
        complaint = await _one(session, Complaint, sun.id)
        assert (complaint.text, complaint.photo_file_id) == (None, None)
        assert complaint.status is ComplaintStatus.RESOLVED
        assert (await _one(session, OutboxMessage, sun.id)).status is OutboxStatus.SENT
        for link in (CustomerTag, CustomerShare):
            assert await session.scalar(select(func.count()).select_from(link)) == 0
        dialogs = await session.scalars(select(ConversationState.data))
        assert dialogs.all() == [{"customer_id": story.bystander.id}]
        audit = await session.execute(
            select(AuditLog.entity_id, AuditLog.details).where(AuditLog.action == "customer.erase")
        )
        assert audit.all() == [(sun.id, {"by": "customer"})]
        # The same person at another shop, and other customers, are untouched.
        elsewhere = await session.get(Customer, story.sun_elsewhere.id)
        bystander = await session.get(Customer, story.bystander.id)
        assert elsewhere is not None and bystander is not None
        assert (elsewhere.name, elsewhere.tg_user_id) == ("Sun Mei", ACCOUNT)
        assert bystander.phone == "+8613800138999"


async def test_staff_campaigns_and_a_rejoin_never_see_the_erased_data(sessions: Sessions) -> None:
    story = await _story(sessions)
    await _forget(sessions, story)
    async with unit_of_work(sessions) as session:
        for text in (PHONE, "138 0013 8000", "Sun", "Sun Trading", "vip"):
            assert await search.find_customers(session, actor=story.shop.owner, text=text) == []
        file = await export.export_customers(
            session,
            actor=story.shop.owner,
            fmt=export.Format.CSV,
            filters=ExportFilter(),
            now=LATER,
        )
        content = file.content.decode("utf-8-sig")
        assert "Sun" not in content
        assert "13800138000" not in content
        assert f"🗑 #{story.sun.id}" in content
        reached = await session.scalars(audiences.recipients(story.shop.workspace.id, {}))
        assert story.sun.id not in reached.all()
    # Joining again later makes a fresh record, not a revived one.
    async with unit_of_work(sessions) as session:
        fresh, created = await customers.join_by_link(
            session,
            workspace=story.shop.workspace,
            user=User(ACCOUNT, "Sun"),
            chat_id=ACCOUNT,
            locale="en",
            referrer=None,
        )
        assert (created, fresh.consent) == (True, Consent.UNKNOWN)
        records = await privacy.own_records(session, tg_user_id=ACCOUNT)
        assert sorted(c.id for _, c in records) == sorted([fresh.id, story.sun_elsewhere.id])


async def test_forget_is_limited_to_the_senders_own_records(sessions: Sessions) -> None:
    story = await _story(sessions)
    forget = partial(privacy.erase_own, tg_user_id=ACCOUNT, now=LATER)
    async with unit_of_work(sessions) as session:
        with pytest.raises(NotFound):
            await forget(session, customer_id=story.bystander.id)
        assert await privacy.export_own_data(session, tg_user_id=1, now=LATER) is None
        for record in (story.sun, story.sun_elsewhere):
            await forget(session, customer_id=record.id)
        with pytest.raises(NotFound):
            await forget(session, customer_id=story.sun.id)
        assert await privacy.export_own_data(session, tg_user_id=ACCOUNT, now=LATER) is None
        assert await privacy.summarise(session, tg_user_id=ACCOUNT) == []


async def test_erase_by_manager_checks_role_scope_and_is_audited(sessions: Sessions) -> None:
    story = await _story(sessions)
    sun_id, admin = story.sun.id, story.shop.admin
    erase = partial(privacy.erase_customer, customer_id=sun_id, now=LATER)
    async with unit_of_work(sessions) as session:
        with pytest.raises(PermissionDenied):
            await erase(session, actor=story.shop.li)
        with pytest.raises(NotFound):
            await erase(session, actor=story.other.owner)
        assert (await erase(session, actor=admin)).name == f"🗑 #{sun_id}"
    async with unit_of_work(sessions) as session:
        with pytest.raises(Conflict):
            await erase(session, actor=story.shop.owner)
        event = await session.scalar(select(ConsentEvent).where(ConsentEvent.source == "erasure"))
        assert event is not None
        assert event.actor_member_id == admin.id
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "customer.erase"))
        assert entry is not None
        assert (entry.actor_member_id, entry.details) == (admin.id, {"by": "admin"})


async def test_copy_of_own_data_covers_every_shop(sessions: Sessions) -> None:
    story = await _story(sessions)
    async with unit_of_work(sessions) as session:
        file = await privacy.export_own_data(session, tg_user_id=ACCOUNT, now=LATER)
        porcelain_counts, tea_counts = await privacy.summarise(session, tg_user_id=ACCOUNT)
    assert file is not None
    assert file.filename == "my-data-2026-11-24.json"
    porcelain, tea = json.loads(file.content.decode("utf-8"))["shops"]
    at = NOW.isoformat()
    assert (tea["shop"], tea["customer_id"]) == ("Tea", story.sun.id)
    profile = tea["profile"]
    assert (profile["name"], profile["phone"], profile["company"]) == (
        "Sun Mei",
        PHONE,
        "Sun Trading",
    )
    assert (profile["birthday_date"], profile["tags"]) == ("1990-05-04", ["vip"])
    ((purchase),) = tea["purchases"]
    assert (purchase["at"], purchase["amount"], purchase["note"]) == (at, "¥128.50", "for Mrs Sun")
    assert tea["follow_ups"][0]["summary"] == "her son's wedding"
    assert tea["consent_history"] == [{"at": at, "action": "opt_in", "source": "button"}]
    assert tea["points_balance"] == 128
    assert tea["survey_answers"][0]["comment"] == "stale tea"
    assert tea["complaints"][0]["status"] == "open"
    assert tea["messages_sent"] == [{"sent_at": at, "template": "s", "status": "sent"}]
    # A shop with nothing but the record gives empty sections, not errors.
    assert porcelain["shop"] == "Porcelain"
    assert porcelain["purchases"] == porcelain["messages_sent"] == porcelain["complaints"] == []
    assert porcelain["points_balance"] == 0
    assert set(tea_counts.counts.values()) == {1}
    assert set(porcelain_counts.counts.values()) == {0}


async def test_manager_data_export_is_scoped_and_audited(sessions: Sessions) -> None:
    story = await _story(sessions)
    sun_id, admin = story.sun.id, story.shop.admin
    copy = partial(privacy.export_customer_data, customer_id=sun_id, now=LATER)
    async with unit_of_work(sessions) as session:
        with pytest.raises(PermissionDenied):
            await copy(session, actor=story.shop.li)
        with pytest.raises(NotFound):
            await copy(session, actor=story.other.admin)
        file = await copy(session, actor=admin)
        assert file.filename == f"customer-{sun_id}-data-2026-11-24.json"
        (shop,) = json.loads(file.content)["shops"]
        assert shop["profile"]["name"] == "Sun Mei"
        entry = await session.scalar(
            select(AuditLog).where(AuditLog.action == "customer.data_export")
        )
        assert entry is not None
        assert (entry.actor_member_id, entry.entity_id) == (admin.id, sun_id)
