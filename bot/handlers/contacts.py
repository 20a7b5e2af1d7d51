"""Staff commands for customer records: add, find, card, edit and sales routes."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MEMBERS, Router
from bot.conversations.add_contact import ADD_CONTACT, AddStep, offer_existing, press
from bot.conversations.edit_field import EDIT_FIELD, FIELDS, EditStep
from bot.crm import classification, customers, search
from bot.crm.models import Customer
from bot.crm.phones import EXTENSION, looks_like_phone, normalize_phone
from bot.crm.scope import get_visible
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.messaging import Button
from bot.views.card import card_button, result_label, show_card

router = Router("contacts", MEMBERS)
ONE_LINER = re.compile(
    rf"^(?P<name>.*?)\s*(?P<phone>\+?\d[\d\s\-()]{{4,}}(?:\s*{EXTENSION})?)?$", re.IGNORECASE
)
ROUTE_BUTTONS = 30
MAX_CALLBACK = 64
CHOICE_CODES = {"own": AddStep.OWNERSHIP, "biz": AddStep.BUSINESS, "loc": AddStep.LOCATION}
SKIPPABLE = {AddStep.OWNERSHIP, AddStep.BUSINESS, AddStep.LOCATION, AddStep.ROUTE}


# /add


@router.command("add", help=N_("add a contact"), usage="[name] [phone]")
async def cmd_add(ctx: Context) -> None:
    """Add the contact typed after the command, or start the guided /add dialog."""
    member, workspace = ctx.staff()
    args = ctx.incoming.args.strip()
    if not args:
        await engine.start(ctx, ADD_CONTACT)
        return
    match = ONE_LINER.match(args)
    raw_phone = match.group("phone") if match else None
    phone = normalize_phone(raw_phone, region=workspace.region) if raw_phone else None
    name = customers.clean_name(match.group("name") if match and raw_phone else args)
    if looks_like_phone(name):
        raise InvalidInput(
            N_(
                "Please put the phone number last, like /add Wang Li 138 0013 8000, "
                "or send /add alone and I'll ask step by step."
            )
        )
    if await offer_existing(ctx, phone):
        return
    customer = await customers.create_customer(
        ctx.session, actor=member, name=name, phone=phone, now=ctx.now()
    )
    ctx.reply(
        ctx.t(N_("✅ Saved <b>{name}</b> as #{id}."), name=customer.name, id=customer.id),
        card_button(ctx, customer.id),
    )


@router.callback("ad")
async def on_add_button(ctx: Context) -> None:
    """Answer a step of the /add dialog from its buttons, or cancel it."""
    _, code, value = ((ctx.incoming.data or "") + "::").split(":", 3)[:3]
    if code in CHOICE_CODES:
        await press(ctx, ADD_CONTACT, {CHOICE_CODES[code]}, value)
    elif code == "skip":
        await press(ctx, ADD_CONTACT, set(SKIPPABLE), "/skip")
    elif code == "ok":
        await press(ctx, ADD_CONTACT, {AddStep.CONFIRM}, "save")
    elif code == "no":
        state = await engine.current(ctx)
        ctx.answer()
        if state is not None and state.dialog == ADD_CONTACT.name:
            await ctx.session.delete(state)
            ctx.edit(ctx.t(N_("OK, cancelled. Nothing was saved.")))
    else:
        ctx.answer(ctx.t(N_("This button has expired.")))


# /find and /card


@router.command(
    "find",
    help=N_("find a customer"),
    usage="<name, phone, company or tag> [tier:high|medium|low] [segment:<name>]",
)
async def cmd_find(ctx: Context) -> None:
    """List the sender's customers that match, as buttons that open their cards."""
    member, _ = ctx.staff()
    text = " ".join(ctx.incoming.args.split())
    if not text:
        raise InvalidInput(
            N_(
                "Send it like this: /find Wang, /find 138 0013 8000, or a company or tag "
                "name. Add tier:high (or medium, low) or segment:at_risk to narrow it."
            )
        )
    wanted = search.parse_query(text)
    found = await search.find_customers(
        ctx.session,
        actor=member,
        text=wanted.text,
        tier=wanted.tier,
        segment=wanted.segment,
    )
    if not found:
        hint = (
            N_(
                "🔎 Nothing found for “{text}”. Tiers and segments are as last computed "
                "(see /tiers); try without them, or part of the name."
            )
            if wanted.filtered
            else N_(
                "🔎 Nothing found for “{text}”. Try part of the name, a few digits of "
                "the phone, a company or a tag — or /add a new contact."
            )
        )
        ctx.reply(ctx.t(hint, text=text))
        return
    ctx.reply(
        ctx.t(N_("🔎 Found {count} for “{text}”. Tap one:"), count=len(found), text=text),
        [[Button(result_label(c), f"ct:{c.id}")] for c in found],
    )


@router.command("card", help=N_("a customer's card"), usage="<id>")
async def cmd_card(ctx: Context) -> None:
    """Show the card of the customer with the id typed."""
    value = ctx.incoming.args.strip().lstrip("#")
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(N_("Send it like this: /card 12 — or find someone with /find."))
    await show_card(ctx, int(value))


