"""The demo shop: a realistic tea merchant seeded into the sandbox so every command has data.

The people match the web chat's personas: the owner is Telegram user 1001, the
reps Li and Chen are 1002 and 1003, and the customers Zhao and Sun (2001, 2002)
have already joined and said yes to messages. Two campaigns are set up: a weekly
touchpoint on Mondays at 10:00 and a birthday greeting, both to everyone opted in.

Every timestamp is relative to ``now``, so the shop starts consistent whenever it
is seeded: open leads were assigned or contacted within the last days (none goes
back to the pool at start), open reminders are due later (past ones count as
delivered), and value tiers and churn detection have already run, so ``/stats``
and ``/atrisk`` have figures while no alert waits to go out.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import churn, tiers, workspaces
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
    FieldOption,
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
# The tea shop's own preferences, added to the retail preset as an admin would.
TEAS = (
    ("green_tea", "Green tea"),
    ("oolong", "Oolong"),
    ("puer", "Pu'er"),
    ("black_tea", "Black tea"),
    ("tea_ware", "Tea ware"),
)
PREFERENCES = (("oolong", "gift_sets"), ("puer",), ("green_tea", "tea_ware"))
COMPANIES = ("Spring Leaf Trading", "Golden Cup Chain", "Jade Hill Hotel", "Riverside Office Park")
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Ying")
STAGES = ("new", "new", "contacted", "contacted", "qualified", "won", "won", "won", "lost")
REGIONS = ("north", "south", "east")
NOTES = ("Asked about pu'er", "Prefers oolong", "Orders for the office", "Gift boxes at holidays")
CUSTOMERS = 50
DRIFTING = 3  # every eighth record from the fourth on is a regular buyer gone quiet


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
    session.add_all(
        FieldOption(workspace_id=ws.id, field="preferences", key=key, label=label, position=n)
        for n, (key, label) in enumerate(TEAS, start=10)
    )
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
    await tiers.recompute(session, ws.id, now=now)
    # The drifting customers are listed by /atrisk; their alerts count as already sent.
    flagged = await churn.detect(session, ws.id, now=now)
    await churn.mark_alerted(session, ws.id, [risk.customer_id for risk in flagged], now=now)
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


def _purchase_days(rng: random.Random, *, drifting: bool) -> list[int]:
    """Return how many days ago a buyer bought: at random, or every week or two until lately."""
    if not drifting:
        return [rng.randint(1, 300) for _ in range(rng.randint(1, 4))]
    last, gap = rng.randint(45, 80), rng.randint(7, 14)
    return [last + gap * step for step in range(4)]


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
    # A few regular buyers went quiet a while ago: /atrisk has someone to show.
    drifting = joined is None and index % 8 == DRIFTING
    stage = "won" if joined or drifting else rng.choice(STAGES)
    chosen = rng.sample(tags, k=rng.randint(0, 2))
    score = sum(tag.weight for tag in chosen)
    region = REGIONS[index % len(REGIONS)]
    created = now - timedelta(days=rng.randint(10, 400))
    # An open lead was handed to its rep lately, so it does not go back to the pool at start.
    is_open_lead = stage not in ("won", "lost")
    assigned = now - timedelta(days=rng.randint(1, 6)) if is_open_lead else created
    customer = Customer(
        workspace_id=ws.id,
        owner_member_id=owner.id if owner else None,
        owner_assigned_at=assigned if owner else None,
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
        # Three draws from tuples of the sizes the data was first seeded with, so the
        # random sequence (and everything drawn after it) stays as it was.
        gender=rng.choice(("female", "male", "female")),
        age_band=rng.choice(("25_34", "35_44", "45_54", "55_plus")),
        preferences=list(rng.choice(PREFERENCES)),
        # Not the subscribed two: their birthday greeting would go out on the day.
        birthday_date=date(1960 + index % 40, 1 + index % 12, 1 + index % 28)
        if index % 2 and joined is None
        else None,
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
        for days_ago in _purchase_days(rng, drifting=drifting):
            session.add(
                Purchase(
                    workspace_id=ws.id,
                    customer_id=customer.id,
                    member_id=owner.id if owner else None,
                    amount_minor=rng.randint(80, 3000) * 100,
                    currency=ws.currency,
                    note=rng.choice(("Longjing 250g", "Pu'er cake", "Gift box", "Oolong 500g")),
                    at=now - timedelta(days=days_ago),
                )
            )
    if owner is not None and not drifting and rng.random() < 0.6:
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
            # Open ones fall due from two hours on: time to open the web chat first.
            due = now + timedelta(hours=rng.choice((-30, -5, 2, 6, 20, 48)))
            session.add(
                Reminder(
                    workspace_id=ws.id,
                    member_id=owner.id,
                    customer_id=customer.id,
                    text="Bring samples",
                    due_at=due,
                    # Past ones count as already delivered, so the sandbox starts quietly.
                    fired_at=now if due <= now else None,
                )
            )
