"""Customers speak up: /complain, the survey answer buttons, and the resolution yes/no.

Every button here checks that the pressing Telegram user is the customer the
survey or complaint belongs to; the services refuse anyone else. After a low
score the customer's next text is their comment (``bot.conversations.survey_comment``);
a "👎 No" to a resolution opens the complaint again and tells its handler and the owner.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from sqlalchemy import select

from bot.callbacks import CallbackData, Id
from bot.campaigns.survey_buttons import SurveyScore, score_label
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import ANYONE, Router
from bot.conversations.complain import (
    COMPLAIN,
    COMPLAIN_PHOTO,
    SKIP,
    SURVEY_COMMENT,
    ComplainStep,
    SkipPhoto,
    start_for_customer,
)
from bot.conversations.survey_comment import start_after_low_score
from bot.crm import complaints, members, surveys
from bot.crm.models import Complaint, ComplaintStatus, Customer, SurveyAnswer, Workspace
from bot.errors import PermissionDenied
from bot.i18n import N_, P_, translate
from bot.messaging import Kind
from bot.views.complaint import ResolutionAnswer, notify_assignee, open_button

router = Router("complaints", ANYONE)
MAX_SHOPS = 5


class PickShop(CallbackData, prefix="cq:in"):
    """The shop /complain is about, for a customer of several: their record there."""

    customer_id: Annotated[int, Id("customer")]


class SurveyComment(CallbackData, prefix="sv:c"):
    """Add a comment to one's survey answer (shares ``sv`` with ``SurveyScore``)."""

    answer_id: Annotated[int, Id("survey_answer")]


@router.command(
    "complain", help=N_("tell a shop something went wrong"), usage=N_("[text]"), for_members=False
)
async def cmd_complain(ctx: Context) -> None:
    """Start a complaint in the sender's shop, or ask which shop when they have several."""
    joined = await _shops(ctx)
    if not joined:
        ctx.reply(
            ctx.t(
                N_(
                    "You haven't joined a shop yet. Open the link your shop gave you, "
                    "then send /complain again."
                )
            )
        )
        return
    if len(joined) == 1:
        await _start(ctx, *joined[0])
        return
    buttons = [[PickShop(customer_id=c.id).button(ws.name[:40])] for c, ws in joined]
    ctx.reply(ctx.t(N_("Which shop is it about?")), buttons)


@router.button(SkipPhoto)
async def on_skip_photo(ctx: Context, pressed: SkipPhoto) -> None:
    """Go on with the open complaint without a photo."""
    state = await engine.current(ctx)
    names = (COMPLAIN.name, COMPLAIN_PHOTO.name)
    if state is None or state.dialog not in names or state.step != ComplainStep.PHOTO:
        raise ctx.expired()
    ctx.incoming = replace(ctx.incoming, kind=Kind.TEXT, text=SKIP, command=None)
    await engine.answer(ctx, state)


@router.button(PickShop)
async def on_pick_shop(ctx: Context, pressed: PickShop) -> None:
    """Start the complaint in the shop picked; a record that is not the sender's has expired."""
    joined = {c.id: (c, ws) for c, ws in await _shops(ctx)}
    if pressed.customer_id not in joined:
        raise ctx.expired()
    await _start(ctx, *joined[pressed.customer_id])


@router.button(SurveyScore)
async def on_survey_button(ctx: Context, pressed: SurveyScore) -> None:
    """Store a survey answer; a survey the sender was not sent has expired."""
    try:
        done = await surveys.record_answer(
            ctx.session,
            tg_user_id=ctx.user_id,
            run_id=pressed.run_id,
            score=pressed.score,
            now=ctx.now(),
        )
    except PermissionDenied as exc:
        raise ctx.expired() from exc
    score = pressed.score
    if not done.created:
        ctx.answer(
            ctx.t(
                N_("You already answered “{answer}”. Thank you!"),
                answer=score_label(done.answer.score, ctx.locale),
            )
        )
        return
    ctx.answer(ctx.t(N_("Thank you!")))
    text = ctx.t(N_("🙏 Thanks for your answer: {answer}"), answer=score_label(score, ctx.locale))
    if done.opened is not None:
        text += "\n" + ctx.t(
            P_(
                "We're sorry to hear that. <b>{shop}</b> opened complaint #{id} and will "
                "get back to you within {hours} hour.",
                "We're sorry to hear that. <b>{shop}</b> opened complaint #{id} and will "
                "get back to you within {hours} hours.",
                by="hours",
            ),
            shop=done.workspace.name,
            id=done.opened.complaint.id,
            hours=done.workspace.complaint_sla_hours,
        )
        await notify_assignee(ctx, done.opened, photo_file_id=None)
        # A dialog the customer is in the middle of (a /complain) keeps their next text.
        if await engine.current(ctx) is None:
            text += "\n" + ctx.t(N_("💬 Want to tell us more? Just type it here."))
            await start_after_low_score(
                ctx,
                done.workspace,
                answer_id=done.answer.id,
                complaint_id=done.opened.complaint.id,
            )
    comment = SurveyComment(answer_id=done.answer.id).button(ctx.t(N_("💬 Add a comment")))
    ctx.reply(text, [[comment]])


