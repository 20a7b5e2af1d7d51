"""Queueing one-off campaigns of a chosen kind (broadcast or survey) for the operator."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import campaigns
from bot.crm.models import CampaignKind, CampaignRun
from bot.errors import InvalidInput
from bot.i18n import N_

QUEUEABLE = (CampaignKind.BROADCAST, CampaignKind.SURVEY)


async def queue_one_off(
    session: AsyncSession,
    *,
    workspace_id: int,
    template_key: str,
    audience: Mapping[str, Any],
    kind: CampaignKind,
    now: datetime,
) -> CampaignRun:
    """Queue a one-off broadcast or survey run through ``campaigns.queue_broadcast``.

    Raises:
        InvalidInput: when the kind is neither broadcast nor survey.
        NotFound: when the workspace has no template with this key.
    """
    if kind not in QUEUEABLE:
        raise InvalidInput(N_("Only a broadcast or a survey can be sent this way."))
    return await campaigns.queue_broadcast(
        session,
        workspace_id=workspace_id,
        template_key=template_key,
        audience=audience,
        now=now,
        kind=kind,
    )
