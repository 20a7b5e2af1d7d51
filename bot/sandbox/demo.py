"""The demo shop: a realistic tea merchant seeded into the sandbox so every command has data.

The people match the web chat's personas: the owner is Telegram user 1001, the
reps Li and Chen are 1002 and 1003, and the customers Zhao and Sun (2001, 2002)
have already joined and said yes to messages. Two campaigns are set up: a weekly
touchpoint on Mondays at 10:00 and a birthday greeting, both to everyone opted in.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import workspaces
from bot.crm.models import (
    Campaign,
    CampaignKind,
    Channel,
    Company,
    Consent,
    ConsentAction,
    ConsentEvent,
    Customer,
    CustomerKind,
    CustomerTag,
    FollowUp,
    Member,
    Purchase,
    Reminder,
    Role,
    Tag,
    TagDimension,
    Workspace,
)
from bot.crm.tags import grade_for

DEMO_NAME = "Demo Tea House"
PEOPLE = ((1001, Role.OWNER, "Wang"), (1002, Role.STAFF, "Li"), (1003, Role.STAFF, "Chen"))
JOINED = ((2001, "Zhao Lei"), (2002, "Sun Mei"))
TAGS = (
    ("vip", TagDimension.SOCIAL, 60),
    ("tea-lover", TagDimension.INTEREST, 30),
    ("wholesale", TagDimension.BEHAVIOUR, 25),
    ("office", TagDimension.DEMOGRAPHIC, 10),
    ("cold", TagDimension.BEHAVIOUR, -20),
)
COMPANIES = ("Spring Leaf Trading", "Golden Cup Chain", "Jade Hill Hotel", "Riverside Office Park")
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Ying")
STAGES = ("new", "new", "contacted", "contacted", "qualified", "won", "won", "won", "lost")
REGIONS = ("north", "south", "east")
NOTES = ("Asked about pu'er", "Prefers oolong", "Orders for the office", "Gift boxes at holidays")
CUSTOMERS = 50


@dataclass(frozen=True, slots=True)
class DemoShop:
    """What was seeded, for the start-up message."""

    workspace: Workspace
    customers: int


async def seed_demo(session: AsyncSession, *, now: datetime, seed: int = 7) -> DemoShop:
    """Create the demo shop with its team, customers, tags, purchases and follow-ups."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    ws = await workspaces.create_workspace(
        session, name=DEMO_NAME, timezone="Asia/Shanghai", locale="en", region="CN"
    )
    members = [
        Member(
            workspace_id=ws.id,
            tg_user_id=uid,
            chat_id=uid,
            role=role,
            display_name=name,
            referral_code=secrets.token_urlsafe(8),
            digest_time="08:30" if uid == 1002 else None,
        )
        for uid, role, name in PEOPLE
    ]
    companies = [Company(workspace_id=ws.id, name=name) for name in COMPANIES]
    tags = [Tag(workspace_id=ws.id, name=n, dimension=d, weight=w) for n, d, w in TAGS]
    session.add_all([*members, *companies, *tags])
    await session.flush()
    branch = Company(workspace_id=ws.id, name="Pudong branch", parent_id=companies[0].id, level=2)
    session.add(branch)
    await session.flush()
    reps = members[1:]
    for index in range(CUSTOMERS):
        await _customer(session, rng, ws, index, reps, [*companies, branch], tags, now)
    session.add_all(_campaigns(ws, members[0], now))
    return DemoShop(ws, CUSTOMERS)


def _campaigns(ws: Workspace, owner: Member, now: datetime) -> list[Campaign]:
    """Return the demo's weekly touchpoint (Mondays 10:00) and birthday greeting (09:00)."""
    common = {"workspace_id": ws.id, "audience": {}, "created_by_member_id": owner.id}
    return [
        Campaign(
            name="Weekly tea notes",
            kind=CampaignKind.WEEKLY,
            template_key="weekly_touchpoint",
            weekday=0,
            send_time="10:00",
            created_at=now,
            **common,
        ),
        Campaign(
            name="Birthday wishes",
            kind=CampaignKind.BIRTHDAY,
            template_key="birthday",
            send_time="09:00",
            created_at=now,
            **common,
        ),
    ]