async def _shops(ctx: Context) -> list[tuple[Customer, Workspace]]:
    result = await ctx.session.execute(
        select(Customer, Workspace)
        .join(Workspace, Workspace.id == Customer.workspace_id)
        .where(Customer.tg_user_id == ctx.user_id, Customer.erased_at.is_(None))
        .order_by(Customer.created_at.desc(), Customer.id.desc())
        .limit(MAX_SHOPS)
    )
    return [(customer, workspace) for customer, workspace in result]


async def _start(ctx: Context, customer: Customer, workspace: Workspace) -> None:
    data = {
        "customer_id": customer.id,
        "shop": workspace.name,
        "hours": workspace.complaint_sla_hours,
    }
    text = ctx.incoming.args.strip() if ctx.incoming.kind is Kind.COMMAND else ""
    if text and not text.startswith("/"):
        data["text"] = complaints.clean_text(text, complaints.MAX_TEXT)
        await start_for_customer(ctx, workspace, COMPLAIN_PHOTO, data)
        return
    await start_for_customer(ctx, workspace, COMPLAIN, data)


@router.button(ResolutionAnswer)
async def on_resolution_answer(ctx: Context, pressed: ResolutionAnswer) -> None:
    """Store whether the customer is happy with how their complaint was resolved."""
    satisfied = pressed.answer == "y"
    try:
        answer, created = await surveys.record_resolution_answer(
            ctx.session,
            tg_user_id=ctx.user_id,
            complaint_id=pressed.complaint_id,
            satisfied=satisfied,
            now=ctx.now(),
        )
    except PermissionDenied as exc:
        raise ctx.expired() from exc
    if not created:
        # A complaint reopened and resolved again asks again; a second tap does not count.
        score = surveys.SATISFIED if satisfied else surveys.NOT_SATISFIED
        if not await complaints.answer_again(
            ctx.session, answer=answer, score=score, now=ctx.now()
        ):
            ctx.answer(ctx.t(N_("You already answered. Thank you!")))
            return
    if satisfied:
        ctx.edit(ctx.t(N_("🙏 Thank you! We're glad it's sorted out.")))
        return
    customer = await ctx.session.get(Customer, answer.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    reopened = await complaints.reopen(
        ctx.session, customer=customer, complaint_id=pressed.complaint_id, now=ctx.now()
    )
    ctx.edit(
        ctx.t(
            P_(
                "↩️ Sorry it isn't sorted out. We've reopened complaint #{id}: "
                "<b>{shop}</b> will get back to you within {hours} hour.",
                "↩️ Sorry it isn't sorted out. We've reopened complaint #{id}: "
                "<b>{shop}</b> will get back to you within {hours} hours.",
                by="hours",
            ),
            id=reopened.complaint.id,
            shop=reopened.workspace.name,
            hours=reopened.workspace.complaint_sla_hours,
        )
    )
    await _tell_reopened(ctx, reopened)


async def _tell_reopened(ctx: Context, reopened: complaints.Reopened) -> None:
    """Tell the complaint's handler and the shop's owner, each in their language, at once."""
    for member in reopened.told:
        locale = await members.locale_of(
            ctx.session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
        )
        text = translate(
            locale,
            N_("↩️ {name} says complaint #{id} is not resolved."),
            name=reopened.customer.name,
            id=reopened.complaint.id,
        )
        ctx.send(member.chat_id, text, [open_button(reopened.complaint.id, locale)])


@router.button(SurveyComment)
async def on_comment_button(ctx: Context, pressed: SurveyComment) -> None:
    """Open the comment on the sender's own survey answer; another's has expired."""
    found = await ctx.session.execute(
        select(SurveyAnswer, Customer, Workspace)
        .join(Customer, Customer.id == SurveyAnswer.customer_id)
        .join(Workspace, Workspace.id == SurveyAnswer.workspace_id)
        .where(SurveyAnswer.id == pressed.answer_id, Customer.tg_user_id == ctx.user_id)
    )
    row = found.first()
    if row is None:
        raise ctx.expired()
    answer, customer, workspace = row
    data: dict[str, object] = {"answer_id": answer.id, "complaint_id": None}
    if answer.score <= surveys.LOW_SCORE and answer.run_id is not None:
        # The complaint this low score opened: the customer's latest one from a survey.
        data["complaint_id"] = await ctx.session.scalar(
            select(Complaint.id)
            .where(
                Complaint.workspace_id == workspace.id,
                Complaint.customer_id == customer.id,
                Complaint.source == "survey",
                Complaint.status != ComplaintStatus.RESOLVED,
                Complaint.created_at >= answer.at,
            )
            .order_by(Complaint.id)
            .limit(1)
        )
    await start_for_customer(ctx, workspace, SURVEY_COMMENT, data)
