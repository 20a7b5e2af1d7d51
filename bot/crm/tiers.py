"""Value tier recompute: RFM scores, segments, tiers, classes and CLV for a whole workspace.

The rules are in ``bot.crm.rfm``; this module runs them set-based, because a
workspace may hold a million customers: one GROUP BY over the purchases into a
temporary table, one ranking pass with window functions into a second one, and
one ``UPDATE … FROM`` onto the customers. No customer row is loaded into Python.
Only purchases in the workspace's currency count, as in the purchase history.

On SQLite a write holds the database's single write lock until its transaction
commits, and every other shop's update has to write too. So the aggregation only
reads and fills temporary tables, and the customers are then written in batches
of ``batch`` rows by id; the caller's ``between`` hook runs after each batch (a
job passes one that commits and pauses, see ``tier_reports.recompute_apart``), so
other updates get the lock between batches instead of waiting for the whole run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from bot.crm import rfm
from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Role, UtcDateTime, Workspace
from bot.crm.models.core import Segment
from bot.errors import NotFound
from bot.i18n import N_

# Attributes this module rewrites behind the ORM's back; expired in the session after.
TIER_ATTRIBUTES = (
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_segment",
    "value_tier",
    "previous_value_tier",
    "value_tier_changed_at",
    "value_class",
    "clv_minor",
    "tiers_computed_at",
)
BATCH = 5000
Between = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class TierSummary:
    """What a recompute found: counts per segment, tier and class, and the CLV lifetime."""

    buyers: int
    segments: Mapping[str, int]
    tiers: Mapping[str, int]
    classes: Mapping[str, int]
    churn_rate: float | None
    lifetime_years: float
    lifetime_fallback: bool
    seconds: float


def days_since(dialect: str, column: str) -> str:
    """Return SQL for the whole days from ``column`` to the ``:now`` parameter, never negative."""
    if dialect == "sqlite":
        return f"max(0, CAST(julianday(:now) - julianday({column}) AS INTEGER))"
    return f"GREATEST(0, CAST(FLOOR(EXTRACT(EPOCH FROM (:now - {column})) / 86400) AS INTEGER))"


def round_half_up(dialect: str, expression: str) -> str:
    """Return SQL rounding a positive number half up to an integer, alike on both databases."""
    # ROUND and casts differ at exact halves between SQLite and PostgreSQL; this does not.
    if dialect == "sqlite":
        return f"CAST(({expression}) + 0.5 AS INTEGER)"
    return f"CAST(FLOOR(({expression}) + 0.5) AS BIGINT)"


def with_now(sql: str, now: datetime, **params: Any) -> TextClause:
    """Return a text clause with ``:now`` bound as a UTC timestamp and other values bound."""
    clause = text(sql).bindparams(bindparam("now", now, type_=UtcDateTime()))
    return clause.bindparams(**params) if params else clause


async def recompute_for(
    session: AsyncSession, *, actor: Member, now: datetime, lapse_days: int = rfm.LAPSE_DAYS
) -> TierSummary:
    """Recompute the actor's workspace's tiers on demand (``/tiers recompute``).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    return await recompute(session, actor.workspace_id, now=now, lapse_days=lapse_days)


async def recompute(
    session: AsyncSession,
    workspace_id: int,
    *,
    now: datetime,
    lapse_days: int = rfm.LAPSE_DAYS,
    clock: Callable[[], float] = time.perf_counter,
    batch: int = BATCH,
    between: Between = _nothing,
) -> TierSummary:
    """Score every customer of the workspace and write their segment, tier, class and CLV.

    Customers are written ``batch`` at a time, with ``between`` awaited after each
    batch; it must keep ``session`` on the same connection (the scores are in its
    temporary tables).

    Customers already loaded in ``session`` get the tier attributes expired, since the
    rows changed behind the ORM: refresh them before reading those attributes.

    Raises:
        NotFound: when the workspace does not exist.
        ValueError: when ``lapse_days`` is not positive.
    """
    if lapse_days <= 0:
        msg = f"lapse_days must be positive, got {lapse_days}"
        raise ValueError(msg)
    started = clock()
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(N_("That workspace no longer exists."))
    await session.flush()
    dialect = session.get_bind().dialect.name
    await _drop_temps(session)
    await _aggregate(session, dialect, workspace_id, workspace.currency, now)
    counts = (
        await session.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN recency_days > :lapse THEN 1 ELSE 0 END),"
                " 0) FROM tier_agg"
            ).bindparams(lapse=lapse_days)
        )
    ).one()
    buyers, lapsed = int(counts[0]), int(counts[1])
    lifetime = rfm.expected_lifetime(buyers, lapsed, lapse_days)
    if buyers:
        await _score(session, dialect, buyers, lifetime.years, lapse_days)
    # Reading is over: a waiting writer gets the lock before the first batch.
    await between()
    if buyers:
        async for low, high in _batches(session, "tier_score", "customer_id", "", batch):
            await _write_buyers(session, workspace_id, now, low, high)
            await between()
    others = _batches(session, "customer", "id", "workspace_id = :ws AND", batch, ws=workspace_id)
    async for low, high in others:
        await _write_others(session, workspace_id, now, low, high)
        await between()
    summary = await _summarise(session, workspace_id, buyers, lifetime, started, clock)
    await _drop_temps(session)
    _expire_loaded(session)
    return summary


