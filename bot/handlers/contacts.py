"""Staff commands for customer records: add, find, card, edit and sales routes."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Annotated

from bot.callbacks import EXPIRED, CallbackData, Choice, Id, Text
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.engine import Dialog
from bot.chat.router import MEMBERS, Router
from bot.conversations.add_contact import (
    ADD_CONTACT,
    SKIPPABLE,
    AddCancel,
    AddDone,
    AddOption,
    AddSave,
    AddSkip,
    AddStep,
    offer_existing,
)
from bot.conversations.card_actions import CARD_BUY, CARD_REMIND
from bot.conversations.edit_field import EDIT_FIELD, EditOption, EditStep
from bot.conversations.log_followup import LOG
from bot.crm import classification, customers, fields, search, tags
from bot.crm.models import Customer, Member
from bot.crm.phones import EXTENSION, looks_like_phone, normalize_phone
from bot.crm.scope import get_visible
from bot.errors import ButtonExpired, InvalidInput
from bot.i18n import N_, P_, Raw, keyword
from bot.messaging import Button
from bot.views.card import (
    CardBuy,
    CardLog,
    CardRemind,
    CardTag,
    CardTags,
    EditField,
    OpenCard,
    card_button,
    result_label,
    show_card,
)
from bot.views.fields import option_name
from bot.views.picks import CardPick, pick_screen, pressed_option
from bot.views.replies import who

router = Router("contacts", MEMBERS)
ONE_LINER = re.compile(
    rf"^(?P<name>.*?)\s*(?P<phone>\+?\d[\d\s\-()]{{4,}}(?:\s*{EXTENSION})?)?$", re.IGNORECASE
)
ROUTE_BUTTONS = 30
# The most tags the card's 🏷 Tag offers as buttons, three to a row.
TAG_BUTTONS, TAGS_PER_ROW = 30, 3


class ShowRoute(CallbackData, prefix="rt:r"):
    """Show the route of one of the member's regions."""

    region: Annotated[str, Text(59, ref="region", tail=True)]


class MoveStop(CallbackData, prefix="rt"):
    """Move a stop one place up (``u``) or down (``d``) its region's route."""

    direction: Annotated[str, Choice(("u", "d"))]
    customer_id: Annotated[int, Id("customer")]


# /add


@router.command("add", help=N_("add a contact"), usage=N_("[name] [phone]"))
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
        [[card_button(ctx.t, customer.id)]],
    )


@router.button(AddOption)
async def on_add_option(ctx: Context, pressed: AddOption) -> None:
    """Answer a choice question of the /add dialog (or tick a preference)."""
    option = await pressed_option(ctx, pressed.option_id)
    await engine.press(ctx, ADD_CONTACT, {AddStep(option.field)}, option.key)


@router.button(AddDone)
async def on_add_done(ctx: Context, pressed: AddDone) -> None:
    """Finish ticking the preferences of the /add dialog."""
    await engine.press(ctx, ADD_CONTACT, {AddStep.PREFERENCES}, "done")


@router.button(AddSkip)
async def on_add_skip(ctx: Context, pressed: AddSkip) -> None:
    """Skip the /add dialog's current question."""
    await engine.press(ctx, ADD_CONTACT, SKIPPABLE, "/skip")


@router.button(AddSave)
async def on_add_save(ctx: Context, pressed: AddSave) -> None:
    """Save the contact of the /add dialog."""
    await engine.press(ctx, ADD_CONTACT, {AddStep.CONFIRM}, "save")


@router.button(AddCancel)
async def on_add_cancel(ctx: Context, pressed: AddCancel) -> None:
    """Drop the /add dialog."""
    await engine.cancel_pressed(ctx, ADD_CONTACT)


# /find and /card


@router.command(
    "find",
    help=N_("find a customer"),
    usage=N_("<name, phone, company or tag> [tier:high|medium|low] [segment:<name>]"),
)
async def cmd_find(ctx: Context) -> None:
    """List the sender's customers that match, as buttons that open their cards."""
    member, _ = ctx.staff()
    text = " ".join(ctx.incoming.args.split())
    if not text:
        raise InvalidInput(
            N_(
                "Send it like this: /find Wang, /find 138 0013 8000, or a company or tag "
                "name. Add tier:high (or medium, low) or segment:slipping to narrow it."
            )
        )
    wanted = search.parse_query(text)
    found = await search.find_customers(
        ctx.session,
        actor=member,
        text=wanted.text,
        tier=wanted.tier,
        segment=wanted.segment,
        options=await _matching_options(ctx, member, wanted.text),
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
        [[card_button(ctx.t, c.id, result_label(c))] for c in found],
    )


