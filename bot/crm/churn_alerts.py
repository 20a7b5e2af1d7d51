"""Churn alerts: telling each rep, once per episode, which of their customers are drifting away.

The job ticks often (hourly) but runs ``churn.detect`` for a workspace at most
once per ``DETECT_EVERY``; every tick then alerts reps about at-risk customers
not alerted yet, unless the shop's quiet hours are on (those wait for the
morning). Each rep gets one message: up to ``MAX_LISTED`` customers with action
buttons, or a summary pointing at ``/atrisk``. Customers without an active owner
go to the owner and admins (an admin limited to a team: only those their team
reaches). ``churn_alerted_at`` is stamped only after the rep's message was
accepted; a crash between the two may repeat an alert, never lose one.

Detection runs in ``detect_apart``: on a connection of its own, reading first and
then committing after each batch of customers it writes, so other shops' updates
are not held up by SQLite's write lock.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.campaigns.quiet import quiet_until
from bot.crm import churn, members
from bot.crm.models import Customer, FollowUp, Member, Purchase, Role, Workspace
from bot.crm.models.core import AtRiskReason, ValueTier
from bot.crm.scope import team_limited, visible_customers
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, translate
from bot.messaging import Button, Keyboard, Messenger

logger = logging.getLogger(__name__)
Translate = Callable[..., str]

PREFIX = "ar"
MAX_LISTED = 5
DETECT_EVERY = timedelta(hours=20)
# Between two batches of writes: long enough for a waiting update to take the lock.
PAUSE = 0.02
# When this process last ran detection for each workspace. Only a saving: after a
# restart or a change of scheduler leader detection runs again at once, and finds no
# episode twice. Keeping it in the database needs a column of the workspace.
LAST_DETECT: dict[int, datetime] = {}
RiskQuery = Select[Customer, str, datetime, datetime]
TIER_WORDS = {ValueTier.HIGH: N_("high"), ValueTier.MEDIUM: N_("medium"), ValueTier.LOW: N_("low")}


@dataclass(frozen=True, slots=True)
class RiskItem:
    """An at-risk customer as a rep sees them: who, why, and how to reach them."""

    customer_id: int
    name: str
    owner_name: str | None
    reason: AtRiskReason
    since: datetime
    days_quiet: int
    usual_days: int | None
    tier_from: ValueTier | None
    tier_to: ValueTier | None


def reason_text(item: RiskItem, t: Translate) -> str:
    """Return why a customer is at risk, in words."""
    if item.reason is AtRiskReason.TIER_DROP and item.tier_from and item.tier_to:
        return t(
            N_("dropped from {old} to {new} value"),
            old=t(TIER_WORDS[item.tier_from]),
            new=t(TIER_WORDS[item.tier_to]),
        )
    if item.usual_days:
        return t(
            N_("quiet for {days} days (usually every {usual})"),
            days=item.days_quiet,
            usual=item.usual_days,
        )
    return t(N_("quiet for {days} days"), days=item.days_quiet)


def item_line(item: RiskItem, t: Translate, *, with_owner: bool = False) -> str:
    """Return one customer's line: name, number, reason (and owner for managers)."""
    line = f"• <b>{html.escape(item.name)}</b> (#{item.customer_id}): {reason_text(item, t)}"
    if with_owner:
        owner = item.owner_name or t(N_("unassigned"))
        line += f" · 👤 {html.escape(owner)}"
    return line


def action_row(item: RiskItem, t: Translate) -> list[Button]:
    """Return the call, care message and offer buttons of one customer."""
    first = item.name.split()[0] if item.name.split() else item.name
    return [
        Button(f"📞 {first}"[:24], f"{PREFIX}:call:{item.customer_id}"),
        Button(t(N_("💌 Care")), f"{PREFIX}:care:{item.customer_id}"),
        Button(t(N_("🎁 Offer")), f"{PREFIX}:offer:{item.customer_id}"),
    ]


def at_risk_query(workspace_id: int) -> RiskQuery:
    """Return a query of the workspace's at-risk customers, newest episodes first."""
    last_purchase = (
        select(func.max(Purchase.at)).where(Purchase.customer_id == Customer.id).scalar_subquery()
    )
    last_follow_up = (
        select(func.max(FollowUp.at)).where(FollowUp.customer_id == Customer.id).scalar_subquery()
    )
    return (
        select(Customer, Member.display_name, last_purchase, last_follow_up)
        .outerjoin(Member, Member.id == Customer.owner_member_id)
        .where(Customer.workspace_id == workspace_id, Customer.at_risk_since.is_not(None))
        .order_by(Customer.at_risk_since.desc(), Customer.id.desc())
    )


async def load_items(
    session: AsyncSession,
    query: RiskQuery,
    *,
    now: datetime,
) -> list[RiskItem]:
    """Run an ``at_risk_query`` (narrowed by the caller) into items."""
    items = []
    for customer, owner_name, purchased, followed in (await session.execute(query)).all():
        since = customer.at_risk_since or now
        seen = [d for d in (purchased, followed, customer.last_contact_at) if d is not None]
        last = max(seen) if seen else since
        items.append(
            RiskItem(
                customer_id=customer.id,
                name=customer.name,
                owner_name=owner_name,
                reason=customer.at_risk_reason or AtRiskReason.QUIET,
                since=since,
                days_quiet=max(0, (now - last).days),
                usual_days=customer.usual_interval_days,
                tier_from=customer.previous_value_tier,
                tier_to=customer.value_tier,
            )
        )
    return items


