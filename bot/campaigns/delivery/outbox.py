"""Outbox rows: materialising a campaign run, claiming batches and recording outcomes.

SQL only. A row moves ``pending → sending → sent | failed | skipped | blocked |
unknown``; it is ``sending`` only while its request may be on the wire, so a
crash leaves at most the engine's concurrency in that state, and ``recover``
turns those into ``unknown`` (never resent) when the engine starts again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.campaigns import audiences
from bot.crm.models import (
    CampaignRun,
    Consent,
    Customer,
    OutboxMessage,
    OutboxStatus,
    RunStatus,
)

Row = OutboxMessage
Status = OutboxStatus


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row just moved to ``sending``, with what the claim-time checks and rendering need."""

    id: int
    run_id: int
    customer_id: int
    attempts: int
    chat_id: int | None
    name: str
    locale: str | None
    timezone: str | None
    grade: str | None
    owner_member_id: int | None
    opted_in: bool
    reachable: bool
    last_contact_at: datetime | None
    recent_sends: int = 0
    # An admin chose to send this run's held rows now, past the quiet hours.
    past_quiet: bool = False


@dataclass(frozen=True, slots=True)
class Settle:
    """The new state of one row: its status and what goes with it."""

    id: int
    status: OutboxStatus
    reason: str | None = None
    attempts: int = 0
    not_before_at: datetime | None = None
    tg_message_id: int | None = None
    sent_at: datetime | None = None