async def _batches(
    session: AsyncSession, table: str, key: str, where: str, size: int, **params: object
) -> AsyncIterator[tuple[int, int]]:
    """Yield consecutive ranges of ``key`` (low exclusive, high inclusive), ``size`` rows each."""
    low = 0
    while True:
        high = await session.scalar(
            text(
                f"SELECT MAX(k) FROM (SELECT {key} AS k FROM {table}"  # noqa: S608 - constants
                f" WHERE {where} {key} > :lo ORDER BY {key} LIMIT :size) AS page"
            ),
            {"lo": low, "size": size, **params},
        )
        if high is None:
            return
        yield low, int(high)
        low = int(high)


async def _drop_temps(session: AsyncSession) -> None:
    await session.execute(text("DROP TABLE IF EXISTS tier_score"))
    await session.execute(text("DROP TABLE IF EXISTS tier_agg"))


async def _aggregate(
    session: AsyncSession, dialect: str, workspace_id: int, currency: str, now: datetime
) -> None:
    # Days are computed once per customer on the aggregated MAX/MIN, not per purchase row.
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE tier_agg (customer_id INTEGER PRIMARY KEY,"
            " frequency INTEGER NOT NULL, monetary BIGINT NOT NULL,"
            " recency_days INTEGER NOT NULL, tenure_days INTEGER NOT NULL)"
        )
    )
    await session.execute(
        with_now(
            "INSERT INTO tier_agg (customer_id, frequency, monetary, recency_days, tenure_days)"  # noqa: S608 - SQL from constants; values are bound
            f" SELECT customer_id, COUNT(*), SUM(amount_minor), {days_since(dialect, 'MAX(at)')},"
            f" {days_since(dialect, 'MIN(at)')} FROM purchase"
            " WHERE workspace_id = :ws AND currency = :currency GROUP BY customer_id",
            now,
            ws=workspace_id,
            currency=currency,
        )
    )


async def _score(
    session: AsyncSession, dialect: str, buyers: int, lifetime_years: float, lapse_days: int
) -> None:
    # Each score is 1 + 5 × (worse + worse_or_equal) / 2n in integer arithmetic (see
    # bot.crm.rfm). Over one ordering, RANK() - 1 counts the strictly worse and COUNT(*)
    # (whose default RANGE frame takes in the peers) the worse or equal, so each score
    # costs one sort.
    clv = (
        "monetary * CAST(:factor AS DOUBLE PRECISION)"
        " / (CASE WHEN tenure_days > :min_tenure THEN tenure_days ELSE :min_tenure END)"
    )
    ranks = (
        "SELECT customer_id, frequency, monetary, recency_days, tenure_days,"
        " 1 + 5 * (RANK() OVER (ORDER BY recency_days DESC) - 1"
        " + COUNT(*) OVER (ORDER BY recency_days DESC)) / (2 * :n) AS r,"
        " 1 + 5 * (RANK() OVER (ORDER BY frequency) - 1"
        " + COUNT(*) OVER (ORDER BY frequency)) / (2 * :n) AS f,"
        " 1 + 5 * (RANK() OVER (ORDER BY monetary) - 1"
        " + COUNT(*) OVER (ORDER BY monetary)) / (2 * :n) AS m"
        " FROM tier_agg"
    )
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE tier_score (customer_id INTEGER PRIMARY KEY,"
            " r SMALLINT NOT NULL, f SMALLINT NOT NULL, m SMALLINT NOT NULL,"
            " segment VARCHAR(16) NOT NULL, tier VARCHAR(16) NOT NULL,"
            " class VARCHAR(16) NOT NULL, clv BIGINT NOT NULL)"
        )
    )
    await session.execute(
        text(
            "INSERT INTO tier_score (customer_id, r, f, m, segment, tier, class, clv)"  # noqa: S608 - SQL from constants; values are bound
            f" SELECT customer_id, r, f, m, {rfm.segment_sql('r', 'f')}, {rfm.tier_sql('f', 'm')},"
            f" {rfm.class_sql('f', 'm', 'recency_days', lapse_days)},"
            f" {round_half_up(dialect, clv)}"
            f" FROM ({ranks}) AS ranked"
        ).bindparams(
            bindparam("n", buyers, type_=Integer()),
            bindparam("factor", 365.0 * lifetime_years, type_=Float()),
            bindparam("min_tenure", rfm.MIN_TENURE_DAYS, type_=Integer()),
        )
    )


