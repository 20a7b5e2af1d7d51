"""Rate limits as values: the pace, the per-chat interval, the shared 429 gate and backoff."""

from __future__ import annotations

import pytest

from bot.campaigns.delivery.ratelimit import (
    HEADROOM,
    ArrivalWindow,
    Backoff,
    ChatLimiter,
    RetryGate,
    TokenBucket,
)


def test_bucket_paces_messages_evenly_just_under_the_rate() -> None:
    bucket = TokenBucket(30)
    interval = 1 / (30 * HEADROOM)
    assert bucket.next_slot(100.0) == 0
    bucket.take(100.0)
    assert bucket.next_slot(100.0) == pytest.approx(interval)
    assert bucket.next_slot(100.0 + interval) == 0
    # 30 messages taken as soon as allowed span more than one second, so no sliding
    # one-second window ever holds 31.
    now = 200.0
    times = []
    for _ in range(31):
        now += bucket.next_slot(now)
        bucket.take(now)
        times.append(now)
    assert times[30] - times[0] > 1.0
    assert 30 / (times[30] - times[0]) >= 0.98 * 30


def test_bucket_keeps_its_schedule_when_sends_are_a_little_late() -> None:
    bucket = TokenBucket(30)
    interval = bucket.interval
    now = 10.0
    times = []
    for _ in range(61):
        now += bucket.next_slot(now) + 0.001  # every send oversleeps by 1 ms
        bucket.take(now)
        times.append(now)
    # The pace holds (60 intervals, not 60 × (interval + 1 ms)), yet no 31 sends fit
    # in one second.
    assert times[60] - times[0] == pytest.approx(60 * interval, abs=0.003)
    assert min(times[k + 30] - times[k] for k in range(31)) > 1.0


def test_bucket_does_not_bank_idle_time_beyond_its_burst() -> None:
    bucket = TokenBucket(10, burst=3)
    bucket.take(0.0)
    # Long idle: three may go at once, the fourth waits a full interval.
    for _ in range(3):
        assert bucket.next_slot(50.0) == 0
        bucket.take(50.0)
    assert bucket.next_slot(50.0) == pytest.approx(1 / (10 * HEADROOM))


def test_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_chat_limiter_spaces_messages_to_one_chat_only() -> None:
    chats = ChatLimiter(1.0)
    chats.take(7, 10.0)
    assert chats.next_slot(7, 10.25) == pytest.approx(0.75)
    assert chats.next_slot(8, 10.25) == 0
    assert chats.next_slot(7, 11.0) == 0


def test_gate_holds_everyone_and_never_shortens() -> None:
    gate = RetryGate()
    assert gate.wait(5.0) == 0
    gate.close(5.0, 2)
    assert gate.wait(5.5) == pytest.approx(1.5)
    gate.close(5.5, 0.5)  # a shorter retry_after later does not reopen early
    assert gate.wait(6.0) == pytest.approx(1.0)
    assert gate.wait(7.0) == 0


def test_backoff_grows_is_bounded_and_jitters_with_the_given_random() -> None:
    middle = Backoff(random=lambda: 0.5, base=1, factor=2, cap=10, jitter=0.2)
    assert [middle.delay(n) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    low = Backoff(random=lambda: 0.0, base=1, factor=2, cap=10, jitter=0.2)
    high = Backoff(random=lambda: 0.999, base=1, factor=2, cap=10, jitter=0.2)
    assert low.delay(3) == pytest.approx(3.2)
    assert high.delay(3) == pytest.approx(4.8, rel=1e-3)
    assert high.delay(9) == 10


def test_backoff_refuses_bad_settings_naming_them() -> None:
    with pytest.raises(ValueError, match="factor=0.5"):
        Backoff(random=lambda: 0.0, factor=0.5)


def test_arrival_window_never_binds_while_answers_are_prompt() -> None:
    window = ArrivalWindow(30)
    bucket = TokenBucket(30)
    now = 0.0
    for _ in range(200):
        now += max(bucket.next_slot(now), window.next_slot(now))
        bucket.take(now)
        ticket = window.take(now)
        window.answered(ticket, now + 0.001)
    # Paced by the bucket alone: 200 sends in 199 intervals.
    assert now == pytest.approx(199 * bucket.interval)


def test_a_late_answer_holds_the_next_sends_back_by_as_much() -> None:
    window = ArrivalWindow(3, margin=0.0)
    tickets = [window.take(t) for t in (0.0, 0.4, 0.8)]
    window.answered(tickets[1], 0.401)
    window.answered(tickets[2], 0.801)
    window.answered(tickets[0], 0.051)  # 50 ms slower than the others: it may have arrived late
    # The 4th may go only once the 1st (arrived by 0.05) is more than a second old.
    assert window.next_slot(1.0) == pytest.approx(0.05)
    assert window.next_slot(1.05) == 0
    window.take(1.05)
    assert window.next_slot(1.05) == pytest.approx(0.35)


def test_an_unanswered_message_holds_the_window_at_most_cap() -> None:
    window = ArrivalWindow(2, margin=0.0, cap=1.0)
    window.answered(window.take(0.0), 0.001)
    window.take(0.5)  # never answered
    window.take(1.2)
    # The one in flight since 0.5 is looked at again shortly while it may still arrive...
    assert 0 < window.next_slot(1.3) <= 0.3
    # ...and once it is a cap late, counted as arriving at 0.5 + 1.0.
    assert window.next_slot(1.6) == pytest.approx(0.9)
