"""Run every benchmark in turn: ``python -m bench`` (about 15 minutes)."""

import asyncio

from bench import broadcast, conversations, crm, dispatch, isolation, tiers

asyncio.run(dispatch.main())
asyncio.run(crm.main())
asyncio.run(broadcast.main())
asyncio.run(tiers.main())
asyncio.run(isolation.main())
asyncio.run(conversations.main())
