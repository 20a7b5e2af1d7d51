"""KPIs: /stats with charts and /spend for customer acquisition cost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat.context import Context
from bot.chat.router import MANAGERS, MEMBERS, Router
from bot.crm import charts, kpi_series, kpis, offload, purchases, spend
from bot.crm.inbox.stats import ResponseStats, response_stats
from bot.crm.kpi_scope import Period, parse_period
from bot.crm.kpis import Kpis, Ratio
from bot.crm.models import Role
from bot.errors import InvalidInput
from bot.i18n import N_, P_
from bot.localtime import show_date, show_day, show_month_day
from bot.messaging import Keyboard, OutPhoto
from bot.views.inbox_desk import waited
from bot.views.replies import money_line

router = Router("insights", MEMBERS)
# /spend is for owners and admins only; listed in ``bot.handlers.ROUTERS`` after ``router``.
admin_router = Router("insights.admin", MANAGERS)

PERIOD_NAMES = {
    Period.WEEK: N_("this week"),
    Period.MONTH: N_("this month"),
    Period.QUARTER: N_("this quarter"),
    Period.YEAR: N_("this year"),
    Period.DAYS_30: N_("the last 30 days"),
    Period.DAYS_90: N_("the last 90 days"),
}
PERIOD_BUTTONS = (
    ((Period.WEEK, N_("Week")), (Period.MONTH, N_("Month")), (Period.QUARTER, N_("Quarter"))),
    ((Period.YEAR, N_("Year")), (Period.DAYS_30, N_("30 days")), (Period.DAYS_90, N_("90 days"))),
)
REP_LINES = 5
SPEND_LINES = 15
SPEND_HINT = N_("Send it like this: /spend 500 flyers")


class StatsPeriod(CallbackData, prefix="kp"):
    """Show the figures for this period."""

    period: Annotated[Period, Choice(Period)]


@router.command(
    "stats",
    help=N_("key figures with charts"),
    usage=N_("[week|month|quarter|year|30d|90d]"),
)
async def cmd_stats(ctx: Context) -> None:
    """Send the figures for the period asked (this month by default), then the charts."""
    arg = ctx.incoming.args.strip()
    try:
        period = parse_period(arg) if arg else Period.MONTH
    except InvalidInput as exc:
        ctx.reply(ctx.t(exc.key), _period_buttons(ctx))
        return
    await _send_stats(ctx, period)


@router.button(StatsPeriod)
async def on_period(ctx: Context, pressed: StatsPeriod) -> None:
    """Send the figures for the period whose button was pressed."""
    await _send_stats(ctx, pressed.period)


async def _send_stats(ctx: Context, period: Period) -> None:
    member, _ = ctx.staff()
    # Figures and charts take a while; other shops' updates must not queue behind them.
    await offload.release_write_lock(ctx.session)
    now = ctx.now()
    figures = await kpis.compute_kpis(ctx.session, actor=member, period=period, now=now)
    funnel = await kpi_series.weekly_funnel(ctx.session, actor=member, now=now)
    tiers = await kpi_series.tier_counts(ctx.session, actor=member)
    responses = await response_stats(
        ctx.session, actor=member, start=figures.window.start, end=figures.window.end
    )
    team = member.role is not Role.STAFF and not figures.whole_shop
    lines = [_figures_text(ctx, figures, team=team)]
    lines += _response_lines(ctx, responses, per_rep=member.role is not Role.STAFF)
    text = "\n".join(lines)
    ctx.reply(text, _period_buttons(ctx))
    # Drawing takes a few hundred milliseconds of CPU; keep it off the event loop.
    pictures = await asyncio.to_thread(
        charts.render_stats, funnel, tiers, figures.reps, locale=ctx.locale
    )
    captions = (
        N_("📈 New leads, contacted and won, by week"),
        N_("💎 Customers by value tier"),
        N_("✅ Follow-ups done vs due, per rep"),
    )
    for picture, caption in zip(pictures, captions, strict=True):
        ctx.outgoing.append(OutPhoto(ctx.chat_id, picture, ctx.t(caption)))


def _figures_text(ctx: Context, k: Kpis, *, team: bool) -> str:
    money = _money(k.currency)
    first = show_day(k.window.start, ctx.tz)
    last = show_day(k.window.end, ctx.tz)
    if k.whole_shop:
        title = N_("📊 <b>Shop figures, {period}</b> ({first} – {last})")
    elif team:
        title = N_("📊 <b>Your team's figures, {period}</b> ({first} – {last})")
    else:
        title = N_("📊 <b>Your figures, {period}</b> ({first} – {last})")
    t = ctx.t
    lines = [
        t(title, period=t(PERIOD_NAMES[k.window.period]), first=first, last=last),
        t(
            N_("🆕 New leads: {leads} · converted {won} ({rate})"),
            leads=k.new_leads,
            won=k.conversion.part,
            rate=_pct(k.conversion),
        ),
        t(
            P_(
                "🔁 Repurchase rate: {rate} ({part} of {whole} buyer)",
                "🔁 Repurchase rate: {rate} ({part} of {whole} buyers)",
                by="whole",
            ),
            **_ratio(k.repurchase),
        ),
        t(
            P_(
                "📉 Churn rate: {rate} ({part} of {whole} earlier buyer, nothing in {days} days)",
                "📉 Churn rate: {rate} ({part} of {whole} earlier buyers, nothing in {days} days)",
                by="whole",
            ),
            **_ratio(k.churn),
            days=kpis.LAPSE_DAYS,
        ),
        t(N_("🙋 Active customers: {count}"), count=k.active),
    ]
    acquired = t(N_("🤝 New customers: {count}"), count=k.new_customers)
    if k.spend_minor == 0:
        acquired += " · " + t(N_("CAC: record marketing spend with /spend"))
    elif k.spend_minor is not None:
        cac = money(k.cac_minor) if k.cac_minor is not None else "—"
        acquired += " · " + t(N_("spend {spend} · CAC {cac}"), spend=money(k.spend_minor), cac=cac)
    lines.append(acquired)
    lines.append(_cltv_line(ctx, k))
    lines.extend(_satisfaction_lines(ctx, k))
    lines.append(
        t(
            N_("📬 Campaigns delivered: {rate} ({sent} of {total}) · opt-outs {out_rate}"),
            rate=_pct(k.delivery),
            sent=k.delivery.part,
            total=k.delivery.whole,
            out_rate=_pct(k.opt_out),
        )
    )
    lines.append(t(N_("✅ Follow-ups done / due:")))
    for rep in k.reps[:REP_LINES]:
        lines.append(t(N_("• {name}: {done} / {due}"), name=rep.name, done=rep.done, due=rep.due))
    if len(k.reps) > REP_LINES:
        more = len(k.reps) - REP_LINES
        lines.append(t(N_("…and {count} more."), count=more))
    if not k.reps:
        lines.append(t(N_("• nobody yet")))
    return "\n".join(lines)


def _response_lines(ctx: Context, r: ResponseStats, *, per_rep: bool) -> list[str]:
    """Return the conversation lines: median first response and unanswered, then per rep.

    Staff figures are their own conversations, so they get the summary line alone.
    """
    t = ctx.t
    lines = [
        t(
            N_(
                "💬 Conversations: median first response {median} ({answered} answered) · "
                "{unanswered} unanswered now"
            ),
            median=_span(ctx, r.median_first_response),
            answered=r.answered,
            unanswered=r.unanswered,
        )
    ]
    if not per_rep:
        return lines
    for rep in r.reps[:REP_LINES]:
        lines.append(
            t(
                N_("• {name}: first response {median} · {unanswered} unanswered"),
                name=rep.member_name or t(N_("nobody assigned")),
                median=_span(ctx, rep.median_first_response),
                unanswered=rep.unanswered,
            )
        )
    if len(r.reps) > REP_LINES:
        lines.append(t(N_("…and {count} more."), count=len(r.reps) - REP_LINES))
    return lines


def _span(ctx: Context, span: timedelta | None) -> str:
    return "—" if span is None else waited(ctx.t, span)


def _cltv_line(ctx: Context, k: Kpis) -> str:
    if k.cltv_minor is None:
        return ctx.t(N_("💎 Average CLTV: — (no purchases yet)"))
    value = _money(k.currency)(k.cltv_minor)
    if k.cltv_estimated:
        note = N_("💎 Average CLTV: {value} (estimate: average order × orders a year × 3 years)")
    else:
        note = N_("💎 Average CLTV: {value} (from the value tiers)")
    return ctx.t(note, value=value)


def _satisfaction_lines(ctx: Context, k: Kpis) -> list[str]:
    average = k.satisfaction_average
    if average is None:
        return [ctx.t(N_("😊 Satisfaction: no survey answers in this period"))]
    stars = " · ".join(f"{score}★ {k.satisfaction[score - 1]}" for score in range(5, 0, -1))
    head = ctx.t(
        P_(
            "😊 Satisfaction: {average} / 5 from {count} answer",
            "😊 Satisfaction: {average} / 5 from {count} answers",
        ),
        average=f"{average:.1f}",
        count=sum(k.satisfaction),
    )
    return [head, f"    {stars}"]


def _ratio(ratio: Ratio) -> dict[str, object]:
    """Return a ratio's placeholders: ``rate`` as a percentage, ``part`` of ``whole``."""
    return {"rate": _pct(ratio), "part": ratio.part, "whole": ratio.whole}


