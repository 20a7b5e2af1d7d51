"""The delivery engine: outbox rows sent at Telegram's pace, exactly once or counted unknown."""

from bot.campaigns.delivery.engine import DeliveryEngine
from bot.campaigns.delivery.outbox import counts, enqueue
from bot.campaigns.delivery.run import RunReport, report

__all__ = ["DeliveryEngine", "RunReport", "counts", "enqueue", "report"]
