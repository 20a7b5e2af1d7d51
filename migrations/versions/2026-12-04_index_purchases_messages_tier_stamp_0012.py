"""index purchases and messages by customer and workspace, customers by tier stamp

A card reads a customer's purchases and latest messages with the workspace and
the customer both named. With only ``customer_id`` in those indexes SQLite's
planner took the single-column workspace index and walked the shop (the card at
1,000,000 customers: 170 ms); ``workspace_id`` after ``customer_id`` gives it two
equalities, and lookups by customer alone still use the same index. ``/tiers``
reads the newest ``tiers_computed_at`` of the shop off an index instead of
scanning every customer (260 ms at 1,000,000).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 13:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_customer_id_at")
        batch_op.create_index(
            "ix_purchase_customer_id_workspace_id_at",
            ["customer_id", "workspace_id", "at"],
            unique=False,
        )
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_message_customer_id_id")
        batch_op.create_index(
            "ix_chat_message_customer_id_workspace_id_id",
            ["customer_id", "workspace_id", "id"],
            unique=False,
        )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_workspace_id_tiers_computed_at",
            ["workspace_id", "tiers_computed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_workspace_id_tiers_computed_at")
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_message_customer_id_workspace_id_id")
        batch_op.create_index(
            "ix_chat_message_customer_id_id", ["customer_id", "id"], unique=False
        )
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_customer_id_workspace_id_at")
        batch_op.create_index("ix_purchase_customer_id_at", ["customer_id", "at"], unique=False)
