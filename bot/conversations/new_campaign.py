"""The /campaign new dialog: kind, template, audience, schedule, name, then confirm with the reach.

Audiences filter by grade, value tier, tag, stage, owner and region; a broadcast
or a satisfaction survey goes out once, now or on a date.

Buttons answer steps: each one carries ``cp:d:<step>:<value>`` and types its
value into that step, so a typed answer and a tap take the same path. The
audience step loops: each filter adds to the audience until the admin taps Done.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from sqlalchemy import distinct, select

from bot.callbacks import CallbackData, Choice, Text
from bot.campaigns import campaigns, template_store
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import leads, tags, teams
from bot.crm.models import CampaignKind, Customer
from bot.crm.models.core import ValueTier
from bot.crm.scope import visible_customers
from bot.errors import InvalidInput
from bot.i18n import N_, P_
from bot.localtime import clean_hhmm, local_day
from bot.messaging import Button
from bot.views.campaign import (
    KIND_NAMES,
    WEEKDAYS,
    describe_audience,
    describe_schedule,
    show_campaign,
)
from bot.views.labels import TIER_NAMES, template_name

DEFAULT_TEMPLATE = {
    CampaignKind.WEEKLY: "weekly_touchpoint",
    CampaignKind.BIRTHDAY: "birthday",
    CampaignKind.HOLIDAY: "holiday",
    CampaignKind.WELCOME: "welcome",
    CampaignKind.SURVEY: "survey_invitation",
}
# Kinds sent once, on a date or right away.
ONE_OFF_NOW = (CampaignKind.BROADCAST, CampaignKind.SURVEY)
FILTER_NAMES = {
    "grades": N_("By grade"),
    "value_tiers": N_("By value tier"),
    "tags": N_("By tag"),
    "stages": N_("By stage"),
    "owner": N_("By owner rep"),
    "region": N_("By region"),
}
MAX_CHOICES = 12


class CampaignStep(StrEnum):
    """The questions of /campaign new, persisted by value."""

    KIND = "kind"
    TEMPLATE = "tpl"
    AUDIENCE = "aud"
    FILTER = "flt"
    WEEKDAY = "wday"
    DATE = "date"
    TIME = "time"
    NAME = "name"
    CONFIRM = "ok"


class CampaignAnswer(CallbackData, prefix="cp:d"):
    """Answer a step of /campaign new with a value, as if typed."""

    step: Annotated[CampaignStep, Choice(CampaignStep)]
    value: Annotated[str, Text(54, tail=True)]


class CampaignCancel(CallbackData, prefix="cp:x"):
    """Drop the /campaign new dialog."""


def buttons(
    step: CampaignStep, choices: list[tuple[str, str]], per_row: int = 3
) -> list[list[Button]]:
    """Lay out (label, value) choices as buttons that answer ``step``."""
    row: list[Button] = []
    rows: list[list[Button]] = []
    for label, value in choices:
        if not CampaignAnswer.fits(step=step, value=value):
            continue  # too long for a button's data; it can still be typed
        row.append(CampaignAnswer(step=step, value=value).button(label))
        if len(row) == per_row:
            rows.append(row)
            row = []
    return [*rows, row] if row else rows


async def ask_kind(ctx: Context, data: Data) -> None:
    """Ask what kind of campaign, one button per kind."""
    choices = [(ctx.t(label), kind.value) for kind, label in KIND_NAMES.items()]
    ctx.reply(
        ctx.t(N_("📣 New campaign. What kind? (/cancel to stop)")),
        buttons(CampaignStep.KIND, choices, per_row=2),
    )


async def receive_kind(ctx: Context, data: Data) -> str:
    """Store the kind, from a button or typed."""
    text = ctx.incoming.text.strip().casefold()
    for kind, label in KIND_NAMES.items():
        if text in (kind.value, ctx.t(label).casefold()):
            data["kind"] = kind.value
            return CampaignStep.TEMPLATE
    raise InvalidInput(N_("Please tap one of the kinds below."))


async def ask_template(ctx: Context, data: Data) -> None:
    """Ask which template to send, one button per template key."""
    keys = await _template_keys(ctx)
    preferred = DEFAULT_TEMPLATE.get(CampaignKind(data["kind"]))
    keys.sort(key=lambda k: (k != preferred, k))
    ctx.reply(
        ctx.t(N_("Which message template? (Edit texts with /templates.)")),
        buttons(CampaignStep.TEMPLATE, [(template_name(ctx.t, k), k) for k in keys], per_row=2),
    )


async def receive_template(ctx: Context, data: Data) -> str:
    """Store the template key."""
    text = ctx.incoming.text.strip()
    chosen = [
        key
        for key in await _template_keys(ctx)
        if text.casefold() in (key, template_name(ctx.t, key).casefold())
    ]
    if not chosen:
        raise InvalidInput(N_("There's no template “{template}”. Please tap one."), template=text)
    data["template_key"] = chosen[0]
    data["audience"] = {}
    return CampaignStep.AUDIENCE


async def ask_audience(ctx: Context, data: Data) -> None:
    """Show the audience so far with its reach, and offer filters, Everyone and Done."""
    member, _ = ctx.staff()
    audience = data.get("audience") or {}
    count = await campaigns.reach(ctx.session, actor=member, audience=audience)
    choices = [(ctx.t(label), key) for key, label in FILTER_NAMES.items()]
    rows = buttons(CampaignStep.AUDIENCE, choices)
    rows += buttons(
        CampaignStep.AUDIENCE,
        [(ctx.t(N_("👥 Everyone opted in")), "all"), (ctx.t(N_("✅ Done")), "done")],
        per_row=2,
    )
    ctx.reply(
        ctx.t(
            P_(
                "Who gets it? So far: {audience} ({count} customer).\nAdd a filter or tap Done.",
                "Who gets it? So far: {audience} ({count} customers).\nAdd a filter or tap Done.",
            ),
            audience=describe_audience(ctx, campaigns.scoped_audience(member, audience)),
            count=count,
        ),
        rows,
    )


async def receive_audience(ctx: Context, data: Data) -> str:
    """Start a filter, or finish the audience (Everyone clears the filters)."""
    text = ctx.incoming.text.strip().casefold()
    if text in ("all", ctx.t(N_("👥 Everyone opted in")).casefold()):
        data["audience"] = {}
        return _schedule_step(data)
    if text in ("done", ctx.t(N_("✅ Done")).casefold()):
        return _schedule_step(data)
    for key, label in FILTER_NAMES.items():
        if text in (key, ctx.t(label).casefold()):
            data["filter"] = key
            return CampaignStep.FILTER
    raise InvalidInput(N_("Please tap a filter, Everyone or Done."))


async def ask_filter(ctx: Context, data: Data) -> None:
    """Ask for the chosen filter's value, with buttons for the values that exist."""
    choices = await _filter_choices(ctx, data["filter"])
    prompts = {
        "grades": N_("Which grade?"),
        "value_tiers": N_("Which value tier? (As last computed; see /tiers.)"),
        "tags": N_("Which tag? Tap one or type its name."),
        "stages": N_("Which stage?"),
        "owner": N_("Whose customers?"),
        "region": N_("Which region? Tap one or type it."),
    }
    ctx.reply(ctx.t(prompts[data["filter"]]), buttons(CampaignStep.FILTER, choices))