@router.command("card", help=N_("a customer's card"), usage=N_("<id>"))
async def cmd_card(ctx: Context) -> None:
    """Show the card of the customer with the id typed."""
    value = ctx.incoming.args.strip().lstrip("#")
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(N_("Send it like this: /card 12 — or find someone with /find."))
    await show_card(ctx, int(value))


@router.button(OpenCard)
async def on_card_button(ctx: Context, pressed: OpenCard) -> None:
    """Show the card of the customer on the pressed button."""
    await show_card(ctx, pressed.customer_id)


@router.button(EditField)
async def on_edit_button(ctx: Context, pressed: EditField) -> None:
    """Start editing one field of a card; a field of several choices shows its ticks."""
    customer = await _card_customer(ctx, pressed.customer_id)
    if pressed.field in fields.FIELDS and fields.FIELDS[pressed.field].multi:
        ctx.reply(*await pick_screen(ctx, customer, pressed.field))
        return
    await engine.start(
        ctx,
        EDIT_FIELD,
        {"customer_id": customer.id, "customer_name": customer.name, "field": pressed.field},
    )


@router.button(EditOption)
async def on_edit_option(ctx: Context, pressed: EditOption) -> None:
    """Answer the open card edit from an option's button."""
    option = await pressed_option(ctx, pressed.option_id)
    await engine.press(ctx, EDIT_FIELD, {EditStep.VALUE}, option.key)


@router.button(CardPick)
async def on_card_pick(ctx: Context, pressed: CardPick) -> None:
    """Tick or untick one option of a several-choice field on the card's customer."""
    member, _ = ctx.staff()
    customer = await _card_customer(ctx, pressed.customer_id)
    option = await pressed_option(ctx, pressed.option_id)
    if not fields.FIELDS[option.field].multi:
        raise ctx.expired()
    held = list(getattr(customer, option.field) or [])
    chosen = [k for k in held if k != option.key] if option.key in held else [*held, option.key]
    await customers.update_customer(
        ctx.session, actor=member, customer_id=customer.id, changes={option.field: chosen or None}
    )
    ctx.edit(*await pick_screen(ctx, customer, option.field))


async def _matching_options(ctx: Context, member: Member, text: str) -> list[tuple[str, str]]:
    """Return the shop's options whose name, as the sender reads it, holds the text."""
    wanted = text.casefold()
    if not wanted:
        return []
    listed = await fields.options(ctx.session, workspace_id=member.workspace_id)
    return [(o.field, o.key) for o in listed if wanted in option_name(ctx.t, o).casefold()]


# The card's act buttons


@router.button(CardLog)
async def on_card_log(ctx: Context, pressed: CardLog) -> None:
    """Start /log for the card's customer."""
    await _start_about(ctx, LOG, pressed.customer_id)


@router.button(CardRemind)
async def on_card_remind(ctx: Context, pressed: CardRemind) -> None:
    """Ask when, and what, to remind the member about the card's customer."""
    await _start_about(ctx, CARD_REMIND, pressed.customer_id)


@router.button(CardBuy)
async def on_card_buy(ctx: Context, pressed: CardBuy) -> None:
    """Ask for the amount of a purchase by the card's customer."""
    await _start_about(ctx, CARD_BUY, pressed.customer_id)


async def _start_about(ctx: Context, dialog: Dialog, customer_id: int) -> None:
    """Start a dialog about the card's customer, named for its questions."""
    customer = await _card_customer(ctx, customer_id)
    await engine.start(ctx, dialog, {"customer_id": customer.id, "customer_name": customer.name})


@router.button(CardTags)
async def on_card_tags(ctx: Context, pressed: CardTags) -> None:
    """Show the shop's tags as buttons that add or remove them on the card's customer."""
    member, _ = ctx.staff()
    customer = await _card_customer(ctx, pressed.customer_id)
    text, buttons = await _tag_screen(ctx, member, customer)
    ctx.reply(text, buttons)


@router.button(CardTag)
async def on_card_tag(ctx: Context, pressed: CardTag) -> None:
    """Add the pressed tag to the card's customer, or remove it when they have it."""
    member, _ = ctx.staff()
    customer = await _card_customer(ctx, pressed.customer_id)
    try:
        name = tags.clean_tag_name(pressed.name)
    except InvalidInput:
        raise ButtonExpired(EXPIRED) from None
    has = {t.name for t in await tags.customer_tags(ctx.session, customer=customer)}
    try:
        await tags.change_tags(
            ctx.session,
            actor=member,
            customer_id=customer.id,
            add=[] if name in has else [name],
            remove=[name] if name in has else [],
        )
    except tags.UnknownTag:
        # The tag was deleted since the buttons were drawn.
        raise ButtonExpired(EXPIRED) from None
    text, buttons = await _tag_screen(ctx, member, customer)
    ctx.edit(text, buttons)