def _pct(ratio: Ratio) -> str:
    value = ratio.value
    if value is None:
        return "—"
    percent = value * 100
    # Small rates (opt-outs) need a decimal to say anything; large ones do not.
    if percent < 10 and percent != int(percent):
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def _money(currency: str) -> Callable[[int], str]:
    return lambda minor: purchases.format_money(minor, currency)


def _period_buttons(ctx: Context) -> Keyboard:
    return [
        [StatsPeriod(period=p).button(ctx.t(label)) for p, label in row] for row in PERIOD_BUTTONS
    ]


@admin_router.command(
    "spend", help=N_("record marketing spend, or list this month's"), usage=N_("[amount] [note]")
)
async def cmd_spend(ctx: Context) -> None:
    """Record marketing spend for today, or list this month's entries and their total."""
    member, workspace = ctx.staff()
    amount_text, _, note = ctx.incoming.args.strip().partition(" ")
    if not amount_text:
        await _list_spend(ctx)
        return
    amount = purchases.parse_amount(amount_text)
    entry = await spend.record_spend(
        ctx.session, actor=member, amount_minor=amount, note=note, now=ctx.now()
    )
    month = await spend.month_spend(ctx.session, actor=member, now=ctx.now())
    ctx.reply(
        ctx.t(
            N_("✅ Marketing spend of {amount} recorded for {day}.\nThis month so far: {total}."),
            amount=purchases.format_money(entry.amount_minor, workspace.currency),
            day=show_date(entry.spent_on),
            total=purchases.format_money(month.total_minor, month.currency),
        )
        + "\n"
        + ctx.t(N_("/stats shows what it costs to win a customer (CAC)."))
    )


async def _list_spend(ctx: Context) -> None:
    member, _ = ctx.staff()
    month = await spend.month_spend(ctx.session, actor=member, now=ctx.now())
    if not month.entries:
        ctx.reply(
            ctx.t(N_("No marketing spend recorded this month yet.")) + "\n" + ctx.t(SPEND_HINT)
        )
        return
    lines = [ctx.t(N_("💸 <b>Marketing spend this month</b>"))]
    lines += [
        money_line(show_month_day(e.spent_on), e.amount_minor, e.currency, e.note)
        for e in month.entries[-SPEND_LINES:]
    ]
    lines.append(
        ctx.t(
            P_(
                "Total {total} in {count} entry.",
                "Total {total} in {count} entries.",
            ),
            total=purchases.format_money(month.total_minor, month.currency),
            count=len(month.entries),
        )
    )
    ctx.reply("\n".join(lines))