async def receive_filter(ctx: Context, data: Data) -> str:
    """Add the typed or tapped value to the audience, then ask for more filters."""
    kind = data.pop("filter", None)
    text = " ".join(ctx.incoming.text.split())
    choices = await _filter_choices(ctx, kind or "")
    values = {v.casefold(): v for _, v in choices} | {lbl.casefold(): v for lbl, v in choices}
    audience: dict[str, Any] = dict(data.get("audience") or {})
    if kind == "region" and text and not text.startswith("/"):
        audience["region"] = values.get(text.casefold(), text)
    elif kind and text.casefold() in values:
        value = values[text.casefold()]
        if kind == "owner":
            audience["owner_member_id"] = int(value)
        else:
            audience[kind] = sorted({*audience.get(kind, []), value})
    else:
        raise InvalidInput(N_("Please tap one of the choices."))
    data["audience"] = campaigns.clean_audience(audience)
    return CampaignStep.AUDIENCE


async def ask_weekday(ctx: Context, data: Data) -> None:
    """Ask for the weekday of a weekly campaign."""
    choices = [(ctx.t(name), str(i)) for i, name in enumerate(WEEKDAYS)]
    ctx.reply(ctx.t(N_("Which day of the week?")), buttons(CampaignStep.WEEKDAY, choices, 4))


