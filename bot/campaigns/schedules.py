"""Schedules: when a campaign's occurrences fall, computed from its row and an injected now.

Everything here is pure. Times are local "HH:MM" in the workspace's zone and
come out as UTC instants by ``bot.localtime``'s rules: a local time that does not
exist (the spring-forward gap) moves forward by the gap, and one that happens
twice (autumn) is the first.
Each occurrence has a key that the run's unique constraint makes fire once:
weekly ``"%G-W%V"`` of the local date, birthday the local date in ISO form,
holiday and broadcast ``"once"``, welcome ``"welcome"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.crm.models import Campaign, CampaignKind
from bot.localtime import at_local, local_day, parse_hhmm

ONCE = "once"
WELCOME = "welcome"
# A job fires a moment after its instant; lateness this small is never a misfire.
ON_TIME = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One scheduled firing: its run key and its instant in UTC."""

    key: str
    at: datetime


class Verdict(StrEnum):
    """What to do with a due occurrence."""

    FIRE = "fire"
    SKIP = "skip"


def key_for(kind: CampaignKind, day: date) -> str:
    """Return the occurrence key of a campaign kind for a local date."""
    if kind is CampaignKind.WEEKLY:
        return day.strftime("%G-W%V")
    if kind is CampaignKind.BIRTHDAY:
        return day.isoformat()
    if kind is CampaignKind.WELCOME:
        return WELCOME
    return ONCE


def next_occurrence(campaign: Campaign, *, now: datetime, tz: ZoneInfo) -> Occurrence | None:
    """Return the first occurrence strictly after ``now``, or None when none is left."""
    send = parse_hhmm(campaign.send_time)
    today = local_day(now, tz)
    kind = campaign.kind
    if kind is CampaignKind.WELCOME:
        return None
    if kind in (CampaignKind.WEEKLY, CampaignKind.BIRTHDAY):
        for offset in range(0, 9):
            day = today + timedelta(days=offset)
            if kind is CampaignKind.WEEKLY and day.weekday() != campaign.weekday:
                continue
            at = at_local(day, send, tz)
            if at > now:
                return Occurrence(key_for(kind, day), at)
        return None
    once = _once(campaign, tz)
    if once is None or once.at <= now or _fired(campaign, once.at):
        return None
    return once


def latest_due(campaign: Campaign, *, now: datetime, tz: ZoneInfo) -> Occurrence | None:
    """Return the latest occurrence at or before ``now`` that has not fired yet.

    Occurrences before the campaign existed, or at or before ``last_fired_at``, are
    not due. Only the latest counts: older missed ones are superseded by it.
    """
    floor = campaign.last_fired_at
    created = campaign.created_at
    kind = campaign.kind
    if kind is CampaignKind.WELCOME:
        return None
    if kind in (CampaignKind.WEEKLY, CampaignKind.BIRTHDAY):
        send = parse_hhmm(campaign.send_time)
        today = local_day(now, tz)
        for offset in range(0, 9):
            day = today - timedelta(days=offset)
            if kind is CampaignKind.WEEKLY and day.weekday() != campaign.weekday:
                continue
            at = at_local(day, send, tz)
            if at > now:
                continue
            if at < created or (floor is not None and at <= floor):
                return None
            return Occurrence(key_for(kind, day), at)
        return None
    once = _once(campaign, tz, default=created)
    if once is None or once.at > now or _fired(campaign, once.at):
        return None
    return once


def verdict(occurrence: Occurrence, *, now: datetime, grace: timedelta) -> Verdict:
    """Decide a due occurrence: fire it when at most ``grace`` late, else skip it."""
    return Verdict.FIRE if now - occurrence.at <= grace + ON_TIME else Verdict.SKIP


def _once(campaign: Campaign, tz: ZoneInfo, default: datetime | None = None) -> Occurrence | None:
    if campaign.run_date is None:
        # A broadcast without a date goes out when it is created.
        return Occurrence(ONCE, default) if default is not None else None
    return Occurrence(ONCE, at_local(campaign.run_date, parse_hhmm(campaign.send_time), tz))


def _fired(campaign: Campaign, at: datetime) -> bool:
    return campaign.last_fired_at is not None and campaign.last_fired_at >= at
