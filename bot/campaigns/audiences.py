"""Audiences: which customers a campaign may reach, as one query built from its filters.

Only opted-in, reachable customers with a linked chat ever qualify (invariant 2);
the filters narrow that set. Consent is checked again when each message is
claimed, so this query is a first cut, not the last word. A campaign defined by
an admin limited to a team carries ``team_id``: it never reaches beyond what that
team's admin may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select, extract, func, select

from bot.crm.models import Consent, Customer, CustomerTag, Tag
from bot.crm.scope import team_customers

FILTER_KEYS = (
    "grades",
    "tags",
    "stages",
    "owner_member_id",
    "region",
    "value_tiers",
    "customer_ids",
    "team_id",
)


def recipients(
    workspace_id: int, audience: Mapping[str, Any], *, birthday: date | None = None
) -> Select[int]:
    """Return a query of the ids of the customers an audience reaches, by ascending id.

    ``audience`` may hold ``grades``, ``tags`` (names), ``stages``, ``value_tiers``
    (high, medium, low as last computed), ``customer_ids`` (lists; a customer matches
    any of a list, and every given filter), ``owner_member_id`` and ``region``.
    ``customer_ids`` sends to chosen customers only, e.g. one care message to one
    customer; they still must be opted in and reachable. ``birthday`` keeps customers
    whose birthday (month and day) it is; people born on 29 February are greeted on
    28 February in other years. ``team_id`` keeps the customers an admin limited to
    that team may see (its members' customers and the unowned pool).
    """
    query = (
        select(Customer.id)
        .where(
            Customer.workspace_id == workspace_id,
            Customer.consent == Consent.OPTED_IN,
            Customer.reachable.is_(True),
            Customer.chat_id.is_not(None),
        )
        .order_by(Customer.id)
    )
    if grades := audience.get("grades"):
        query = query.where(Customer.grade.in_(list(grades)))
    if stages := audience.get("stages"):
        query = query.where(Customer.stage.in_(list(stages)))
    if (owner := audience.get("owner_member_id")) is not None:
        query = query.where(Customer.owner_member_id == int(owner))
    if region := audience.get("region"):
        query = query.where(func.lower(Customer.region) == str(region).lower())
    if value_tiers := audience.get("value_tiers"):
        query = query.where(Customer.value_tier.in_([str(t) for t in value_tiers]))
    if (ids := audience.get("customer_ids")) is not None:
        query = query.where(Customer.id.in_([int(i) for i in ids]))
    if tags := audience.get("tags"):
        tagged = (
            select(CustomerTag.customer_id)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(
                CustomerTag.workspace_id == workspace_id,
                func.lower(Tag.name).in_([str(t).lower() for t in tags]),
            )
        )
        query = query.where(Customer.id.in_(tagged))
    if (team := audience.get("team_id")) is not None:
        reach = team_customers(workspace_id, int(team)).with_only_columns(Customer.id)
        query = query.where(Customer.id.in_(reach))
    if birthday is not None:
        query = query.where(_born_on(birthday))
    return query


def count(workspace_id: int, audience: Mapping[str, Any]) -> Select[int]:
    """Return a query counting the customers ``recipients`` would reach today."""
    inner = recipients(workspace_id, audience).order_by(None).subquery()
    return select(func.count()).select_from(inner)


def _born_on(day: date) -> Any:
    month = extract("month", Customer.birthday_date)
    dom = extract("day", Customer.birthday_date)
    on_day = (month == day.month) & (dom == day.day)
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        return on_day | ((month == 2) & (dom == 29))
    return on_day


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
