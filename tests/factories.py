"""Test data: shops, their members and customers, written straight into a real database.

Three shapes of shop, one per kind of test:

- ``make_shop``: an owner, an admin and two reps (Li and Chen), no customers;
  ``add_customer`` adds them. The default for services that check roles and scope.
- ``make_rep_shop``: a Chinese-speaking shop whose first rep owns a few customers,
  for follow-ups, reminders and the jobs that speak to reps.
- ``make_campaign_shop``: an owner, an admin, a rep and four customers, two of
  them opted in, for campaigns and their schedules (``weekly`` adds a campaign).
- ``make_tier_shops``: a Shanghai shop with five buyers and a London shop with
  an old non-buyer, for value tiers and their nightly job (``buy`` adds purchases).

The delivery engine's own shop (every customer opted in and reachable) lives in
``tests/campaigns/delivery/helpers.py`` beside its fake Telegram.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import campaigns
from bot.crm import workspaces
from bot.crm.models import (
    CampaignKind,
    Consent,
    Customer,
    Member,
    Purchase,
    Role,
    Workspace,
    WorkspaceKind,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
# 03:10 on 2 December in Shanghai; London is still at 19:10 the evening before.
TIER_NIGHT = datetime(2026, 12, 1, 19, 10, tzinfo=UTC)
CAMPAIGN_NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@dataclass
class Shop:
    """A workspace with an owner, an admin and two reps."""

    workspace: Workspace
    owner: Member
    admin: Member
    li: Member
    chen: Member


async def make_shop(
    session: AsyncSession, name: str = "Tea", kind: WorkspaceKind = WorkspaceKind.RETAIL
) -> Shop:
    """Create a workspace (a retail shop unless ``kind`` says otherwise) and its members."""
    ws = await workspaces.create_workspace(
        session, name=name, timezone="Asia/Shanghai", locale="en", region="CN", kind=kind
    )
    people = []
    for role, display in [
        (Role.OWNER, "Wang"),
        (Role.ADMIN, "Zhou"),
        (Role.STAFF, "Li"),
        (Role.STAFF, "Chen"),
    ]:
        uid = secrets.randbelow(10**9)
        member = Member(
            workspace_id=ws.id,
            tg_user_id=uid,
            chat_id=uid,
            role=role,
            display_name=display,
            referral_code=secrets.token_urlsafe(8),
        )
        session.add(member)
        people.append(member)
    await session.flush()
    return Shop(ws, *people)


async def add_customer(
    session: AsyncSession, shop: Shop, name: str, owner: Member | None, **fields: object
) -> Customer:
    """Insert a customer of the shop."""
    customer = Customer(
        workspace_id=shop.workspace.id,
        owner_member_id=owner.id if owner else None,
        name=name,
        **fields,
    )
    session.add(customer)
    await session.flush()
    return customer


@dataclass
class RepShop:
    """A workspace with an owner, two reps and customers of the first rep."""

    owner: Member
    rep: Member
    other: Member
    customers: list[Customer]


async def make_rep_shop(session: AsyncSession, customers: int = 3) -> RepShop:
    """Create a Shanghai workspace, its team and the first rep's customers."""
    ws = await workspaces.create_workspace(
        session, name="王氏茶行", timezone="Asia/Shanghai", locale="zh-CN", region="CN"
    )
    people = []
    for number, role in enumerate((Role.OWNER, Role.STAFF, Role.STAFF), start=1):
        member = Member(
            workspace_id=ws.id,
            tg_user_id=number,
            chat_id=number,
            role=role,
            display_name=f"member {number}",
            referral_code=f"ref{ws.id}-{number}",
        )
        session.add(member)
        people.append(member)
    await session.flush()
    rows = [
        Customer(workspace_id=ws.id, owner_member_id=people[1].id, name=f"customer {i}")
        for i in range(customers)
    ]
    session.add_all(rows)
    await session.flush()
    return RepShop(people[0], people[1], people[2], rows)


@dataclass
class CampaignShop:
    """A workspace with an owner, an admin, a rep and customers, two of them opted in."""

    workspace: Workspace
    owner: Member
    admin: Member
    rep: Member
    customers: list[Customer]


async def make_campaign_shop(session: AsyncSession, name: str = "Tea House") -> CampaignShop:
    """Create a Shanghai shop with its team and four customers (0 and 1 opted in, A and B)."""
    ws = await workspaces.create_workspace(
        session, name=name, timezone="Asia/Shanghai", locale="en", region="CN"
    )
    people = []
    for number, role in enumerate((Role.OWNER, Role.ADMIN, Role.STAFF), start=1):
        member = Member(
            workspace_id=ws.id,
            tg_user_id=ws.id * 100 + number,
            chat_id=ws.id * 100 + number,
            role=role,
            display_name=f"member {number}",
            referral_code=f"ref{ws.id}-{number}",
        )
        session.add(member)
        people.append(member)
    await session.flush()
    rows = [
        Customer(
            workspace_id=ws.id,
            name=f"customer {i}",
            tg_user_id=ws.id * 1000 + i,
            chat_id=ws.id * 1000 + i,
            consent=Consent.OPTED_IN if i < 2 else Consent.UNKNOWN,
            grade="A" if i % 2 == 0 else "B",
        )
        for i in range(4)
    ]
    session.add_all(rows)
    await session.flush()
    return CampaignShop(ws, people[0], people[1], people[2], rows)


async def weekly(session: AsyncSession, shop: CampaignShop, **audience: object) -> int:
    """Create the admin's Monday 10:00 touchpoint campaign and return its id."""
    campaign = await campaigns.create_campaign(
        session,
        actor=shop.admin,
        name="Weekly hello",
        kind=CampaignKind.WEEKLY,
        template_key="weekly_touchpoint",
        audience=audience,
        weekday=0,
        send_time="10:00",
        now=CAMPAIGN_NOW,
    )
    return campaign.id


async def buy(session: AsyncSession, shop: Shop, customer: Customer, *amounts: int) -> None:
    """Record purchases of the given minor amounts, one a week before ``TIER_NIGHT``."""
    for week, minor in enumerate(amounts, start=1):
        session.add(
            Purchase(
                workspace_id=shop.workspace.id,
                customer_id=customer.id,
                amount_minor=minor,
                currency="CNY",
                at=TIER_NIGHT - timedelta(weeks=week),
            )
        )
    await session.flush()


async def make_tier_shops(session: AsyncSession) -> tuple[Shop, Shop, list[int]]:
    """Create a Shanghai shop with five buyers (two Li's) and a London shop with a non-buyer."""
    shop = await make_shop(session)
    buyers = []
    for number in range(5):
        owner = shop.li if number < 2 else shop.chen
        customer = await add_customer(session, shop, f"buyer {number}", owner)
        await buy(session, shop, customer, *[1000 * (number + 1)] * (number + 1))
        buyers.append(customer.id)
    london = await make_shop(session, "London")
    london.workspace.timezone = "Europe/London"
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    await add_customer(session, london, "window shopper", None, created_at=long_ago)
    return shop, london, buyers
