"""Wiring: what the delivery engine's parts share, built once by the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DeliverySettings
from bot.messaging import Messenger


@dataclass(frozen=True, slots=True)
class Wiring:
    """The store, Telegram, the settings, the clocks and the stop signal of one engine."""

    sessions: async_sessionmaker[AsyncSession]
    messenger: Messenger
    settings: DeliverySettings
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    # Set once when the engine stops: every loop of the feeder and the senders ends.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # This worker's presence key, written on the rows it claims (several workers).
    worker: int | None = None
