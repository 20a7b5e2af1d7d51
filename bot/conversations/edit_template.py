"""The template edit dialog: new text, previews with a sample and a real customer, save or discard.

Steps: ``text`` (the admin sends the new text; a refused one re-asks with the
reason), ``review`` (the preview, with buttons: a real customer, Save,
Discard; sending another text replaces it), ``customer`` (a name or phone
of a customer to preview with, then back to ``review``).
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id
from bot.campaigns import template_checks, template_store, template_versions
from bot.campaigns.template_store import Slot, TemplateBody
from bot.campaigns.templates import ALIASES, VARIABLES, describe_variables, sample_variables
from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import search
from bot.crm.scope import get_visible
from bot.errors import InvalidInput, TemplateError
from bot.i18n import N_, Raw
from bot.localtime import local_day, zone
from bot.messaging import Button
from bot.views.labels import language_name, template_name

SAVE, DISCARD, REAL_CUSTOMER = "@save", "@discard", "@customer"


class EditTemplateStep(StrEnum):
    """The questions of a template edit, persisted by value."""

    TEXT = "text"
    REVIEW = "review"
    CUSTOMER = "customer"


class TemplateAction(CallbackData, prefix="tp"):
    """A template's button: open it (``o``), edit it (``e``) or show its history (``h``)."""

    action: Annotated[str, Choice(("o", "e", "h"))]
    template_id: Annotated[int, Id("message_template")]


class ReviewSave(CallbackData, prefix="tp:s"):
    """Save the text under review."""


class ReviewDiscard(CallbackData, prefix="tp:d"):
    """Drop the text under review."""


class ReviewWithCustomer(CallbackData, prefix="tp:c"):
    """Preview the text under review with a real customer."""


def template_label(ctx: Context, key: str, locale: str, variant: str) -> Raw:
    """Return ``welcome · English · grade A`` with the key in bold, ready for a reply."""
    label = f"<b>{html.escape(template_name(ctx.t, key))}</b> · {language_name(ctx.t, locale)}"
    if variant:
        label += " · " + ctx.t(N_("grade {grade}"), grade=variant)
    return Raw(label)


def slot_name(ctx: Context, locale: str, variant: str) -> str:
    """Return ``English · grade C`` (or just the language for the text everyone gets)."""
    name = language_name(ctx.t, locale)
    return f"{name} · {ctx.t(N_('grade {grade}'), grade=variant)}" if variant else name


async def reach_lines(ctx: Context, key: str, current: Slot) -> list[str]:
    """List every variant of a key (language × grade) with how many customers get it now."""
    _, workspace = ctx.staff()
    bodies = await template_store.current_bodies(ctx.session, workspace.id, key)
    if not bodies:
        return []
    counts = await template_store.reach(ctx.session, workspace.id, bodies, workspace.locale)
    lines = [ctx.t(N_("👥 Variants, and how many customers each reaches now:"))]
    for slot in sorted(bodies, key=lambda s: (s[0] != "en", s[0], s[1])):
        mark = " ← " + ctx.t(N_("this one")) if slot == current else ""
        lines.append(
            "• "
            + ctx.t(
                N_("{variant}: {count}"),
                variant=slot_name(ctx, *slot),
                count=counts.get(slot, 0),
            )
            + mark
        )
    return lines


async def base_warnings(
    ctx: Context, key: str, locale: str, variant: str
) -> tuple[list[str], list[list[Button]]]:
    """Say which grades have their own variant when the text everyone gets is edited."""
    if variant:
        return [], []
    _, workspace = ctx.staff()
    bodies = await template_store.current_bodies(ctx.session, workspace.id, key)
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for (language, grade), body in sorted(bodies.items()):
        if language != locale or not grade:
            continue
        lines.append(
            ctx.t(
                N_(
                    "⚠️ Grade {grade} customers get their own variant; "
                    "this edit does not reach them."
                ),
                grade=grade,
            )
        )
        if body.template_id is not None:
            edit = TemplateAction(action="e", template_id=body.template_id)
            buttons.append(
                [edit.button(ctx.t(N_("✏️ Edit the grade {grade} variant"), grade=grade))]
            )
    return lines, buttons


def edit_data(key: str, locale: str, variant: str) -> Data:
    """Return the starting data of an edit of one template."""
    return {"key": key, "locale": locale, "variant": variant}


async def ask_text(ctx: Context, data: Data) -> None:
    """Ask for the new text, listing the variables and the formatting Telegram shows."""
    label = template_label(ctx, data["key"], data["locale"], data["variant"])
    warnings, buttons = await base_warnings(ctx, data["key"], data["locale"], data["variant"])
    if warnings:
        ctx.reply("\n".join(warnings), buttons)
    ctx.reply(
        ctx.t(
            N_(
                "✏️ Send the new text for {template}.\n"
                "Variables: {variables}\n"
                "Formatting: b, i, u, s, a href, code, pre, blockquote, tg-spoiler tags.\n"
                "Tip: copy the current text, change it and send it back. (/cancel to stop)"
            ),
            template=label,
            variables=describe_variables(ALIASES if ctx.locale == "zh-CN" else VARIABLES),
        )
    )


async def receive_text(ctx: Context, data: Data) -> str:
    """Check the text (a refused one re-asks with the reason) and go to the preview."""
    data["body"] = await _checked(ctx, ctx.incoming.text)
    return EditTemplateStep.REVIEW


