"""inbox conversations: threads, messages, relays, quick replies, settings, shop choice

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 23:50:07+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crm.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_shop_choice",
        sa.Column("tg_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_inbox_shop_choice_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tg_user_id", name=op.f("pk_inbox_shop_choice")),
    )
    with op.batch_alter_table("inbox_shop_choice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_shop_choice_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "inbox_settings",
        sa.Column("workspace_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("open_from", sa.String(length=5), nullable=True),
        sa.Column("open_until", sa.String(length=5), nullable=True),
        sa.Column("reply_sla_minutes", sa.Integer(), nullable=True),
        sa.Column("sign_replies", sa.Boolean(), nullable=False),
        sa.Column("updated_by_member_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_member_id"],
            ["member.id"],
            name=op.f("fk_inbox_settings_updated_by_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_inbox_settings_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_inbox_settings")),
    )
    op.create_table(
        "quick_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by_member_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_member_id"],
            ["member.id"],
            name=op.f("fk_quick_reply_updated_by_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_quick_reply_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_reply")),
        sa.UniqueConstraint(
            "workspace_id", "key", "locale", name=op.f("uq_quick_reply_workspace_id_key_locale")
        ),
    )
    with op.batch_alter_table("quick_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quick_reply_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "chat_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("assignee_member_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="threadstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("campaign_run_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_inbound_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_outbound_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("waiting_since", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "sla_reminded_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "sla_escalated_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("closed_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "close_reason",
            sa.Enum("done", "quiet", "erased", name="closereason", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("closed_by_member_id", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_member_id"],
            ["member.id"],
            name=op.f("fk_chat_thread_assignee_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_run_id"],
            ["campaign_run.id"],
            name=op.f("fk_chat_thread_campaign_run_id_campaign_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_member_id"],
            ["member.id"],
            name=op.f("fk_chat_thread_closed_by_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_chat_thread_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_chat_thread_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_thread")),
    )
    with op.batch_alter_table("chat_thread", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_thread_assignee_status", ["assignee_member_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_chat_thread_open_customer",
            ["customer_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(
            "ix_chat_thread_status_last_outbound", ["status", "last_outbound_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_thread_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "ix_chat_thread_workspace_opened", ["workspace_id", "opened_at"], unique=False
        )
        batch_op.create_index(
            "ix_chat_thread_workspace_status_waiting",
            ["workspace_id", "status", "waiting_since"],
            unique=False,
        )

    op.create_table(
        "chat_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("in", "out", name="direction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "text",
                "photo",
                "voice",
                "video",
                "video_note",
                "audio",
                "document",
                "sticker",
                "animation",
                "location",
                "contact",
                "other",
                name="messagekind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("tg_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("tg_message_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_chat_message_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_chat_message_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["chat_thread.id"],
            name=op.f("fk_chat_message_thread_id_chat_thread"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_chat_message_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_message")),
    )
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_message_customer_id_id", ["customer_id", "id"], unique=False
        )
        batch_op.create_index("ix_chat_message_thread_id_id", ["thread_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chat_message_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "chat_relay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum("copy", "notice", name="relayrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", bot.crm.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_chat_relay_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_message.id"],
            name=op.f("fk_chat_relay_message_id_chat_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["chat_thread.id"],
            name=op.f("fk_chat_relay_thread_id_chat_thread"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_chat_relay_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_relay")),
        sa.UniqueConstraint(
            "staff_chat_id",
            "staff_message_id",
            name=op.f("uq_chat_relay_staff_chat_id_staff_message_id"),
        ),
    )
    with op.batch_alter_table("chat_relay", schema=None) as batch_op:
        batch_op.create_index("ix_chat_relay_thread_id", ["thread_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chat_relay_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_relay", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_relay_workspace_id"))
        batch_op.drop_index("ix_chat_relay_thread_id")

    op.drop_table("chat_relay")
    with op.batch_alter_table("chat_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_message_workspace_id"))
        batch_op.drop_index("ix_chat_message_thread_id_id")
        batch_op.drop_index("ix_chat_message_customer_id_id")

    op.drop_table("chat_message")
    with op.batch_alter_table("chat_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_thread_workspace_status_waiting")
        batch_op.drop_index("ix_chat_thread_workspace_opened")
        batch_op.drop_index(batch_op.f("ix_chat_thread_workspace_id"))
        batch_op.drop_index("ix_chat_thread_status_last_outbound")
        batch_op.drop_index(
            "ix_chat_thread_open_customer",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_chat_thread_assignee_status")

    op.drop_table("chat_thread")
    with op.batch_alter_table("quick_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quick_reply_workspace_id"))

    op.drop_table("quick_reply")
    op.drop_table("inbox_settings")
    with op.batch_alter_table("inbox_shop_choice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_shop_choice_workspace_id"))

    op.drop_table("inbox_shop_choice")