def render_summary(t: Translate, *, total: int, quiet: int) -> tuple[str, Keyboard]:
    """Return a rep's alert about more than ``MAX_LISTED`` customers: counts and /atrisk."""
    text = t(
        N_(
            "⚠️ <b>{count} of your customers may be drifting away</b>: {quiet} have gone"
            " quiet, {dropped} dropped to a lower value tier.\n"
            "See /atrisk to go through them, with a call, care message or offer for each."
        ),
        count=total,
        quiet=quiet,
        dropped=total - quiet,
    )
    return text, [[Button(t(N_("📋 See them")), f"{PREFIX}:ls:0")]]


def render_alert(items: Sequence[RiskItem], t: Translate) -> tuple[str, Keyboard]:
    """Return a rep's alert about a few customers, each with its action buttons."""
    lines = [t(N_("⚠️ <b>These customers may be drifting away</b>:")), ""]
    lines += [item_line(item, t) for item in items]
    lines += ["", t(N_("📞 call · 💌 send a care message · 🎁 send an offer"))]
    return "\n".join(lines), [action_row(item, t) for item in items]


async def detect_apart(
    engine: AsyncEngine, workspace_id: int, *, now: datetime, batch: int = churn.BATCH
) -> list[churn.AtRisk]:
    """Run churn detection in transactions of its own, one per batch of customers written.

    A failure leaves the batches already written in place: each is whole (an episode
    ended or started, with its interval), and the next run carries on from there.
    """
    async with engine.connect() as connection:
        # Bound to one connection, the session keeps the temporary tables across commits.
        session = AsyncSession(bind=connection, expire_on_commit=False)

        async def between() -> None:
            await session.commit()
            await asyncio.sleep(PAUSE)

        try:
            found = await churn.detect(
                session, workspace_id, now=now, batch=batch, between=between
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()
    return found


async def churn_alerts(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    clock: Callable[[], datetime],
) -> None:
    """Detect churn where due and alert reps about new at-risk customers (the scheduler's job)."""
    await run_alerts(sessions, messenger, clock, last_detect=LAST_DETECT)


async def run_alerts(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    clock: Callable[[], datetime],
    *,
    last_detect: MutableMapping[int, datetime],
) -> int:
    """Run one pass over every workspace; return how many alert messages were sent.

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
    return sent


async def _workspace_pass(
    sessions: async_sessionmaker[AsyncSession],
    messenger: Messenger,
    workspace_id: int,
    now: datetime,
    last_detect: MutableMapping[int, datetime],
) -> int:
    last = last_detect.get(workspace_id)
    if last is None or now - last >= DETECT_EVERY:
        found = await detect_apart(_engine_of(sessions), workspace_id, now=now)
        last_detect[workspace_id] = now
        logger.info("churn detection of workspace %s: %d newly at risk", workspace_id, len(found))
    outgoing: list[tuple[int, str, Keyboard, list[int]]] = []
    async with sessions() as session:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None or quiet_until(
            now, workspace.timezone, workspace.quiet_start, workspace.quiet_end
        ):
            return 0
        for member, pending in (await _pending_by_member(session, workspace_id)).items():
            locale = await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=workspace_id
            )
            t = partial(translate, locale)
            ids = [customer_id for customer_id, _ in pending]
            if len(pending) > MAX_LISTED:
                quiet = sum(1 for _, reason in pending if reason is AtRiskReason.QUIET)
                text, buttons = render_summary(t, total=len(pending), quiet=quiet)
            else:
                query = at_risk_query(workspace_id).where(Customer.id.in_(ids))
                text, buttons = render_alert(await load_items(session, query, now=now), t)
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


async def _pending_by_member(
    session: AsyncSession, workspace_id: int
) -> dict[Member, list[tuple[int, AtRiskReason | None]]]:
    """Group the un-alerted at-risk customers by the member to tell, newest first."""
    active = (
        await session.scalars(
            select(Member).where(Member.workspace_id == workspace_id, Member.active.is_(True))
        )
    ).all()
    by_id = {m.id: m for m in active}
    managers = [m for m in active if m.role in (Role.OWNER, Role.ADMIN)]
    pending_now = (Customer.at_risk_since.is_not(None), Customer.churn_alerted_at.is_(None))
    # A team-limited admin hears only about the customers their team reaches.
    reach = {
        m.id: set(
            await session.scalars(
                visible_customers(m).with_only_columns(Customer.id).where(*pending_now)
            )
        )
        for m in managers
        if team_limited(m)
    }
    rows = await session.execute(
        select(Customer.id, Customer.owner_member_id, Customer.at_risk_reason)
        .where(Customer.workspace_id == workspace_id, *pending_now)
        .order_by(Customer.at_risk_since.desc(), Customer.id.desc())
    )
    pending: dict[Member, list[tuple[int, AtRiskReason | None]]] = defaultdict(list)
    for customer_id, owner_id, reason in rows.all():
        owner = by_id.get(owner_id) if owner_id is not None else None
        told = (
            [owner]
            if owner is not None
            else [m for m in managers if m.id not in reach or customer_id in reach[m.id]]
        )
        for member in told:
            pending[member].append((customer_id, reason))
    return dict(pending)


def _engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        msg = "the session factory is not bound to an engine"
        raise TypeError(msg)
    return engine