async def receive_weekday(ctx: Context, data: Data) -> str:
    """Store the weekday (0 = Monday)."""
    text = ctx.incoming.text.strip().casefold()
    for index, name in enumerate(WEEKDAYS):
        if text in (str(index), name.casefold(), ctx.t(name).casefold()):
            data["weekday"] = index
            return CampaignStep.TIME
    raise InvalidInput(N_("Please tap a day of the week."))


async def ask_date(ctx: Context, data: Data) -> None:
    """Ask for the date; a broadcast may also go out now."""
    if data["kind"] in ONE_OFF_NOW:
        now = [(ctx.t(N_("🚀 Now")), "now")]
        ctx.reply(
            ctx.t(N_("When? Tap Now, or type a date like 2026-12-24.")),
            buttons(CampaignStep.DATE, now),
        )
        return
    ctx.reply(ctx.t(N_("On which date? Type it like 2026-12-24.")))


async def receive_date(ctx: Context, data: Data) -> str:
    """Store the date (today or later), or no date for a broadcast sent now."""
    text = ctx.incoming.text.strip()
    if data["kind"] in ONE_OFF_NOW and text.casefold() in (
        "now",
        ctx.t(N_("🚀 Now")).casefold(),
    ):
        data["run_date"] = None
        return CampaignStep.NAME
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(N_("Please type the date like 2026-12-24.")) from exc
    if day < local_day(ctx.now(), ctx.tz):
        raise InvalidInput(N_("That date has passed. Please give today or a later date."))
    data["run_date"] = day.isoformat()
    return CampaignStep.TIME


async def ask_time(ctx: Context, data: Data) -> None:
    """Ask for the local send time."""
    ctx.reply(
        ctx.t(N_("At what time ({tz})? Type it like 10:00."), tz=str(ctx.tz)),
        buttons(CampaignStep.TIME, [(t, t) for t in ("09:00", "10:00", "18:00")]),
    )


async def receive_time(ctx: Context, data: Data) -> str:
    """Store the send time as HH:MM."""
    data["send_time"] = clean_hhmm(ctx.incoming.text)
    return CampaignStep.NAME


async def ask_name(ctx: Context, data: Data) -> None:
    """Ask for a name, offering the kind's name."""
    suggestion = ctx.t(KIND_NAMES[CampaignKind(data["kind"])]).split(" ", 1)[-1]
    ctx.reply(
        ctx.t(N_("Last step: a name for this campaign? Tap or type one.")),
        buttons(CampaignStep.NAME, [(suggestion, suggestion)]),
    )


async def receive_name(ctx: Context, data: Data) -> str:
    """Store the campaign's name."""
    name = " ".join(ctx.incoming.text.split())
    if not name or name.startswith("/") or len(name) > campaigns.MAX_NAME:
        raise InvalidInput(
            N_("The campaign name must be 1 to {max} characters."), max=campaigns.MAX_NAME
        )
    data["name"] = name
    return CampaignStep.CONFIRM


