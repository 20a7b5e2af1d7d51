"""The /add dialog: name, phone, the shop's fields, then Save or Cancel.

A retail shop asks gender, age band and preferences (tick several, then Done); a
trade business asks company, ownership, business and location type and the route.
Every field may be skipped with /skip (or the Skip button); skipping the first
choice skips them all. Buttons answer steps by typing their value into the open
step (``press``).
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.chat.engine import DONE, Ask, Data, Receive, dialog
from bot.crm import companies, customers, fields
from bot.crm.classification import parse_route
from bot.crm.models import FieldOption, WorkspaceKind
from bot.crm.phones import looks_like_phone, normalize_phone
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.views.card import card_button
from bot.views.fields import field_lines, option_buttons, shown_names

SAVE_WORDS = frozenset({"save", "yes", "ok", "保存", "是"})
DONE_WORDS = frozenset({"/done", "done", "完成", "好了"})


class AddStep(StrEnum):
    """The questions of /add, persisted by value."""

    NAME = "name"
    PHONE = "phone"
    COMPANY = "company"
    GENDER = "gender"
    AGE_BAND = "age_band"
    PREFERENCES = "preferences"
    OWNERSHIP = "ownership"
    BUSINESS = "business_type"
    LOCATION = "location_type"
    ROUTE = "route"
    CONFIRM = "confirm"


# The steps named like the customer field they set, answered by the shop's options.
CHOICE_STEPS = frozenset(AddStep(name) for name in fields.FIELDS)
SKIPPABLE = CHOICE_STEPS | {AddStep.ROUTE}
# What a trade business is asked after the phone; a retail shop goes to its fields.
AFTER_PHONE = {WorkspaceKind.RETAIL: AddStep.GENDER, WorkspaceKind.TRADE: AddStep.COMPANY}


class AddOption(CallbackData, prefix="ad:o"):
    """Answer a choice question of /add with one of the shop's options (or tick it)."""

    option_id: Annotated[int, Id("field_option")]


class AddDone(CallbackData, prefix="ad:d"):
    """Finish ticking the preferences of /add."""


class AddSkip(CallbackData, prefix="ad:skip"):
    """Skip the current question of /add."""


class AddSave(CallbackData, prefix="ad:ok"):
    """Save the contact /add summed up."""


class AddCancel(CallbackData, prefix="ad:no"):
    """Drop the /add dialog."""


def is_skip(ctx: Context) -> bool:
    """Return whether the sender answered with /skip (typed or from a button)."""
    return ctx.incoming.command == "skip" or ctx.incoming.text.strip().lower() == "/skip"


async def _options(ctx: Context, field: str) -> list[FieldOption]:
    member, _ = ctx.staff()
    return await fields.options(ctx.session, workspace_id=member.workspace_id, field=field)


def _kind(ctx: Context) -> WorkspaceKind:
    _, workspace = ctx.staff()
    return workspace.kind


async def ask_name(ctx: Context, data: Data) -> None:
    """Ask for the new contact's name."""
    ctx.reply(ctx.t(N_("👤 New contact. What's their name? (/cancel to stop)")))


async def receive_name(ctx: Context, data: Data) -> str:
    """Store a cleaned-up name; a phone number typed here is refused with a hint."""
    name = customers.clean_name(ctx.incoming.text)
    if looks_like_phone(name):
        raise InvalidInput(
            N_(
                "That looks like a phone number. Please send the name first; "
                "I'll ask for the phone next."
            )
        )
    data["name"] = name
    return AddStep.PHONE


async def ask_phone(ctx: Context, data: Data) -> None:
    """Ask for the phone number, which may be skipped."""
    ctx.reply(
        ctx.t(N_("📞 {name}'s phone number? Send /skip if you don't have it."), name=data["name"])
    )


async def receive_phone(ctx: Context, data: Data) -> str:
    """Store the phone in E.164, or point to the record that already has it."""
    if is_skip(ctx):
        data["phone"] = None
        return AFTER_PHONE[_kind(ctx)]
    region = ctx.workspace.region if ctx.workspace else None
    phone = normalize_phone(ctx.incoming.text, region=region)
    if await offer_existing(ctx, phone):
        return AddStep.PHONE
    data["phone"] = phone
    return AFTER_PHONE[_kind(ctx)]


