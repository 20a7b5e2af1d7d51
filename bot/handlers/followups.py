"""Staff commands for follow-ups and reminders: log, remind, today and the digest.

The scheduler jobs that fire due reminders and send the digests live in
``bot.jobs.followups``; the /today screen, shared with the digest, in
``bot.views.followups``.
"""

from __future__ import annotations

import logging

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations.log_followup import (
    LOG,
    OUTCOMES,
    REMIND,
    LogStep,
    confirm_reminder,
    pick,
    press,
)
from bot.crm import followups, reminders
from bot.crm.models import Member
from bot.crm.scope import get_visible
from bot.crm.when import Ambiguous, parse_leading_when
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import show_zoned
from bot.messaging import Button
from bot.views.followups import SNOOZES, render_today

router = Router("followups", MEMBERS)
logger = logging.getLogger(__name__)
DIGEST_PRESETS = ("08:00", "09:00", "18:00")


@router.command("log", help=N_("log a contact with a customer"), usage="<customer id>")
async def cmd_log(ctx: Context) -> None:
    """Start the /log dialog for a customer in the rep's scope."""
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=_customer_id(ctx))
    await engine.start(ctx, LOG, {"customer_id": customer.id, "customer_name": customer.name})


@router.command(
    "remind", help=N_("set a reminder about a customer"), usage="<customer id> <when> <text>"
)
async def cmd_remind(ctx: Context) -> None:
    """Create a reminder, or ask back with buttons when the time is ambiguous."""
    member, _ = ctx.staff()
    customer_id = _customer_id(ctx)
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    rest = ctx.incoming.args.strip().split(maxsplit=1)[1:]
    if not rest:
        raise InvalidInput(
            N_("Usage: /remind <customer id> <when> <text>, e.g. /remind 12 tomorrow 10:00 call")
        )
    parsed, text = parse_leading_when(rest[0], now=ctx.now(), tz=ctx.tz)
    text = reminders.clean_text(text)
    data = {"customer_id": customer.id, "customer_name": customer.name, "text": text}
    if isinstance(parsed, Ambiguous):
        data["choices"] = [c.isoformat() for c in parsed.candidates]
        await engine.start(ctx, REMIND, data)
        return
    await reminders.create_reminder(
        ctx.session, actor=member, customer_id=customer.id, text=text, due_at=parsed, now=ctx.now()
    )
    confirm_reminder(ctx, customer.name, text, parsed)


@router.command("today", help=N_("what's due today and who needs a contact"))
async def cmd_today(ctx: Context) -> None:
    """Show the rep's day, or each rep's for a manager."""
    member, _ = ctx.staff()
    day = await followups.today(ctx.session, actor=member, now=ctx.now())
    text, buttons = render_today(day, ctx.t, ctx.tz)
    ctx.reply(text, buttons)


@router.command("digest", help=N_("get /today every morning"), usage="HH:MM|off")
async def cmd_digest(ctx: Context) -> None:
    """Set or turn off the daily digest, or offer times as buttons."""
    member, _ = ctx.staff()
    arg = ctx.incoming.args.strip().lower()
    if not arg:
        current = member.digest_time or ctx.t(N_("off"))
        buttons = [Button(t, f"dg:{t.replace(':', '')}") for t in DIGEST_PRESETS]
        ctx.reply(
            ctx.t(N_("🗞 Daily digest: {current}. When do you want it?"), current=current),
            [buttons, [Button(ctx.t(N_("Turn off")), "dg:off")]],
        )
        return
    await _set_digest(ctx, member, None if arg in ("off", "关") else arg)


@router.callback("dg")
async def on_digest_button(ctx: Context) -> None:
    """Set the digest time from a preset button."""
    member, _ = ctx.staff()
    value = (ctx.incoming.data or "").partition(":")[2]
    ctx.answer()
    await _set_digest(ctx, member, None if value == "off" else f"{value[:2]}:{value[2:]}")


@router.callback("lf")
async def on_log_button(ctx: Context) -> None:
    """Answer a /log step from its channel, outcome or time buttons."""
    _, kind, value = ((ctx.incoming.data or "") + "::").split(":", 3)[:3]
    if kind == "ch":
        await press(ctx, LOG, LogStep.CHANNEL, value)
    elif kind == "oc" and value.isdigit() and int(value) < len(OUTCOMES):
        await press(ctx, LOG, LogStep.OUTCOME, ctx.t(OUTCOMES[int(value)]))
    elif kind == "at" and value.isdigit():
        await pick(ctx, LOG, int(value))
    else:
        ctx.answer(ctx.t(N_("This button has expired.")))


@router.callback("rm")
async def on_reminder_button(ctx: Context) -> None:
    """Mark a reminder done, snooze it, or pick the time of an ambiguous /remind."""
    member, _ = ctx.staff()
    parts = (ctx.incoming.data or "").split(":")
    if len(parts) < 3 or not parts[2].isdigit():
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    action, number = parts[1], int(parts[2])
    if action == "at":
        await pick(ctx, REMIND, number)
        return
    if action == "done":
        reminder = await reminders.mark_done(
            ctx.session, actor=member, reminder_id=number, now=ctx.now()
        )
        ctx.answer(ctx.t(N_("Done 👍")))
        ctx.edit(ctx.t(N_("✅ Done: {text}"), text=reminder.text))
        return
    minutes = parts[3] if len(parts) > 3 else ""
    if action != "sn" or minutes not in SNOOZES:
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    reminder = await reminders.snooze(
        ctx.session, actor=member, reminder_id=number, minutes=int(minutes), now=ctx.now()
    )
    ctx.answer(ctx.t(N_("Snoozed")))
    ctx.edit(
        ctx.t(
            N_("😴 Snoozed until {when}: {text}"),
            when=show_zoned(reminder.due_at, ctx.tz),
            text=reminder.text,
        )
    )


async def _set_digest(ctx: Context, member: Member, value: str | None) -> None:
    await followups.set_digest(ctx.session, actor=member, digest_time=value)
    if member.digest_time is None:
        ctx.reply(ctx.t(N_("🗞 Daily digest turned off.")))
        return
    ctx.reply(
        ctx.t(
            N_("🗞 Every day at {time} ({zone}) I'll send you your /today summary."),
            time=member.digest_time,
            zone=ctx.tz.key,
        )
    )


def _customer_id(ctx: Context) -> int:
    first = (ctx.incoming.args.split() or [""])[0].lstrip("#")
    if not first.isdigit():
        name = ctx.incoming.command or "log"
        raise InvalidInput(
            N_("Please add the customer's number, e.g. /{command} 12"), command=name
        )
    return int(first)