async def _card_customer(ctx: Context, customer_id: int) -> Customer:
    """Return a customer of the sender's scope whose card may be acted on.

    Raises:
        NotFound: when out of scope, answered as an expired button.
        ButtonExpired: when the record was erased after its card was drawn.
    """
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=customer_id)
    if customer.erased_at is not None:
        raise ButtonExpired(EXPIRED)
    return customer


async def _tag_screen(
    ctx: Context, member: Member, customer: Customer
) -> tuple[str, list[list[Button]]]:
    """Return the customer's tags, score and grade, with a toggle button per shop tag."""
    defined = await tags.list_tags(ctx.session, actor=member)
    has = {t.name for t in await tags.customer_tags(ctx.session, customer=customer)}
    names = ", ".join(html.escape(n) for n in sorted(has)) or "—"
    text = ctx.t(
        N_("🏷 {who}: {tags}\nScore <b>{score}</b> · grade <b>{grade}</b>"),
        who=who(customer),
        tags=Raw(names),
        score=customer.score,
        grade=customer.grade or "—",
    )
    offered = [t.name for t in defined if CardTag.fits(customer_id=customer.id, name=t.name)]
    if not offered:
        text += "\n" + ctx.t(N_("No tags yet. Admins add them with /tagdef vip interest 30."))
        return text, [[card_button(ctx.t, customer.id)]]
    text += "\n" + ctx.t(
        N_("Tap a tag to add or remove it (✅ = has it), or send /tag {id} +vip -cold."),
        id=customer.id,
    )
    toggles = [
        CardTag(customer_id=customer.id, name=name).button(("✅ " if name in has else "") + name)
        for name in offered[:TAG_BUTTONS]
    ]
    rows = [toggles[i : i + TAGS_PER_ROW] for i in range(0, len(toggles), TAGS_PER_ROW)]
    return text, [*rows, [card_button(ctx.t, customer.id)]]


# /route


@router.command(
    "route",
    help=N_("your customers of a region in visiting order"),
    usage=N_("[region] [move <id> <position>]"),
)
async def cmd_route(ctx: Context) -> None:
    """List a region's route, move a stop in it, or list the sender's regions."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split()
    if not words:
        await _regions(ctx)
        return
    if len(words) >= 3 and keyword(words[-3]) == "move":
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


@router.button(ShowRoute)
async def on_route_button(ctx: Context, pressed: ShowRoute) -> None:
    """Show a region's route; a region with none of the member's customers has expired."""
    member, _ = ctx.staff()
    stops = await classification.route(ctx.session, actor=member, region=pressed.region)
    if not stops:
        raise ctx.expired()
    ctx.reply(_route_text(ctx, pressed.region, stops), _route_buttons(ctx, stops))


@router.button(MoveStop)
async def on_move_button(ctx: Context, pressed: MoveStop) -> None:
    """Move a stop one place up or down its route."""
    member, _ = ctx.staff()
    customer = await get_visible(ctx.session, actor=member, customer_id=pressed.customer_id)
    stops = await classification.route(ctx.session, actor=member, region=customer.region or "")
    ids = [s.id for s in stops]
    index = ids.index(customer.id) if customer.id in ids else -1
    target = index if pressed.direction == "u" else index + 2
    if index < 0 or not 1 <= target <= len(ids):
        ctx.answer(ctx.t(N_("It can't move further.")))
        return
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
    # A region too long for a button's data can still be typed.
    buttons = [
        [ShowRoute(region=region).button(f"{region} ({count})")]
        for region, count in found
        if ShowRoute.fits(region=region)
    ]
    ctx.reply("\n".join(lines), buttons)


def _route_text(ctx: Context, region: str, stops: Sequence[Customer]) -> str:
    lines = [
        ctx.t(
            P_(
                "🗺 Route <b>{region}</b>: {count} stop",
                "🗺 Route <b>{region}</b>: {count} stops",
            ),
            region=region,
            count=len(stops),
        )
    ]
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
            card_button(ctx.t, stop.id, f"{number}. {stop.name}"[:40]),
            MoveStop(direction="u", customer_id=stop.id).button("⬆"),
            MoveStop(direction="d", customer_id=stop.id).button("⬇"),
        ]
        for number, stop in enumerate(stops[:ROUTE_BUTTONS], start=1)
    ]