async def ask_review(ctx: Context, data: Data) -> None:
    """Show what the customer would get, then Save / Discard / preview with a real customer.

    A real customer is shown the text delivery would pick for them (their language
    and grade): the one under edit, or the variant they get instead, named.
    """
    member, workspace = ctx.staff()
    buttons: list[list[Button]] = [
        [ReviewWithCustomer().button(ctx.t(N_("👤 Preview with a real customer")))],
        [
            ReviewSave().button(ctx.t(N_("✅ Save"))),
            ReviewDiscard().button(ctx.t(N_("🗑 Discard"))),
        ],
    ]
    body: str = data["body"]
    if data.get("customer_id"):
        customer = await get_visible(ctx.session, actor=member, customer_id=data["customer_id"])
        who = Raw(html.escape(customer.name))
        bodies = await template_store.current_bodies(ctx.session, workspace.id, data["key"])
        editing = TemplateBody(None, 0, body, data["locale"], data["variant"])
        bodies[(editing.locale, editing.variant)] = editing
        picked = template_store.pick_for(
            bodies, locale=customer.locale, grade=customer.grade, fallback_locale=workspace.locale
        )
        if picked is None:  # pragma: no cover - the text under edit is always a candidate
            picked = editing
        gets = template_label(ctx, data["key"], picked.locale, picked.variant)
        if picked is editing:
            heading = ctx.t(
                N_(
                    "👀 Preview for {who}, who gets {template}. "
                    "Tap Save to keep it, or send a corrected text:"
                ),
                who=who,
                template=gets,
            )
        else:
            heading = ctx.t(
                N_(
                    "⚠️ {who} gets {template}, not the text you are editing. "
                    "This is what they receive:"
                ),
                who=who,
                template=gets,
            )
            body = picked.body
            if picked.template_id is not None:
                other = TemplateAction(action="e", template_id=picked.template_id)
                label = ctx.t(
                    N_("✏️ Edit {variant} instead"),
                    variant=slot_name(ctx, picked.locale, picked.variant),
                )
                buttons.insert(1, [other.button(label)])
        variables = await template_store.customer_variables_for(
            ctx.session,
            customer=customer,
            workspace=workspace,
            locale=template_store.delivery_locale(customer.locale, workspace.locale),
            today=local_day(ctx.now(), zone(customer.timezone, workspace.timezone)),
        )
    else:
        variables = sample_variables(data["locale"])
        variables["merchant"] = workspace.name
        who = Raw(ctx.t(N_("a sample customer, {name}"), name=variables["name"]))
        heading = ctx.t(
            N_("👀 Preview for {who}. Tap Save to keep it, or send a corrected text:"),
            who=who,
        )
    try:
        text = await template_checks.render_one(ctx.app.renders, body, variables)
    except TemplateError as exc:
        ctx.reply(
            ctx.t(
                N_("⚠️ For {who} this text can't be sent: {reason}"),
                who=who,
                reason=Raw(ctx.t(exc.reason)),
            ),
            buttons,
        )
        return
    ctx.reply(heading)
    ctx.reply(text, buttons)


async def receive_review(ctx: Context, data: Data) -> str:
    """Save, discard, pick a real customer, or take a corrected text."""
    text = ctx.incoming.text.strip()
    if text in (SAVE, DISCARD):
        data["action"] = text
        return DONE
    if text == REAL_CUSTOMER:
        return EditTemplateStep.CUSTOMER
    data["body"] = await _checked(ctx, ctx.incoming.text)
    return EditTemplateStep.REVIEW


async def ask_customer(ctx: Context, data: Data) -> None:
    """Ask which customer to preview with."""
    ctx.reply(
        ctx.t(
            N_("👤 Send the name or phone number of a customer to preview with. (/cancel to stop)")
        )
    )


async def receive_customer(ctx: Context, data: Data) -> str:
    """Find the customer (among those the admin may see) and go back to the preview."""
    member, _ = ctx.staff()
    text = " ".join(ctx.incoming.text.split())
    found = await search.find_customers(ctx.session, actor=member, text=text, limit=1)
    if not found:
        raise InvalidInput(
            N_("No customer matches “{text}”. Try part of their name or phone number."),
            text=text,
        )
    data["customer_id"] = found[0].id
    return EditTemplateStep.REVIEW


async def finish(ctx: Context, data: Data) -> None:
    """Save the text as a new version, or leave the template as it was."""
    member, _ = ctx.staff()
    label = template_label(ctx, data["key"], data["locale"], data["variant"])
    if data.get("action") != SAVE:
        ctx.reply(ctx.t(N_("OK, discarded. {template} keeps its current text."), template=label))
        return
    saved = await template_versions.save_version(
        ctx.session,
        actor=member,
        key=data["key"],
        locale=data["locale"],
        variant=data["variant"],
        body=data["body"],
        now=ctx.now(),
        renders=ctx.app.renders,
    )
    opened = ctx.t(N_("📝 Open it"))
    ctx.reply(
        ctx.t(
            N_("✅ Saved. {template} is now at version {version}."),
            template=label,
            version=saved.version,
        ),
        [[TemplateAction(action="o", template_id=saved.template_id).button(opened)]],
    )


async def _checked(ctx: Context, text: str) -> str:
    if not text.strip():
        raise InvalidInput(N_("Please send the template as a text message."))
    # Tried on the sample customer by the render workers: a text that runs away is
    # stopped there and refused here with the reason.
    await template_checks.check(ctx.app.renders, text)
    return text


EDIT_TEMPLATE = dialog("edit_template", EditTemplateStep, finish)
