"""The /log dialog: channel, what happened, outcome and the dated next step of a contact.

It also holds the one-step "which time did you mean?" dialog that /remind opens
when a time is ambiguous. Buttons answer steps: a channel or outcome button
types its value into the step, a time button picks one of the offered times.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Int
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, Dialog, dialog
from bot.crm import followups, reminders
from bot.crm.models import Channel
from bot.crm.when import Ambiguous, parse_leading_when, parse_when
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import show_zoned
from bot.views.card import card_button
from bot.views.labels import CHANNEL_NAMES

MAX_OUTCOME = 500
CHANNEL_WORDS = {"电话": Channel.CALL, "拜访": Channel.VISIT, "聊天": Channel.CHAT,
                 "邮件": Channel.EMAIL, "其他": Channel.OTHER}  # fmt: skip
OUTCOMES = (N_("Interested"), N_("Ordered"), N_("Call back later"), N_("No answer"),
            N_("Not interested"))  # fmt: skip


class LogStep(StrEnum):
    """The questions of /log, persisted by value."""

    CHANNEL = "channel"
    SUMMARY = "summary"
    OUTCOME = "outcome"
    NEXT = "next"


class RemindStep(StrEnum):
    """The single question of /remind's ask-back, persisted by value."""

    WHEN = "when"


# The most candidate times an ambiguous time is offered as buttons.
MAX_TIMES = 10


class LogChannel(CallbackData, prefix="lf:ch"):
    """Answer how the rep was in touch, in /log."""

    channel: Annotated[Channel, Choice(Channel)]


class LogOutcome(CallbackData, prefix="lf:oc"):
    """Answer the outcome of a contact in /log with one of ``OUTCOMES`` (by number)."""

    index: Annotated[int, Int(0, len(OUTCOMES) - 1)]


class LogTime(CallbackData, prefix="lf:at"):
    """Pick one of the times an ambiguous next step of /log could mean (by number)."""

    index: Annotated[int, Int(0, MAX_TIMES - 1)]


class RemindTime(CallbackData, prefix="rm:at"):
    """Pick one of the times an ambiguous /remind could mean (by number)."""

    index: Annotated[int, Int(0, MAX_TIMES - 1)]


async def ask_channel(ctx: Context, data: Data) -> None:
    """Ask how the rep was in touch, with one button per channel."""
    buttons = [LogChannel(channel=c).button(ctx.t(CHANNEL_NAMES[c])) for c in Channel]
    ctx.reply(
        ctx.t(
            N_("📝 Contact with <b>{name}</b> (#{id}). How were you in touch? (/cancel to stop)"),
            name=data["customer_name"],
            id=data["customer_id"],
        ),
        [buttons[:3], buttons[3:]],
    )


async def receive_channel(ctx: Context, data: Data) -> str:
    """Store the channel, from a button or typed."""
    text = ctx.incoming.text.strip().lower()
    for channel in Channel:
        if text in (channel.value, ctx.t(CHANNEL_NAMES[channel]).lower()):
            data["channel"] = channel.value
            return LogStep.SUMMARY
    if text in CHANNEL_WORDS:
        data["channel"] = CHANNEL_WORDS[text].value
        return LogStep.SUMMARY
    raise InvalidInput(N_("Please tap one of the buttons: call, visit, chat, email or other."))


async def ask_summary(ctx: Context, data: Data) -> None:
    """Ask what happened."""
    ctx.reply(ctx.t(N_("What happened? A line or two is enough.")))


async def receive_summary(ctx: Context, data: Data) -> str:
    """Store what happened."""
    hint, most = N_("Please describe it in 1 to {max} characters."), followups.MAX_SUMMARY
    data["summary"] = engine.text_answer(ctx, hint, most=most, max=most)
    return LogStep.OUTCOME


async def ask_outcome(ctx: Context, data: Data) -> None:
    """Ask for the outcome, with buttons for the usual ones."""
    buttons = [LogOutcome(index=i).button(ctx.t(o)) for i, o in enumerate(OUTCOMES)]
    ctx.reply(ctx.t(N_("And the outcome? Tap one or type your own.")), [buttons[:3], buttons[3:]])


async def receive_outcome(ctx: Context, data: Data) -> str:
    """Store the outcome."""
    hint = N_("Please tap an outcome or type one (up to {max} characters).")
    data["outcome"] = engine.text_answer(ctx, hint, most=MAX_OUTCOME, max=MAX_OUTCOME)
    return LogStep.NEXT


async def ask_next(ctx: Context, data: Data) -> None:
    """Ask for the next step with its date, or offer the candidates of an ambiguous one."""
    if data.get("choices"):
        _ask_choice(ctx, data, LogTime)
        return
    ctx.reply(
        ctx.t(
            N_(
                "What's the next step, and when? E.g. “fri 10:00 send samples” or "
                "“3d call back”. Send /skip for none."
            )
        )
    )


