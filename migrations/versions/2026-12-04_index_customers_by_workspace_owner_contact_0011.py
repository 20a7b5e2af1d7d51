"""index customers by workspace, owner and last contact

The owner index gains ``workspace_id`` in front: every query names the
workspace, and with only ``owner_member_id`` to go on SQLite's planner took the
``(workspace_id, at_risk_since)`` index for a rep's customers instead and walked
the whole shop (``/today`` at 1,000,000 customers: 110 ms → 10 ms).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 12:45:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_owner_contact")
        batch_op.create_index(
            "ix_customer_workspace_id_owner_contact",
            ["workspace_id", "owner_member_id", "last_contact_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_workspace_id_owner_contact")
        batch_op.create_index(
            "ix_customer_owner_contact", ["owner_member_id", "last_contact_at"], unique=False
        )
