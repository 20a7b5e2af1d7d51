"""Churn detection: which buying customers are drifting away, one alert per episode.

A customer who has bought at least once is *at risk* when either

* ``quiet``: they have been quiet (no purchase, follow-up or logged contact) for
  more than ``QUIET_MIN_DAYS`` days and for more than ``QUIET_FACTOR`` times their
  usual interval. The usual interval is the median gap between the distinct UTC
  days on which they bought or were followed up, rounded up to whole days; it
  needs at least ``MIN_GAPS`` gaps, so a customer with a shorter history is never
  "quiet"; or
* ``tier_drop``: the last tier recompute moved them to a lower value tier and
  nobody has been in touch with them since that change.

An episode starts when ``detect`` first sees the condition: it stamps
``at_risk_since`` and the reason and returns the customer once, so a later job
can alert the owner rep (and stamp ``churn_alerted_at`` with ``mark_alerted``).
Later runs skip customers already at risk. The episode ends, and the stamps are
cleared, as soon as the customer buys or is followed up or contacted again.

This flag is the customer's own drift; the RFM segment ``at_risk`` in
``bot.crm.rfm`` is a different thing, a rank relative to the other customers.
The SQL needs SQLite 3.35 or PostgreSQL 12 (``AS MATERIALIZED``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import rfm
from bot.crm.models import Customer
from bot.crm.models.core import AtRiskReason
from bot.crm.tiers import days_since, with_now

QUIET_MIN_DAYS = 30
QUIET_FACTOR = 2
MIN_GAPS = 2

CHURN_ATTRIBUTES = (
    "usual_interval_days",
    "usual_interval_computed_at",
    "at_risk_since",
    "at_risk_reason",
    "churn_alerted_at",
)


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A customer newly found at risk: whose they are, why, and for how long quiet."""

    customer_id: int
    owner_member_id: int | None
    reason: AtRiskReason
    days_quiet: int
    usual_days: int | None


async def detect(session: AsyncSession, workspace_id: int, *, now: datetime) -> list[AtRisk]:
    """End episodes of customers back in touch, start new ones, and return the new ones.

    Customers already loaded in ``session`` get the churn attributes expired, since the
    rows changed behind the ORM: refresh them before reading those attributes.
    """
    await session.flush()
    dialect = session.get_bind().dialect.name
    await _clear_episodes(session, workspace_id)
    await _drop_temps(session)
    await _last_activity(session, dialect, workspace_id, now)
    await _usual_intervals(session, dialect, now)
    flagged = await _flag(session, workspace_id, now)
    await _drop_temps(session)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Customer):
            session.expire(obj, CHURN_ATTRIBUTES)
    return flagged


async def mark_alerted(
    session: AsyncSession, workspace_id: int, customer_ids: Iterable[int], *, now: datetime
) -> None:
    """Record that the owner reps were alerted about these at-risk customers."""
    ids = list(customer_ids)
    if not ids:
        return
    await session.execute(
        update(Customer)
        .where(
            Customer.workspace_id == workspace_id,
            Customer.id.in_(ids),
            Customer.at_risk_since.is_not(None),
        )
        .values(churn_alerted_at=now)
    )


async def _clear_episodes(session: AsyncSession, workspace_id: int) -> None:
    # Correlated EXISTS on (customer_id, at) indexes: only customers at risk are looked at.
    await session.execute(
        text(
            "UPDATE customer SET at_risk_since = NULL, at_risk_reason = NULL,"
            " churn_alerted_at = NULL"
            " WHERE workspace_id = :ws AND at_risk_since IS NOT NULL"
            " AND (last_contact_at > at_risk_since"
            " OR EXISTS (SELECT 1 FROM purchase AS p WHERE p.customer_id = customer.id"
            " AND p.at > customer.at_risk_since)"
            " OR EXISTS (SELECT 1 FROM follow_up AS f WHERE f.customer_id = customer.id"
            " AND f.at > customer.at_risk_since))"
        ).bindparams(ws=workspace_id)
    )


async def _drop_temps(session: AsyncSession) -> None:
    for table in ("churn_new", "churn_usual", "churn_last"):
        await session.execute(text(f"DROP TABLE IF EXISTS {table}"))


async def _last_activity(
    session: AsyncSession, dialect: str, workspace_id: int, now: datetime
) -> None:
    # Each customer's latest purchase and follow-up come from one seek each on the
    # (customer_id, at) indexes; MATERIALIZED keeps those subqueries from being inlined
    # (and run again) at every use of their columns below.
    greatest = "max" if dialect == "sqlite" else "GREATEST"
    last = f"{greatest}(p_at, COALESCE(f_at, p_at), COALESCE(last_contact_at, p_at))"
    dropped = (
        f"{rfm.tier_rank_sql('previous_value_tier')} > {rfm.tier_rank_sql('value_tier')}"
        f" AND value_tier_changed_at > {last}"
    )
    stale = f"usual_interval_computed_at IS NULL OR usual_interval_computed_at < {last}"
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE churn_last (customer_id INTEGER PRIMARY KEY,"
            " days_quiet INTEGER NOT NULL, tier_drop INTEGER NOT NULL, stale INTEGER NOT NULL)"
        )
    )
    await session.execute(
        with_now(
            "INSERT INTO churn_last (customer_id, days_quiet, tier_drop, stale)"  # noqa: S608 - SQL from constants; values are bound
            " WITH seen AS MATERIALIZED (SELECT c.id, c.last_contact_at, c.value_tier,"
            " c.previous_value_tier, c.value_tier_changed_at, c.usual_interval_computed_at,"
            " (SELECT MAX(p.at) FROM purchase AS p WHERE p.customer_id = c.id) AS p_at,"
            " (SELECT MAX(f.at) FROM follow_up AS f WHERE f.customer_id = c.id) AS f_at"
            " FROM customer AS c WHERE c.workspace_id = :ws AND c.at_risk_since IS NULL)"
            f" SELECT id, {days_since(dialect, last)}, CASE WHEN {dropped} THEN 1 ELSE 0 END,"
            f" CASE WHEN {stale} THEN 1 ELSE 0 END FROM seen WHERE p_at IS NOT NULL",
            now,
            ws=workspace_id,
        )
    )


