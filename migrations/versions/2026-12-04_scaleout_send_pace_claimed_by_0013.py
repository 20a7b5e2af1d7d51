"""scale-out: the shared send pace and the worker that claimed each outbox row

Several workers on one PostgreSQL database share Telegram's limits through one
``send_pace`` row (send slots reserved by moving ``next_at`` on, a 429 moving
``paused_until`` on for all, a message answered late holding back the slot a
second after it), and each outbox row records the worker that
claimed it, so a row left ``sending`` by a worker that died is known at once
(its presence lock is gone) instead of after a lease.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crm.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_pace",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "paused_until", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("hold_from", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("hold_until", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_pace")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
    op.drop_table("send_pace")