async def _write_buyers(
    session: AsyncSession, workspace_id: int, now: datetime, low: int, high: int
) -> None:
    # SET expressions read the row as it was, so the tier comparison sees the old tier.
    changed = "COALESCE(customer.value_tier, '') <> s.tier"
    await session.execute(
        with_now(
            "UPDATE customer SET rfm_recency = s.r, rfm_frequency = s.f, rfm_monetary = s.m,"  # noqa: S608 - SQL from constants; values are bound
            " rfm_segment = s.segment,"
            f" previous_value_tier = CASE WHEN {changed} THEN customer.value_tier"
            " ELSE customer.previous_value_tier END,"
            f" value_tier_changed_at = CASE WHEN {changed} THEN :now"
            " ELSE customer.value_tier_changed_at END,"
            " value_tier = s.tier, value_class = s.class, clv_minor = s.clv,"
            " tiers_computed_at = :now"
            " FROM tier_score AS s"
            " WHERE customer.id = s.customer_id AND customer.workspace_id = :ws"
            " AND s.customer_id > :low AND s.customer_id <= :high",
            now,
            ws=workspace_id,
            low=low,
            high=high,
        )
    )


async def _write_others(
    session: AsyncSession, workspace_id: int, now: datetime, low: int, high: int
) -> None:
    # Only rows whose values change are written: most non-buyers stay as they were.
    segment = f"CASE WHEN created_at >= :new_since THEN '{Segment.NEW.value}' END"
    await session.execute(
        with_now(
            "UPDATE customer SET rfm_recency = NULL, rfm_frequency = NULL, rfm_monetary = NULL,"  # noqa: S608 - SQL from constants; values are bound
            f" rfm_segment = {segment}, value_tier = NULL, value_class = NULL, clv_minor = NULL,"
            " tiers_computed_at = :now"
            " WHERE workspace_id = :ws AND id > :low AND id <= :high"
            " AND NOT EXISTS (SELECT 1 FROM tier_agg AS a WHERE a.customer_id = customer.id)"
            " AND (rfm_recency IS NOT NULL OR value_tier IS NOT NULL OR clv_minor IS NOT NULL"
            f" OR COALESCE(rfm_segment, '') <> COALESCE({segment}, ''))",
            now,
            ws=workspace_id,
            low=low,
            high=high,
        ).bindparams(
            bindparam("new_since", now - timedelta(days=rfm.NEW_DAYS), type_=UtcDateTime())
        )
    )


async def _summarise(
    session: AsyncSession,
    workspace_id: int,
    buyers: int,
    lifetime: rfm.Lifetime,
    started: float,
    clock: Callable[[], float],
) -> TierSummary:
    segments: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    if buyers:
        rows = await session.execute(
            text(
                "SELECT segment, tier, class, COUNT(*) FROM tier_score"
                " GROUP BY segment, tier, class"
            )
        )
        for segment, tier, value_class, count in rows:
            segments[segment] += count
            tiers[tier] += count
            classes[value_class] += count
    new = await session.scalar(
        text("SELECT COUNT(*) FROM customer WHERE workspace_id = :ws AND rfm_segment = :new"),
        {"ws": workspace_id, "new": Segment.NEW.value},
    )
    if new:
        segments[Segment.NEW.value] = int(new)
    return TierSummary(
        buyers=buyers,
        segments=dict(segments),
        tiers=dict(tiers),
        classes=dict(classes),
        churn_rate=lifetime.churn_rate,
        lifetime_years=lifetime.years,
        lifetime_fallback=lifetime.fallback,
        seconds=clock() - started,
    )


def _expire_loaded(session: AsyncSession) -> None:
    # The UPDATEs bypassed the ORM; loaded customers must not show the old tiers.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Customer):
            session.expire(obj, TIER_ATTRIBUTES)
