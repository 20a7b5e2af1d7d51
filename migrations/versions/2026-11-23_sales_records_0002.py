"""sales records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:16:06.495383+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crm.models


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('dimension', sa.Enum('demographic', 'interest', 'social', 'behaviour', name='tagdimension', native_enum=False, length=16), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_tag_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_tag_workspace_id_name'))
    )
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_team_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_team_workspace_id_name'))
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('customer_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_share_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_customer_share_member_id_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_customer_share_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_share')),
    sa.UniqueConstraint('workspace_id', 'customer_id', 'member_id', name=op.f('uq_customer_share_workspace_id_customer_id_member_id'))
    )
    with op.batch_alter_table('customer_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_share_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_share_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('customer_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_tag_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_customer_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_customer_tag_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_tag')),
    sa.UniqueConstraint('workspace_id', 'customer_id', 'tag_id', name=op.f('uq_customer_tag_workspace_id_customer_id_tag_id'))
    )
    with op.batch_alter_table('customer_tag', schema=None) as batch_op:
        batch_op.create_index('ix_customer_tag_tag_id', ['tag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_tag_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('call', 'visit', 'chat', 'email', 'other', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_follow_up_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_follow_up_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_follow_up_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_customer_id_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False, server_default='CNY'),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_purchase_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_purchase_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_purchase_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase'))
    )
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_customer_id_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('done_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_reminder_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name=op.f('fk_reminder_follow_up_id_follow_up'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_reminder_member_id_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_reminder_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder'))
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index('ix_reminder_due', ['done_at', 'fired_at', 'due_at'], unique=False)
        batch_op.create_index('ix_reminder_member_id_due_at', ['member_id', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_workspace_id'), ['workspace_id'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=16), nullable=False, server_default='new'))
        batch_op.add_column(sa.Column('grade', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('score', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ownership', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('business_type', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('location_type', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('route_order', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('birthday_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('join_token', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('last_contact_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('owner_assigned_at', bot.crm.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_customer_workspace_id_name', ['workspace_id', 'name'], unique=False)
        batch_op.create_index('ix_customer_workspace_id_region_route_order', ['workspace_id', 'region', 'route_order'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_customer_join_token'), ['join_token'])

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('digest_time', sa.String(length=5), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_member_team_id_team'), 'team', ['team_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=False, server_default='CNY'))
        batch_op.add_column(sa.Column('lead_return_days', sa.Integer(), nullable=False, server_default='14'))
        batch_op.add_column(sa.Column('grade_thresholds', sa.JSON(), nullable=False, server_default='{"A": 80, "B": 50}'))
        batch_op.add_column(sa.Column('stage_labels', sa.JSON(), nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_column('stage_labels')
        batch_op.drop_column('grade_thresholds')
        batch_op.drop_column('lead_return_days')
        batch_op.drop_column('currency')

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_member_team_id_team'), type_='foreignkey')
        batch_op.drop_column('digest_time')
        batch_op.drop_column('team_id')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customer_join_token'), type_='unique')
        batch_op.drop_index('ix_customer_workspace_id_region_route_order')
        batch_op.drop_index('ix_customer_workspace_id_name')
        batch_op.drop_column('owner_assigned_at')
        batch_op.drop_column('last_contact_at')
        batch_op.drop_column('join_token')
        batch_op.drop_column('birthday_date')
        batch_op.drop_column('route_order')
        batch_op.drop_column('region')
        batch_op.drop_column('location_type')
        batch_op.drop_column('business_type')
        batch_op.drop_column('ownership')
        batch_op.drop_column('score')
        batch_op.drop_column('grade')
        batch_op.drop_column('stage')

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_workspace_id'))
        batch_op.drop_index('ix_reminder_member_id_due_at')
        batch_op.drop_index('ix_reminder_due')

    op.drop_table('reminder')
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_workspace_id'))
        batch_op.drop_index('ix_purchase_customer_id_at')

    op.drop_table('purchase')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_workspace_id'))
        batch_op.drop_index('ix_follow_up_customer_id_at')

    op.drop_table('follow_up')
    with op.batch_alter_table('customer_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_tag_workspace_id'))
        batch_op.drop_index('ix_customer_tag_tag_id')

    op.drop_table('customer_tag')
    with op.batch_alter_table('customer_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_share_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_customer_share_member_id'))

    op.drop_table('customer_share')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_workspace_id'))

    op.drop_table('team')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_workspace_id'))

    op.drop_table('tag')
