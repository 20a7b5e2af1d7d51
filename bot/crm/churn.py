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

This flag is the customer's own drift, and the only thing the bot calls "at
risk" (/atrisk, the churn alerts). The RFM segment stored as ``at_risk`` in
``bot.crm.rfm`` is a different thing, a rank relative to the other customers,
shown as "slipping" (下滑客户) on /tiers, /find and the card.
The SQL needs SQLite 3.35 or PostgreSQL 12 (``AS MATERIALIZED``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
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
BATCH = 5000
Between = Callable[[], Awaitable[None]]
# Quiet for the minimum, with a stored interval older than the last activity: the
# customers whose usual interval is worked out (again) in a run.
DUE = "l.days_quiet > :min_quiet AND l.stale = 1"

CHURN_ATTRIBUTES = (
    "usual_interval_days",
    "usual_interval_computed_at",
    "at_risk_since",
    "at_risk_reason",
    "churn_alerted_at",
)


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A customer newly found at risk: whose they are, why, and for how long quiet."""

    customer_id: int
    owner_member_id: int | None
    reason: AtRiskReason
    days_quiet: int
    usual_days: int | None


async def detect(
    session: AsyncSession,
    workspace_id: int,
    *,
    now: datetime,
    batch: int = BATCH,
    between: Between | None = None,
) -> list[AtRisk]:
    """End episodes of customers back in touch, start new ones, and return the new ones.

    Everything is worked out first into temporary tables, reading only; then the
    customers that change are written ``batch`` at a time, with ``between`` awaited
    after the reading and after each batch (a job passes one that commits and
    pauses, see ``at_risk.detect_apart``). ``between`` must keep ``session`` on
    the same connection (the plan is in its temporary tables). Without it, the whole
    run is one write transaction of the caller's.

    Customers already loaded in ``session`` get the churn attributes expired, since the
    rows changed behind the ORM: refresh them before reading those attributes.
    """
    await session.flush()
    dialect = session.get_bind().dialect.name
    if between is None:
        between = _nothing
        if dialect == "sqlite":
            # A SQLite transaction that reads and then writes fails ("database is locked")
            # when another connection commits in between, so the write lock comes first.
            await session.execute(text("UPDATE customer SET id = id WHERE 0 = 1"))
    await _drop_temps(session)
    await _ended(session, workspace_id)
    await _last_activity(session, dialect, workspace_id, now)
    await _usual_intervals(session, dialect)
    await _plan(session)
    # Reading is over: a waiting writer gets the lock before the first batch.
    await between()
    flagged: list[AtRisk] = []
    async for low, high in _batches(session, batch):
        await _write(session, workspace_id, now, low, high)
        flagged += await _flagged(session, low, high)
        await between()
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


async def _batches(session: AsyncSession, size: int) -> AsyncIterator[tuple[int, int]]:
    """Yield consecutive ranges of planned customer ids (low exclusive, high inclusive)."""
    low = 0
    while True:
        high = await session.scalar(
            text(
                "SELECT MAX(k) FROM (SELECT customer_id AS k FROM churn_plan"
                " WHERE customer_id > :lo ORDER BY customer_id LIMIT :size) AS page"
            ),
            {"lo": low, "size": size},
        )
        if high is None:
            return
        yield low, int(high)
        low = int(high)


async def _drop_temps(session: AsyncSession) -> None:
    for table in ("churn_plan", "churn_usual", "churn_last", "churn_ended"):
        await session.execute(text(f"DROP TABLE IF EXISTS {table}"))


async def _ended(session: AsyncSession, workspace_id: int) -> None:
    # Correlated EXISTS on (customer_id, at) indexes: only customers at risk are looked at.
    await session.execute(
        text("CREATE TEMPORARY TABLE churn_ended (customer_id INTEGER PRIMARY KEY)")
    )
    await session.execute(
        text(
            "INSERT INTO churn_ended (customer_id) SELECT id FROM customer"
            " WHERE workspace_id = :ws AND at_risk_since IS NOT NULL"
            " AND (last_contact_at > at_risk_since"
            " OR EXISTS (SELECT 1 FROM purchase AS p WHERE p.customer_id = customer.id"
            " AND p.at > customer.at_risk_since)"
            " OR EXISTS (SELECT 1 FROM follow_up AS f WHERE f.customer_id = customer.id"
            " AND f.at > customer.at_risk_since))"
        ).bindparams(ws=workspace_id)
    )


async def _last_activity(
    session: AsyncSession, dialect: str, workspace_id: int, now: datetime
) -> None:
    # Each customer's latest purchase and follow-up come from one seek each on the
    # (customer_id, at) indexes; MATERIALIZED keeps those subqueries from being inlined
    # (and run again) at every use of their columns below. A customer whose episode
    # ends in this run counts as not at risk, as they will be once it is written.
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
            " days_quiet INTEGER NOT NULL, tier_drop INTEGER NOT NULL, stale INTEGER NOT NULL,"
            " usual_days INTEGER)"
        )
    )
    await session.execute(
        with_now(
            "INSERT INTO churn_last (customer_id, days_quiet, tier_drop, stale, usual_days)"  # noqa: S608 - SQL from constants; values are bound
            " WITH seen AS MATERIALIZED (SELECT c.id, c.last_contact_at, c.value_tier,"
            " c.previous_value_tier, c.value_tier_changed_at, c.usual_interval_computed_at,"
            " c.usual_interval_days,"
            " (SELECT MAX(p.at) FROM purchase AS p WHERE p.customer_id = c.id) AS p_at,"
            " (SELECT MAX(f.at) FROM follow_up AS f WHERE f.customer_id = c.id) AS f_at"
            " FROM customer AS c WHERE c.workspace_id = :ws AND (c.at_risk_since IS NULL"
            " OR c.id IN (SELECT customer_id FROM churn_ended)))"
            f" SELECT id, {days_since(dialect, last)}, CASE WHEN {dropped} THEN 1 ELSE 0 END,"
            f" CASE WHEN {stale} THEN 1 ELSE 0 END, usual_interval_days"
            " FROM seen WHERE p_at IS NOT NULL",
            now,
            ws=workspace_id,
        )
    )


async def _usual_intervals(session: AsyncSession, dialect: str) -> None:
    # The per-event window pass is the expensive part, so it runs only for customers
    # quiet for the minimum whose stored interval predates their last activity: a quiet
    # customer's interval cannot change until they are active again, so after the first
    # run only the customers who newly went quiet are worked out.
    if dialect == "sqlite":
        day = "CAST(julianday({0}.at) - 0.5 AS INTEGER)"
    else:
        day = "CAST(FLOOR(EXTRACT(EPOCH FROM {0}.at) / 86400) AS INTEGER)"
    # Customer ids are unique across workspaces, so the (customer_id, at) index alone
    # covers the events; CROSS JOIN makes SQLite walk the due customers and seek it.
    events = "FROM churn_last AS l CROSS JOIN {0} WHERE {1}.customer_id = l.customer_id AND " + DUE
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


async def _plan(session: AsyncSession) -> None:
    # One row per customer that changes: an episode ends, the usual interval is worked
    # out again, or an episode starts. Quiet wins over a tier drop when both hold: it is
    # the more specific reason. A due customer's interval is the new one (NULL when the
    # history is too short), anyone else's the one stored.
    usual = f"CASE WHEN {DUE} THEN u.usual_days ELSE l.usual_days END"
    quiet = (
        f"l.days_quiet > :min_quiet AND ({usual}) IS NOT NULL"
        f" AND l.days_quiet > :factor * ({usual})"
    )
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE churn_plan (customer_id INTEGER PRIMARY KEY,"
            " ended INTEGER NOT NULL, due INTEGER NOT NULL, usual_days INTEGER,"
            " reason VARCHAR(16), days_quiet INTEGER NOT NULL)"
        )
    )
    await session.execute(
        text(
            "INSERT INTO churn_plan (customer_id, ended, due, usual_days, reason, days_quiet)"  # noqa: S608 - SQL from constants; values are bound
            " SELECT l.customer_id, CASE WHEN e.customer_id IS NULL THEN 0 ELSE 1 END,"
            f" CASE WHEN {DUE} THEN 1 ELSE 0 END, {usual},"
            f" CASE WHEN {quiet} THEN '{AtRiskReason.QUIET.value}'"
            f" WHEN l.tier_drop = 1 THEN '{AtRiskReason.TIER_DROP.value}' END, l.days_quiet"
            " FROM churn_last AS l LEFT JOIN churn_usual AS u ON u.customer_id = l.customer_id"
            " LEFT JOIN churn_ended AS e ON e.customer_id = l.customer_id"
            f" WHERE e.customer_id IS NOT NULL OR ({DUE}) OR ({quiet}) OR l.tier_drop = 1"
        ).bindparams(min_quiet=QUIET_MIN_DAYS, factor=QUIET_FACTOR)
    )
    # An episode also ends for a customer with no purchase left (erased, say).
    await session.execute(
        text(
            "INSERT INTO churn_plan (customer_id, ended, due, usual_days, reason, days_quiet)"
            " SELECT customer_id, 1, 0, NULL, NULL, 0 FROM churn_ended AS e"
            " WHERE NOT EXISTS (SELECT 1 FROM churn_last AS l WHERE l.customer_id = e.customer_id)"
        )
    )


async def _write(
    session: AsyncSession, workspace_id: int, now: datetime, low: int, high: int
) -> None:
    # One UPDATE per batch writes each planned customer once, whatever changes for them.
    await session.execute(
        with_now(
            "UPDATE customer SET"
            " usual_interval_days = CASE WHEN p.due = 1 THEN p.usual_days"
            " ELSE customer.usual_interval_days END,"
            " usual_interval_computed_at = CASE WHEN p.due = 1 THEN :now"
            " ELSE customer.usual_interval_computed_at END,"
            " at_risk_since = CASE WHEN p.reason IS NOT NULL THEN :now"
            " WHEN p.ended = 1 THEN NULL ELSE customer.at_risk_since END,"
            " at_risk_reason = CASE WHEN p.reason IS NOT NULL THEN p.reason"
            " WHEN p.ended = 1 THEN NULL ELSE customer.at_risk_reason END,"
            " churn_alerted_at = CASE WHEN p.reason IS NOT NULL OR p.ended = 1 THEN NULL"
            " ELSE customer.churn_alerted_at END"
            " FROM churn_plan AS p WHERE customer.id = p.customer_id"
            " AND customer.workspace_id = :ws AND p.customer_id > :low AND p.customer_id <= :high",
            now,
            ws=workspace_id,
            low=low,
            high=high,
        )
    )


async def _flagged(session: AsyncSession, low: int, high: int) -> list[AtRisk]:
    rows = await session.execute(
        text(
            "SELECT p.customer_id, c.owner_member_id, p.reason, p.days_quiet, p.usual_days"
            " FROM churn_plan AS p JOIN customer AS c ON c.id = p.customer_id"
            " WHERE p.reason IS NOT NULL AND p.customer_id > :low AND p.customer_id <= :high"
            " ORDER BY p.customer_id"
        ).bindparams(low=low, high=high)
    )
    return [
        AtRisk(int(cid), owner, AtRiskReason(reason), int(days), usual)
        for cid, owner, reason, days, usual in rows
    ]
