"""Rate limits as values: a global pace, a per-chat interval, the shared 429 gate, backoff.

Nothing here sleeps or reads a clock: every method takes ``now`` (monotonic
seconds) and returns how long to wait, so the engine decides how to wait and
tests assert on the numbers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Telegram counts messages in sliding one-second windows as they arrive. Issuing at
# 99 % of the limit leaves ~10 ms of slack per window at 30/s for ordinary network
# jitter; a request that is held up for longer is caught by the ArrivalWindow below.
HEADROOM = 0.99
# Per-chat history older than this many intervals is forgotten (a broadcast
# touches every chat once, so the table would otherwise grow with the audience).
_CHAT_PRUNE_AT = 50_000
_EPSILON = 1e-9
# How late (s) a send may be and still keep its place in the schedule.
LATE_TOLERANCE = 0.002


class TokenBucket:
    """A global pace of ``rate`` messages per second, with room for ``burst`` at once."""

    def __init__(self, rate: float, burst: int = 1, headroom: float = HEADROOM) -> None:
        if rate <= 0 or burst < 1:
            msg = "rate must be positive and burst at least 1"
            raise ValueError(msg)
        self.interval = 1.0 / (rate * headroom)
        self.burst = burst
        # Small enough that 31 sends still span over a second with the headroom above.
        self.tolerance = min(self.interval / 4, LATE_TOLERANCE)
        # The theoretical arrival time of the next message (GCRA): a send may go at
        # ``tat - (burst - 1) * interval`` at the earliest.
        self._tat = float("-inf")

    def next_slot(self, now: float) -> float:
        """Return the seconds to wait before the next message may go (0 = now)."""
        wait = self._tat - (self.burst - 1) * self.interval - now
        # Sums of float intervals leave crumbs like 7e-15; those are "now".
        return wait if wait > _EPSILON else 0.0

    def take(self, now: float) -> None:
        """Use up one slot at ``now`` (call when ``next_slot(now)`` is 0).

        A send that is a little late (timer and scheduling lag, up to ``tolerance``)
        keeps the schedule instead of pushing it back; otherwise every millisecond of
        oversleep would be lost for good and the achieved rate would sag below the pace.
        """
        late = now - self._tat
        base = self._tat if 0 < late <= self.tolerance else max(self._tat, now)
        self._tat = base + self.interval


@dataclass(slots=True)
class Ticket:
    """One message in the arrival window: when it left and, once answered, its latest arrival."""

    sent: float
    arrived_by: float | None = None


class ArrivalWindow:
    """At most ``limit`` messages in any ``span`` seconds, counted as Telegram counts them.

    Telegram counts a message when it arrives, and a request that is held up on
    the way (a busy network, a stalled server) arrives late, bunched with later
    ones: even pacing then puts one message too many into a second. So each
    message's arrival is bounded from its answer: it arrived at most its extra
    delay (round trip minus the recent fastest one) after it left. A message may
    go only once the ``limit``-th one before it arrived, by that bound, more than
    ``span`` seconds ago. When nothing is late this never binds (the pace is a
    little slower than the limit); a late answer holds the next sends back by as
    much as it was late. An answer slower than ``cap`` counts as ``cap`` late, so
    a lost request holds sending back for ``span + cap`` at most.
    """

    def __init__(
        self,
        limit: int,
        span: float = 1.0,
        *,
        margin: float = 0.002,
        cap: float = 1.0,
        history: int = 64,
    ) -> None:
        if limit < 1 or span <= 0:
            msg = "limit must be at least 1 and span positive"
            raise ValueError(msg)
        self.limit = limit
        self.span = span
        self.margin = margin
        self.cap = cap
        self._window: deque[Ticket] = deque()
        self._trips: deque[float] = deque(maxlen=history)
        self._fastest = 0.0

    def next_slot(self, now: float) -> float:
        """Return the seconds to wait before the next message may go (0 = now)."""
        if len(self._window) < self.limit:
            return 0.0
        oldest = self._window[0]
        if oldest.arrived_by is None:
            late = now - oldest.sent - self._fastest
            if late < self.cap:
                # Still unanswered: look again soon (it normally answers in milliseconds).
                return max(oldest.sent + self.span + self.margin - now, 0.005)
            arrived_by = oldest.sent + self.cap
        else:
            arrived_by = oldest.arrived_by
        wait = arrived_by + self.span + self.margin - now
        return wait if wait > _EPSILON else 0.0

    def take(self, now: float) -> Ticket:
        """Record a message leaving at ``now``; pass its ticket to ``answered`` later."""
        ticket = Ticket(now)
        self._window.append(ticket)
        if len(self._window) > self.limit:
            self._window.popleft()
        return ticket

    def answered(self, ticket: Ticket, now: float) -> None:
        """Record that the message's answer (or failure) came back at ``now``."""
        trip = max(0.0, now - ticket.sent)
        self._trips.append(trip)
        self._fastest = min(self._trips)
        ticket.arrived_by = ticket.sent + min(self.cap, trip - self._fastest)


class ChatLimiter:
    """At most one message per ``interval`` seconds to each chat."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[int, float] = {}

    def next_slot(self, chat_id: int, now: float) -> float:
        """Return the seconds to wait before this chat may get another message."""
        last = self._last.get(chat_id)
        if last is None:
            return 0.0
        return max(0.0, last + self.interval - now)

    def take(self, chat_id: int, now: float) -> None:
        """Record a message to the chat at ``now``."""
        if len(self._last) >= _CHAT_PRUNE_AT:
            horizon = now - self.interval
            self._last = {k: t for k, t in self._last.items() if t > horizon}
        self._last[chat_id] = now


class RetryGate:
    """One gate for every sender: a 429's ``retry_after`` holds back all messages."""

    def __init__(self) -> None:
        self.open_at = float("-inf")

    def close(self, now: float, retry_after: float) -> None:
        """Hold every send until ``retry_after`` seconds from ``now`` (never shortens)."""
        self.open_at = max(self.open_at, now + max(retry_after, 0.0))

    def wait(self, now: float) -> float:
        """Return the seconds left before the gate opens (0 = open)."""
        return max(0.0, self.open_at - now)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter for 5xx and network errors, bounded by ``cap``.

    ``random`` returns a float in [0, 1); it is injected so tests know the delays.
    """

    random: Callable[[], float]
    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base or not 0 <= self.jitter < 1:
            msg = (
                f"Backoff needs base > 0, factor >= 1, cap >= base and 0 <= jitter < 1; got "
                f"base={self.base}, factor={self.factor}, cap={self.cap}, jitter={self.jitter}"
            )
            raise ValueError(msg)

    def delay(self, attempt: int) -> float:
        """Return the wait before retry number ``attempt`` (1 = the first retry)."""
        raw = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        # Spread retries of many rows that failed together so they do not return as a herd.
        spread = 1.0 + self.jitter * (2.0 * self.random() - 1.0)
        return min(self.cap, raw * spread)
