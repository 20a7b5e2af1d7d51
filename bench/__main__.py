"""Run every benchmark in turn: ``python -m bench``."""

import asyncio

from bench import crm, dispatch

asyncio.run(dispatch.main())
asyncio.run(crm.main())