async def _usual_intervals(session: AsyncSession, dialect: str, now: datetime) -> None:
    # The per-event window pass is the expensive part, so it runs only for customers
    # quiet for the minimum whose stored interval predates their last activity: a quiet
    # customer's interval cannot change until they are active again, so after the first
    # run only the customers who newly went quiet are worked out.
    if dialect == "sqlite":
        day = "CAST(julianday({0}.at) - 0.5 AS INTEGER)"
    else:
        day = "CAST(FLOOR(EXTRACT(EPOCH FROM {0}.at) / 86400) AS INTEGER)"
    due = "l.days_quiet > :min_quiet AND l.stale = 1"
    # Customer ids are unique across workspaces, so the (customer_id, at) index alone
    # covers the events; CROSS JOIN makes SQLite walk the due customers and seek it.
    events = "FROM churn_last AS l CROSS JOIN {0} WHERE {1}.customer_id = l.customer_id AND " + due
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE churn_usual (customer_id INTEGER PRIMARY KEY,"
            " usual_days INTEGER NOT NULL)"
        )
    )
    # The median of n gaps is the mean of the gaps ranked (n + 1) / 2 and (n + 2) / 2
    # (the same one when n is odd); it is rounded up to whole days.
    await session.execute(
        text(
            "INSERT INTO churn_usual (customer_id, usual_days)"  # noqa: S608 - SQL from constants; values are bound
            " WITH days AS ("
            f" SELECT p.customer_id, {day.format('p')} AS d {events.format('purchase AS p', 'p')}"
            f" UNION SELECT f.customer_id, {day.format('f')} AS d"
            f" {events.format('follow_up AS f', 'f')}),"
            " gaps AS (SELECT customer_id,"
            " d - LAG(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap FROM days),"
            " ordered AS (SELECT customer_id, gap,"
            " ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY gap) AS k,"
            " COUNT(*) OVER (PARTITION BY customer_id) AS n FROM gaps WHERE gap IS NOT NULL)"
            " SELECT customer_id, (SUM(gap) + COUNT(*) - 1) / COUNT(*) FROM ordered"
            " WHERE k = (n + 1) / 2 OR k = (n + 2) / 2"
            " GROUP BY customer_id HAVING MAX(n) >= :min_gaps"
        ).bindparams(min_quiet=QUIET_MIN_DAYS, min_gaps=MIN_GAPS)
    )
    await session.execute(
        with_now(
            "UPDATE customer SET usual_interval_days = NULL, usual_interval_computed_at = :now"  # noqa: S608 - SQL from constants; values are bound
            f" FROM churn_last AS l WHERE customer.id = l.customer_id AND {due}",
            now,
            min_quiet=QUIET_MIN_DAYS,
        )
    )
    await session.execute(
        text(
            "UPDATE customer SET usual_interval_days = u.usual_days"
            " FROM churn_usual AS u WHERE customer.id = u.customer_id"
        )
    )


async def _flag(session: AsyncSession, workspace_id: int, now: datetime) -> list[AtRisk]:
    # Quiet wins over a tier drop when both hold: it is the more specific reason.
    quiet = (
        "l.days_quiet > :min_quiet AND c.usual_interval_days IS NOT NULL"
        " AND l.days_quiet > :factor * c.usual_interval_days"
    )
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE churn_new (customer_id INTEGER PRIMARY KEY,"
            " reason VARCHAR(16) NOT NULL, days_quiet INTEGER NOT NULL)"
        )
    )
    await session.execute(
        text(
            "INSERT INTO churn_new (customer_id, reason, days_quiet)"  # noqa: S608 - SQL from constants; values are bound
            f" SELECT l.customer_id, CASE WHEN {quiet} THEN '{AtRiskReason.QUIET.value}'"
            f" ELSE '{AtRiskReason.TIER_DROP.value}' END, l.days_quiet"
            " FROM churn_last AS l JOIN customer AS c ON c.id = l.customer_id"
            f" WHERE ({quiet}) OR l.tier_drop = 1"
        ).bindparams(min_quiet=QUIET_MIN_DAYS, factor=QUIET_FACTOR)
    )
    await session.execute(
        with_now(
            "UPDATE customer SET at_risk_since = :now, at_risk_reason = n.reason,"
            " churn_alerted_at = NULL FROM churn_new AS n"
            " WHERE customer.id = n.customer_id AND customer.workspace_id = :ws",
            now,
            ws=workspace_id,
        )
    )
    rows = await session.execute(
        text(
            "SELECT n.customer_id, c.owner_member_id, n.reason, n.days_quiet,"
            " c.usual_interval_days FROM churn_new AS n JOIN customer AS c ON c.id = n.customer_id"
            " ORDER BY n.customer_id"
        )
    )
    return [
        AtRisk(int(cid), owner, AtRiskReason(reason), int(days), usual)
        for cid, owner, reason, days, usual in rows
    ]
