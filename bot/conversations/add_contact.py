"""The /add dialog: name, phone, company, classification and route, then Save or Cancel.

Company, classification and route may be skipped with /skip (or the Skip
button); skipping the ownership question skips the whole classification.
Buttons answer steps by typing their value into the open step (``press``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat.context import Context
from bot.chat.engine import DONE, Ask, Data, Receive, dialog
from bot.crm import companies, customers
from bot.crm.classification import CHOICES, parse_choice, parse_route
from bot.crm.phones import looks_like_phone, normalize_phone
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.messaging import Button
from bot.views.card import card_button

SAVE_WORDS = frozenset({"save", "yes", "ok", "保存", "是"})


class AddStep(StrEnum):
    """The questions of /add, persisted by value."""

    NAME = "name"
    PHONE = "phone"
    COMPANY = "company"
    OWNERSHIP = "ownership"
    BUSINESS = "business_type"
    LOCATION = "location_type"
    ROUTE = "route"
    CONFIRM = "confirm"


# Button code -> the step it answers, named like the customer column it sets.
CHOICE_STEPS = {"own": AddStep.OWNERSHIP, "biz": AddStep.BUSINESS, "loc": AddStep.LOCATION}
SKIPPABLE = frozenset({AddStep.OWNERSHIP, AddStep.BUSINESS, AddStep.LOCATION, AddStep.ROUTE})
CHOICE_KEYS = tuple(key for choices in CHOICES.values() for key in choices)


class AddChoice(CallbackData, prefix="ad"):
    """Answer a classification question of /add (ownership, business, location)."""

    code: Annotated[str, Choice(CHOICE_STEPS)]
    value: Annotated[str, Choice(CHOICE_KEYS)]


class AddSkip(CallbackData, prefix="ad:skip"):
    """Skip the current question of /add."""


class AddSave(CallbackData, prefix="ad:ok"):
    """Save the contact /add summed up."""


class AddCancel(CallbackData, prefix="ad:no"):
    """Drop the /add dialog."""


def is_skip(ctx: Context) -> bool:
    """Return whether the sender answered with /skip (typed or from a button)."""
    return ctx.incoming.command == "skip" or ctx.incoming.text.strip().lower() == "/skip"


def choice_buttons(
    ctx: Context, column: str, answer: Callable[[str], CallbackData]
) -> list[list[Button]]:
    """Return one button per choice of a classification column, up to three a row.

    ``answer`` makes the data a choice's button sends from the choice's key.
    """
    buttons = [answer(key).button(ctx.t(label)) for key, label in CHOICES[column].items()]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


def translated_names(ctx: Context, column: str) -> dict[str, str]:
    """Map the sender's-language labels of a column's choices to their keys."""
    return {ctx.t(label): key for key, label in CHOICES[column].items()}


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
        return AddStep.COMPANY
    region = ctx.workspace.region if ctx.workspace else None
    phone = normalize_phone(ctx.incoming.text, region=region)
    if await offer_existing(ctx, phone):
        return AddStep.PHONE
    data["phone"] = phone
    return AddStep.COMPANY


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
    code: str, question: str, then: AddStep, *, skip: str, skipped: AddStep | None = None
) -> tuple[Ask, Receive]:
    """Return the ask and receive of a classification question answered with buttons.

    ``question`` may name the contact (``{name}``); /skip goes to ``skipped`` (else
    ``then``) and stores nothing.
    """
    column = CHOICE_STEPS[code]

    async def ask(ctx: Context, data: Data) -> None:
        buttons = choice_buttons(ctx, column, lambda key: AddChoice(code=code, value=key))
        buttons.append([AddSkip().button(ctx.t(skip))])
        ctx.reply(ctx.t(question, name=data["name"]), buttons)

    async def receive(ctx: Context, data: Data) -> str:
        if is_skip(ctx):
            return skipped or then
        data[column] = parse_choice(
            column, ctx.incoming.text, names=translated_names(ctx, column)
        )
        return then

    return ask, receive


# Skipping the ownership skips the whole classification.
ask_ownership, receive_ownership = _choice_step(
    "own",
    N_("🏷 Classify {name}? Ownership:"),
    AddStep.BUSINESS,
    skip=N_("⏭ Skip classification"),
    skipped=AddStep.CONFIRM,
)
ask_business, receive_business = _choice_step(
    "biz", N_("Type of business?"), AddStep.LOCATION, skip=N_("⏭ Skip")
)
ask_location, receive_location = _choice_step(
    "loc", N_("Where are they located?"), AddStep.ROUTE, skip=N_("⏭ Skip")
)


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
    nature = [ctx.t(CHOICES[c][data[c]]) for c in CHOICES if data.get(c)]
    if nature:
        lines.append("🏷 " + html.escape(" · ".join(nature)))
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
            for key in (*CHOICES, "region", "route_order")
            if data.get(key) is not None
        },
    )
    ctx.reply(
        ctx.t(N_("✅ Saved <b>{name}</b> as #{id}."), name=customer.name, id=customer.id),
        [[card_button(ctx.t, customer.id)]],
    )


ADD_CONTACT = dialog("add_contact", AddStep, finish)
