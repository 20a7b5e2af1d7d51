"""At-risk customers on screen: reason lines, the call/care/offer buttons and the alerts."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id, Int
from bot.campaigns.care import CARE_KEYS
from bot.crm.at_risk import RiskItem
from bot.crm.models.core import AtRiskReason
from bot.i18n import N_, P_
from bot.messaging import Button, Keyboard
from bot.views.labels import TIER_WORDS

Translate = Callable[..., str]
MAX_OFFSET = 10**6


class RiskAction(CallbackData, prefix="ar"):
    """Act on one customer at risk: call, a care message or offer, log the call, remind."""

    action: Annotated[str, Choice(("call", *CARE_KEYS, "log", "rem"))]
    customer_id: Annotated[int, Id("customer")]


class RiskList(CallbackData, prefix="ar:ls"):
    """Open the at-risk list from an alert, from the given place on."""

    offset: Annotated[int, Int(0, MAX_OFFSET)]


def reason_text(item: RiskItem, t: Translate) -> str:
    """Return why a customer is at risk, in words."""
    if item.reason is AtRiskReason.TIER_DROP and item.tier_from and item.tier_to:
        return t(
            N_("dropped from {old} to {new} value"),
            old=t(TIER_WORDS[item.tier_from]),
            new=t(TIER_WORDS[item.tier_to]),
        )
    if item.usual_days:
        return t(
            P_(
                "quiet for {days} day (usually every {usual})",
                "quiet for {days} days (usually every {usual})",
                by="days",
            ),
            days=item.days_quiet,
            usual=item.usual_days,
        )
    return t(
        P_(
            "quiet for {days} day",
            "quiet for {days} days",
            by="days",
        ),
        days=item.days_quiet,
    )


def item_line(item: RiskItem, t: Translate, *, with_owner: bool = False) -> str:
    """Return one customer's line: name, number, reason (and owner for managers)."""
    line = f"• <b>{html.escape(item.name)}</b> (#{item.customer_id}): {reason_text(item, t)}"
    if with_owner:
        owner = item.owner_name or t(N_("unassigned"))
        line += f" · 👤 {html.escape(owner)}"
    return line


def action_row(item: RiskItem, t: Translate) -> list[Button]:
    """Return the call, care message and offer buttons of one customer."""
    first = item.name.split()[0] if item.name.split() else item.name
    return [
        RiskAction(action="call", customer_id=item.customer_id).button(f"📞 {first}"[:24]),
        RiskAction(action="care", customer_id=item.customer_id).button(t(N_("💌 Care"))),
        RiskAction(action="offer", customer_id=item.customer_id).button(t(N_("🎁 Offer"))),
    ]


def render_summary(t: Translate, *, total: int, quiet: int) -> tuple[str, Keyboard]:
    """Return a rep's alert about many customers: counts and a pointer to /atrisk."""
    text = t(
        N_(
            "⚠️ <b>{count} of your customers may be drifting away</b>: {quiet} have gone"
            " quiet, {dropped} dropped to a lower value tier.\n"
            "See /atrisk to go through them, with a call, care message or offer for each."
        ),
        count=total,
        quiet=quiet,
        dropped=total - quiet,
    )
    return text, [[RiskList(offset=0).button(t(N_("📋 See them")))]]


def render_alert(items: Sequence[RiskItem], t: Translate) -> tuple[str, Keyboard]:
    """Return a rep's alert about a few customers, each with its action buttons."""
    lines = [t(N_("⚠️ <b>These customers may be drifting away</b>:")), ""]
    lines += [item_line(item, t) for item in items]
    lines += ["", t(N_("📞 call · 💌 send a care message · 🎁 send an offer"))]
    return "\n".join(lines), [action_row(item, t) for item in items]
