"""Shared setup for delivery tests: a shop with opted-in customers, runs and fake messengers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox
from bot.config import DeliverySettings
from bot.crm.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    Consent,
    Customer,
    Member,
    RunStatus,
    Workspace,
)
from bot.errors import DeliveryError
from bot.messaging import BotCommand, CommandScope, Keyboard, SentMessage

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, outside quiet hours
FAST = DeliverySettings(
    rate_per_second=1000,
    paid_broadcast=True,
    concurrency=8,
    per_chat_interval_seconds=0,
    max_attempts=3,
    pause_after_errors=5,
    batch_size=50,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sent:
    """One message the fake Telegram accepted."""

    chat_id: int
    text: str
    buttons: Keyboard
    paid: bool


@dataclass
class FakeTelegram:
    """The Messenger port with scripted failures per chat: each call pops the next error."""

    sent: list[Sent] = field(default_factory=list)
    script: dict[int, list[DeliveryError]] = field(default_factory=dict)
    always: dict[int, DeliveryError] = field(default_factory=dict)
    attempts: list[int] = field(default_factory=list)
    username: str = "TestBot"

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        self.attempts.append(chat_id)
        await asyncio.sleep(0)
        if chat_id in self.always:
            raise self.always[chat_id]
        if self.script.get(chat_id):
            raise self.script[chat_id].pop(0)
        self.sent.append(Sent(chat_id, text, buttons, paid_broadcast))
        return SentMessage(chat_id, len(self.sent))

    def texts_to(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        raise NotImplementedError

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        raise NotImplementedError

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        raise NotImplementedError

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        raise NotImplementedError

    async def download(self, file_id: str) -> bytes:
        raise NotImplementedError

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        raise NotImplementedError


@dataclass
class Shop:
    """A workspace with an owner, an admin, a rep and customers."""

    workspace: Workspace
    owner: Member
    admin: Member
    rep: Member
    customers: list[Customer]


async def make_shop(
    session: AsyncSession,
    names: Sequence[str],
    *,
    timezone: str = "Asia/Shanghai",
    **customer_fields: object,
) -> Shop:
    """Create a shop whose customers (chat id = 1000 + index) all opted in."""
    workspace = Workspace(name="Wang's Tea", slug=f"tea-{id(names)}", timezone=timezone)
    session.add(workspace)
    await session.flush()
    staff = []
    for n, (role, name) in enumerate([("owner", "Wang"), ("admin", "Zhou"), ("staff", "Li")]):
        member = Member(
            workspace_id=workspace.id,
            tg_user_id=900 + n,
            chat_id=900 + n,
            role=role,
            display_name=name,
            referral_code=f"ref{workspace.id}-{n}",
        )
        session.add(member)
        staff.append(member)
    await session.flush()
    customers = []
    for n, name in enumerate(names):
        customer = Customer(
            workspace_id=workspace.id,
            name=name,
            chat_id=1000 + n,
            tg_user_id=1000 + n,
            consent=Consent.OPTED_IN,
            reachable=True,
            owner_member_id=staff[2].id,
            **customer_fields,
        )
        session.add(customer)
        customers.append(customer)
    await session.flush()
    return Shop(workspace, staff[0], staff[1], staff[2], customers)


async def make_run(
    session: AsyncSession,
    shop: Shop,
    *,
    kind: CampaignKind = CampaignKind.BROADCAST,
    template_key: str = "holiday",
    occurrence: str = "once",
    creator: Member | None = None,
    audience: dict[str, object] | None = None,
    status: RunStatus = RunStatus.RUNNING,
) -> CampaignRun:
    """Create a campaign and a run of it, as the campaign service would."""
    campaign = Campaign(
        workspace_id=shop.workspace.id,
        name="Spring hello",
        kind=kind,
        template_key=template_key,
        audience=audience or {},
        created_by_member_id=creator.id if creator else None,
    )
    session.add(campaign)
    await session.flush()
    run = CampaignRun(
        workspace_id=shop.workspace.id,
        campaign_id=campaign.id,
        occurrence=occurrence,
        template_key=template_key,
        status=status,
        created_by_member_id=creator.id if creator else None,
    )
    session.add(run)
    await session.flush()
    return run


async def wait_until(
    sessions: async_sessionmaker[AsyncSession],
    check: Callable[[AsyncSession], object],
    *,
    timeout: float = 10,
) -> None:
    """Poll the database until ``check`` returns something truthy (an effect, not a timing)."""
    async with asyncio.timeout(timeout):
        while True:
            async with sessions() as session:
                result = check(session)
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return
            await asyncio.sleep(0.02)


async def run_counts(sessions: async_sessionmaker[AsyncSession], run_id: int) -> dict[str, object]:
    """Return outbox.counts for a run in a fresh session."""
    async with sessions() as session:
        return await outbox.counts(session, run_id)


async def run_finished(sessions: async_sessionmaker[AsyncSession], run_id: int) -> None:
    """Wait until the run's report went out."""

    async def reported(session: AsyncSession) -> bool:
        stamp = await session.scalar(
            select(CampaignRun.reported_at).where(CampaignRun.id == run_id)
        )
        return stamp is not None

    await wait_until(sessions, reported)
