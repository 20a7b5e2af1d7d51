"""What members see of a customer's message: the who-line and the relay's buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.callbacks import CallbackData, Id
from bot.crm.models import Customer
from bot.i18n import N_
from bot.localtime import show_day
from bot.messaging import Button, Keyboard
from bot.views.card import card_button

Translate = Callable[..., str]


class RelayReply(CallbackData, prefix="ib:r"):
    """Answer a customer's conversation: the next message goes to the customer."""

    thread_id: Annotated[int, Id("chat_thread")]


class RelayDone(CallbackData, prefix="ib:d"):
    """Close a customer's conversation."""

    thread_id: Annotated[int, Id("chat_thread")]


class RelayLog(CallbackData, prefix="ib:l"):
    """Log a closed conversation as a follow-up of channel chat."""

    thread_id: Annotated[int, Id("chat_thread")]


def relay_buttons(t: Translate, *, thread_id: int, customer_id: int) -> Keyboard:
    """Return ↩️ Reply, 📇 Card, 📝 Log and ✅ Done for a relayed message."""
    return [
        [
            RelayReply(thread_id=thread_id).button(t(N_("↩️ Reply"))),
            card_button(t, customer_id, t(N_("📇 Card"))),
        ],
        [
            RelayLog(thread_id=thread_id).button(t(N_("📝 Log"))),
            RelayDone(thread_id=thread_id).button(t(N_("✅ Done"))),
        ],
    ]


def log_button(t: Translate, *, thread_id: int) -> Button:
    """Return the one-tap "log as chat follow-up" button."""
    return RelayLog(thread_id=thread_id).button(t(N_("📝 Log as chat follow-up")))


def who_line(
    t: Translate, customer: Customer, *, last_contact: datetime | None, tz: ZoneInfo
) -> str:
    """Return who wrote: name, #id, tier, stage and the last contact before this message."""
    tier = customer.value_tier.value if customer.value_tier is not None else "—"
    seen = show_day(last_contact, tz) if last_contact is not None else t(N_("never"))
    return t(
        N_("💬 <b>{name}</b> (#{id}) · tier {tier} · stage {stage} · last contact {seen}"),
        name=customer.name,
        id=customer.id,
        tier=tier,
        stage=customer.stage,
        seen=seen,
    )
