"""Campaigns: defining them, firing their runs, and pausing, resuming or stopping them.

Services take the acting member and check role (owner or admin) and workspace;
``fire`` and ``on_opt_in`` are called by the scheduler and the consent flow,
which act for the shop itself. Runs are created here and delivered by the
delivery engine, which materialises their outbox rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import audiences, schedules, template_store
from bot.campaigns.delivery import outbox, requeue
from bot.campaigns.run_status import RunState, RunWord, run_state
from bot.crm import audit, workspaces
from bot.crm.guards import require_role
from bot.crm.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    Customer,
    Member,
    Role,
    RunStatus,
)
from bot.crm.models.core import ValueTier
from bot.crm.scope import team_limited
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import N_
from bot.localtime import clean_hhmm, local_day

MAX_NAME = 120
ONE_OFF = (CampaignKind.HOLIDAY, CampaignKind.BROADCAST, CampaignKind.SURVEY)
SCHEDULED = (CampaignKind.WEEKLY, CampaignKind.BIRTHDAY, *ONE_OFF)


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign with its next scheduled instant and its latest run."""

    campaign: Campaign
    next_at: datetime | None
    last_run: CampaignRun | None
    # outbox.counts of the latest run: total, sent, skipped by reason, failed, …
    last_counts: Mapping[str, object] | None
    # The latest run's status word (queued, sending, held until…, paused, finished, stopped).
    last_state: RunState | None = None


async def create_campaign(
    session: AsyncSession,
    *,
    actor: Member,
    name: str,
    kind: CampaignKind,
    template_key: str,
    audience: Mapping[str, Any],
    send_time: str = "10:00",
    weekday: int | None = None,
    run_date: date | None = None,
    now: datetime,
) -> Campaign:
    """Create an active campaign; a welcome or an undated broadcast starts its run at once.

    A team-limited admin's campaign keeps their team in its audience for good.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when the name, template, time, weekday or date cannot be used.
        Conflict: when a welcome campaign is asked for while one is active.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(N_("The campaign name must be 1 to {max} characters."), max=MAX_NAME)
    send_time = clean_hhmm(send_time)
    if template_key not in await template_store.keys(session, actor.workspace_id):
        raise InvalidInput(N_("There's no template “{template}”."), template=template_key)
    if kind is CampaignKind.WEEKLY and (weekday is None or not 0 <= weekday <= 6):
        raise InvalidInput(N_("Please pick a weekday for a weekly campaign."))
    if kind is CampaignKind.HOLIDAY and run_date is None:
        raise InvalidInput(N_("Please give the holiday's date, like 2026-12-25."))
    if kind is CampaignKind.WELCOME and await _active_welcome(session, actor.workspace_id):
        raise Conflict(N_("There's already an active welcome campaign; stop it first."))
    campaign = Campaign(
        workspace_id=actor.workspace_id,
        name=name,
        kind=kind,
        template_key=template_key,
        audience=scoped_audience(actor, audience),
        weekday=weekday if kind is CampaignKind.WEEKLY else None,
        send_time=send_time,
        run_date=run_date if kind in ONE_OFF else None,
        status=CampaignStatus.ACTIVE,
        created_by_member_id=actor.id,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    await audit.record_change(session, actor, "campaign.create", campaign, {"kind": kind.value})
    if kind is CampaignKind.WELCOME:
        await fire(
            session,
            campaign,
            occurrence=schedules.WELCOME,
            scheduled_for=now,
            now=now,
            created_by_member_id=actor.id,
        )
    elif kind in ONE_OFF and run_date is None:
        await fire(
            session,
            campaign,
            occurrence=schedules.ONCE,
            scheduled_for=now,
            now=now,
            created_by_member_id=actor.id,
        )
        campaign.last_fired_at = now
        campaign.status = CampaignStatus.DONE
    return campaign


async def queue_broadcast(
    session: AsyncSession,
    *,
    workspace_id: int,
    template_key: str,
    audience: Mapping[str, Any],
    now: datetime,
    kind: CampaignKind = CampaignKind.BROADCAST,
) -> CampaignRun:
    """Queue a one-off broadcast (or survey) for the operator (command line); return its run.

    Raises:
        NotFound: when the workspace has no template with this key.
    """
    label = "Survey" if kind is CampaignKind.SURVEY else "Broadcast"
    campaign, run = await fire_once(
        session,
        workspace_id=workspace_id,
        name=f"{label} {template_key} {now:%Y-%m-%d %H:%M}",
        kind=kind,
        template_key=template_key,
        audience=audience,
        now=now,
    )
    details: dict[str, Any] = {"run_id": run.id}
    if kind is not CampaignKind.BROADCAST:
        details["kind"] = kind.value
    await audit.record_system(session, "campaign.cli_send", campaign, details)
    return run


async def fire_once(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    kind: CampaignKind,
    template_key: str,
    audience: Mapping[str, Any],
    now: datetime,
    created_by_member_id: int | None = None,
) -> tuple[Campaign, CampaignRun]:
    """Create a one-off campaign that is done at once, and fire its only run now.

    Raises:
        NotFound: when the workspace has no template with this key.
    """
    if template_key not in await template_store.keys(session, workspace_id):
        raise NotFound(N_("There's no template “{template}”."), template=template_key)
    campaign = Campaign(
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        template_key=template_key,
        audience=clean_audience(audience),
        status=CampaignStatus.DONE,
        created_by_member_id=created_by_member_id,
        created_at=now,
        last_fired_at=now,
    )
    session.add(campaign)
    await session.flush()
    run = await fire(
        session,
        campaign,
        occurrence=schedules.ONCE,
        scheduled_for=now,
        now=now,
        created_by_member_id=created_by_member_id,
    )
    assert run is not None  # noqa: S101 - a new campaign has no runs
    return campaign, run


async def list_campaigns(
    session: AsyncSession, *, actor: Member, now: datetime, limit: int = 20
) -> list[CampaignSummary]:
    """Return the workspace's latest ``limit`` campaigns, newest first, with next and last runs.

    A team-limited admin gets only the campaigns limited to their team.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    tz = await workspaces.zone_of(session, actor.workspace_id)
    rows = await session.scalars(_campaigns_of(actor).order_by(Campaign.id.desc()).limit(limit))
    return [await _summary(session, c, now=now, tz=tz) for c in rows.all()]


