"""Staff commands for follow-ups and reminders: log, remind, today and the digest.

Besides the commands it holds the two scheduler jobs that speak to reps: firing
due reminders and sending daily digests. Both claim their rows in a committed
transaction first and send afterwards, so nothing goes out twice.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import engine
from bot.chat.context import Clock, Context
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
from bot.crm import followups, members, reminders
from bot.crm.models import Member, Workspace
from bot.crm.scope import get_visible
from bot.crm.store import unit_of_work
from bot.crm.when import Ambiguous, parse_leading_when
from bot.errors import DeliveryError, InvalidInput
from bot.i18n import N_, Raw, translate
from bot.messaging import Button, Keyboard, Messenger
from bot.views.labels import local_time

router = Router("followups", MEMBERS)
logger = logging.getLogger(__name__)
Translate = Callable[..., str]
SNOOZES = {"60": N_("😴 Snooze 1h"), "1440": N_("😴 Snooze 1d")}
DIGEST_PRESETS = ("08:00", "09:00", "18:00")
LATE_AFTER = timedelta(minutes=1)


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
            when=local_time(reminder.due_at, ctx.tz),
            text=reminder.text,
        )
    )


def render_today(day: followups.Today, t: Translate, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """Render /today (and the digest): the actor's list, then one compact block per rep."""
    lines = [_agenda_head(day.mine, t)]
    buttons: list[list[Button]] = []
    for item in day.mine.due:
        lines.append(_due_line(item, t, tz))
        if item.customer_id is not None and len(buttons) < 8:
            buttons.append([Button(f"📇 {item.customer_name}"[:40], f"ct:{item.customer_id}")])
    if day.mine.due_total > len(day.mine.due):
        lines.append(t(N_("…and {count} more."), count=day.mine.due_total - len(day.mine.due)))
    if day.mine.stale:
        lines.append("")
        lines.append(t(N_("👋 Not contacted for 7 days: {count}"), count=day.mine.stale_total))
        lines.extend(f"• #{s.customer_id} {html.escape(s.name)}" for s in day.mine.stale)
        if day.mine.stale_total > len(day.mine.stale):
            more = day.mine.stale_total - len(day.mine.stale)
            lines.append(t(N_("…and {count} more."), count=more))
    for rep in day.team:
        lines.append("")
        lines.append(
            t(
                N_("👤 <b>{name}</b>: {due} due, {overdue} overdue, {stale} not contacted"),
                name=rep.member_name,
                due=rep.due_total,
                overdue=rep.overdue_total,
                stale=rep.stale_total,
            )
        )
        lines.extend(_due_line(item, t, tz) for item in rep.due)
    return "\n".join(lines), buttons


async def fire_due_reminders(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Claim due reminders, then send each to its rep with Done/Snooze/Open card buttons."""
    now = clock()
    async with unit_of_work(sessions) as session:
        due = await reminders.claim_due(session, now=now)
    for item in due:
        t = partial(translate, item.locale)
        text = t(N_("⏰ <b>Reminder</b>: {text}"), text=item.text)
        if item.customer_name is not None:
            text += "\n" + t(N_("👤 {name} (#{id})"), name=item.customer_name, id=item.customer_id)
        late = now - item.due_at
        if late > LATE_AFTER:
            text += "\n" + t(
                N_("⌛ Late: this was due {when}, {late} ago."),
                when=local_time(item.due_at, ZoneInfo(item.timezone)),
                late=Raw(_duration(late, t)),
            )
        row = [Button(t(N_("✅ Done")), f"rm:done:{item.reminder_id}")]
        row += [Button(t(label), f"rm:sn:{item.reminder_id}:{m}") for m, label in SNOOZES.items()]
        keyboard = [row]
        if item.customer_id is not None:
            keyboard.append([Button(t(N_("Open card")), f"ct:{item.customer_id}")])
        try:
            sent = await messenger.send_text(item.chat_id, text, keyboard)
        except DeliveryError as exc:
            logger.warning("reminder %s not delivered: %s", item.reminder_id, exc.description)
            continue
        async with unit_of_work(sessions) as session:
            await reminders.mark_sent(
                session, reminder_id=item.reminder_id, message_id=sent.message_id
            )
        logger.info("reminder %s fired, %d s after due", item.reminder_id, late.total_seconds())


async def send_digests(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, clock: Clock
) -> None:
    """Send each member whose digest time has come today their /today summary, once."""
    now = clock()
    outgoing: list[tuple[int, str, Keyboard]] = []
    async with unit_of_work(sessions) as session:
        for member in await followups.claim_digests(session, now=now):
            workspace = await session.get(Workspace, member.workspace_id)
            locale = await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
            )
            t = partial(translate, locale)
            day = await followups.today(session, actor=member, now=now)
            body, buttons = render_today(
                day, t, ZoneInfo(workspace.timezone if workspace else "UTC")
            )
            outgoing.append(
                (member.chat_id, t(N_("🗞 Your daily digest")) + "\n\n" + body, buttons)
            )
    for chat_id, text, buttons in outgoing:
        try:
            await messenger.send_text(chat_id, text, buttons)
        except DeliveryError as exc:
            logger.warning("digest not delivered: %s", exc.description)


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


def _agenda_head(agenda: followups.Agenda, t: Translate) -> str:
    if agenda.due_total == 0:
        return t(N_("📋 <b>Today</b>: nothing due. 🎉"))
    return t(
        N_("📋 <b>Today</b>: {due} due, {overdue} overdue."),
        due=agenda.due_total,
        overdue=agenda.overdue_total,
    )


def _due_line(item: followups.DueItem, t: Translate, tz: ZoneInfo) -> str:
    when = item.due_at.astimezone(tz).strftime("%m-%d %H:%M")
    mark = "🔴" if item.overdue else "🕒"
    who = f" · {html.escape(item.customer_name)}" if item.customer_name else ""
    return f"{mark} {when}{who}: {html.escape(item.text)}"


def _duration(delta: timedelta, t: Translate) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t(N_("{minutes} min"), minutes=minutes)
    if minutes < 24 * 60:
        return t(N_("{hours} h {minutes} min"), hours=minutes // 60, minutes=minutes % 60)
    return t(N_("{days} d {hours} h"), days=minutes // 1440, hours=minutes // 60 % 24)