async def _customer(
    session: AsyncSession,
    rng: random.Random,
    ws: Workspace,
    index: int,
    reps: list[Member],
    companies: list[Company],
    tags: list[Tag],
    now: datetime,
) -> None:
    joined = JOINED[index] if index < len(JOINED) else None
    # Every seventh record waits unowned in the lead pool.
    owner = None if index % 7 == 6 else reps[index % len(reps)]
    stage = "won" if joined else rng.choice(STAGES)
    chosen = rng.sample(tags, k=rng.randint(0, 2))
    score = sum(tag.weight for tag in chosen)
    region = REGIONS[index % len(REGIONS)]
    created = now - timedelta(days=rng.randint(10, 400))
    customer = Customer(
        workspace_id=ws.id,
        owner_member_id=owner.id if owner else None,
        owner_assigned_at=created if owner else None,
        company_id=rng.choice(companies).id if index % 3 else None,
        name=joined[1] if joined else f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
        phone=f"+86138{index:08d}",
        tg_user_id=joined[0] if joined else None,
        chat_id=joined[0] if joined else None,
        locale="en",
        kind=CustomerKind.CUSTOMER if stage == "won" else CustomerKind.LEAD,
        consent=Consent.OPTED_IN if joined else Consent.UNKNOWN,
        source="referral" if joined else "staff",
        stage=stage,
        score=score,
        grade=grade_for(ws.grade_thresholds, score),
        ownership=rng.choice(("private", "joint_stock", "collective")),
        business_type=rng.choice(("retailer", "wholesaler", "chain", "specialty")),
        location_type=rng.choice(("business_district", "residential", "transport_hub")),
        region=region,
        route_order=index // len(REGIONS) + 1,
        notes=rng.choice(NOTES),
        join_token=secrets.token_urlsafe(12),
        created_at=created,
        updated_at=created,
    )
    session.add(customer)
    await session.flush()
    session.add_all(
        CustomerTag(workspace_id=ws.id, customer_id=customer.id, tag_id=t.id) for t in chosen
    )
    if joined:
        session.add(
            ConsentEvent(
                workspace_id=ws.id,
                customer_id=customer.id,
                action=ConsentAction.OPT_IN,
                source="button",
                at=created,
            )
        )
    if stage == "won":
        for _ in range(rng.randint(1, 4)):
            session.add(
                Purchase(
                    workspace_id=ws.id,
                    customer_id=customer.id,
                    member_id=owner.id if owner else None,
                    amount_minor=rng.randint(80, 3000) * 100,
                    currency=ws.currency,
                    note=rng.choice(("Longjing 250g", "Pu'er cake", "Gift box", "Oolong 500g")),
                    at=now - timedelta(days=rng.randint(1, 300)),
                )
            )
    if owner is not None and rng.random() < 0.6:
        contacted = now - timedelta(days=rng.randint(0, 20))
        customer.last_contact_at = contacted
        session.add(
            FollowUp(
                workspace_id=ws.id,
                customer_id=customer.id,
                member_id=owner.id,
                channel=rng.choice(list(Channel)),
                summary="Talked about the new season's teas",
                outcome=rng.choice(("Interested", "Ordered", "Call back later")),
                next_step="Bring samples",
                at=contacted,
            )
        )
        if rng.random() < 0.4:
            session.add(
                Reminder(
                    workspace_id=ws.id,
                    member_id=owner.id,
                    customer_id=customer.id,
                    text="Bring samples",
                    due_at=now + timedelta(hours=rng.randint(-30, 48)),
                    # Past ones count as already delivered, so the sandbox starts quietly.
                    fired_at=now if rng.random() < 0.5 else None,
                )
            )