async def receive_next(ctx: Context, data: Data) -> str:
    """Store the next step and its due time, or ask back when the time is ambiguous."""
    text = ctx.incoming.text.strip()
    data.pop("choices", None)
    if ctx.incoming.command == "skip" or text.lower() == "/skip":
        data["next_step"] = None
        data["next_at"] = None
        return DONE
    parsed, rest = parse_leading_when(text, now=ctx.now(), tz=ctx.tz)
    data["next_step"] = reminders.clean_text(rest or ctx.t(N_("Follow up")))
    return store_when(data, parsed, again=LogStep.NEXT)


async def finish_log(ctx: Context, data: Data) -> None:
    """Save the follow-up (and its reminder) and confirm."""
    member, _ = ctx.staff()
    next_at = datetime.fromisoformat(data["next_at"]) if data.get("next_at") else None
    await followups.log_followup(
        ctx.session,
        actor=member,
        customer_id=data["customer_id"],
        channel=Channel(data["channel"]),
        summary=data["summary"],
        outcome=data["outcome"],
        next_step=data["next_step"],
        next_at=next_at,
        now=ctx.now(),
    )
    text = ctx.t(N_("✅ Logged your contact with <b>{name}</b>."), name=data["customer_name"])
    if next_at is not None:
        text += "\n" + ctx.t(
            N_("⏰ I'll remind you to “{step}” on {when}."),
            step=data["next_step"],
            when=show_zoned(next_at, ctx.tz),
        )
    ctx.reply(text, [[card_button(ctx.t, data["customer_id"])]])


async def ask_when(ctx: Context, data: Data) -> None:
    """Offer the candidate times of an ambiguous /remind, or ask for a time again."""
    if data.get("choices"):
        _ask_choice(ctx, data, RemindTime)
        return
    ctx.reply(ctx.t(N_("When should I remind you? E.g. “tomorrow 10:00” or “2h”.")))


async def receive_when(ctx: Context, data: Data) -> str:
    """Store the reminder's due time, asking back again when it is still ambiguous."""
    parsed = parse_when(ctx.incoming.text, now=ctx.now(), tz=ctx.tz)
    data.pop("choices", None)
    return store_when(data, parsed, again=RemindStep.WHEN)


async def finish_remind(ctx: Context, data: Data) -> None:
    """Create the reminder and confirm its local due time."""
    member, _ = ctx.staff()
    due = datetime.fromisoformat(data["next_at"])
    await reminders.create_reminder(
        ctx.session,
        actor=member,
        customer_id=data["customer_id"],
        text=data["text"],
        due_at=due,
        now=ctx.now(),
    )
    confirm_reminder(ctx, data["customer_name"], data["text"], due)


def store_when(data: Data, parsed: datetime | Ambiguous, *, again: str) -> str:
    """Store a due time and return ``DONE``, or its candidate times and return ``again``."""
    if isinstance(parsed, Ambiguous):
        data["choices"] = [c.isoformat() for c in parsed.candidates]
        return again
    data["next_at"] = parsed.isoformat()
    return DONE


def confirm_reminder(ctx: Context, customer_name: str, text: str, due: datetime) -> None:
    """Tell the rep when a new reminder will arrive."""
    ctx.reply(
        ctx.t(
            N_("⏰ OK! On {when} I'll remind you about <b>{name}</b>: {text}"),
            when=show_zoned(due, ctx.tz),
            name=customer_name,
            text=text,
        )
    )


async def pick(ctx: Context, dialog: Dialog, index: int) -> None:
    """Finish the sender's open ``dialog`` with the offered time number ``index``.

    Raises:
        ButtonExpired: when no such dialog offers that many times.
    """
    state = await engine.current(ctx)
    choices = state.data.get("choices") or [] if state is not None else []
    if state is None or state.dialog != dialog.name or not 0 <= index < len(choices):
        raise ctx.expired()
    data = dict(state.data)
    data["next_at"] = choices[index]
    data.pop("choices")
    await ctx.session.delete(state)
    await dialog.finish(ctx, data)


def _ask_choice(ctx: Context, data: Data, answer: type[LogTime | RemindTime]) -> None:
    buttons = [
        [answer(index=i).button(show_zoned(datetime.fromisoformat(c), ctx.tz))]
        for i, c in enumerate(data["choices"][:MAX_TIMES])
    ]
    ctx.reply(ctx.t(N_("Which time do you mean? Tap one, or type the time again.")), buttons)


LOG = dialog("log_followup", LogStep, finish_log)
REMIND = dialog("remind_when", RemindStep, finish_remind)