async def get_campaign(
    session: AsyncSession, *, actor: Member, campaign_id: int, now: datetime
) -> CampaignSummary:
    """Return one campaign of the actor's workspace with its next and last runs.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        NotFound: when the workspace has no such campaign.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    campaign = await _campaign(session, actor, campaign_id)
    tz = await workspaces.zone_of(session, actor.workspace_id)
    return await _summary(session, campaign, now=now, tz=tz)


async def set_status(
    session: AsyncSession,
    *,
    actor: Member,
    campaign_id: int,
    status: CampaignStatus,
    now: datetime,
) -> Campaign:
    """Pause, resume (ACTIVE) or stop a campaign, and its unfinished runs with it.

    Pausing holds the runs' pending messages; stopping ends them (messages in
    flight still finish, the rest are skipped by the delivery engine). Occurrences
    that fell due while a campaign was paused are not sent when it resumes.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        NotFound: when the workspace has no such campaign.
        Conflict: when the campaign was stopped already.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    campaign = await _campaign(session, actor, campaign_id)
    if campaign.status is CampaignStatus.STOPPED:
        raise Conflict(N_("This campaign was stopped; create a new one to send again."))
    runs = (
        await session.scalars(
            select(CampaignRun).where(
                CampaignRun.workspace_id == actor.workspace_id,
                CampaignRun.campaign_id == campaign.id,
                CampaignRun.status.in_([RunStatus.RUNNING, RunStatus.PAUSED]),
            )
        )
    ).all()
    run_status = {
        CampaignStatus.PAUSED: RunStatus.PAUSED,
        CampaignStatus.ACTIVE: RunStatus.RUNNING,
        CampaignStatus.STOPPED: RunStatus.STOPPED,
    }[status]
    for run in runs:
        run.status = run_status
        if status is CampaignStatus.ACTIVE:
            run.paused_reason = None
            run.error_streak = 0
    resuming = status is CampaignStatus.ACTIVE and campaign.status is CampaignStatus.PAUSED
    if resuming and campaign.kind in (CampaignKind.WEEKLY, CampaignKind.BIRTHDAY):
        campaign.last_fired_at = max(campaign.last_fired_at or now, now)
    done = campaign.kind in ONE_OFF and campaign.last_fired_at is not None
    campaign.status = CampaignStatus.DONE if status is CampaignStatus.ACTIVE and done else status
    await audit.record_change(
        session, actor, "campaign.status", campaign, {"status": status.value}
    )
    return campaign


