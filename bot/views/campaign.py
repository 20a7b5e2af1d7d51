"""The campaign detail view: what a campaign sends to whom and when, its last run, its buttons."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any

from bot.callbacks import CallbackData, Choice, Id
from bot.campaigns import campaigns, schedules
from bot.campaigns.campaigns import CampaignSummary
from bot.campaigns.run_status import WORD_LABELS, RunState, RunWord
from bot.chat.context import Context
from bot.crm.models import CampaignKind, CampaignStatus
from bot.i18n import N_, P_, Raw
from bot.localtime import show_hhmm, show_short, show_zoned
from bot.messaging import Button
from bot.views.labels import TIER_NAMES, template_name

STATUS_NAMES = {
    CampaignStatus.ACTIVE: N_("active"),
    CampaignStatus.PAUSED: N_("paused"),
    CampaignStatus.STOPPED: N_("stopped"),
    CampaignStatus.DONE: N_("sent"),
}
REASON_NAMES = {
    "opted_out": N_("opted out"),
    "unreachable": N_("unreachable"),
    "recently_contacted": N_("contacted this week"),
    "capped": N_("over the cap"),
    "stopped": N_("stopped"),
    "template_error": N_("template problem"),
    "quiet_hours": N_("quiet hours"),
}
KIND_NAMES = {
    CampaignKind.WEEKLY: N_("📅 Weekly touchpoint"),
    CampaignKind.BIRTHDAY: N_("🎂 Birthday greeting"),
    CampaignKind.HOLIDAY: N_("🎉 Holiday greeting"),
    CampaignKind.WELCOME: N_("👋 Welcome on opt-in"),
    CampaignKind.BROADCAST: N_("📣 One-off broadcast"),
    CampaignKind.SURVEY: N_("📝 Satisfaction survey"),
}
# Open, pause, resume, stop (asks first), stop for good, run now, send a held run now
# (asks first), send it now for good.
ACTIONS = ("o", "p", "r", "s", "sy", "n", "h", "hy")


class CampaignAction(CallbackData, prefix="cp"):
    """A campaign's detail button: open, pause, resume, stop, confirm stop or run now."""

    action: Annotated[str, Choice(ACTIONS)]
    campaign_id: Annotated[int, Id("campaign")]


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def describe_audience(ctx: Context, audience: Mapping[str, Any]) -> Raw:
    """Describe an audience's filters in a line."""
    parts = []
    if audience.get("grades"):
        parts.append(ctx.t(N_("grade {values}"), values=", ".join(audience["grades"])))
    if audience.get("value_tiers"):
        labels = {tier.value: label for tier, label in TIER_NAMES.items()}
        names = [ctx.t(labels[v]) if v in labels else str(v) for v in audience["value_tiers"]]
        parts.append(ctx.t(N_("value tier {values}"), values=", ".join(names)))
    if audience.get("customer_ids") is not None:
        parts.append(
            ctx.t(N_("chosen customers only ({count})"), count=len(audience["customer_ids"]))
        )
    if audience.get("tags"):
        parts.append(ctx.t(N_("tag {values}"), values=", ".join(audience["tags"])))
    if audience.get("stages"):
        parts.append(ctx.t(N_("stage {values}"), values=", ".join(audience["stages"])))
    if audience.get("owner_member_id") is not None:
        parts.append(ctx.t(N_("owned by colleague #{id}"), id=audience["owner_member_id"]))
    if audience.get("region"):
        parts.append(ctx.t(N_("region {value}"), value=audience["region"]))
    if audience.get("team_id") is not None:
        parts.append(ctx.t(N_("team #{id} only"), id=audience["team_id"]))
    everyone = ctx.t(N_("everyone opted in"))
    return Raw(everyone + (" · " + " · ".join(parts) if parts else ""))


def describe_schedule(ctx: Context, data: Mapping[str, Any]) -> Raw:
    """Describe when a campaign sends, in the shop's zone."""
    kind = CampaignKind(data["kind"])
    at = data.get("send_time") or "10:00"
    if kind is CampaignKind.WELCOME:
        return Raw(ctx.t(N_("when a customer opts in")))
    if kind is CampaignKind.WEEKLY:
        day = ctx.t(WEEKDAYS[int(data["weekday"])])
        return Raw(ctx.t(N_("every {day} at {time}"), day=day, time=at))
    if kind is CampaignKind.BIRTHDAY:
        return Raw(ctx.t(N_("on each customer's birthday at {time}"), time=at))
    if data.get("run_date"):
        return Raw(ctx.t(N_("on {date} at {time}"), date=str(data["run_date"]), time=at))
    return Raw(ctx.t(N_("right away")))


def describe_counts(ctx: Context, counts: Mapping[str, Any]) -> Raw:
    """Describe a run's outcome counts in a line: sent, waiting, skipped by reason, failures."""
    skipped: Mapping[str, int] = counts.get("skipped") or {}
    text = ctx.t(
        N_("sent {sent} of {total} · waiting {pending} · skipped {skipped}"),
        sent=counts.get("sent", 0),
        total=counts.get("total", 0),
        pending=counts.get("pending", 0),
        skipped=sum(skipped.values()),
    )
    if skipped:
        reasons = ", ".join(
            f"{ctx.t(REASON_NAMES.get(r, r))} {n}" for r, n in sorted(skipped.items())
        )
        text += f" ({reasons})"
    for key, label in (
        ("failed", N_("failed {n}")),
        ("blocked", N_("blocked {n}")),
        ("unknown", N_("unknown {n}")),
    ):
        if counts.get(key):
            text += " · " + ctx.t(label, n=counts[key])
    return Raw(text)


