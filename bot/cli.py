"""The ``scrm-bot`` command line: run, migrate, emulator, workspaces and campaign sends."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.config import Settings, load_settings
from bot.errors import BackupError, ConfigError, DomainError, SchemaError
from bot.i18n import translate
from bot.ops.logs import setup_logging
from bot.telegram import runtime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
# After SIGTERM or SIGINT the process is gone within this many seconds, clean or not
# (service managers send SIGKILL after 15 s or so); a forced exit uses EXIT_OVERDUE.
EXIT_DEADLINE = 13.0
EXIT_OVERDUE = 70


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config.toml"),
    show_default=True,
    envvar="SCRM_CONFIG",
    help="TOML settings file; SCRM_<SECTION>__<KEY> variables override it.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """Run and administer the SCRM bot."""
    try:
        settings = load_settings(config_path, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    setup_logging(settings.logging.level, settings.logging.format)
    ctx.obj = settings


@main.command()
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Sandbox only: seed a demo shop with a team and 50 customers on first start.",
)
@click.pass_obj
def run(settings: Settings, demo: bool) -> None:
    """Run the bot; without a token, start the local sandbox instead."""
    if settings.sandbox_mode:
        from bot.sandbox.launcher import run_sandbox

        click.echo(
            "No Telegram token configured (set SCRM_TELEGRAM__TOKEN to use Telegram).\n"
            "Starting the local sandbox: a Bot API emulator on this machine plus the bot."
        )
        _run_until_signal(lambda stop: run_sandbox(settings, stop, demo=demo))
        return
    from bot.app import serve

    token = settings.telegram.token
    assert token is not None  # noqa: S101 - sandbox_mode is False
    _run_until_signal(lambda stop: serve(settings, token=token.get_secret_value(), stop=stop))


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Create or upgrade the database schema to the latest version."""
    from bot.crm import migrate as migrations

    try:
        done = asyncio.run(migrations.upgrade_checked(settings.database.url))
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    if done.changed:
        click.echo(f"Database upgraded from revision {done.before or '(empty)'} to {done.after}.")
    else:
        click.echo(f"Database is up to date (revision {done.after}).")


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.pass_obj
def backup(settings: Settings, path: Path | None) -> None:
    """Write a consistent copy of the database to PATH, safe while the bot runs.

    PATH defaults to a new scrm-<date>-<time> file in backup.dir (or here); a
    directory gets such a file inside it. PostgreSQL needs pg_dump installed.
    """
    from bot.crm import backup as backups
    from bot.crm.models import utcnow

    url = settings.database.url
    try:
        name = backups.file_name(url, utcnow())
        if path is None:
            path = Path(settings.backup.dir or ".") / name
        elif path.is_dir():
            path = path / name
        made = backups.take(url, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Backup written: {made.path} ({made.size:,} bytes, schema revision "
        f"{made.revision or 'unknown'}, {made.seconds:.1f} s)"
    )


@main.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check the token, webhook, database, time-zone data, free disk and backups.

    Prints what to fix; exits with 1 when anything needs fixing.
    """
    from bot.crm.models import utcnow
    from bot.ops.doctor import examine

    findings = asyncio.run(examine(settings, now=utcnow()))
    for finding in findings:
        mark = "ok " if finding.ok else "FIX"
        click.echo(f"[{mark}] {finding.name}: {finding.detail}")
        if not finding.ok:
            click.echo(f"      → {finding.fix}")
    if not all(finding.ok for finding in findings):
        raise SystemExit(1)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def restore(settings: Settings, path: Path) -> None:
    """Put the backup at PATH in place of the database; stop the bot first.

    Refuses while a bot runs on the database and refuses a backup written by a
    newer release. The database it replaces is kept beside it.
    """
    from bot.crm import restore as restores
    from bot.crm.models import utcnow

    try:
        done = asyncio.run(restores.restore(settings.database.url, path, now=utcnow()))
    except (BackupError, SchemaError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {path} (schema revision {done.revision or 'unknown'}).")
    if done.saved is not None:
        click.echo(f"The database it replaced is kept at {done.saved}.")
    if done.revision != done.head:
        click.echo(
            f"This version's schema is revision {done.head}: `scrm-bot run` (or "
            "`scrm-bot migrate`) upgrades the restored database when it starts."
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
@click.option("--token", default=None, help="Bot token the emulator accepts.")
@click.option("--bot-username", default=None, help="The emulated bot's username.")
@click.pass_obj
def emulator(
    settings: Settings, host: str, port: int, token: str | None, bot_username: str | None
) -> None:
    """Run the local Bot API emulator (for tests and the sandbox)."""
    from bot.sandbox.server import EmulatorConfig
    from bot.sandbox.server import run as run_emulator

    config = EmulatorConfig(bot_username=bot_username or settings.sandbox.bot_username)
    if token:
        config = EmulatorConfig(token=token, bot_username=config.bot_username)
    run_emulator(config, host, port)


@main.group()
def workspace() -> None:
    """Create and inspect merchant workspaces."""


@workspace.command("create")
@click.argument("name")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--locale", default="en", show_default=True, type=click.Choice(["en", "zh-CN"]))
@click.option("--region", default=None, help="Country for local phone numbers, e.g. CN.")
@click.option(
    "--kind",
    default="retail",
    show_default=True,
    type=click.Choice(["retail", "trade"]),
    help="retail: gender, age band, preferences; trade: ownership, business and location type.",
)
@click.pass_obj
def workspace_create(
    settings: Settings, name: str, tz: str, locale: str, region: str | None, kind: str
) -> None:
    """Create a workspace and print the owner's invite link and the customers' join link."""
    from bot.crm.models import WorkspaceKind
    from bot.operations import create_workspace

    try:
        created = asyncio.run(
            create_workspace(
                settings,
                name=name,
                timezone=tz,
                locale=locale,
                region=region or _region_from_locale(locale),
                invite_ttl=timedelta(hours=settings.bot.invite_ttl_hours),
                kind=WorkspaceKind(kind),
            )
        )
    except DomainError as exc:
        raise click.ClickException(translate("en", exc.key, **exc.params)) from exc
    click.echo(f"Workspace: {created.name}")
    click.echo(f"Slug: {created.slug}")
    click.echo(f"Kind: {created.kind}")
    click.echo(f"Owner invite (single use): {created.owner_link}")
    click.echo(f"Customer join link: {created.join_link}")


@main.group()
def campaign() -> None:
    """Queue one-off broadcasts or surveys and follow their delivery."""


@campaign.command("send")
@click.option("--workspace", "slug", required=True, help="The workspace's slug.")
@click.option("--template", "template_key", required=True, help="Template key, e.g. holiday.")
@click.option("--grade", "grades", multiple=True, help="Only customers of this grade.")
@click.option("--tag", "tags", multiple=True, help="Only customers with this tag.")
@click.option("--stage", "stages", multiple=True, help="Only customers in this stage.")
@click.option(
    "--kind",
    type=click.Choice(["broadcast", "survey"]),
    default="broadcast",
    show_default=True,
    help="A survey adds the satisfaction buttons under the message.",
)
@click.pass_obj
def campaign_send(
    settings: Settings,
    slug: str,
    template_key: str,
    grades: tuple[str, ...],
    tags: tuple[str, ...],
    stages: tuple[str, ...],
    kind: str,
) -> None:
    """Queue a broadcast or survey to opted-in customers; the running bot sends it.

    Prints the run id.
    """

    async def send(session: AsyncSession) -> int:
        from bot.campaigns import survey_runs
        from bot.crm import workspaces
        from bot.crm.models import CampaignKind, utcnow

        workspace = await workspaces.get_by_slug(session, slug)
        if workspace is None:
            msg = f"No workspace with slug {slug!r}."
            raise click.ClickException(msg)
        audience = {"grades": grades, "tags": tags, "stages": stages}
        run = await survey_runs.queue_one_off(
            session,
            workspace_id=workspace.id,
            template_key=template_key,
            audience=audience,
            kind=CampaignKind(kind),
            now=utcnow(),
        )
        return run.id

    click.echo(_run_domain(_with_session(settings, send)))


@campaign.command("status")
@click.argument("run_id", type=int)
@click.pass_obj
def campaign_status(settings: Settings, run_id: int) -> None:
    """Print a run's counts by outcome as JSON, with its status word (``state``: queued,
    sending, held, paused, finished or stopped) and, when held, until when and why."""

    async def status(session: AsyncSession) -> dict[str, object]:
        from bot.campaigns.delivery import outbox
        from bot.campaigns.run_status import run_state
        from bot.crm.models import CampaignRun, utcnow

        run = await session.get(CampaignRun, run_id)
        if run is None:
            msg = f"No campaign run #{run_id}."
            raise click.ClickException(msg)
        counts = await outbox.counts(session, run_id)
        state = await run_state(session, run, counts, now=utcnow())
        return {**counts, **state.to_json()}

    click.echo(json.dumps(_run_domain(_with_session(settings, status)), sort_keys=True))


async def _with_session(settings: Settings, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``job`` in one unit of work on the configured database."""
    from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(settings.database.url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await job(session)
    finally:
        await engine.dispose()


def _run_domain(job: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(job)
    except DomainError as exc:
        raise click.ClickException(translate("en", exc.key, **exc.params)) from exc


def _region_from_locale(locale: str) -> str | None:
    _, _, territory = locale.partition("-")
    return territory.upper() or None


def _run_until_signal(factory: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    watchdog: list[threading.Timer] = []

    def on_signal(stop: asyncio.Event) -> None:
        stop.set()
        if not watchdog:
            # Every step of the shutdown has its own bound; this is the backstop for what
            # no bound covers (a library thread that never ends keeps Python from exiting).
            timer = threading.Timer(EXIT_DEADLINE, _exit_overdue)
            timer.daemon = True
            timer.start()
            watchdog.append(timer)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, stop)
        await factory(stop)

    try:
        # The bot's loop: uvloop where it is installed (bot/telegram/runtime.py).
        runtime.run(runner())
    except (ConfigError, SchemaError, BackupError) as exc:
        raise click.ClickException(str(exc)) from exc


def _exit_overdue() -> None:
    logging.getLogger(__name__).error(
        "shutdown did not finish within %.0f s of the signal: exiting now", EXIT_DEADLINE
    )
    logging.shutdown()
    os._exit(EXIT_OVERDUE)