async def run_now(
    session: AsyncSession, *, actor: Member, campaign_id: int, now: datetime
) -> CampaignRun:
    """Fire this period's occurrence at once; the scheduled one of the period then won't send.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        NotFound: when the workspace has no such campaign.
        Conflict: when the campaign is not active, is a welcome, or already ran this period.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    campaign = await _campaign(session, actor, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE or campaign.kind is CampaignKind.WELCOME:
        raise Conflict(N_("Only an active scheduled campaign can be run now."))
    tz = await workspaces.zone_of(session, actor.workspace_id)
    key = schedules.key_for(campaign.kind, local_day(now, tz))
    run = await fire(
        session,
        campaign,
        occurrence=key,
        scheduled_for=now,
        now=now,
        created_by_member_id=actor.id,
    )
    if run is None:
        raise Conflict(N_("This campaign already ran for this period."))
    if campaign.kind in ONE_OFF:
        campaign.last_fired_at = now
        campaign.status = CampaignStatus.DONE
    await audit.record_change(session, actor, "campaign.run_now", campaign, {"occurrence": key})
    return run


async def send_held_now(
    session: AsyncSession, *, actor: Member, campaign_id: int, now: datetime
) -> tuple[CampaignRun, int]:
    """Send the campaign's held latest run now, past the quiet hours; return it and how many
    messages were released.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        NotFound: when the workspace has no such campaign.
        Conflict: when the latest run is not held.
    """
    summary = await get_campaign(session, actor=actor, campaign_id=campaign_id, now=now)
    run, state = summary.last_run, summary.last_state
    if run is None or state is None or state.word is not RunWord.HELD:
        raise Conflict(N_("Nothing of this campaign is held right now."))
    released = await requeue.send_anyway(session, run.id, now=now)
    await audit.record_change(
        session,
        actor,
        "campaign.send_held",
        summary.campaign,
        {"run_id": run.id, "rows": released},
    )
    return run, released


async def fire(
    session: AsyncSession,
    campaign: Campaign,
    *,
    occurrence: str,
    scheduled_for: datetime,
    now: datetime,
    created_by_member_id: int | None = None,
) -> CampaignRun | None:
    """Insert the run of one occurrence; return None when that occurrence already has one."""
    values = {
        "workspace_id": campaign.workspace_id,
        "campaign_id": campaign.id,
        "occurrence": occurrence,
        "template_key": campaign.template_key,
        "status": RunStatus.RUNNING,
        "scheduled_for": scheduled_for,
        "created_by_member_id": created_by_member_id or campaign.created_by_member_id,
        "created_at": now,
    }
    # ON CONFLICT DO NOTHING settles a race between two firings (a restart, a second
    # process) in the database instead of in a savepoint we would have to retry.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CampaignRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["campaign_id", "occurrence"])
        .returning(CampaignRun.id)
    )
    run_id = await session.scalar(statement)
    if run_id is None:
        return None
    return await session.get(CampaignRun, run_id)


async def welcome_active(session: AsyncSession, workspace_id: int) -> bool:
    """Return whether the shop has an active welcome, which a customer opting in gets."""
    found = await session.scalar(
        select(Campaign.id)
        .where(
            Campaign.workspace_id == workspace_id,
            Campaign.kind == CampaignKind.WELCOME,
            Campaign.status == CampaignStatus.ACTIVE,
        )
        .limit(1)
    )
    return found is not None


async def on_opt_in(session: AsyncSession, customer: Customer, *, now: datetime) -> None:
    """Queue the shop's welcome for a customer who just opted in (when one is active)."""
    await session.flush()
    welcomes = await session.scalars(
        select(Campaign).where(
            Campaign.workspace_id == customer.workspace_id,
            Campaign.kind == CampaignKind.WELCOME,
            Campaign.status == CampaignStatus.ACTIVE,
        )
    )
    for campaign in welcomes.all():
        reached = audiences.recipients(customer.workspace_id, campaign.audience).where(
            Customer.id == customer.id
        )
        if await session.scalar(reached) is None:
            continue
        run = await session.scalar(
            select(CampaignRun).where(
                CampaignRun.campaign_id == campaign.id,
                CampaignRun.occurrence == schedules.WELCOME,
            )
        )
        if run is None:
            run = await fire(
                session, campaign, occurrence=schedules.WELCOME, scheduled_for=now, now=now
            )
        if run is not None and run.status is RunStatus.RUNNING:
            await outbox.enqueue(session, run=run, customer_id=customer.id)


