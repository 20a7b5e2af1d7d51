"""The customer card: one message with a record's details, history and edit buttons.

Its conversation timeline (the last messages in and out) is drawn by
``entry_line``, which ``/history`` uses for its lines as well.

Rendering helpers only; the commands and buttons that show a card live in
``bot.handlers.contacts``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.callbacks import MAX_BYTES, MAX_ID, SEP, CallbackData, Choice, Id, Text
from bot.chat.context import Context
from bot.crm import cards, fields, leads
from bot.crm.inbox import history
from bot.crm.models import (
    Consent,
    Customer,
    CustomerKind,
    Direction,
    FieldOption,
    MessageKind,
    WorkspaceKind,
)
from bot.crm.purchases import format_money
from bot.i18n import N_, P_
from bot.localtime import show_date, show_day, show_minute, show_short
from bot.messaging import Button
from bot.views.fields import ICONS, field_lines, field_name
from bot.views.labels import CHANNEL_NAMES, SEGMENT_NAMES, TIER_NAMES

Translate = Callable[..., str]
SUMMARY_CHARS = 80
TIMELINE_CHARS = 60
# A message's kind as shown instead of (or before) its text.
KIND_LABELS = {
    MessageKind.PHOTO: ("🖼", N_("photo")),
    MessageKind.VOICE: ("🎤", N_("voice message")),
    MessageKind.VIDEO: ("🎬", N_("video")),
    MessageKind.VIDEO_NOTE: ("📹", N_("video message")),
    MessageKind.AUDIO: ("🎵", N_("audio")),
    MessageKind.DOCUMENT: ("📎", N_("document")),
    MessageKind.STICKER: ("🏷", N_("sticker")),
    MessageKind.ANIMATION: ("🎞", N_("GIF")),
    MessageKind.LOCATION: ("📍", N_("location")),
    MessageKind.CONTACT: ("👤", N_("contact")),
    MessageKind.OTHER: ("✉️", N_("message")),
}
CARD_LABEL = N_("📇 Open card")
KIND_NAMES = {CustomerKind.LEAD: N_("Lead"), CustomerKind.CUSTOMER: N_("Customer")}
CONSENT_NAMES = {
    Consent.UNKNOWN: N_("not asked yet"),
    Consent.OPTED_IN: N_("subscribed"),
    Consent.OPTED_OUT: N_("opted out"),
}
# Edit button field -> its label; the field names are the edit dialog's. The shop's
# choice fields (``bot.crm.fields``) come between the first row and the last.
FIRST_ROW = (("name", N_("✏️ Name")), ("phone", N_("📞 Phone")), ("company", N_("🏢 Company")))
LAST_ROW: dict[WorkspaceKind, tuple[tuple[str, str], ...]] = {
    WorkspaceKind.RETAIL: (("birthday", N_("🎂 Birthday")), ("notes", N_("🗒 Notes"))),
    WorkspaceKind.TRADE: (
        ("birthday", N_("🎂 Birthday")),
        ("route", N_("📍 Region / route")),
        ("notes", N_("🗒 Notes")),
    ),
}
EDITABLE = (*(name for name, _ in FIRST_ROW), *fields.FIELDS, "birthday", "route", "notes")


# The act buttons under the edit ones: log a contact, remind, record a purchase, tag.
LOG_LABEL, REMIND_LABEL = N_("📝 Log"), N_("⏰ Remind")
BUY_LABEL, TAG_LABEL = N_("💰 Buy"), N_("🏷 Tag")
TOGGLE_PREFIX = "ca:x"
# What is left of Telegram's 64 bytes after the toggle's prefix and a customer id.
TOGGLE_NAME_BYTES = MAX_BYTES - len(TOGGLE_PREFIX) - len(str(MAX_ID)) - 2 * len(SEP)


class OpenCard(CallbackData, prefix="ct"):
    """Open a customer's card."""

    customer_id: Annotated[int, Id("customer")]


class EditField(CallbackData, prefix="ce"):
    """Start editing one field of a customer's card."""

    customer_id: Annotated[int, Id("customer")]
    field: Annotated[str, Choice(EDITABLE)]


class CardLog(CallbackData, prefix="ca:l"):
    """Start the /log dialog for the customer of a card."""

    customer_id: Annotated[int, Id("customer")]


class CardRemind(CallbackData, prefix="ca:r"):
    """Ask when, and what, to remind the member about the customer of a card."""

    customer_id: Annotated[int, Id("customer")]


class CardBuy(CallbackData, prefix="ca:b"):
    """Ask for the amount of a purchase by the customer of a card."""

    customer_id: Annotated[int, Id("customer")]


class CardTags(CallbackData, prefix="ca:t"):
    """Show the shop's tags as buttons that add or remove them on a card's customer."""

    customer_id: Annotated[int, Id("customer")]


class CardTag(CallbackData, prefix=TOGGLE_PREFIX):
    """Add a tag to the customer of a card, or remove it when they have it."""

    customer_id: Annotated[int, Id("customer")]
    name: Annotated[str, Text(TOGGLE_NAME_BYTES)]


