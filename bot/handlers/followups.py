"""Staff commands for follow-ups and reminders: log, remind, today and the digest.

The scheduler jobs that fire due reminders and send the digests live in
``bot.jobs.followups``; the /today screen, shared with the digest, in
``bot.views.followups``.
"""

from __future__ import annotations

import logging
from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations.log_followup import (
    LOG,
    OUTCOMES,
    REMIND,
    LogChannel,
    LogOutcome,
    LogStep,
    LogTime,
    RemindTime,
    confirm_reminder,
    pick,
)
from bot.crm import followups, reminders
from bot.crm.models import Member
from bot.crm.scope import get_visible
from bot.crm.when import Ambiguous, parse_leading_when
from bot.errors import InvalidInput
from bot.i18n import N_, keyword
from bot.localtime import show_zoned
from bot.messaging import Button
from bot.views.followups import ReminderDone, ReminderSnooze, render_today

router = Router("followups", MEMBERS)
logger = logging.getLogger(__name__)
DIGEST_PRESETS = ("08:00", "09:00", "18:00")


class DigestAt(CallbackData, prefix="dg"):
    """Send the daily digest at a preset time, written without the colon (``0800``)."""

    time: Annotated[str, Choice(t.replace(":", "") for t in DIGEST_PRESETS)]


class DigestOff(CallbackData, prefix="dg:off"):
    """Stop the daily digest."""


@router.command("log", help=N_("log a contact with a customer"), usage=N_("<customer id>"))
async def cmd_log(ctx: Context) -> None:
    """Start the /log dialog for a customer in the rep's scope."""
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=_customer_id(ctx))
    await engine.start(ctx, LOG, {"customer_id": customer.id, "customer_name": customer.name})


@router.command(
    "remind", help=N_("set a reminder about a customer"), usage=N_("<customer id> <when> <text>")
)
async def cmd_remind(ctx: Context) -> None:
    """Create a reminder, or ask back with buttons when the time is ambiguous."""
    member, _ = ctx.staff()
    customer_id = _customer_id(ctx)
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    rest = ctx.incoming.args.strip().split(maxsplit=1)[1:]
    if not rest:
        raise InvalidInput(
            N_("Usage: /remind 12 tomorrow 10:00 call: the customer's id, when, and what to do.")
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


@router.command("digest", help=N_("get /today every morning"), usage=N_("HH:MM|off"))
async def cmd_digest(ctx: Context) -> None:
    """Set or turn off the daily digest, or offer times as buttons."""
    member, _ = ctx.staff()
    arg = ctx.incoming.args.strip().lower()
    if not arg:
        current = member.digest_time or ctx.t(N_("off"))
        buttons = [DigestAt(time=t.replace(":", "")).button(t) for t in DIGEST_PRESETS]
        off: list[Button] = [DigestOff().button(ctx.t(N_("Turn off")))]
        ctx.reply(
            ctx.t(N_("🗞 Daily digest: {current}. When do you want it?"), current=current),
            [buttons, off],
        )
        return
    await _set_digest(ctx, member, None if keyword(arg) == "off" else arg)


@router.button(DigestAt)
async def on_digest_button(ctx: Context, pressed: DigestAt) -> None:
    """Set the digest time from a preset button."""
    member, _ = ctx.staff()
    await _set_digest(ctx, member, f"{pressed.time[:2]}:{pressed.time[2:]}")


@router.button(DigestOff)
async def on_digest_off(ctx: Context, pressed: DigestOff) -> None:
    """Turn the digest off from its button."""
    member, _ = ctx.staff()
    await _set_digest(ctx, member, None)


@router.button(LogChannel)
async def on_log_channel(ctx: Context, pressed: LogChannel) -> None:
    """Answer how the rep was in touch, in /log."""
    await engine.press(ctx, LOG, {LogStep.CHANNEL}, pressed.channel.value)


@router.button(LogOutcome)
async def on_log_outcome(ctx: Context, pressed: LogOutcome) -> None:
    """Answer the outcome of the contact, in /log."""
    await engine.press(ctx, LOG, {LogStep.OUTCOME}, ctx.t(OUTCOMES[pressed.index]))


@router.button(LogTime)
async def on_log_time(ctx: Context, pressed: LogTime) -> None:
    """Pick the time of the next step /log asked back about."""
    await pick(ctx, LOG, pressed.index)


@router.button(RemindTime)
async def on_remind_time(ctx: Context, pressed: RemindTime) -> None:
    """Pick the time an ambiguous /remind asked back about."""
    await pick(ctx, REMIND, pressed.index)


@router.button(ReminderDone)
async def on_reminder_done(ctx: Context, pressed: ReminderDone) -> None:
    """Mark a fired reminder done."""
    member, _ = ctx.staff()
    reminder = await reminders.mark_done(
        ctx.session, actor=member, reminder_id=pressed.reminder_id, now=ctx.now()
    )
    ctx.answer(ctx.t(N_("Done 👍")))
    ctx.edit(ctx.t(N_("✅ Done: {text}"), text=reminder.text))


@router.button(ReminderSnooze)
async def on_reminder_snooze(ctx: Context, pressed: ReminderSnooze) -> None:
    """Move a fired reminder on by the minutes of the pressed button."""
    member, _ = ctx.staff()
    reminder = await reminders.snooze(
        ctx.session,
        actor=member,
        reminder_id=pressed.reminder_id,
        minutes=int(pressed.minutes),
        now=ctx.now(),
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
