"""Care messages: one templated message to one customer, queued by their rep.

A care message (or an offer) is a one-off broadcast campaign whose audience is
that customer alone (``customer_ids``), so it goes through the delivery engine
like any campaign: consent is checked again when it is sent, and the shop's
quiet hours and weekly cap still apply. Any member may queue one for a customer
in their scope, once a day per customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import campaigns
from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import (
    AuditLog,
    CampaignKind,
    CampaignRun,
    Consent,
    Customer,
    Member,
    Role,
)
from bot.crm.scope import get_visible
from bot.errors import Conflict
from bot.i18n import N_

CARE_KEYS = ("care", "offer")
ACTION = "care.queue"
ONCE_PER = timedelta(days=1)


def unreachable_reason(customer: Customer) -> str | None:
    """Return why a customer can't get a care message (untranslated), or None when they can."""
    if customer.consent is not Consent.OPTED_IN:
        return N_("{name} hasn't agreed to get messages from the shop, so I can't send one.")
    if not customer.reachable or customer.chat_id is None:
        return N_("{name} can't be reached in Telegram right now, so I can't send a message.")
    return None


async def queue_care(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    template_key: str,
    now: datetime,
) -> tuple[Customer, CampaignRun]:
    """Queue one care (or offer) message to a customer in the actor's scope; return its run.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer is outside the actor's scope or the template is missing.
        Conflict: when the customer can't get messages or got one queued in the last day.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    if (reason := unreachable_reason(customer)) is not None:
        raise Conflict(reason, name=customer.name)
    recent = await session.scalar(
        select(AuditLog.id)
        .where(
            AuditLog.workspace_id == actor.workspace_id,
            AuditLog.action == ACTION,
            AuditLog.entity == "customer",
            AuditLog.entity_id == customer.id,
            AuditLog.at > now - ONCE_PER,
        )
        .limit(1)
    )
    if recent is not None:
        raise Conflict(N_("A message to {name} was already queued today."), name=customer.name)
    campaign, run = await campaigns.fire_once(
        session,
        workspace_id=actor.workspace_id,
        name=f"{template_key.capitalize()} #{customer.id} {now:%Y-%m-%d %H:%M}",
        kind=CampaignKind.BROADCAST,
        template_key=template_key,
        audience={"customer_ids": [customer.id]},
        now=now,
        created_by_member_id=actor.id,
    )
    await audit.record_change(
        session, actor, ACTION, customer, {"campaign_id": campaign.id, "template": template_key}
    )
    return customer, run