async def show_card(ctx: Context, customer_id: int, *, edit: bool = False) -> None:
    """Send (or, from a button, replace with) the card of a customer in the sender's scope.

    An erased customer's card says so and offers no buttons: nothing is left to edit,
    and nobody is left to contact.
    """
    member, _ = ctx.staff()
    facts = await cards.card(ctx.session, actor=member, customer_id=customer_id)
    timeline = await history.last_messages(ctx.session, actor=member, customer_id=customer_id)
    options = await fields.options(ctx.session, workspace_id=member.workspace_id)
    text = render_card(ctx, facts, timeline, options)
    buttons: list[list[Button]] = []
    if facts.customer.erased_at is None:
        buttons = act_buttons(ctx, facts.customer.id) + edit_buttons(ctx, facts.customer.id)
    (ctx.edit if edit else ctx.reply)(text, buttons)


def render_card(
    ctx: Context,
    facts: cards.Card,
    timeline: Sequence[history.Entry] = (),
    options: Sequence[FieldOption] = (),
) -> str:
    """Compose the card text (HTML) in the sender's language and time zone.

    ``timeline`` is the customer's latest conversation messages, newest first;
    ``options`` the shop's field options, which name the customer's choices.
    """
    c = facts.customer
    lines = [f"📇 <b>{html.escape(c.name)}</b> (#{c.id})"]
    if c.erased_at is not None:
        lines.append(
            ctx.t(
                N_("🗑 Personal data erased on {day}; kept only for the shop's counts."),
                day=show_day(c.erased_at, ctx.tz),
            )
        )
    lines.append("📞 " + html.escape(c.phone or ctx.t(N_("no phone"))))
    if facts.companies:
        lines.append("🏢 " + html.escape(" / ".join(x.name for x in facts.companies)))
    lines += field_lines(ctx.t, _kind(ctx), options, c)
    if c.birthday_date is not None:
        lines.append(ctx.t(N_("🎂 Birthday: {day}"), day=show_date(c.birthday_date)))
    if c.region:
        lines.append("📍 " + route_text(ctx, c))
    lines.append(
        ctx.t(
            N_("📊 {kind} · stage {stage} · grade {grade} · score {score}"),
            kind=ctx.t(KIND_NAMES[c.kind]),
            stage=stage_name(ctx, c.stage),
            grade=c.grade or "–",
            score=c.score,
        )
    )
    value = value_line(ctx, c, facts.currency)
    if value:
        lines.append(value)
    lines.append(ctx.t(N_("👤 Owner: {owner}"), owner=facts.owner_name or ctx.t(N_("the pool"))))
    telegram = N_("linked") if c.tg_user_id else N_("not linked yet")
    lines.append(
        ctx.t(
            N_("✉️ Messages: {consent} · Telegram {telegram}"),
            consent=ctx.t(CONSENT_NAMES[c.consent]),
            telegram=ctx.t(telegram),
        )
    )
    if facts.tags:
        lines.append(ctx.t(N_("🔖 Tags: {tags}"), tags=", ".join(facts.tags)))
    if c.notes:
        lines.append(ctx.t(N_("🗒 Notes: {notes}"), notes=c.notes))
    lines += _history(ctx, facts)
    lines += _timeline(ctx, c.id, timeline)
    if c.join_token:
        lines.append("")
        lines.append(
            ctx.t(
                N_("🔗 Their own link (opens the bot linked to this card):\n{link}"),
                link=ctx.deep_link(f"c_{c.join_token}"),
            )
        )
    return "\n".join(lines)


def edit_buttons(ctx: Context, customer_id: int) -> list[list[Button]]:
    """Return the card's edit buttons, one per editable field of the shop's kind."""
    kind = _kind(ctx)
    choices = [
        (spec.name, _icon(spec.name) + field_name(ctx.t, spec.name))
        for spec in fields.fields_of(kind)
    ]
    rows = [
        [(key, ctx.t(label)) for key, label in FIRST_ROW],
        choices,
        [(key, ctx.t(label)) for key, label in LAST_ROW[kind]],
    ]
    return [
        [EditField(customer_id=customer_id, field=key).button(label) for key, label in row]
        for row in rows
    ]


def act_buttons(ctx: Context, customer_id: int) -> list[list[Button]]:
    """Return the card's act buttons: log a contact, remind, record a purchase, tag."""
    return [
        [
            CardLog(customer_id=customer_id).button(ctx.t(LOG_LABEL)),
            CardRemind(customer_id=customer_id).button(ctx.t(REMIND_LABEL)),
        ],
        [
            CardBuy(customer_id=customer_id).button(ctx.t(BUY_LABEL)),
            CardTags(customer_id=customer_id).button(ctx.t(TAG_LABEL)),
        ],
    ]


def _kind(ctx: Context) -> WorkspaceKind:
    assert ctx.workspace is not None  # noqa: S101 - member routers only
    return ctx.workspace.kind


def _icon(field: str) -> str:
    icon = ICONS.get(field)
    return f"{icon} " if icon else ""


