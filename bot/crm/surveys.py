"""Survey answers: a customer's 1–5 score per survey run, its comment, and low scores.

The first press counts: a survey answer is stored once per (run, customer) and a
later press changes nothing, so a customer cannot open a second complaint by
tapping again. A score of ``LOW_SCORE`` or less opens a complaint at once.
The "were you satisfied with the resolution?" answer is a SurveyAnswer too, with
``complaint_id`` set and no run; satisfied is stored as 5 and not satisfied as 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import complaints
from bot.crm.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    Complaint,
    ComplaintStatus,
    Customer,
    OutboxMessage,
    SurveyAnswer,
    Workspace,
)
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.i18n import N_

SCORES = (5, 4, 3, 2, 1)
LOW_SCORE = 2
MAX_COMMENT = 1000
SATISFIED, NOT_SATISFIED = 5, 1
NOT_YOURS = N_("Sorry, this survey isn't yours to answer.")


@dataclass(frozen=True, slots=True)
class Recorded:
    """A survey answer after a press: whether it is new, and the complaint it opened."""

    answer: SurveyAnswer
    customer: Customer
    workspace: Workspace
    created: bool
    opened: complaints.Opened | None = None


async def record_answer(
    session: AsyncSession, *, tg_user_id: int, run_id: int, score: int, now: datetime
) -> Recorded:
    """Store the sender's score for a survey run once; a low first score opens a complaint.

    Raises:
        InvalidInput: when the score is not 1 to 5.
        NotFound: when the run is not a survey.
        PermissionDenied: when the sender was not sent this survey.
    """
    if score not in SCORES:
        raise InvalidInput(N_("Please tap one of the five answers."))
    found = await session.execute(
        select(CampaignRun, Workspace)
        .join(Campaign, Campaign.id == CampaignRun.campaign_id)
        .join(Workspace, Workspace.id == CampaignRun.workspace_id)
        .where(CampaignRun.id == run_id, Campaign.kind == CampaignKind.SURVEY)
    )
    row = found.first()
    if row is None:
        raise NotFound(N_("This survey has closed."))
    run, workspace = row
    customer = await _recipient(session, run, tg_user_id)
    existing = await _answer_of(session, customer, SurveyAnswer.run_id == run.id)
    if existing is not None:
        return Recorded(existing, customer, workspace, created=False)
    answer = SurveyAnswer(
        workspace_id=workspace.id, customer_id=customer.id, run_id=run.id, score=score, at=now
    )
    session.add(answer)
    await session.flush()
    opened = None
    if score <= LOW_SCORE:
        opened = await complaints.open_complaint(
            session,
            workspace_id=workspace.id,
            customer_id=customer.id,
            text=None,
            photo_file_id=None,
            source="survey",
            now=now,
        )
    return Recorded(answer, customer, workspace, created=True, opened=opened)


async def add_comment(
    session: AsyncSession, *, tg_user_id: int, answer_id: int, comment: str
) -> SurveyAnswer:
    """Set the comment on the sender's own survey answer (a second comment replaces it).

    Raises:
        InvalidInput: when the comment is empty or too long.
        PermissionDenied: when the answer is not the sender's.
    """
    answer = await session.get(SurveyAnswer, answer_id)
    customer = await session.get(Customer, answer.customer_id) if answer else None
    if answer is None or customer is None or customer.tg_user_id != tg_user_id:
        raise PermissionDenied(NOT_YOURS)
    answer.comment = complaints.clean_text(comment, MAX_COMMENT)
    return answer


async def record_resolution_answer(
    session: AsyncSession, *, tg_user_id: int, complaint_id: int, satisfied: bool, now: datetime
) -> tuple[SurveyAnswer, bool]:
    """Store whether the customer is happy with a resolved complaint; first answer stands.

    Returns the answer and whether it was stored just now.

    Raises:
        PermissionDenied: when the complaint is not the sender's or not resolved.
    """
    found = await session.execute(
        select(Complaint, Customer)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(
            Complaint.id == complaint_id,
            Customer.workspace_id == Complaint.workspace_id,
            Customer.tg_user_id == tg_user_id,
            Customer.erased_at.is_(None),
        )
    )
    row = found.first()
    if row is None or row[0].status is not ComplaintStatus.RESOLVED:
        raise PermissionDenied(NOT_YOURS)
    complaint, customer = row
    existing = await _answer_of(session, customer, SurveyAnswer.complaint_id == complaint.id)
    if existing is not None:
        return existing, False
    answer = SurveyAnswer(
        workspace_id=complaint.workspace_id,
        customer_id=customer.id,
        complaint_id=complaint.id,
        score=SATISFIED if satisfied else NOT_SATISFIED,
        at=now,
    )
    session.add(answer)
    await session.flush()
    return answer, True


async def _recipient(session: AsyncSession, run: CampaignRun, tg_user_id: int) -> Customer:
    customer = await session.scalar(
        select(Customer)
        .join(
            OutboxMessage,
            (OutboxMessage.customer_id == Customer.id) & (OutboxMessage.run_id == run.id),
        )
        .where(
            Customer.workspace_id == run.workspace_id,
            Customer.tg_user_id == tg_user_id,
            Customer.erased_at.is_(None),
        )
    )
    if customer is None:
        raise PermissionDenied(NOT_YOURS)
    return customer


async def _answer_of(
    session: AsyncSession, customer: Customer, about: ColumnElement[bool]
) -> SurveyAnswer | None:
    """Return the customer's answer ``about`` a survey run or a complaint, if they gave one."""
    return await session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.workspace_id == customer.workspace_id,
            SurveyAnswer.customer_id == customer.id,
            about,
        )
    )
