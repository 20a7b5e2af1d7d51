"""KPI windows and scope: the period a /stats reply covers and whose figures it counts.

Calendar periods (``week`` from Monday, ``month``, ``quarter``, ``year``) start at
local midnight in the shop's time zone and run up to now; ``30d`` and ``90d`` are
the last 30 or 90 days up to now. Owners and admins count the whole shop (an
admin limited to a team: that team's customers and the unowned pool); staff
count the customers they own and their own follow-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func

from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Role
from bot.crm.scope import members_within_reach, team_limited, visible_customers
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import local_day, local_midnight


class Period(StrEnum):
    """The stretch of time /stats reports on."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    DAYS_30 = "30d"
    DAYS_90 = "90d"


@dataclass(frozen=True, slots=True)
class Window:
    """A period resolved to UTC instants: from ``start`` (included) to ``end`` (excluded)."""

    period: Period
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Scope:
    """Conditions that keep a KPI query to the actor's workspace and customers."""

    workspace_id: int
    # Conditions on ``Customer``; every query joins the customer and applies them.
    customers: tuple[ColumnElement[bool], ...]
    # A condition on ``Member``: whose follow-ups and reminders count.
    members: ColumnElement[bool]
    whole_shop: bool


# The periods typed in Chinese ("30天" reads as 30d too).
_PERIOD_WORDS = {
    "周": "week",
    "本周": "week",
    "月": "month",
    "本月": "month",
    "季度": "quarter",
    "本季度": "quarter",
    "年": "year",
    "今年": "year",
    "30天": "30d",
    "90天": "90d",
}


def parse_period(text: str) -> Period:
    """Return the period typed (week, month, quarter, year, 30d or 90d).

    Raises:
        InvalidInput: when it is none of them.
    """
    word = text.strip().lower()
    word = _PERIOD_WORDS.get(word, word)
    for period in Period:
        if word == period.value:
            return period
    raise InvalidInput(N_("Which period? Send /stats week, month, quarter, year, 30d or 90d."))


def period_window(period: Period, *, now: datetime, tz: ZoneInfo) -> Window:
    """Return the period ending now, with calendar periods starting at local midnight."""
    if period in (Period.DAYS_30, Period.DAYS_90):
        return Window(period, now - timedelta(days=int(period.value[:-1])), now)
    today = local_day(now, tz)
    if period is Period.WEEK:
        first = today - timedelta(days=today.weekday())
    elif period is Period.MONTH:
        first = today.replace(day=1)
    elif period is Period.QUARTER:
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    else:
        first = today.replace(month=1, day=1)
    return Window(period, local_midnight(first, tz), now)


def scope_for(actor: Member) -> Scope:
    """Return the scope of the figures ``actor`` may see.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, *Role)
    workspace = Customer.workspace_id == actor.workspace_id
    if actor.role is Role.STAFF:
        # Owned customers only: a shared customer's figures belong to its owner.
        mine = Customer.owner_member_id == actor.id
        return Scope(actor.workspace_id, (workspace, mine), Member.id == actor.id, False)
    if team_limited(actor):
        # The scope module's own condition, so /stats counts exactly who /find shows.
        visible = visible_customers(actor).whereclause
        assert visible is not None  # noqa: S101 - it always filters by workspace
        members = members_within_reach(actor)
        return Scope(actor.workspace_id, (workspace, visible), members, whole_shop=False)
    return Scope(actor.workspace_id, (workspace,), Member.id.is_not(None), whole_shop=True)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """Return SQL counting the rows where ``condition`` holds (0 over no rows)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