def value_line(ctx: Context, customer: Customer, currency: str) -> str:
    """Return the value tier, segment and lifetime value as one line, or '' before computed."""
    if customer.tiers_computed_at is None:
        return ""
    parts = []
    if customer.value_tier is not None:
        parts.append(ctx.t(TIER_NAMES[customer.value_tier]))
    if customer.rfm_segment is not None:
        parts.append(ctx.t(SEGMENT_NAMES[customer.rfm_segment]))
    if customer.clv_minor is not None:
        parts.append(
            ctx.t(N_("lifetime value {clv}"), clv=format_money(customer.clv_minor, currency))
        )
    return "💎 " + " · ".join(parts) if parts else ""


def route_text(ctx: Context, customer: Customer) -> str:
    """Return the region and visiting order as escaped text."""
    if customer.route_order is None:
        return html.escape(customer.region or "")
    return ctx.t(
        N_("{region}, stop {order}"), region=customer.region or "", order=customer.route_order
    )


def stage_name(ctx: Context, key: str) -> str:
    """Return the merchant's label of a stage, or its default name."""
    assert ctx.workspace is not None  # noqa: S101 - member routers only
    return leads.stage_label(ctx.workspace, key) or ctx.t(leads.DEFAULT_LABELS.get(key, key))


def result_label(customer: Customer) -> str:
    """Return a one-line button label for a search or route result."""
    phone = f" · {customer.phone}" if customer.phone else ""
    return f"{customer.name}{phone} #{customer.id}"[:60]


def card_button(t: Translate, customer_id: int, label: str | None = None) -> Button:
    """Return the button that opens a customer's card, labelled "📇 Open card" or ``label``."""
    return OpenCard(customer_id=customer_id).button(label or t(CARD_LABEL))


def _history(ctx: Context, facts: cards.Card) -> Sequence[str]:
    lines: list[str] = []
    if facts.follow_ups:
        lines.append(ctx.t(N_("🗂 Last contacts:")))
        for item in facts.follow_ups:
            summary = item.summary if len(item.summary) <= SUMMARY_CHARS else item.summary[:79]
            day = show_day(item.at, ctx.tz)
            channel = ctx.t(CHANNEL_NAMES[item.channel])
            lines.append(f"• {day} {html.escape(channel)} — {html.escape(summary)}")
    else:
        lines.append(ctx.t(N_("🗂 No contacts logged yet.")))
    if facts.next_reminder is not None:
        due = show_minute(facts.next_reminder.due_at, ctx.tz)
        lines.append(
            ctx.t(
                N_("⏰ Next reminder: {when} — {text}"),
                when=due,
                text=facts.next_reminder.text,
            )
        )
    if facts.purchases:
        last = facts.last_purchase_at
        lines.append(
            ctx.t(
                P_(
                    "🛒 {count} purchase, {total} in all, last on {last}; repurchases: {repeat}",
                    "🛒 {count} purchases, {total} in all, last on {last}; repurchases: {repeat}",
                ),
                count=facts.purchases,
                total=format_money(facts.total_minor, facts.currency),
                last=show_day(last, ctx.tz) if last else "–",
                repeat=facts.repurchases,
            )
        )
    else:
        lines.append(ctx.t(N_("🛒 No purchases yet.")))
    return lines


def message_text(
    t: Translate, kind: MessageKind, text: str | None, *, erased: bool, limit: int
) -> str:
    """Return a message's content as one escaped line: kind icon, then text or caption, cut."""
    if erased:
        return t(N_("(erased)"))
    body = " ".join((text or "").split())
    if len(body) > limit:
        cut = body[: limit - 1]
        # End on a whole word when one ends in the second half.
        space = cut.rfind(" ", limit // 2)
        body = (cut[:space] if space > 0 else cut).rstrip(" ,;:") + "…"
    if kind is MessageKind.TEXT:
        return html.escape(body, quote=False)
    icon, name = KIND_LABELS[kind]
    return f"{icon} " + html.escape(body, quote=False) if body else f"{icon} {t(name)}"


def entry_line(
    t: Translate, entry: history.Entry, tz: ZoneInfo, *, limit: int, full_date: bool = False
) -> str:
    """Return one message of a conversation: local time, who (👤 / 🏪 name) and content."""
    when = show_minute(entry.at, tz) if full_date else show_short(entry.at, tz)
    if entry.direction is Direction.IN:
        who = "👤"
    else:
        name = entry.member_name or t(N_("the shop"))
        who = "🏪 " + html.escape(name, quote=False) + ":"
    content = message_text(t, entry.kind, entry.text, erased=entry.erased, limit=limit)
    return f"{when} {who} {content}"


def _timeline(ctx: Context, customer_id: int, timeline: Sequence[history.Entry]) -> list[str]:
    if not timeline:
        return []
    lines = [ctx.t(N_("💬 Conversation"))]
    lines += [
        "• " + entry_line(ctx.t, entry, ctx.tz, limit=TIMELINE_CHARS)
        for entry in reversed(timeline)
    ]
    lines.append(ctx.t(N_("/history {id} for all"), id=customer_id))
    return lines
