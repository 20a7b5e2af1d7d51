"""The audit log: who changed what, written in the same unit of work as the change."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import AuditLog, Member


async def record(
    session: AsyncSession,
    *,
    workspace_id: int,
    actor_member_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry (ids and field names only, never personal data)."""
    session.add(
        AuditLog(
            workspace_id=workspace_id,
            actor_member_id=actor_member_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details or {},
        )
    )


class Audited(Protocol):
    """A row an audit entry can name: its table and its id."""

    __tablename__: Any

    @property
    def id(self) -> int:
        """Return the row's id."""
        ...


class TenantAudited(Audited, Protocol):
    """An audited row that names its workspace."""

    @property
    def workspace_id(self) -> int:
        """Return the id of the row's workspace."""
        ...


async def record_change(
    session: AsyncSession,
    actor: Member,
    action: str,
    row: Audited,
    details: dict[str, Any] | None = None,
    /,
) -> None:
    """Append one audit entry for a change ``actor`` made to ``row`` in their own workspace."""
    await _record_row(session, actor.workspace_id, actor.id, action, row, details)


async def record_system(
    session: AsyncSession,
    action: str,
    row: TenantAudited,
    details: dict[str, Any] | None = None,
    /,
) -> None:
    """Append one audit entry for a change the bot made to ``row`` on its own."""
    await _record_row(session, row.workspace_id, None, action, row, details)


async def _record_row(
    session: AsyncSession,
    workspace_id: int,
    actor_member_id: int | None,
    action: str,
    row: Audited,
    details: dict[str, Any] | None,
) -> None:
    await record(
        session,
        workspace_id=workspace_id,
        actor_member_id=actor_member_id,
        action=action,
        entity=row.__tablename__,
        entity_id=row.id,
        details=details,
    )