async def ask_confirm(ctx: Context, data: Data) -> None:
    """Sum the campaign up with how many customers it reaches now; offer Create or Cancel."""
    member, _ = ctx.staff()
    count = await campaigns.reach(ctx.session, actor=member, audience=data["audience"])
    rows = buttons(CampaignStep.CONFIRM, [(ctx.t(N_("✅ Create")), "create")])
    rows[0].append(CampaignCancel().button(ctx.t(N_("✖️ Cancel"))))
    ctx.reply(
        ctx.t(
            P_(
                "Please check:\n<b>{name}</b>: {kind}, template {template}\n"
                "Audience: {audience}\nWhen: {when}\n\n"
                "👥 It reaches <b>{count}</b> customer right now.",
                "Please check:\n<b>{name}</b>: {kind}, template {template}\n"
                "Audience: {audience}\nWhen: {when}\n\n"
                "👥 It reaches <b>{count}</b> customers right now.",
            ),
            name=data["name"],
            kind=ctx.t(KIND_NAMES[CampaignKind(data["kind"])]),
            template=template_name(ctx.t, data["template_key"]),
            audience=describe_audience(ctx, campaigns.scoped_audience(member, data["audience"])),
            when=describe_schedule(ctx, data),
            count=count,
        ),
        rows,
    )


async def receive_confirm(ctx: Context, data: Data) -> str:
    """Create on Create; anything else re-asks."""
    if ctx.incoming.text.strip().casefold() in ("create", ctx.t(N_("✅ Create")).casefold()):
        return DONE
    raise InvalidInput(N_("Tap Create to save the campaign, or Cancel."))


async def finish(ctx: Context, data: Data) -> None:
    """Create the campaign and show its detail view."""
    member, _ = ctx.staff()
    campaign = await campaigns.create_campaign(
        ctx.session,
        actor=member,
        name=data["name"],
        kind=CampaignKind(data["kind"]),
        template_key=data["template_key"],
        audience=data["audience"],
        send_time=data.get("send_time") or "10:00",
        weekday=data.get("weekday"),
        run_date=date.fromisoformat(data["run_date"]) if data.get("run_date") else None,
        now=ctx.now(),
    )
    ctx.reply(ctx.t(N_("✅ Campaign <b>{name}</b> created."), name=campaign.name))
    await show_campaign(ctx, campaign.id)


def _schedule_step(data: Data) -> str:
    kind = CampaignKind(data["kind"])
    if kind is CampaignKind.WEEKLY:
        return CampaignStep.WEEKDAY
    if kind is CampaignKind.HOLIDAY or kind in ONE_OFF_NOW:
        return CampaignStep.DATE
    if kind is CampaignKind.BIRTHDAY:
        return CampaignStep.TIME
    return CampaignStep.NAME


async def _template_keys(ctx: Context) -> list[str]:
    _, workspace = ctx.staff()
    return list(await template_store.keys(ctx.session, workspace.id))


async def _filter_choices(ctx: Context, kind: str) -> list[tuple[str, str]]:
    """Return (label, value) pairs for a filter's buttons."""
    member, workspace = ctx.staff()
    if kind == "grades":
        thresholds = workspace.grade_thresholds or {}
        grades = sorted({*map(str, thresholds), tags.lowest_grade(thresholds)})
        return [(g, g) for g in grades]
    if kind == "value_tiers":
        return [(ctx.t(TIER_NAMES[tier]), tier.value) for tier in ValueTier]
    if kind == "tags":
        found = await tags.list_tags(ctx.session, actor=member)
        return [(t.name, t.name) for t in found[:MAX_CHOICES]]
    if kind == "stages":
        return [(leads.stage_label(workspace, s) or s, s) for s in leads.STAGES]
    if kind == "owner":
        people = await teams.list_members(ctx.session, actor=member)
        return [(m.display_name, str(m.id)) for m, _ in people[:MAX_CHOICES]]
    if kind == "region":
        # Only regions of customers the member may see: a team-limited admin's choices
        # say nothing about customers outside their team.
        visible = visible_customers(member).with_only_columns(Customer.id)
        regions = await ctx.session.scalars(
            select(distinct(Customer.region))
            .where(
                Customer.workspace_id == workspace.id,
                Customer.region.is_not(None),
                Customer.id.in_(visible),
            )
            .order_by(Customer.region)
            .limit(MAX_CHOICES)
        )
        return [(str(r), str(r)) for r in regions.all()]
    return []


NEW_CAMPAIGN = dialog("new_campaign", CampaignStep, finish)
