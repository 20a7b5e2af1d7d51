"""Run every benchmark in turn: ``python -m bench`` (about 25 minutes)."""

import asyncio

from bench import (
    broadcast,
    conversations,
    crm,
    dispatch,
    inbound,
    isolation,
    scaleout,
    screens,
    startup,
    tiers,
)

asyncio.run(dispatch.main())
asyncio.run(crm.main())
asyncio.run(screens.main())
asyncio.run(broadcast.main())
asyncio.run(tiers.main())
asyncio.run(isolation.main())
asyncio.run(conversations.main())
asyncio.run(startup.main())
asyncio.run(inbound.main())
asyncio.run(scaleout.main())