@router.callback("ct")
async def on_card_button(ctx: Context) -> None:
    """Show the card of the customer on the pressed button."""
    value = (ctx.incoming.data or "").partition(":")[2]
    if not value.isdigit() or len(value) > 12:
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    ctx.answer()
    await show_card(ctx, int(value))


@router.callback("ce")
async def on_edit_button(ctx: Context) -> None:
    """Start editing one field of a card, or answer the open edit from a choice button."""
    member, _ = ctx.staff()
    _, first, second = ((ctx.incoming.data or "") + "::").split(":", 3)[:3]
    if first == "v":
        await press(ctx, EDIT_FIELD, {EditStep.VALUE}, second)
        return
    if not first.isdigit() or second not in FIELDS:
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    customer = await get_visible(ctx.session, actor=member, customer_id=int(first))
    ctx.answer()
    await engine.start(
        ctx,
        EDIT_FIELD,
        {"customer_id": customer.id, "customer_name": customer.name, "field": second},
    )


# /route


@router.command(
    "route",
    help=N_("your customers of a region in visiting order"),
    usage="[region] [move <id> <position>]",
)
async def cmd_route(ctx: Context) -> None:
    """List a region's route, move a stop in it, or list the sender's regions."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split()
    if not words:
        await _regions(ctx)
        return
    if len(words) >= 3 and words[-3].lower() == "move":
        customer_id, position = words[-2].lstrip("#"), words[-1]
        if not (customer_id.isdigit() and position.isdigit()) or len(customer_id) > 12:
            raise InvalidInput(N_("Send it like this: /route north move 12 1"))
        customer, stops = await classification.move_in_route(
            ctx.session, actor=member, customer_id=int(customer_id), position=int(position)
        )
        ctx.reply(_route_text(ctx, customer.region or "", stops), _route_buttons(ctx, stops))
        return
    region = " ".join(words)
    stops = await classification.route(ctx.session, actor=member, region=region)
    if not stops:
        ctx.reply(
            ctx.t(
                N_("📍 No customers of yours in “{region}”. Send /route to see your regions."),
                region=region,
            )
        )
        return
    ctx.reply(_route_text(ctx, stops[0].region or region, stops), _route_buttons(ctx, stops))


@router.callback("rt")
async def on_route_button(ctx: Context) -> None:
    """Show a region's route, or move a stop one place up or down."""
    member, _ = ctx.staff()
    _, action, value = ((ctx.incoming.data or "") + "::").split(":", 2)
    value = value.removesuffix("::")
    if action == "r" and value:
        ctx.answer()
        stops = await classification.route(ctx.session, actor=member, region=value)
        ctx.reply(_route_text(ctx, value, stops), _route_buttons(ctx, stops))
        return
    if action not in ("u", "d") or not value.isdigit():
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    customer = await get_visible(ctx.session, actor=member, customer_id=int(value))
    stops = await classification.route(ctx.session, actor=member, region=customer.region or "")
    ids = [s.id for s in stops]
    index = ids.index(customer.id) if customer.id in ids else -1
    target = index if action == "u" else index + 2
    if index < 0 or not 1 <= target <= len(ids):
        ctx.answer(ctx.t(N_("It can't move further.")))
        return
    ctx.answer()
    _, stops = await classification.move_in_route(
        ctx.session, actor=member, customer_id=customer.id, position=target
    )
    ctx.edit(_route_text(ctx, customer.region or "", stops), _route_buttons(ctx, stops))


async def _regions(ctx: Context) -> None:
    member, _ = ctx.staff()
    found = await classification.regions(ctx.session, actor=member)
    if not found:
        ctx.reply(
            ctx.t(
                N_(
                    "📍 None of your customers has a region yet. Set one on a card "
                    "(📍 Region / route) or when you /add a contact."
                )
            )
        )
        return
    lines = [ctx.t(N_("📍 Your regions — tap one to see its route:"))]
    lines += [f"• {html.escape(region)} ({count})" for region, count in found]
    buttons = [
        [Button(f"{region} ({count})", f"rt:r:{region}")]
        for region, count in found
        if len(f"rt:r:{region}".encode()) <= MAX_CALLBACK
    ]
    ctx.reply("\n".join(lines), buttons)


def _route_text(ctx: Context, region: str, stops: Sequence[Customer]) -> str:
    lines = [ctx.t(N_("🗺 Route <b>{region}</b>: {count} stops"), region=region, count=len(stops))]
    for number, stop in enumerate(stops, start=1):
        lines.append(f"{number}. {html.escape(stop.name)} (#{stop.id})")
    lines.append("")
    lines.append(
        ctx.t(
            N_("Reorder with ⬆/⬇, or send e.g. /route {region} move {id} 1."),
            region=region,
            id=stops[-1].id if stops else 12,
        )
    )
    return "\n".join(lines)


def _route_buttons(ctx: Context, stops: Sequence[Customer]) -> list[list[Button]]:
    return [
        [
            Button(f"{number}. {stop.name}"[:40], f"ct:{stop.id}"),
            Button("⬆", f"rt:u:{stop.id}"),
            Button("⬇", f"rt:d:{stop.id}"),
        ]
        for number, stop in enumerate(stops[:ROUTE_BUTTONS], start=1)
    ]
