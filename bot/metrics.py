"""Process metrics: the counters every layer updates and ``/metrics`` exposes to Prometheus.

One ``Metrics`` per process, in ``METRICS``: counters describe the process, not a
shop, so they live as long as it does (as Prometheus's own client keeps its
default registry). Labels are kinds and codes, never ids or personal data.
Gauges read from the database (outbox rows, pool use) are set by the
``/metrics`` endpoint just before each scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter

# Handling an update is mostly well under a second; a slow export or chart takes seconds.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """The process's Prometheus metrics, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "scrm_updates_handled",
            "Updates handled, by kind (command, text, callback...) and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "scrm_handler_seconds",
            "Time to handle one update and send its replies.",
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        self.replies = Counter(
            "scrm_replies_sent",
            "Replies sent to an update, by kind (text, edit, document, photo, answer).",
            ["kind"],
            registry=r,
        )
        self.telegram_errors = Counter(
            "scrm_telegram_errors",
            "Requests Telegram refused, by code (400, 403, 429, 5xx for server and network).",
            ["code"],
            registry=r,
        )
        self.retry_after_seconds = Counter(
            "scrm_retry_after_wait_seconds",
            "Seconds campaign sending was held because Telegram answered 429 retry_after.",
            registry=r,
        )
        self.campaign_sent = Counter(
            "scrm_campaign_messages_sent",
            "Campaign messages Telegram accepted.",
            registry=r,
        )
        self.outbox_rows = Gauge(
            "scrm_outbox_rows", "Campaign outbox rows by status.", ["status"], registry=r
        )
        self.scheduler_lag = Histogram(
            "scrm_scheduler_lag_seconds",
            "How late a scheduled job started after its planned time.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.reminders_late = Counter(
            "scrm_reminders_fired_late",
            "Reminders that reached their rep more than a minute after they were due.",
            registry=r,
        )
        self.db_pool_in_use = Gauge(
            "scrm_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            registry=r,
        )
        self.db_pool_size = Gauge(
            "scrm_db_pool_size", "Database connections the pool keeps open.", registry=r
        )

    def telegram_error(self, error: DeliveryError, status: int | None = None) -> None:
        """Count a refusal by Telegram, by HTTP status when known, else by what it means."""
        self.telegram_errors.labels(str(status) if status else _code(error)).inc()


def _code(error: DeliveryError) -> str:
    if isinstance(error, RetryAfter):
        return "429"
    if isinstance(error, Blocked):
        return "403"
    if isinstance(error, BadRequest):
        return "400"
    return "5xx"


METRICS = Metrics()
