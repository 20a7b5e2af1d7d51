"""index customers by owner and contact

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:07:31.646473+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crm.models


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_owner_contact', ['owner_member_id', 'last_contact_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_owner_contact')