async def offer_existing(ctx: Context, phone: str | None) -> bool:
    """Tell the rep when a phone is already on file (with its card if theirs); return whether."""
    member, _ = ctx.staff()
    existing = await customers.find_existing(ctx.session, actor=member, phone=phone)
    if existing is None:
        return False
    if existing.customer is None:
        ctx.reply(
            ctx.t(
                N_(
                    "ℹ️ A customer with this phone number already exists and belongs to "
                    "another rep. Ask your manager if you need it."
                )
            )
        )
        return True
    ctx.reply(
        ctx.t(
            N_("ℹ️ This number is already on file: <b>{name}</b> (#{id}). Open the card?"),
            name=existing.customer.name,
            id=existing.customer_id,
        ),
        [[card_button(ctx.t, existing.customer_id)]],
    )
    return True


async def ask_company(ctx: Context, data: Data) -> None:
    """Ask for the company, with branches written as a path."""
    ctx.reply(
        ctx.t(
            N_(
                "🏢 Company? E.g. <i>Wang Tea</i>, or a branch: <i>Wang Tea / Shanghai</i> "
                "(up to 3 levels). Send /skip if none."
            )
        )
    )


async def receive_company(ctx: Context, data: Data) -> str:
    """Store the company path, checked for depth."""
    data["company"] = None if is_skip(ctx) else companies.parse_path(ctx.incoming.text)
    return AddStep.OWNERSHIP


def _choice_step(
    field: AddStep, question: str, then: AddStep, *, skip: str, skipped: AddStep | None = None
) -> tuple[Ask, Receive]:
    """Return the ask and receive of a single-choice question answered with buttons.

    ``question`` may name the contact (``{name}``); /skip goes to ``skipped`` (else
    ``then``) and stores nothing.
    """

    async def ask(ctx: Context, data: Data) -> None:
        listed = await _options(ctx, field)
        buttons = option_buttons(ctx.t, listed, lambda o: AddOption(option_id=o.id))
        buttons.append([AddSkip().button(ctx.t(skip))])
        ctx.reply(ctx.t(question, name=data["name"]), buttons)

    async def receive(ctx: Context, data: Data) -> str:
        if is_skip(ctx):
            return skipped or then
        listed = await _options(ctx, field)
        data[field] = fields.parse_option(
            listed, ctx.incoming.text, names=shown_names(ctx.t, listed)
        )
        return then

    return ask, receive


# Skipping the first choice skips the shop's fields altogether.
ask_gender, receive_gender = _choice_step(
    AddStep.GENDER,
    N_("🏷 About {name}: gender?"),
    AddStep.AGE_BAND,
    skip=N_("⏭ Skip the details"),
    skipped=AddStep.CONFIRM,
)
ask_age_band, receive_age_band = _choice_step(
    AddStep.AGE_BAND, N_("Age band?"), AddStep.PREFERENCES, skip=N_("⏭ Skip")
)
ask_ownership, receive_ownership = _choice_step(
    AddStep.OWNERSHIP,
    N_("🏷 Classify {name}? Ownership:"),
    AddStep.BUSINESS,
    skip=N_("⏭ Skip classification"),
    skipped=AddStep.CONFIRM,
)
ask_business, receive_business = _choice_step(
    AddStep.BUSINESS, N_("Type of business?"), AddStep.LOCATION, skip=N_("⏭ Skip")
)
ask_location, receive_location = _choice_step(
    AddStep.LOCATION, N_("Where are they located?"), AddStep.ROUTE, skip=N_("⏭ Skip")
)


async def ask_preferences(ctx: Context, data: Data) -> None:
    """Ask what the contact likes, with a button per option to tick, Done and Skip."""
    listed = await _options(ctx, AddStep.PREFERENCES)
    buttons = option_buttons(
        ctx.t, listed, lambda o: AddOption(option_id=o.id), chosen=data.get("preferences") or ()
    )
    buttons.append([AddDone().button(ctx.t(N_("✅ Done"))), AddSkip().button(ctx.t(N_("⏭ Skip")))])
    text = ctx.t(N_("❤️ What does {name} like? Tap all that apply, then Done."), name=data["name"])
    # A tick redraws the question in place instead of asking again below it.
    (ctx.edit if data.get("picking") and ctx.incoming.callback_id else ctx.reply)(text, buttons)


