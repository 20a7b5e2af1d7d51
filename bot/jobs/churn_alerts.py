"""Churn alerts: telling each rep, once per episode, which of their customers are drifting away.

The job ticks often (hourly) but runs ``churn.detect`` for a workspace at most
once per ``DETECT_EVERY``; every tick then alerts reps about at-risk customers
not alerted yet, unless the shop's quiet hours are on (those wait for the
morning). Each rep gets one message: up to ``MAX_LISTED`` customers with action
buttons, or a summary pointing at ``/atrisk``. Customers without an active owner
go to the owner and admins (an admin limited to a team: only those their team
reaches). ``churn_alerted_at`` is stamped only after the rep's message was
accepted; a crash between the two may repeat an alert, never lose one.

Detection runs in ``at_risk.detect_apart``, apart from the other shops' updates.
When detection last ran for each workspace is kept by the caller (``last_detect``):
only a saving, since after a restart or a change of scheduler leader detection runs
again at once and finds no episode twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.quiet import quiet_until
from bot.crm import at_risk, churn, members
from bot.crm.models import Customer, Workspace
from bot.crm.models.core import AtRiskReason
from bot.crm.store import engine_of, unit_of_work
from bot.errors import DeliveryError
from bot.i18n import translate
from bot.messaging import Keyboard, Messenger
from bot.views.at_risk import render_alert, render_summary

logger = logging.getLogger(__name__)

MAX_LISTED = 5
DETECT_EVERY = timedelta(hours=20)


async def churn_alerts(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    clock: Callable[[], datetime],
    *,
    last_detect: MutableMapping[int, datetime],
) -> None:
    """Detect churn where due and alert reps about new at-risk customers, in every workspace.

    Each workspace is handled on its own, so one failing does not hold back the others.
    """
    now = clock()
    async with sessions() as session:
        workspace_ids = (await session.scalars(select(Workspace.id))).all()
    sent = 0
    for workspace_id in workspace_ids:
        try:
            sent += await _workspace_pass(sessions, messenger, workspace_id, now, last_detect)
        except Exception:
            logger.exception("churn alerts of workspace %s failed", workspace_id)
    if sent:
        logger.info("churn alerts sent: %d", sent)


async def _workspace_pass(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    workspace_id: int,
    now: datetime,
    last_detect: MutableMapping[int, datetime],
) -> int:
    last = last_detect.get(workspace_id)
    if last is None or now - last >= DETECT_EVERY:
        found = await at_risk.detect_apart(engine_of(sessions), workspace_id, now=now)
        last_detect[workspace_id] = now
        # A daily pass that found nobody is not news; the log keeps the ones that did.
        logger.log(
            logging.INFO if found else logging.DEBUG,
            "churn detection of workspace %s: %d newly at risk",
            workspace_id,
            len(found),
        )
    outgoing: list[tuple[int, str, Keyboard, list[int]]] = []
    async with sessions() as session:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None or quiet_until(
            now, workspace.timezone, workspace.quiet_start, workspace.quiet_end
        ):
            return 0
        for member, pending in (await at_risk.pending_by_member(session, workspace_id)).items():
            locale = await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=workspace_id
            )
            t = partial(translate, locale)
            ids = [customer_id for customer_id, _ in pending]
            if len(pending) > MAX_LISTED:
                quiet = sum(1 for _, reason in pending if reason is AtRiskReason.QUIET)
                text, buttons = render_summary(t, total=len(pending), quiet=quiet)
            else:
                query = at_risk.at_risk_query(workspace_id).where(Customer.id.in_(ids))
                text, buttons = render_alert(await at_risk.load_items(session, query, now=now), t)
            outgoing.append((member.chat_id, text, buttons, ids))
    sent = 0
    for chat_id, text, buttons, ids in outgoing:
        try:
            await messenger.send_text(chat_id, text, buttons)
        except DeliveryError as exc:
            logger.warning("churn alert not delivered: %s", exc.description)
            continue
        sent += 1
        async with unit_of_work(sessions) as session:
            await churn.mark_alerted(session, workspace_id, ids, now=now)
    return sent
