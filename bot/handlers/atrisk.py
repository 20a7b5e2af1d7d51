"""/atrisk: the customers drifting away, with a call, care message or offer for each.

Staff see the customers they own; the owner and admins see everyone in their
scope (``/atrisk mine``: only their own). The buttons here also serve the churn
alerts the reps get (``bot.jobs.churn_alerts``). Below the list, /atrisk gives the
count of the "slipping" segment /tiers shows, so the two figures never read as one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from bot.callbacks import CallbackData, Flag, Int
from bot.campaigns import care
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations.log_followup import LOG
from bot.crm import at_risk, reminders
from bot.crm.models import Role
from bot.crm.scope import get_visible
from bot.errors import InvalidInput
from bot.i18n import N_, P_, keyword
from bot.localtime import at_local, local_day, show_zoned
from bot.views.at_risk import MAX_OFFSET, RiskAction, RiskList, action_row, item_line

router = Router("atrisk", MEMBERS)
PAGE = 8
CALL_BACK_AT = time(10, 0)


@router.command("atrisk", help=N_("customers drifting away, with what to do"), usage=N_("[mine]"))
async def cmd_atrisk(ctx: Context) -> None:
    """List the at-risk customers in the member's scope, newest first."""
    arg = ctx.incoming.args.strip().lower()
    if arg and keyword(arg) != "mine":
        raise InvalidInput(N_("Send /atrisk, or /atrisk mine for only your own customers."))
    await _show(ctx, offset=0, mine=bool(arg), edit=False)


class RiskPage(CallbackData, prefix="ar:p"):
    """Page the at-risk list in place; ``mine`` keeps it to the member's own customers."""

    offset: Annotated[int, Int(0, MAX_OFFSET)]
    mine: Annotated[bool, Flag("m")] = False


@router.button(RiskPage)
async def on_page(ctx: Context, pressed: RiskPage) -> None:
    """Show another page of the list in the same message."""
    await _show(ctx, offset=pressed.offset, mine=pressed.mine, edit=True)


@router.button(RiskList)
async def on_list(ctx: Context, pressed: RiskList) -> None:
    """Open the list from an alert, keeping the alert."""
    await _show(ctx, offset=pressed.offset, mine=False, edit=False)


@router.button(RiskAction)
async def on_action(ctx: Context, pressed: RiskAction) -> None:
    """Act on one customer: call, care message, offer, log the call, remind tomorrow."""
    action, customer_id = pressed.action, pressed.customer_id
    if action == "call":
        await _call(ctx, customer_id)
    elif action in care.CARE_KEYS:
        await _care(ctx, customer_id, action)
    elif action == "log":
        member, _ = ctx.staff()
        customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
        await engine.start(ctx, LOG, {"customer_id": customer.id, "customer_name": customer.name})
    else:
        await _remind(ctx, customer_id)


async def _show(ctx: Context, *, offset: int, mine: bool, edit: bool) -> None:
    member, _ = ctx.staff()
    query = at_risk.at_risk_of(member, mine=mine)
    own = mine or member.role is Role.STAFF
    total = await at_risk.count_of(ctx.session, query)
    offset = max(0, min(offset, max(total - 1, 0)))
    items = await at_risk.load_items(ctx.session, query.limit(PAGE).offset(offset), now=ctx.now())
    slipping = await at_risk.slipping_count(ctx.session, member, mine=mine)
    if not items:
        text = ctx.t(N_("🎉 Nobody is drifting away right now."))
        ctx.reply(text + _slipping_line(ctx, slipping))
        return
    head = ctx.t(
        P_(
            "⚠️ <b>At risk</b>: {total} customer, newest first ({first}–{last}):",
            "⚠️ <b>At risk</b>: {total} customers, newest first ({first}–{last}):",
            by="total",
        ),
        total=total,
        first=offset + 1,
        last=offset + len(items),
    )
    lines = [head, ""]
    lines += [item_line(i, ctx.t, with_owner=not own) for i in items]
    buttons = [action_row(i, ctx.t) for i in items]
    nav = []
    if offset > 0:
        newer = RiskPage(offset=max(0, offset - PAGE), mine=mine)
        nav.append(newer.button(ctx.t(N_("◀️ Newer"))))
    if offset + PAGE < total:
        nav.append(RiskPage(offset=offset + PAGE, mine=mine).button(ctx.t(N_("Older ▶️"))))
    if nav:
        buttons.append(nav)
    text = "\n".join(lines) + _slipping_line(ctx, slipping)
    if edit:
        ctx.edit(text, buttons)
    else:
        ctx.reply(text, buttons)


def _slipping_line(ctx: Context, count: int) -> str:
    """Point from the churn list to the "slipping" segment /tiers counts, when it has anyone."""
    if not count:
        return ""
    return "\n\n" + ctx.t(
        N_(
            "📉 Slipping (bought often, not lately; updated with the value tiers): {count}. "
            "See them with /find segment:slipping."
        ),
        count=count,
    )


async def _call(ctx: Context, customer_id: int) -> None:
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    name = customer.name
    if customer.phone:
        # Telegram apps turn a plain phone number into a tap-to-call link.
        text = ctx.t(N_("📞 Call <b>{name}</b>: {phone}"), name=name, phone=customer.phone)
    else:
        text = ctx.t(
            N_("📞 There's no phone number for <b>{name}</b>. Try a care message instead."),
            name=name,
        )
    text += "\n" + ctx.t(N_("After the call, log it; or plan to call tomorrow."))
    ctx.reply(
        text,
        [
            [
                RiskAction(action="log", customer_id=customer.id).button(
                    ctx.t(N_("📝 Log the call"))
                ),
                RiskAction(action="rem", customer_id=customer.id).button(
                    ctx.t(N_("⏰ Remind me tomorrow"))
                ),
            ]
        ],
    )


async def _remind(ctx: Context, customer_id: int) -> None:
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    due = _tomorrow_morning(ctx)
    text = ctx.t(N_("Call {name}"), name=customer.name)
    await reminders.create_reminder(
        ctx.session, actor=member, customer_id=customer.id, text=text, due_at=due, now=ctx.now()
    )
    ctx.answer(ctx.t(N_("Reminder set")))
    ctx.reply(
        ctx.t(
            N_("⏰ I'll remind you {when}: {text}"),
            when=show_zoned(due, ctx.tz),
            text=text,
        )
    )


async def _care(ctx: Context, customer_id: int, template_key: str) -> None:
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    if (reason := care.unreachable_reason(customer)) is not None:
        ctx.reply("🚫 " + ctx.t(reason, name=customer.name))
        return
    await care.queue_care(
        ctx.session,
        actor=member,
        customer_id=customer.id,
        template_key=template_key,
        now=ctx.now(),
    )
    ctx.answer(ctx.t(N_("Queued")))
    message = (
        N_("💌 A care message to <b>{name}</b> is on its way.")
        if template_key == "care"
        else N_("🎁 An offer to <b>{name}</b> is on its way.")
    )
    ctx.reply(
        ctx.t(message, name=customer.name)
        + "\n"
        + ctx.t(N_("The shop's quiet hours and weekly message limit still apply."))
    )


def _tomorrow_morning(ctx: Context) -> datetime:
    return at_local(local_day(ctx.now(), ctx.tz) + timedelta(days=1), CALL_BACK_AT, ctx.tz)