async def receive_preferences(ctx: Context, data: Data) -> str:
    """Tick or untick one option; Done goes on; typed names (comma-separated) set them all."""
    data["picking"] = False
    text = ctx.incoming.text.strip()
    if is_skip(ctx):
        data["preferences"] = None
        return AddStep.CONFIRM
    if text.lower() in DONE_WORDS:
        return AddStep.CONFIRM
    listed = await _options(ctx, AddStep.PREFERENCES)
    names = shown_names(ctx.t, listed)
    chosen = list(data.get("preferences") or [])
    try:
        key = fields.parse_option(listed, text, names=names)
    except InvalidInput:
        parts = [p for p in re.split(r"[,，、;；]", text) if p.strip()]
        data["preferences"] = [fields.parse_option(listed, p, names=names) for p in parts]
        return AddStep.CONFIRM
    data["preferences"] = [k for k in chosen if k != key] if key in chosen else [*chosen, key]
    data["picking"] = True
    return AddStep.PREFERENCES


async def ask_route(ctx: Context, data: Data) -> None:
    """Ask for the sales region and the visiting order in it."""
    ctx.reply(
        ctx.t(
            N_(
                "📍 Sales region and visiting order, e.g. <i>north 3</i> "
                "(the order is optional). Send /skip if none."
            )
        )
    )


async def receive_route(ctx: Context, data: Data) -> str:
    """Store the region and visiting order."""
    if not is_skip(ctx):
        data["region"], data["route_order"] = parse_route(ctx.incoming.text)
    return AddStep.CONFIRM


async def ask_confirm(ctx: Context, data: Data) -> None:
    """Show what will be saved, with Save and Cancel buttons."""
    lines = [ctx.t(N_("Please check:")), f"👤 <b>{html.escape(data['name'])}</b>"]
    lines.append("📞 " + html.escape(data.get("phone") or ctx.t(N_("no phone"))))
    if data.get("company"):
        lines.append("🏢 " + html.escape(" / ".join(data["company"])))
    member, workspace = ctx.staff()
    listed = await fields.options(ctx.session, workspace_id=member.workspace_id)
    lines += field_lines(ctx.t, workspace.kind, listed, data)
    if data.get("region"):
        order = f" #{data['route_order']}" if data.get("route_order") else ""
        lines.append("📍 " + html.escape(f"{data['region']}{order}"))
    ctx.reply(
        "\n".join(lines),
        [[AddSave().button(ctx.t(N_("✅ Save"))), AddCancel().button(ctx.t(N_("Cancel")))]],
    )


async def receive_confirm(ctx: Context, data: Data) -> str:
    """Save on Save (or a typed yes); anything else re-asks."""
    if ctx.incoming.text.strip().lower() in SAVE_WORDS | {ctx.t(N_("Save")).lower()}:
        return DONE
    raise InvalidInput(N_("Please tap Save to keep it, or Cancel."))


async def finish(ctx: Context, data: Data) -> None:
    """Create the company path and the customer, then offer the card."""
    member, _ = ctx.staff()
    company = None
    if data.get("company"):
        company = await companies.resolve_path(ctx.session, actor=member, path=data["company"])
    customer = await customers.create_customer(
        ctx.session,
        actor=member,
        name=data["name"],
        phone=data.get("phone"),
        now=ctx.now(),
        company_id=company.id if company else None,
        classification={
            key: data[key]
            for key in (*fields.FIELDS, "region", "route_order")
            if data.get(key) is not None
        },
    )
    ctx.reply(
        ctx.t(N_("✅ Saved <b>{name}</b> as #{id}."), name=customer.name, id=customer.id),
        [[card_button(ctx.t, customer.id)]],
    )


ADD_CONTACT = dialog("add_contact", AddStep, finish)
