"""The audit log: who changed what, written in the same unit of work as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import AuditLog


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
