"""shop fields: a workspace's kind, retail customer fields and per-shop option lists

Existing workspaces become ``trade`` and get the trade lists (ownership, business
type, location type) with the keys their customers already hold, so nothing they
have disappears; workspaces created later default to ``retail``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trade presets as they stood at this revision (static: later code may change).
TRADE_PRESETS = {
    "ownership": ("state", "collective", "private", "joint_stock", "jv"),
    "business_type": ("wholesaler", "retailer", "agent", "franchise", "chain", "specialty"),
    "location_type": ("business_district", "transport_hub", "residential", "other"),
}


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("retail", "trade", name="workspacekind", native_enum=False, length=16),
                nullable=False,
                server_default="trade",
            )
        )
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gender", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("age_band", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("preferences", sa.JSON(), nullable=True))
    option = op.create_table(
        "field_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=24), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_field_option_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_option")),
        sa.UniqueConstraint(
            "workspace_id", "field", "key", name=op.f("uq_field_option_workspace_id_field_key")
        ),
    )
    with op.batch_alter_table("field_option", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_field_option_workspace_id"), ["workspace_id"], unique=False
        )
    _seed_trade_lists(option)


def _seed_trade_lists(option: sa.Table) -> None:
    """Give every existing workspace the trade lists its customers' keys come from."""
    bind = op.get_bind()
    workspace_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM workspace"))]
    rows = [
        {"workspace_id": ws, "field": field, "key": key, "label": None, "position": position}
        for ws in workspace_ids
        for field, keys in TRADE_PRESETS.items()
        for position, key in enumerate(keys, start=1)
    ]
    if rows:
        op.bulk_insert(option, rows)


def downgrade() -> None:
    with op.batch_alter_table("field_option", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_option_workspace_id"))
    op.drop_table("field_option")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("preferences")
        batch_op.drop_column("age_band")
        batch_op.drop_column("gender")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("kind")
