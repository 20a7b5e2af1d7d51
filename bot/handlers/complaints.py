"""Customers speak up: /complain, the survey answer buttons, and the resolution yes/no.

Every button here checks that the pressing Telegram user is the customer the
survey or complaint belongs to; the services refuse anyone else.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.campaigns.survey_buttons import score_label
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import ANYONE, Router
from bot.conversations.complain import (
    COMPLAIN,
    COMPLAIN_PHOTO,
    SKIP,
    SURVEY_COMMENT,
    ComplainStep,
    start_for_customer,
)
from bot.crm import complaints, surveys
from bot.crm.models import Complaint, ComplaintStatus, Customer, SurveyAnswer, Workspace
from bot.i18n import N_
from bot.messaging import Button, Kind
from bot.views.complaint import notify_assignee

router = Router("complaints", ANYONE)
EXPIRED = N_("This button has expired.")
MAX_SHOPS = 5


@router.command(
    "complain", help=N_("tell a shop something went wrong"), usage="[text]", for_members=False
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
    buttons = [[Button(ws.name[:40], f"cq:in:{c.id}")] for c, ws in joined]
    ctx.reply(ctx.t(N_("Which shop is it about?")), buttons)


@router.callback("cq")
async def on_complaint_button(ctx: Context) -> None:
    """Handle Skip (no photo), the shop choice and the resolution yes/no."""
    parts = (ctx.incoming.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == SKIP:
        await _skip_photo(ctx)
    elif action == "in" and len(parts) == 3 and parts[2].isdigit():
        await _pick_shop(ctx, int(parts[2]))
    elif action == "ok" and len(parts) == 4 and parts[2].isdigit() and parts[3] in "yn":
        await _resolution_answer(ctx, int(parts[2]), satisfied=parts[3] == "y")
    else:
        ctx.answer(ctx.t(EXPIRED))


@router.callback("sv")
async def on_survey_button(ctx: Context) -> None:
    """Store a survey answer (``sv:<run>:<score>``) or open its comment (``sv:c:<answer>``)."""
    parts = (ctx.incoming.data or "").split(":")
    if len(parts) == 3 and parts[1] == "c" and parts[2].isdigit():
        await _start_comment(ctx, int(parts[2]))
        return
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        ctx.answer(ctx.t(EXPIRED))
        return
    score = int(parts[2])
    done = await surveys.record_answer(
        ctx.session, tg_user_id=ctx.user_id, run_id=int(parts[1]), score=score, now=ctx.now()
    )
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
            N_(
                "We're sorry to hear that. <b>{shop}</b> opened complaint #{id} "
                "and will get back to you within {hours} hours."
            ),
            shop=done.workspace.name,
            id=done.opened.complaint.id,
            hours=done.workspace.complaint_sla_hours,
        )
        await notify_assignee(ctx, done.opened, photo_file_id=None)
    comment = Button(ctx.t(N_("💬 Add a comment")), f"sv:c:{done.answer.id}")
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


async def _pick_shop(ctx: Context, customer_id: int) -> None:
    joined = {c.id: (c, ws) for c, ws in await _shops(ctx)}
    if customer_id not in joined:
        ctx.answer(ctx.t(EXPIRED))
        return
    ctx.answer()
    await _start(ctx, *joined[customer_id])


async def _skip_photo(ctx: Context) -> None:
    state = await engine.current(ctx)
    names = (COMPLAIN.name, COMPLAIN_PHOTO.name)
    if state is None or state.dialog not in names or state.step != ComplainStep.PHOTO:
        ctx.answer(ctx.t(EXPIRED))
        return
    ctx.answer()
    ctx.incoming = replace(ctx.incoming, kind=Kind.TEXT, text=SKIP, command=None)
    await engine.answer(ctx, state)


async def _resolution_answer(ctx: Context, complaint_id: int, *, satisfied: bool) -> None:
    _, created = await surveys.record_resolution_answer(
        ctx.session,
        tg_user_id=ctx.user_id,
        complaint_id=complaint_id,
        satisfied=satisfied,
        now=ctx.now(),
    )
    if not created:
        ctx.answer(ctx.t(N_("You already answered. Thank you!")))
        return
    ctx.answer()
    if satisfied:
        ctx.edit(ctx.t(N_("🙏 Thank you! We're glad it's sorted out.")))
    else:
        ctx.edit(
            ctx.t(
                N_(
                    "🙏 Thank you for telling us. If something is still wrong, "
                    "send /complain and we'll look at it again."
                )
            )
        )


async def _start_comment(ctx: Context, answer_id: int) -> None:
    found = await ctx.session.execute(
        select(SurveyAnswer, Customer, Workspace)
        .join(Customer, Customer.id == SurveyAnswer.customer_id)
        .join(Workspace, Workspace.id == SurveyAnswer.workspace_id)
        .where(SurveyAnswer.id == answer_id, Customer.tg_user_id == ctx.user_id)
    )
    row = found.first()
    if row is None:
        ctx.answer(ctx.t(EXPIRED))
        return
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
    ctx.answer()
    await start_for_customer(ctx, workspace, SURVEY_COMMENT, data)
