"""Run every benchmark in turn: ``python -m bench``."""

import asyncio

from bench import dispatch

asyncio.run(dispatch.main())
