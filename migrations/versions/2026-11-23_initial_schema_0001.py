"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:31:30.917467+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crm.models


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('processed_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_update'))
    )
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_update_at'), ['at'], unique=False)

    op.create_table('user_pref',
    sa.Column('tg_user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('updated_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tg_user_id', name=op.f('pk_user_pref'))
    )
    op.create_table('workspace',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=48), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=2), nullable=True),
    sa.Column('created_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspace')),
    sa.UniqueConstraint('slug', name=op.f('uq_workspace_slug'))
    )
    op.create_table('company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['company.id'], name=op.f('fk_company_parent_id_company'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_company_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('workspace_id', 'parent_id', 'name', name=op.f('uq_company_workspace_id_parent_id_name'))
    )
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('conversation_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('dialog', sa.String(length=48), nullable=False),
    sa.Column('step', sa.String(length=48), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('expires_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_conversation_state_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_state')),
    sa.UniqueConstraint('workspace_id', 'chat_id', 'user_id', name=op.f('uq_conversation_state_workspace_id_chat_id_user_id'))
    )
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_state_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tg_user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'staff', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('referral_code', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_member_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('referral_code', name=op.f('uq_member_referral_code')),
    sa.UniqueConstraint('workspace_id', 'tg_user_id', name=op.f('uq_member_workspace_id_tg_user_id'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index('ix_member_tg_user_id', ['tg_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_member_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_member_id'], ['member.id'], name=op.f('fk_audit_log_actor_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_audit_log_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_member_id', sa.Integer(), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('tg_user_id', sa.BigInteger(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('kind', sa.Enum('lead', 'customer', name='customerkind', native_enum=False, length=16), nullable=False),
    sa.Column('consent', sa.Enum('unknown', 'opted_in', 'opted_out', name='consent', native_enum=False, length=16), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_customer_company_id_company'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_member_id'], ['member.id'], name=op.f('fk_customer_owner_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_customer_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('workspace_id', 'phone', name=op.f('uq_customer_workspace_id_phone')),
    sa.UniqueConstraint('workspace_id', 'tg_user_id', name=op.f('uq_customer_workspace_id_tg_user_id'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_owner_member_id'), ['owner_member_id'], unique=False)
        batch_op.create_index('ix_customer_tg_user_id', ['tg_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'staff', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('created_by_member_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', bot.crm.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('used_by_member_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', bot.crm.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_member_id'], ['member.id'], name=op.f('fk_invite_created_by_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['used_by_member_id'], ['member.id'], name=op.f('fk_invite_used_by_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_invite_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invite_code_hash'))
    )
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('opt_in', 'opt_out', 'declined', 'blocked', 'unblocked', name='consentaction', native_enum=False, length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('actor_member_id', sa.Integer(), nullable=True),
    sa.Column('at', bot.crm.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_member_id'], ['member.id'], name=op.f('fk_consent_event_actor_member_id_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_consent_event_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_consent_event_workspace_id_workspace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_event_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_event_workspace_id'), ['workspace_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_event_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_consent_event_customer_id'))

    op.drop_table('consent_event')
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_workspace_id'))

    op.drop_table('invite')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_workspace_id'))
        batch_op.drop_index('ix_customer_tg_user_id')
        batch_op.drop_index(batch_op.f('ix_customer_owner_member_id'))

    op.drop_table('customer')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_workspace_id'))
        batch_op.drop_index('ix_member_tg_user_id')

    op.drop_table('member')
    with op.batch_alter_table('conversation_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_state_workspace_id'))

    op.drop_table('conversation_state')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_workspace_id'))

    op.drop_table('company')
    op.drop_table('workspace')
    op.drop_table('user_pref')
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_update_at'))

    op.drop_table('processed_update')
