"""Value tiers in the chat: /tiers shows how customers spread, /tiers recompute refreshes them."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import CallbackData, Choice
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.crm import offload, search, tier_reports
from bot.crm.models import Role
from bot.crm.models.core import Segment, ValueTier
from bot.errors import InvalidInput
from bot.i18n import N_, P_, keyword
from bot.localtime import show_minute
from bot.messaging import Button
from bot.views.card import card_button, result_label
from bot.views.labels import SEGMENT_NAMES, TIER_NAMES, TIER_WORDS

router = Router("tiers", MEMBERS)
TIER_ICONS = {ValueTier.HIGH: "💎", ValueTier.MEDIUM: "🔷", ValueTier.LOW: "▫️"}
USAGE = N_("Send /tiers to see the value tiers, or /tiers recompute to refresh them.")


class TierCustomers(CallbackData, prefix="tr"):
    """List the member's top customers of one value tier."""

    tier: Annotated[ValueTier, Choice(ValueTier)]


class Recompute(CallbackData, prefix="tr:go"):
    """Recompute the value tiers now (owner and admins)."""


@router.command("tiers", help=N_("value tiers and segments of customers"), usage=N_("[recompute]"))
async def cmd_tiers(ctx: Context) -> None:
    """Show the tier and segment counts, or recompute them (owner and admins)."""
    arg = ctx.incoming.args.strip().casefold()
    if not arg:
        await _show(ctx)
    elif keyword(arg) == "recompute":
        await _recompute(ctx)
    else:
        raise InvalidInput(USAGE)


@router.button(Recompute)
async def on_recompute_button(ctx: Context, pressed: Recompute) -> None:
    """Recompute the value tiers from the button."""
    await _recompute(ctx)


@router.button(TierCustomers)
async def on_tiers_button(ctx: Context, pressed: TierCustomers) -> None:
    """List the customers of the tapped tier."""
    member, _ = ctx.staff()
    tier = pressed.tier
    found = await search.find_customers(ctx.session, actor=member, text="", tier=tier)
    label = ctx.t(TIER_NAMES[tier])
    if not found:
        ctx.reply(ctx.t(N_("Nobody of yours is in the tier “{tier}” yet."), tier=label))
        return
    ctx.reply(
        ctx.t(
            N_("{tier}: your top {count} by lifetime value. Tap one (more: /find tier:{key}):"),
            tier=label,
            count=len(found),
            key=ctx.t(TIER_WORDS[tier]),
        ),
        [[card_button(ctx.t, c.id, result_label(c))] for c in found],
    )


async def _show(ctx: Context) -> None:
    member, _ = ctx.staff()
    spread = await tier_reports.distribution(ctx.session, actor=member)
    manager = member.role in (Role.OWNER, Role.ADMIN)
    if spread.computed_at is None:
        text = ctx.t(N_("💎 Value tiers have not been computed yet."))
        if manager:
            text += "\n" + ctx.t(N_("Tap Recompute now, or wait for tonight's run."))
        else:
            text += "\n" + ctx.t(N_("They are computed every night."))
        ctx.reply(text, _buttons(ctx, manager=manager, tier_buttons=False))
        return
    title = (
        P_(
            "💎 <b>Value tiers of the shop</b> ({count} customer)",
            "💎 <b>Value tiers of the shop</b> ({count} customers)",
        )
        if spread.whole_shop
        else N_("💎 <b>Value tiers of your customers</b> ({count})")
    )
    lines = [ctx.t(title, count=spread.customers)]
    for tier in ValueTier:
        lines.append(
            f"{TIER_ICONS[tier]} "
            + ctx.t(N_("{tier}: {count}"), tier=ctx.t(TIER_NAMES[tier]), count=spread.tiers[tier])
        )
    untiered = spread.customers - sum(spread.tiers.values())
    lines.append(ctx.t(N_("▫️ No purchases yet: {count}"), count=untiered))
    lines.append("")
    lines.append(ctx.t(N_("<b>Segments</b>")))
    shown = [s for s in Segment if spread.segments[s]]
    for segment in shown:
        lines.append(
            ctx.t(
                N_("• {segment}: {count}"),
                segment=ctx.t(SEGMENT_NAMES[segment]),
                count=spread.segments[segment],
            )
        )
    if not shown:
        lines.append(ctx.t(N_("• none yet")))
    lines.append("")
    when = show_minute(spread.computed_at, ctx.tz)
    lines.append(ctx.t(N_("🕒 Last computed {when}; refreshed every night."), when=when))
    lines.append(ctx.t(N_("Find them with /find tier:high or /find segment:slipping.")))
    if spread.segments[Segment.AT_RISK]:
        lines.append(ctx.t(N_("Slipping: bought often, not lately. Drifting away now: /atrisk.")))
    ctx.reply("\n".join(lines), _buttons(ctx, manager=manager, tier_buttons=True))


async def _recompute(ctx: Context) -> None:
    member, _ = ctx.staff()
    if member.role not in (Role.OWNER, Role.ADMIN):
        ctx.reply(ctx.t(N_("Only the owner or an admin can recompute the value tiers.")))
        return
    now = ctx.now()
    # The recompute takes seconds; other shops' updates must not queue behind it.
    await offload.release_write_lock(ctx.session)
    engine = ctx.session.bind
    if not isinstance(engine, AsyncEngine):
        msg = "the update's session is not bound to an engine"
        raise TypeError(msg)
    summary = await tier_reports.recompute_apart(
        engine, member.workspace_id, now=now, actor=member
    )
    moved = await tier_reports.changes(ctx.session, member.workspace_id, now=now)
    counts = {tier: int(summary.tiers.get(tier.value, 0)) for tier in ValueTier}
    lines = [
        ctx.t(
            P_(
                "✅ Value tiers recomputed: {buyers} buyer in {seconds} s.",
                "✅ Value tiers recomputed: {buyers} buyers in {seconds} s.",
                by="buyers",
            ),
            buyers=summary.buyers,
            seconds=f"{summary.seconds:.1f}",
        ),
        ctx.t(
            N_("💎 High {high} · 🔷 Medium {medium} · ▫️ Low {low}"),
            high=counts[ValueTier.HIGH],
            medium=counts[ValueTier.MEDIUM],
            low=counts[ValueTier.LOW],
        ),
        ctx.t(
            N_("🔄 Changed tier: {total} (up {up}, down {down}, new {first})"),
            total=moved.total,
            up=moved.up,
            down=moved.down,
            first=moved.first,
        ),
    ]
    ctx.reply("\n".join(lines), _buttons(ctx, manager=False, tier_buttons=True))


def _buttons(ctx: Context, *, manager: bool, tier_buttons: bool) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if tier_buttons:
        rows.append(
            [TierCustomers(tier=tier).button(ctx.t(TIER_NAMES[tier])) for tier in ValueTier]
        )
    if manager:
        rows.append([Recompute().button(ctx.t(N_("🔄 Recompute now")))])
    return rows
