"""The one-step dialog behind a card's edit buttons: a new value for one field of a customer.

Fields: name, phone, company (a path such as ``Wang Tea / Shanghai``), the shop's
single-choice fields (buttons from its own lists, ``bot.crm.fields``), birthday,
route (region and visiting order) and notes. A field of several choices
(preferences) is ticked on a screen of its own instead (``bot.handlers.contacts``).
A single ``-`` clears an optional field. After saving, the card is shown again.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import companies, customers, fields
from bot.crm.birthdays import parse_birthday
from bot.crm.classification import parse_route
from bot.crm.phones import normalize_phone
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import local_day
from bot.views.card import show_card
from bot.views.fields import option_buttons, shown_names

CLEAR = "-"
PROMPTS = {
    "name": N_("✏️ New name for <b>{name}</b>?"),
    "phone": N_("📞 New phone number for <b>{name}</b>? Send - to remove it."),
    "company": N_(
        "🏢 Company of <b>{name}</b>? E.g. <i>Wang Tea</i> or <i>Wang Tea / Shanghai</i> "
        "(up to 3 levels). Send - to remove it."
    ),
    "ownership": N_("🏷 Ownership of <b>{name}</b>? Send - to clear it."),
    "business_type": N_("🏷 Type of business of <b>{name}</b>? Send - to clear it."),
    "location_type": N_("🏷 Location of <b>{name}</b>? Send - to clear it."),
    "gender": N_("🏷 Gender of <b>{name}</b>? Send - to clear it."),
    "age_band": N_("🏷 Age band of <b>{name}</b>? Send - to clear it."),
    "birthday": N_("🎂 Birthday of <b>{name}</b>, e.g. <i>1990-05-17</i>? Send - to clear it."),
    "route": N_(
        "📍 Region and visiting order of <b>{name}</b>, e.g. <i>north 3</i>? Send - to clear it."
    ),
    "notes": N_("🗒 Notes on <b>{name}</b>? They replace the old ones. Send - to clear them."),
}


class EditStep(StrEnum):
    """The single question of a field edit, persisted by value."""

    VALUE = "value"


class EditOption(CallbackData, prefix="ce:o"):
    """Answer a card edit of a choice field with one of the shop's options."""

    option_id: Annotated[int, Id("field_option")]


async def ask_value(ctx: Context, data: Data) -> None:
    """Ask for the field's new value, with buttons for a choice."""
    field = data["field"]
    text = (
        ctx.t(PROMPTS[field], name=data["customer_name"]) + "\n" + ctx.t(N_("(/cancel to stop)"))
    )
    if field in fields.FIELDS:
        listed = await fields.options(ctx.session, workspace_id=_workspace_id(ctx), field=field)
        ctx.reply(text, option_buttons(ctx.t, listed, lambda o: EditOption(option_id=o.id)))
    else:
        ctx.reply(text)


async def receive_value(ctx: Context, data: Data) -> str:
    """Check the new value and store it as column changes."""
    field: str = data["field"]
    text = ctx.incoming.text.strip()
    clear = text == CLEAR
    changes: dict[str, Any]
    if field == "name":
        changes = {"name": customers.clean_name(text)}
    elif field == "phone":
        changes = {"phone": None if clear else await _phone(ctx, data, text)}
    elif field == "company":
        changes = {"company_path": None if clear else companies.parse_path(text)}
    elif field in fields.FIELDS:
        listed = await fields.options(ctx.session, workspace_id=_workspace_id(ctx), field=field)
        names = shown_names(ctx.t, listed)
        changes = {field: None if clear else fields.parse_option(listed, text, names=names)}
    elif field == "birthday":
        born = None if clear else parse_birthday(text, today=local_day(ctx.now(), ctx.tz))
        changes = {"birthday_date": born.isoformat() if born else None}
    elif field == "route":
        region, order = (None, None) if clear else parse_route(text)
        changes = {"region": region, "route_order": order}
    else:
        if not text or text.startswith("/"):
            raise InvalidInput(N_("Please send the notes as text, or - to clear them."))
        changes = {"notes": None if clear else text}
    data["changes"] = changes
    return DONE


async def finish(ctx: Context, data: Data) -> None:
    """Save the change and show the card again."""
    member, _ = ctx.staff()
    changes: dict[str, Any] = dict(data["changes"])
    if "company_path" in changes:
        path = changes.pop("company_path")
        company = (
            await companies.resolve_path(ctx.session, actor=member, path=path) if path else None
        )
        changes["company_id"] = company.id if company else None
    if changes.get("birthday_date"):
        changes["birthday_date"] = date.fromisoformat(changes["birthday_date"])
    await customers.update_customer(
        ctx.session, actor=member, customer_id=data["customer_id"], changes=changes
    )
    ctx.reply(ctx.t(N_("✅ Saved.")))
    await show_card(ctx, data["customer_id"])


def _workspace_id(ctx: Context) -> int:
    member, _ = ctx.staff()
    return member.workspace_id


async def _phone(ctx: Context, data: Data, text: str) -> str:
    member, workspace = ctx.staff()
    phone = normalize_phone(text, region=workspace.region)
    existing = await customers.find_existing(ctx.session, actor=member, phone=phone)
    if existing is not None and existing.customer_id != data["customer_id"]:
        raise InvalidInput(N_("Another customer already has this phone number."))
    return phone


EDIT_FIELD = dialog("edit_field", EditStep, finish)