async def materialise_batch(
    session: AsyncSession,
    run: CampaignRun,
    audience: Mapping[str, Any],
    *,
    birthday: date | None,
    limit: int,
) -> int:
    """Insert the run's next ``limit`` recipients after those already there; return how many.

    The rows are copied by INSERT…SELECT inside the database, so the audience
    never passes through Python. Resuming after a crash continues after the
    highest customer id already materialised, which the unique (run, customer)
    index answers at once.
    """
    after = await session.scalar(
        select(func.coalesce(func.max(Row.customer_id), 0)).where(Row.run_id == run.id)
    )
    chosen = (
        audiences.recipients(run.workspace_id, audience, birthday=birthday)
        .where(Customer.id > (after or 0))
        .limit(limit)
        .subquery()
    )
    rows = select(
        literal(run.workspace_id),
        literal(run.id),
        chosen.c.id,
        literal(Status.PENDING.value),
        literal(0),
    ).order_by(chosen.c.id)
    result = await session.execute(
        insert(Row).from_select(
            ["workspace_id", "run_id", "customer_id", "status", "attempts"], rows
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def total(session: AsyncSession, run_id: int) -> int:
    """Return how many rows the run has."""
    return int(await session.scalar(select(func.count()).where(Row.run_id == run_id)) or 0)


async def enqueue(session: AsyncSession, *, run: CampaignRun, customer_id: int) -> bool:
    """Add one recipient to a run unless they are already in it; return whether a row was added."""
    values = {
        "workspace_id": run.workspace_id,
        "run_id": run.id,
        "customer_id": customer_id,
        "status": Status.PENDING.value,
        "attempts": 0,
    }
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        builder(Row)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["run_id", "customer_id"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession,
    *,
    run_id: int,
    after_id: int,
    now: datetime,
    limit: int,
    sent_since: datetime | None = None,
    claimed_by: int | None = None,
) -> list[Claimed]:
    """Move up to ``limit`` due pending rows of a running run to ``sending``, by ascending id.

    Only rows with ``id > after_id`` are looked at, so the caller can walk a run
    without rescanning rows it deferred. On PostgreSQL the candidate rows are
    locked with SKIP LOCKED, so two processes never claim the same row and never
    wait for each other; SQLite has one writer and ignores the clause.
    ``recent_sends`` of each row counts the customer's campaign messages sent
    since ``sent_since`` (for the cap), read in the same statement. ``claimed_by``
    names the claiming worker (see ``recover_orphans``).
    """
    running = exists().where(CampaignRun.id == run_id, CampaignRun.status == RunStatus.RUNNING)
    candidates = (
        select(Row.id)
        .where(
            Row.run_id == run_id,
            Row.status == Status.PENDING,
            Row.id > after_id,
            or_(Row.not_before_at.is_(None), Row.not_before_at <= now),
            running,
        )
        .order_by(Row.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # A CTE is evaluated once (PostgreSQL may re-run a plain IN (… LIMIT) subquery and
        # claim more rows than asked); "id IN (SELECT id FROM cte)" lets SQLite update by
        # primary key instead of scanning the table to join it.
        .cte("candidates")
    )
    marked = await session.execute(
        update(Row)
        .where(Row.id.in_(select(candidates.c.id)), Row.status == Status.PENDING)
        .values(status=Status.SENDING, updated_at=now, claimed_by=claimed_by)
        .returning(Row.id, Row.customer_id, Row.attempts, Row.reason)
        .execution_options(synchronize_session=False)
    )
    picked = sorted(marked.all())
    if not picked:
        return []
    people = await session.execute(
        select(
            Customer.id,
            Customer.chat_id,
            Customer.name,
            Customer.locale,
            Customer.timezone,
            Customer.grade,
            Customer.owner_member_id,
            Customer.consent,
            Customer.reachable,
            Customer.last_contact_at,
            _sent_since(sent_since),
        ).where(Customer.id.in_([customer_id for _, customer_id, _, _ in picked]))
    )
    by_id = {person.id: person for person in people}
    claimed = []
    for row_id, customer_id, attempts, reason in picked:
        person = by_id[customer_id]
        claimed.append(
            Claimed(
                id=row_id,
                run_id=run_id,
                customer_id=customer_id,
                attempts=attempts,
                chat_id=person.chat_id,
                name=person.name,
                locale=person.locale,
                timezone=person.timezone,
                grade=person.grade,
                owner_member_id=person.owner_member_id,
                opted_in=person.consent == Consent.OPTED_IN,
                reachable=bool(person.reachable),
                last_contact_at=person.last_contact_at,
                recent_sends=int(person.recent or 0),
                past_quiet=reason == "send_anyway",
            )
        )
    return claimed


_SENT = aliased(Row)


def _sent_since(since: datetime | None) -> Any:
    if since is None:
        return literal(0).label("recent")
    sent = _SENT
    return (
        select(func.count())
        .where(sent.customer_id == Customer.id, sent.sent_at >= since, sent.status == Status.SENT)
        .scalar_subquery()
        .label("recent")
    )


async def recent_sends(
    session: AsyncSession, customer_ids: Iterable[int], *, since: datetime
) -> Counter[int]:
    """Return how many campaign messages each customer was sent since ``since``."""
    ids = list(customer_ids)
    if not ids:
        return Counter()
    result = await session.execute(
        select(Row.customer_id, func.count())
        .where(Row.customer_id.in_(ids), Row.sent_at >= since, Row.status == Status.SENT)
        .group_by(Row.customer_id)
    )
    return Counter({customer_id: int(n) for customer_id, n in result.all()})


_SETTLE = (
    update(Row.__table__)  # type: ignore[arg-type]
    .where(Row.__table__.c.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        reason=bindparam("new_reason"),
        attempts=bindparam("new_attempts"),
        not_before_at=bindparam("new_not_before_at"),
        tg_message_id=bindparam("new_tg_message_id"),
        sent_at=bindparam("new_sent_at"),
        updated_at=bindparam("new_updated_at"),
    )
)


async def settle(session: AsyncSession, rows: Sequence[Settle], *, now: datetime) -> None:
    """Write the new state of many rows in one executemany by primary key.

    A Core statement rather than the ORM's bulk update: this is the engine's hot
    path, and the ORM's per-row bookkeeping buys nothing here.
    """
    if not rows:
        return
    await session.execute(
        _SETTLE,
        [
            {
                "row_id": row.id,
                "new_status": row.status,
                "new_reason": row.reason,
                "new_attempts": row.attempts,
                "new_not_before_at": row.not_before_at,
                "new_tg_message_id": row.tg_message_id,
                "new_sent_at": row.sent_at,
                "new_updated_at": now,
            }
            for row in rows
        ],
    )


async def skip_pending(session: AsyncSession, run_id: int, *, reason: str, now: datetime) -> int:
    """Mark every pending row of a run skipped (a stopped run); return how many."""
    result = await session.execute(
        update(Row)
        .where(Row.run_id == run_id, Row.status == Status.PENDING)
        .values(status=Status.SKIPPED, reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def recover(
    session: AsyncSession, *, now: datetime, stale_before: datetime | None = None
) -> int:
    """Turn rows left ``sending`` into ``unknown``; return how many.

    A ``sending`` row's request may or may not have reached Telegram, so it is
    never sent again. With one process every such row is a leftover of a crash;
    with several (PostgreSQL), only rows older than ``stale_before`` are, since
    another live process may be sending the newer ones.
    """
    open_runs = select(CampaignRun.id).where(CampaignRun.finished_at.is_(None))
    conditions = [Row.run_id.in_(open_runs), Row.status == Status.SENDING]
    if stale_before is not None:
        conditions.append(Row.updated_at < stale_before)
    result = await session.execute(
        update(Row)
        .where(and_(*conditions))
        .values(status=Status.UNKNOWN, reason="in flight at a restart", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def recover_orphans(session: AsyncSession, *, space: int, now: datetime) -> int:
    """Turn rows left ``sending`` by workers that are gone into ``unknown``; return how many.

    PostgreSQL only. Every worker holds an advisory lock ``(space, its key)`` for as
    long as it lives (``bot.campaigns.presence``) and claims rows under its key; the
    lock goes with the worker's connection, so a row whose claimer holds no such
    lock was in flight when that worker died, and is never sent again.
    """
    alive = (
        select(literal_column("objid").cast(BigInteger))
        .select_from(text("pg_locks"))
        .where(
            text(
                "locktype = 'advisory' AND objsubid = 2 AND granted AND classid = :space"
            ).bindparams(space=space)
        )
    )
    open_runs = select(CampaignRun.id).where(CampaignRun.finished_at.is_(None))
    result = await session.execute(
        update(Row)
        .where(
            Row.run_id.in_(open_runs),
            Row.status == Status.SENDING,
            Row.claimed_by.is_not(None),
            Row.claimed_by.not_in(alive),
        )
        .values(status=Status.UNKNOWN, reason="in flight when its worker stopped", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def has_open(session: AsyncSession, run_id: int) -> bool:
    """Return True while the run still has rows pending or being sent."""
    found = await session.scalar(
        select(Row.id)
        .where(Row.run_id == run_id, Row.status.in_([Status.PENDING, Status.SENDING]))
        .limit(1)
    )
    return found is not None


async def counts(session: AsyncSession, run_id: int) -> dict[str, object]:
    """Return the run's status and its rows counted by outcome (skipped by reason)."""
    run_status = await session.scalar(select(CampaignRun.status).where(CampaignRun.id == run_id))
    result = await session.execute(
        select(Row.status, Row.reason, Row.not_before_at.is_not(None), func.count())
        .where(Row.run_id == run_id)
        .group_by(Row.status, Row.reason, Row.not_before_at.is_not(None))
    )
    by_status: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    deferred = 0
    for status, reason, has_time, n in result.all():
        by_status[str(status)] += n
        if status == Status.SKIPPED:
            skipped[reason or "other"] += n
        if status == Status.PENDING and has_time:
            deferred += n
    return {
        "run_id": run_id,
        "status": str(run_status) if run_status is not None else None,
        "total": sum(by_status.values()),
        "pending": by_status[Status.PENDING],
        "sending": by_status[Status.SENDING],
        "sent": by_status[Status.SENT],
        "skipped": dict(sorted(skipped.items())),
        "failed": by_status[Status.FAILED],
        "blocked": by_status[Status.BLOCKED],
        "unknown": by_status[Status.UNKNOWN],
        "deferred": deferred,
    }
