"""Survey answers on a real database: once per run, recipients only, low scores, comments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import survey_runs
from bot.campaigns.survey_buttons import survey_data, survey_keyboard
from bot.crm import complaints, surveys
from bot.crm.models import (
    CampaignKind,
    CampaignRun,
    Complaint,
    Customer,
    OutboxMessage,
    SurveyAnswer,
)
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound, PermissionDenied
from tests.factories import Shop, add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ZHAO_TG = 555_001


async def _survey(session: AsyncSession, shop: Shop, *recipients: Customer) -> CampaignRun:
    run = await survey_runs.queue_one_off(
        session,
        workspace_id=shop.workspace.id,
        template_key="survey_invitation",
        audience={},
        kind=CampaignKind.SURVEY,
        now=NOW,
    )
    for customer in recipients:
        session.add(
            OutboxMessage(workspace_id=shop.workspace.id, run_id=run.id, customer_id=customer.id)
        )
    await session.flush()
    return run


async def _count(session: AsyncSession, model: type[SurveyAnswer] | type[Complaint]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def test_keyboard_has_five_answers_with_short_data() -> None:
    rows = survey_keyboard(123456789, "en")
    assert [b.data for row in rows for b in row] == [
        survey_data(123456789, s) for s in surveys.SCORES
    ]
    assert rows[0][0].text == "😍 Very satisfied"
    assert rows[-1][0].text == "😠 Very dissatisfied"
    assert all(len((b.data or "").encode()) <= 64 for row in rows for b in row)


async def test_first_answer_counts_and_low_score_opens_a_complaint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=ZHAO_TG)
        run = await _survey(session, shop, zhao)
        done = await surveys.record_answer(
            session, tg_user_id=ZHAO_TG, run_id=run.id, score=2, now=NOW
        )
        assert done.created
        assert (done.answer.score, done.answer.run_id, done.answer.customer_id) == (
            2,
            run.id,
            zhao.id,
        )
        assert done.opened is not None
        assert (done.opened.complaint.source, done.opened.assignee) == ("survey", shop.li)
        again = await surveys.record_answer(
            session, tg_user_id=ZHAO_TG, run_id=run.id, score=5, now=NOW
        )
        assert not again.created
        assert again.answer.score == 2
        assert (await _count(session, SurveyAnswer), await _count(session, Complaint)) == (1, 1)


async def test_a_good_score_opens_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=ZHAO_TG)
        run = await _survey(session, shop, zhao)
        done = await surveys.record_answer(
            session, tg_user_id=ZHAO_TG, run_id=run.id, score=3, now=NOW
        )
        assert done.opened is None
        assert await _count(session, Complaint) == 0
        with pytest.raises(InvalidInput):
            await surveys.record_answer(
                session, tg_user_id=ZHAO_TG, run_id=run.id, score=6, now=NOW
            )


async def test_only_the_runs_recipients_may_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=ZHAO_TG)
        await add_customer(session, shop, "Qian", shop.li, tg_user_id=555_002)
        run = await _survey(session, shop, zhao)
        with pytest.raises(PermissionDenied):  # a customer of the shop not sent this survey
            await surveys.record_answer(
                session, tg_user_id=555_002, run_id=run.id, score=5, now=NOW
            )
        with pytest.raises(PermissionDenied):  # a stranger
            await surveys.record_answer(
                session, tg_user_id=999_999, run_id=run.id, score=5, now=NOW
            )
        other = await make_shop(session, "Other")
        twin = await add_customer(session, other, "Zhao", other.li, tg_user_id=ZHAO_TG)
        other_run = await _survey(session, other, twin)
        done = await surveys.record_answer(
            session, tg_user_id=ZHAO_TG, run_id=other_run.id, score=4, now=NOW
        )
        assert (done.customer.id, done.workspace.id) == (twin.id, other.workspace.id)
        broadcast = await survey_runs.queue_one_off(
            session,
            workspace_id=shop.workspace.id,
            template_key="holiday",
            audience={},
            kind=CampaignKind.BROADCAST,
            now=NOW,
        )
        with pytest.raises(NotFound):
            await surveys.record_answer(
                session, tg_user_id=ZHAO_TG, run_id=broadcast.id, score=5, now=NOW
            )


async def test_comment_on_own_answer_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=ZHAO_TG)
        run = await _survey(session, shop, zhao)
        done = await surveys.record_answer(
            session, tg_user_id=ZHAO_TG, run_id=run.id, score=4, now=NOW
        )
        answer = await surveys.add_comment(
            session, tg_user_id=ZHAO_TG, answer_id=done.answer.id, comment=" Lovely tea "
        )
        assert answer.comment == "Lovely tea"
        with pytest.raises(PermissionDenied):
            await surveys.add_comment(
                session, tg_user_id=1, answer_id=done.answer.id, comment="spam"
            )
        with pytest.raises(InvalidInput):
            await surveys.add_comment(
                session, tg_user_id=ZHAO_TG, answer_id=done.answer.id, comment="x" * 1001
            )


async def test_resolution_answer_is_stored_once_for_a_resolved_complaint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=ZHAO_TG)
        opened = await complaints.open_complaint(
            session,
            workspace_id=shop.workspace.id,
            customer_id=zhao.id,
            text="Late delivery",
            photo_file_id=None,
            source="customer",
            now=NOW,
        )
        cid = opened.complaint.id
        with pytest.raises(PermissionDenied):  # not resolved yet
            await surveys.record_resolution_answer(
                session, tg_user_id=ZHAO_TG, complaint_id=cid, satisfied=True, now=NOW
            )
        await complaints.resolve(
            session, actor=shop.li, complaint_id=cid, resolution="Refunded", now=NOW
        )
        with pytest.raises(PermissionDenied):  # someone else
            await surveys.record_resolution_answer(
                session, tg_user_id=1, complaint_id=cid, satisfied=True, now=NOW
            )
        answer, created = await surveys.record_resolution_answer(
            session, tg_user_id=ZHAO_TG, complaint_id=cid, satisfied=False, now=NOW
        )
        assert created
        assert (answer.score, answer.complaint_id, answer.run_id) == (1, cid, None)
        again, created = await surveys.record_resolution_answer(
            session, tg_user_id=ZHAO_TG, complaint_id=cid, satisfied=True, now=NOW
        )
        assert (again.id, again.score, created) == (answer.id, 1, False)