async def reach(session: AsyncSession, *, actor: Member, audience: Mapping[str, Any]) -> int:
    """Return how many customers an audience reaches right now (within a team-limited admin's
    team, whatever the audience says).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    scoped = scoped_audience(actor, audience)
    return int(await session.scalar(audiences.count(actor.workspace_id, scoped)) or 0)


def scoped_audience(actor: Member, audience: Mapping[str, Any]) -> dict[str, Any]:
    """Return the cleaned audience, limited to the actor's team when they are team-limited."""
    clean = clean_audience(audience)
    if team_limited(actor):
        clean["team_id"] = actor.team_id
    return clean


def clean_audience(audience: Mapping[str, Any]) -> dict[str, Any]:
    """Keep only known, non-empty audience filters, in a JSON-friendly shape."""
    clean: dict[str, Any] = {}
    for key in ("grades", "tags", "stages"):
        values: Sequence[Any] = audience.get(key) or ()
        unique = sorted({str(v).strip() for v in values if str(v).strip()})
        if unique:
            clean[key] = unique
    tiers = {str(v).strip().lower() for v in audience.get("value_tiers") or ()}
    if known := [tier.value for tier in ValueTier if tier.value in tiers]:
        clean["value_tiers"] = known
    if audience.get("customer_ids") is not None:
        # An empty list still means "nobody", never "everyone".
        ids: Sequence[Any] = audience.get("customer_ids") or ()
        clean["customer_ids"] = sorted({int(v) for v in ids if _is_id(v)})
    if audience.get("owner_member_id") is not None:
        clean["owner_member_id"] = int(audience["owner_member_id"])
    if region := str(audience.get("region") or "").strip():
        clean["region"] = region
    if audience.get("team_id") is not None:
        clean["team_id"] = int(audience["team_id"])
    return clean


def _is_id(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit()


async def _summary(
    session: AsyncSession, campaign: Campaign, *, now: datetime, tz: ZoneInfo
) -> CampaignSummary:
    last = await session.scalar(
        select(CampaignRun)
        .where(CampaignRun.campaign_id == campaign.id)
        .order_by(CampaignRun.id.desc())
        .limit(1)
    )
    upcoming = None
    if campaign.status is CampaignStatus.ACTIVE:
        upcoming = schedules.next_occurrence(campaign, now=now, tz=tz)
    counts = await outbox.counts(session, last.id) if last is not None else None
    state = await run_state(session, last, counts, now=now) if last and counts else None
    return CampaignSummary(campaign, upcoming.at if upcoming else None, last, counts, state)


def _campaigns_of(actor: Member) -> Select[Campaign]:
    """Return a query of the campaigns the actor may see and control."""
    query = select(Campaign).where(Campaign.workspace_id == actor.workspace_id)
    if team_limited(actor):
        # Only their own team's campaigns: any other reaches customers beyond their team.
        query = query.where(Campaign.audience["team_id"].as_integer() == actor.team_id)
    return query


async def _campaign(session: AsyncSession, actor: Member, campaign_id: int) -> Campaign:
    campaign = await session.scalar(_campaigns_of(actor).where(Campaign.id == campaign_id))
    if campaign is None:
        raise NotFound(N_("I can't find campaign #{id}. See /campaigns."), id=campaign_id)
    return campaign


async def _active_welcome(session: AsyncSession, workspace_id: int) -> bool:
    found = await session.scalar(
        select(Campaign.id)
        .where(
            Campaign.workspace_id == workspace_id,
            Campaign.kind == CampaignKind.WELCOME,
            Campaign.status.in_([CampaignStatus.ACTIVE, CampaignStatus.PAUSED]),
        )
        .limit(1)
    )
    return found is not None
