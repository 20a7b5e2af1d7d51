"""The composition root: settings → store → dispatcher → schedulers and delivery → adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.campaigns.delivery.engine import DeliveryEngine
from bot.campaigns.delivery.shared_pace import SharedPace
from bot.campaigns.leader import AdvisoryLeadership, leadership_for
from bot.campaigns.presence import WorkerPresence
from bot.campaigns.render_pool import RenderPool
from bot.campaigns.scheduler import CampaignScheduler
from bot.chat.context import AppInfo
from bot.chat.dispatcher import Dispatcher
from bot.config import Settings
from bot.crm import migrate, restore
from bot.crm.models import utcnow
from bot.crm.store import create_engine, create_sessionmaker
from bot.handlers import ROUTERS
from bot.i18n import LOCALES
from bot.jobs.backups import nightly_backup
from bot.jobs.churn_alerts import churn_alerts
from bot.jobs.complaints import complaint_reminders
from bot.jobs.followups import fire_due_reminders, send_digests
from bot.jobs.inbox import QUIET_EVERY_SECONDS, close_quiet_threads, sla_alerts
from bot.jobs.leads import return_stale_leads_job
from bot.jobs.tiers import nightly_tiers
from bot.messaging import CommandScope, Messenger
from bot.ops.health import OpsServer, Readiness, database_file
from bot.scheduler import Scheduler
from bot.telegram import run_bot

logger = logging.getLogger(__name__)
# Telegram scopes command menus by two-letter ISO 639-1 codes.
MENU_LANGUAGES = {"en": None, "zh-CN": "zh"}
# Leads return to the pool after days without follow-up; a few minutes' delay is fine.
STALE_LEADS_EVERY_SECONDS = 600
# Tiers are recomputed once a night per shop; the job only checks who is due.
TIERS_EVERY_SECONDS = 900
# Detection runs at most once a day per shop; the hourly tick sends alerts held by quiet hours.
CHURN_ALERTS_EVERY_SECONDS = 3600
# The nightly backup checks whether one is due; it is taken at the configured hour.
BACKUP_EVERY_SECONDS = 300
# SIGTERM ends the process within 15 s (bot/cli.py enforces it): running jobs get
# JOB_GRACE seconds beside the delivery engine's own deadline (about 5 s), then the
# adapter drains its handlers (3 s) and the leadership lock is given up.
JOB_GRACE = 3.0
RELEASE_GRACE = 2.0


async def serve(
    settings: Settings,
    *,
    token: str,
    stop: asyncio.Event,
    on_ready: Callable[[Messenger], Awaitable[None]] | None = None,
) -> None:
    """Run the bot until ``stop`` is set: migrate, then handle updates.

    Raises:
        SchemaError: when the database was written by a newer release.
        BackupError: when a backup is being restored into the database right now.
    """
    # Held as long as the process runs: ``scrm-bot restore`` refuses meanwhile.
    with restore.running_on(settings.database.url):
        await _serve(settings, token=token, stop=stop, on_ready=on_ready)


async def _serve(
    settings: Settings,
    *,
    token: str,
    stop: asyncio.Event,
    on_ready: Callable[[Messenger], Awaitable[None]] | None,
) -> None:
    url = settings.database.url
    await migrate.upgrade_checked(url)
    scaleout = settings.scaleout.enabled
    engine = create_engine(
        url,
        echo=settings.database.echo,
        lock_timeout_seconds=settings.scaleout.lock_timeout_seconds if scaleout else None,
        # Answered after handling, an update whose connection had died is delivered again:
        # no round trip per transaction to test the connection first.
        pre_ping=not scaleout,
    )
    sessions = create_sessionmaker(engine)
    # Admin-written templates are filled in by these worker processes, never on the loop.
    # They start at the first render that needs them: most shops' templates are plain
    # and never do, and start-up (time to first reply, idle memory) stays lean.
    renders = RenderPool()
    dispatcher = Dispatcher(
        sessions,
        AppInfo(
            default_locale=settings.i18n.default_locale,
            conversation_ttl_minutes=settings.bot.conversation_ttl_minutes,
            invite_ttl_hours=settings.bot.invite_ttl_hours,
            renders=renders,
            backup_dir=settings.backup.dir,
        ),
        clock=utcnow,
        routers=ROUTERS,
        chat_turns=scaleout,
    )
    await dispatcher.prune()
    # One leader (a PostgreSQL advisory lock; SQLite: this process) fires schedules
    # and delivers campaigns; every worker handles updates.
    leadership = leadership_for(engine)
    scheduler = Scheduler(clock=utcnow, leadership=leadership)
    # Several workers: each holds a presence lock (the leader knows a dead worker's
    # in-flight rows by it) and they share one campaign pace through the database.
    presence = WorkerPresence(engine) if scaleout else None
    if presence is not None:
        await presence.keep()
    shared_pace = SharedPace(sessions, settings.delivery.rate_per_second) if scaleout else None
    readiness = Readiness(
        engine,
        scheduler_running=lambda: scheduler.running,
        is_leader=leadership.is_leader,
        database_file=database_file(url),
    )
    ops = OpsServer(settings.ops.listen, readiness) if settings.ops.listen else None
    if ops is not None:
        await ops.start()
    # Built in ``ready``: they send through the messenger the adapter creates.
    delivery: list[DeliveryEngine] = []
    # When this process last ran churn detection for each workspace. Only a saving:
    # after a restart or a change of scheduler leader detection runs again at once,
    # and finds no episode twice. Keeping it in the database needs a workspace column.
    last_detect: dict[int, datetime] = {}
    # When this process last recomputed each workspace's value tiers: a shop whose
    # recompute wrote no row (nobody bought) is not recomputed every tick of the night.
    last_tiers: dict[int, datetime] = {}
    campaign_scheduler: list[CampaignScheduler] = []

    async def ready(messenger: Messenger) -> None:
        for locale in LOCALES:
            scope = CommandScope(language_code=MENU_LANGUAGES[locale])
            await messenger.set_commands(dispatcher.menus.menu(None, locale), scope)
        tick = settings.scheduler.tick_seconds
        scheduler.every("reminders", tick, lambda: fire_due_reminders(sessions, messenger, utcnow))
        scheduler.every("digests", tick, lambda: send_digests(sessions, messenger, utcnow))
        scheduler.every(
            "complaints", tick, lambda: complaint_reminders(sessions, messenger, utcnow)
        )
        scheduler.every("inbox-sla", tick, lambda: sla_alerts(sessions, messenger, utcnow))
        scheduler.every(
            "inbox-quiet", QUIET_EVERY_SECONDS, lambda: close_quiet_threads(sessions, utcnow)
        )
        scheduler.every(
            "stale-leads",
            STALE_LEADS_EVERY_SECONDS,
            lambda: return_stale_leads_job(sessions, messenger, utcnow),
        )
        scheduler.every(
            "tiers",
            TIERS_EVERY_SECONDS,
            lambda: nightly_tiers(sessions, utcnow, last_runs=last_tiers),
        )
        scheduler.every(
            "churn-alerts",
            CHURN_ALERTS_EVERY_SECONDS,
            lambda: churn_alerts(sessions, messenger, utcnow, last_detect=last_detect),
        )
        if settings.backup.dir:
            scheduler.every(
                "backup",
                BACKUP_EVERY_SECONDS,
                lambda: nightly_backup(url, settings.backup, utcnow),
            )
        scheduler.start()
        sender = DeliveryEngine(
            sessions,
            messenger,
            settings.delivery,
            clock=utcnow,
            leadership=leadership,
            renders=renders,
            shared_pace=shared_pace,
            presence=presence,
        )
        delivery.append(sender)
        await sender.start()
        planner = CampaignScheduler(
            sessions,
            messenger,
            clock=utcnow,
            grace=timedelta(hours=settings.campaigns.misfire_grace_hours),
            wake=sender.wake,
            leadership=leadership,
        )
        campaign_scheduler.append(planner)
        await planner.start()
        logger.info(
            "bot @%s is running (%s, %s)",
            messenger.username,
            settings.telegram.framework,
            settings.telegram.mode,
        )
        readiness.receiving = True
        if on_ready is not None:
            await on_ready(messenger)

    async def drain_then_stop_adapter() -> None:
        # Campaign sends still in flight need the adapter's HTTP session: let them
        # finish (their rows end "sent", not "unknown" or retried) before the
        # adapter shuts down. Every step has a bound (see JOB_GRACE).
        await stop.wait()
        logger.info("stopping")
        try:
            await asyncio.gather(
                scheduler.stop(JOB_GRACE),
                *(planner.stop(JOB_GRACE) for planner in campaign_scheduler),
                *(sender.stop() for sender in delivery),
            )
        finally:
            adapter_stop.set()

    adapter_stop = asyncio.Event()
    drain = asyncio.create_task(drain_then_stop_adapter())
    try:
        await run_bot(
            settings.telegram,
            token,
            dispatcher,
            ready,
            adapter_stop,
            answer_after_handling=scaleout,
        )
    finally:
        readiness.receiving = False
        stop.set()
        await drain
        # A stop that came while ``ready`` was still starting them (stop() is idempotent).
        scheduler.shutdown()
        for planner in campaign_scheduler:
            planner.shutdown()
        for sender in delivery:
            await sender.stop()
        await renders.close()
        if ops is not None:
            await ops.stop()
        if isinstance(leadership, AdvisoryLeadership):
            # Another worker takes over once this connection drops anyway: never wait long.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELEASE_GRACE):
                    await leadership.release()
        if presence is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELEASE_GRACE):
                    await presence.release()
        await engine.dispose()