def describe_state(ctx: Context, state: RunState) -> str:
    """Say what a run is doing: queued, sending, held until when and why, paused, finished…"""
    if state.word is not RunWord.HELD:
        return ctx.t(WORD_LABELS[state.word])
    _, workspace = ctx.staff()
    until = state.held_until
    if until is None:
        when = "—"
    elif until - ctx.now() < timedelta(hours=24):
        when = show_hhmm(until.astimezone(ctx.tz).time())
    else:
        when = show_short(until, ctx.tz)
    if state.quiet_hours and workspace.quiet_start != workspace.quiet_end:
        return ctx.t(
            N_("⏸ held until {time} — quiet hours {start}–{end}"),
            time=when,
            start=workspace.quiet_start,
            end=workspace.quiet_end,
        )
    return ctx.t(N_("⏸ held until {time}"), time=when)


def _status(ctx: Context, summary: CampaignSummary) -> str:
    """Return the campaign's status; a one-off that fired says what its run is doing."""
    if summary.campaign.status is CampaignStatus.DONE and summary.last_state is not None:
        return describe_state(ctx, summary.last_state)
    return ctx.t(STATUS_NAMES[summary.campaign.status])


def _last(ctx: Context, summary: CampaignSummary) -> Raw:
    counts = describe_counts(ctx, summary.last_counts or {})
    if summary.last_state is None:
        return counts
    return Raw(describe_state(ctx, summary.last_state) + " · " + counts)


def summary_line(ctx: Context, summary: CampaignSummary) -> str:
    """Return one campaign's line in /campaigns: name, status, next send, last results."""
    campaign = summary.campaign
    line = ctx.t(
        N_("<b>{name}</b> (#{id}) · {kind} · {status}"),
        name=campaign.name,
        id=campaign.id,
        kind=ctx.t(KIND_NAMES.get(campaign.kind, campaign.kind.value)),
        status=Raw(_status(ctx, summary)),
    )
    if summary.next_at is not None:
        line += "\n   " + ctx.t(N_("Next: {when}"), when=show_zoned(summary.next_at, ctx.tz))
    if summary.last_counts is not None:
        line += "\n   " + ctx.t(N_("Last: {counts}"), counts=_last(ctx, summary))
    return line


async def show_campaign(ctx: Context, campaign_id: int, *, edit: bool = False) -> None:
    """Show a campaign's detail view with Run now, Pause or Resume, and Stop."""
    member, _ = ctx.staff()
    summary = await campaigns.get_campaign(
        ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
    )
    campaign = summary.campaign
    reach = await campaigns.reach(ctx.session, actor=member, audience=campaign.audience)
    schedule = {
        "kind": campaign.kind.value,
        "send_time": campaign.send_time,
        "weekday": campaign.weekday,
        "run_date": campaign.run_date.isoformat() if campaign.run_date else None,
    }
    text = ctx.t(
        P_(
            "{kind}: <b>{name}</b> (#{id})\nTemplate: {template}\nAudience: {audience} "
            "({reach} customer now)\nWhen: {when}\nStatus: {status}",
            "{kind}: <b>{name}</b> (#{id})\nTemplate: {template}\nAudience: {audience} "
            "({reach} customers now)\nWhen: {when}\nStatus: {status}",
            by="reach",
        ),
        kind=ctx.t(KIND_NAMES.get(campaign.kind, campaign.kind.value)),
        name=campaign.name,
        id=campaign.id,
        template=template_name(ctx.t, campaign.template_key),
        audience=describe_audience(ctx, campaign.audience),
        reach=reach,
        when=describe_schedule(ctx, schedule),
        status=Raw(_status(ctx, summary)),
    )
    if summary.next_at is not None:
        text += "\n" + ctx.t(N_("Next send: {when}"), when=show_zoned(summary.next_at, ctx.tz))
    if summary.last_run is not None and summary.last_counts is not None:
        text += "\n" + ctx.t(
            N_("Last run ({occurrence}): {counts}"),
            occurrence=occurrence_name(ctx.t, summary.last_run.occurrence),
            counts=_last(ctx, summary),
        )
    (ctx.edit if edit else ctx.reply)(text, _actions(ctx, summary))


def occurrence_name(t: Callable[..., str], occurrence: str) -> str:
    """Name a run's occurrence: one-off, welcome, week 49 of 2026, or the day itself."""
    if occurrence == schedules.ONCE:
        return t(N_("one-off"))
    if occurrence == schedules.WELCOME:
        return t(N_("welcome"))
    year, sep, week = occurrence.partition("-W")
    if sep and year.isdigit() and week.isdigit():
        return t(N_("week {week} of {year}"), week=int(week), year=year)
    return occurrence


def _actions(ctx: Context, summary: CampaignSummary) -> list[list[Button]]:
    campaign = summary.campaign
    rows: list[list[Button]] = []

    def button(action: str, label: str) -> Button:
        return CampaignAction(action=action, campaign_id=campaign.id).button(ctx.t(label))

    if summary.last_state is not None and summary.last_state.word is RunWord.HELD:
        rows.append([button("h", N_("🚀 Run now"))])
    elif campaign.status is CampaignStatus.ACTIVE and campaign.kind is not CampaignKind.WELCOME:
        rows.append([button("n", N_("🚀 Run now"))])
    row = []
    if campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.DONE):
        row.append(button("p", N_("⏸ Pause")))
    if campaign.status is CampaignStatus.PAUSED:
        row.append(button("r", N_("▶️ Resume")))
    if campaign.status is not CampaignStatus.STOPPED:
        row.append(button("s", N_("⏹ Stop")))
    if row:
        rows.append(row)
    rows.append([button("o", N_("🔄 Refresh"))])
    return rows
