"""A scale-out worker with no campaign rate limit, for ``bench.scaleout``'s uncapped delivery.

Runs ``scrm-bot run`` as configured by the environment, except that campaign
delivery has a rate far above what a worker can reach (paid broadcast,
concurrency 256), so the figure is what the workers themselves can do. Telegram
caps paid broadcasts at 1,000 messages/s, which the settings enforce; only this
benchmark goes past it, against the emulator.
"""

from __future__ import annotations

import asyncio
import os
import signal

from bot.app import serve
from bot.config import DeliverySettings, load_settings
from bot.ops.logs import setup_logging


async def _serve() -> None:
    settings = load_settings(None, os.environ)
    delivery = DeliverySettings.model_construct(
        **{
            **settings.delivery.model_dump(),
            "rate_per_second": 1_000_000.0,
            "paid_broadcast": True,
            "concurrency": 256,
            "batch_size": 1000,
        }
    )
    settings = settings.model_copy(update={"delivery": delivery})
    setup_logging(settings.logging.level, settings.logging.format)
    token = settings.telegram.token
    assert token is not None  # noqa: S101 - bench.scaleout always sets one
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await serve(settings, token=token.get_secret_value(), stop=stop)


if __name__ == "__main__":
    asyncio.run(_serve())
