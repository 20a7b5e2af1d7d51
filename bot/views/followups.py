"""Follow-ups on screen: the /today agenda (also the daily digest), snoozes and durations."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.callbacks import CallbackData, Choice, Id
from bot.crm import followups
from bot.i18n import N_, Raw
from bot.localtime import show_short
from bot.messaging import Button, Keyboard
from bot.views.card import Translate, card_button

SNOOZES = {"60": N_("😴 Snooze 1h"), "1440": N_("😴 Snooze 1d")}


class ReminderDone(CallbackData, prefix="rm:done"):
    """Mark a fired reminder done."""

    reminder_id: Annotated[int, Id("reminder")]


class ReminderSnooze(CallbackData, prefix="rm:sn"):
    """Move a fired reminder on by some minutes."""

    reminder_id: Annotated[int, Id("reminder")]
    minutes: Annotated[str, Choice(SNOOZES)]


def reminder_buttons(t: Translate, reminder_id: int, customer_id: int | None) -> Keyboard:
    """Return a fired reminder's Done and Snooze buttons, and its customer's card."""
    row = [ReminderDone(reminder_id=reminder_id).button(t(N_("✅ Done")))]
    row += [
        ReminderSnooze(reminder_id=reminder_id, minutes=m).button(t(label))
        for m, label in SNOOZES.items()
    ]
    return [row, [card_button(t, customer_id)]] if customer_id is not None else [row]


def render_today(day: followups.Today, t: Translate, tz: ZoneInfo) -> tuple[str, Keyboard]:
    """Render /today (and the digest): the actor's list, then one compact block per rep."""
    lines = [_agenda_head(day.mine, t)]
    buttons: list[list[Button]] = []
    for item in day.mine.due:
        lines.append(_due_line(item, t, tz))
        if item.customer_id is not None and len(buttons) < 8:
            label = f"📇 {item.customer_name}"[:40]
            buttons.append([card_button(t, item.customer_id, label)])
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
                N_("👤 <b>{name}</b>: {due}; {stale} not contacted for 7 days"),
                name=rep.member_name,
                due=Raw(_due_count(rep, t)),
                stale=rep.stale_total,
            )
        )
        # A rep's block lists their overdue reminders only.
        lines.extend(_due_line(item, t, tz) for item in rep.due)
        if rep.overdue_total > len(rep.due):
            lines.append(t(N_("…and {count} more."), count=rep.overdue_total - len(rep.due)))
    return "\n".join(lines), buttons


def _agenda_head(agenda: followups.Agenda, t: Translate) -> str:
    if agenda.due_total == 0:
        return t(N_("📋 <b>Today</b>: nothing due. 🎉"))
    return t(N_("📋 <b>Today</b>: {due}."), due=Raw(_due_count(agenda, t)))


def _due_count(agenda: followups.Agenda, t: Translate) -> str:
    """Return "3 due" or "3 due, 2 of them overdue": the overdue are among the due."""
    if agenda.overdue_total == 0:
        return t(N_("{due} due"), due=agenda.due_total)
    return t(
        N_("{due} due, {overdue} of them overdue"),
        due=agenda.due_total,
        overdue=agenda.overdue_total,
    )


def _due_line(item: followups.DueItem, t: Translate, tz: ZoneInfo) -> str:
    when = show_short(item.due_at, tz)
    mark = "🔴" if item.overdue else "🕒"
    who = f" · {html.escape(item.customer_name)}" if item.customer_name else ""
    return f"{mark} {when}{who}: {html.escape(item.text)}"


def duration(delta: timedelta, t: Translate) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t(N_("{minutes} min"), minutes=minutes)
    if minutes < 24 * 60:
        return t(N_("{hours} h {minutes} min"), hours=minutes // 60, minutes=minutes % 60)
    return t(N_("{days} d {hours} h"), days=minutes // 1440, hours=minutes // 60 % 24)
