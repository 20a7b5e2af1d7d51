"""Field options: a workspace's own list of choices for each of its customer fields."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.crm.models.base import Base, WorkspaceMixin
from bot.crm.models.columns import IntPk


class FieldOption(WorkspaceMixin, Base):
    """One choice of a customer field (``gender``, ``ownership``…) in one workspace.

    ``key`` is what customer rows store. A preset option keeps ``label`` empty and
    shows its built-in name in the reader's language; an option an admin added or
    renamed shows ``label`` as typed.
    """

    __tablename__ = "field_option"
    __table_args__ = (UniqueConstraint("workspace_id", "field", "key"),)

    id: Mapped[IntPk]
    field: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(24))
    label: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
