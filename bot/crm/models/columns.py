"""Column types the tables repeat: ids, "now" timestamps, references to customers and members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import ForeignKey
from sqlalchemy.orm import mapped_column

from bot.crm.models.base import utcnow

IntPk = Annotated[int, mapped_column(primary_key=True)]
# A timestamp that is "now" unless given: a row's created_at, an event's at.
DefaultNow = Annotated[datetime, mapped_column(default=utcnow)]
# The customer a row is about: the row goes when the customer goes.
CustomerId = Annotated[int, mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))]
# The member who did something (used as ``MemberRef | None``): the row stays when they go.
MemberRef = Annotated[int, mapped_column(ForeignKey("member.id", ondelete="SET NULL"))]
