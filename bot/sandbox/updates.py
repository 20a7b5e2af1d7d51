"""The update queue: pending updates, allowed_updates filtering and the long-poll slot.

Telegram semantics: update_id grows by one per update; an update stays queued
until a getUpdates call with a higher offset (or a successful webhook delivery)
confirms it; a negative offset keeps only that many of the newest updates; the
``allowed_updates`` setting applies to updates created after it was changed; and a
new getUpdates call ends one still waiting with a conflict.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

JsonDict = dict[str, Any]

# Every update type the Bot API documents.
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Types that are only delivered when allowed_updates names them explicitly.
OPT_IN_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Keep at most this many unconfirmed updates; the oldest are dropped first.
MAX_PENDING = 100_000


class PollEnd(StrEnum):
    """Why a waiting getUpdates call woke up."""

    UPDATE = "update"
    CONFLICT = "conflict"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Update:
    """One queued update."""

    update_id: int
    kind: str
    payload: JsonDict

    def to_json(self) -> JsonDict:
        """Return the Update object as the Bot API sends it."""
        return {"update_id": self.update_id, self.kind: self.payload}


class UpdateQueue:
    """Hold unconfirmed updates and wake whoever waits for them."""

    def __init__(self) -> None:
        self._items: deque[Update] = deque()
        # Like Telegram, start from an arbitrary number rather than 1: a bot that keeps
        # the ids it handled (to ignore redeliveries) must not mistake a restarted
        # emulator's updates for old ones. Milliseconds since the epoch only grow.
        self._next_id = time.time_ns() // 1_000_000
        self._allowed: frozenset[str] | None = None
        self._poll: asyncio.Future[PollEnd] | None = None
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def allowed_updates(self) -> list[str] | None:
        """Return the explicit allowed_updates setting, or None for the default."""
        return sorted(self._allowed) if self._allowed is not None else None

    def set_allowed(self, types: list[str] | None) -> None:
        """Change which update types are queued from now on (None or [] is the default)."""
        self._allowed = frozenset(types) if types else None

    def allows(self, kind: str) -> bool:
        """Return True when updates of this type are currently queued."""
        if self._allowed is None:
            return kind not in OPT_IN_TYPES
        return kind in self._allowed

    def push(self, kind: str, payload: JsonDict) -> int | None:
        """Queue an update; return its update_id, or None when its type is not allowed."""
        if not self.allows(kind):
            return None
        update_id = self._next_id
        self._next_id += 1
        self._items.append(Update(update_id, kind, payload))
        if len(self._items) > MAX_PENDING:
            self._items.popleft()
        poll = self._poll
        if poll is not None and not poll.done():
            poll.set_result(PollEnd.UPDATE)
        if self._waiters:
            self._wake_waiters()
        return update_id

    def confirm(self, offset: int) -> None:
        """Forget the updates a getUpdates ``offset`` confirms (negative: keep the newest)."""
        items = self._items
        if offset < 0:
            while len(items) > -offset:
                items.popleft()
            return
        while items and items[0].update_id < offset:
            items.popleft()

    def remove(self, update_id: int) -> None:
        """Forget one update a webhook delivery confirmed (deliveries end in any order)."""
        items = self._items
        if items and items[0].update_id == update_id:
            items.popleft()
            return
        for index, update in enumerate(items):
            if update.update_id == update_id:
                del items[index]
                return

    def peek(self, limit: int = 100) -> list[Update]:
        """Return up to ``limit`` of the oldest unconfirmed updates."""
        if limit >= len(self._items):
            return list(self._items)
        return [self._items[i] for i in range(limit)]

    def first(self) -> Update | None:
        """Return the oldest unconfirmed update, or None."""
        return self._items[0] if self._items else None

    @property
    def pending_count(self) -> int:
        """Return how many updates are waiting to be confirmed."""
        return len(self._items)

    @property
    def last_update_id(self) -> int:
        """Return the update_id given to the newest update (one below the first before any)."""
        return self._next_id - 1

    def drop_pending(self) -> None:
        """Forget all unconfirmed updates (update_id keeps growing)."""
        self._items.clear()

    def begin_poll(self) -> asyncio.Future[PollEnd]:
        """Claim the long-poll slot, ending any earlier waiting call with a conflict."""
        previous = self._poll
        if previous is not None and not previous.done():
            previous.set_result(PollEnd.CONFLICT)
        ticket: asyncio.Future[PollEnd] = asyncio.get_running_loop().create_future()
        self._poll = ticket
        return ticket

    def end_poll(self, ticket: asyncio.Future[PollEnd]) -> None:
        """Release the long-poll slot taken by ``ticket``."""
        if self._poll is ticket:
            self._poll = None
        if not ticket.done():
            ticket.cancel()

    def interrupt_poll(self) -> None:
        """End a waiting getUpdates call because a webhook was set."""
        poll = self._poll
        if poll is not None and not poll.done():
            poll.set_result(PollEnd.WEBHOOK)

    async def wait_changed(self, seconds: float | None = None) -> None:
        """Wait until an update is queued or ``wake`` is called (or ``seconds`` pass)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def wake(self) -> None:
        """Wake everything waiting in ``wait_changed``."""
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
