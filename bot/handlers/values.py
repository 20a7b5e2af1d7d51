"""Value of a customer: tags and scoring, grade thresholds, purchases."""

from __future__ import annotations

import html
from typing import Annotated

from bot.callbacks import EXPIRED, MAX_BYTES, SEP, CallbackData, Id, Text
from bot.chat.context import Context
from bot.chat.router import MANAGERS, MEMBERS, Router
from bot.crm import purchases, tags
from bot.crm.models import Customer, Role, TagDimension
from bot.errors import ButtonExpired, InvalidInput
from bot.i18n import N_, P_, Raw, keyword
from bot.localtime import show_day
from bot.views.replies import customer_id_arg, money_line, show_purchase, show_with_card, who

router = Router("values", MEMBERS)
admin_router = Router("values.admin", MANAGERS)

CREATE_TAG_PREFIX = "tg:new"
# What is left of Telegram's 64 bytes after the prefix and a customer id: every
# ASCII tag name (40 at most) fits; a longer non-ASCII one is offered as a command.
TAG_NAME_BYTES = MAX_BYTES - len(CREATE_TAG_PREFIX) - len(str(2**63 - 1)) - 2 * len(SEP)


class CreateTag(CallbackData, prefix=CREATE_TAG_PREFIX):
    """Create a tag /tag did not know, with the default dimension and weight, and add it."""

    customer_id: Annotated[int, Id("customer")]
    name: Annotated[str, Text(TAG_NAME_BYTES)]


# Tags and scoring


@router.command("tags", help=N_("the tags and their weights"))
async def cmd_tags(ctx: Context) -> None:
    """List the tags by dimension with weights, and the grade thresholds."""
    member, workspace = ctx.staff()
    defined = await tags.list_tags(ctx.session, actor=member)
    lines = [ctx.t(N_("🏷 <b>Tags</b>"))]
    for dimension in TagDimension:
        names = [
            f"{html.escape(t.name)} ({t.weight:+d})" for t in defined if t.dimension is dimension
        ]
        lines.append(
            f"<b>{ctx.t(tags.DIMENSION_LABELS[dimension])}</b>: {', '.join(names) or '—'}"
        )
    if not defined:
        lines.append(ctx.t(N_("No tags yet. Admins add them with /tagdef vip interest 30.")))
    lines.append(
        ctx.t(N_("Grades: {grades}"), grades=tags.describe_grades(workspace.grade_thresholds))
    )
    ctx.reply("\n".join(lines))


@router.command("tag", help=N_("tag a customer"), usage=N_("<id> +tag -tag"))
async def cmd_tag(ctx: Context) -> None:
    """Add (+name) and remove (-name) tags on a customer and show the new score and grade."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split()
    customer_id = customer_id_arg(
        words[0] if words else "", N_("Send it like this: /tag 12 +vip -cold")
    )
    add = [w for w in words[1:] if not w.startswith("-")]
    remove = [w for w in words[1:] if w.startswith("-")]
    try:
        result = await tags.change_tags(
            ctx.session, actor=member, customer_id=customer_id, add=add, remove=remove
        )
    except tags.UnknownTag as unknown:
        if not unknown.adding or member.role not in (Role.OWNER, Role.ADMIN):
            raise
        _offer_tag(ctx, unknown, customer_id)
        return
    _show_tags(ctx, result)


@admin_router.button(CreateTag)
async def on_create_tag(ctx: Context, pressed: CreateTag) -> None:
    """Create the tag offered by /tag and add it to the customer."""
    member, _ = ctx.staff()
    try:
        tags.clean_tag_name(pressed.name)
    except InvalidInput:
        raise ButtonExpired(EXPIRED) from None
    result, created = await tags.create_and_add(
        ctx.session, actor=member, customer_id=pressed.customer_id, name=pressed.name
    )
    head = ""
    if created:
        head = ctx.t(
            N_("✅ Tag {tag} created: {dimension}, weight {weight}. /tagdef changes them."),
            tag=tags.clean_tag_name(pressed.name),
            dimension=ctx.t(tags.DIMENSION_LABELS[tags.QUICK_DIMENSION]),
            weight=tags.QUICK_WEIGHT,
        )
    _show_tags(ctx, result, head=head)


def _offer_tag(ctx: Context, unknown: tags.UnknownTag, customer_id: int) -> None:
    """Say the tag does not exist and offer an owner or admin to create it."""
    text = ctx.t(unknown.key, **unknown.params)
    if len(unknown.name.encode()) > TAG_NAME_BYTES:
        hint = N_("To create it: /tagdef {tag} {dimension} {weight}")
        params = {
            "dimension": ctx.t(tags.DIMENSION_LABELS[tags.QUICK_DIMENSION]),
            "weight": tags.QUICK_WEIGHT,
        }
        ctx.reply(text + "\n" + ctx.t(hint, tag=unknown.name, **params))
        return
    label = ctx.t(N_("➕ Create tag “{tag}”"), tag=unknown.name)
    text += "\n" + ctx.t(
        N_("Create it? It starts in {dimension} with weight {weight}; /tagdef changes that."),
        dimension=ctx.t(tags.DIMENSION_LABELS[tags.QUICK_DIMENSION]),
        weight=tags.QUICK_WEIGHT,
    )
    button = CreateTag(customer_id=customer_id, name=unknown.name).button(label)
    ctx.reply(text, [[button]])


def _show_tags(ctx: Context, result: tags.Tagged, *, head: str = "") -> None:
    names = ", ".join(html.escape(t.name) for t in result.tags) or "—"
    text = N_("🏷 {who}: {tags}\nScore <b>{score}</b> · grade <b>{grade}</b>")
    customer: Customer = result.customer
    body = ctx.t(
        text, who=who(customer), tags=Raw(names), score=customer.score, grade=customer.grade or "—"
    )
    show_with_card(ctx, f"{head}\n{body}" if head else body, customer)


@admin_router.command(
    "tagdef",
    help=N_("define a tag, change its weight or delete it"),
    usage=N_("<name> <dimension> <weight>"),
)
async def cmd_tagdef(ctx: Context) -> None:
    """Create or change a tag, or delete it with ``/tagdef name delete``."""
    member, _ = ctx.staff()
    words = ctx.incoming.args.split()
    if len(words) == 2 and keyword(words[1]) == "delete":
        count = await tags.delete_tag(ctx.session, actor=member, name=words[0])
        ctx.reply(
            ctx.t(
                P_(
                    "🗑 Tag deleted; {count} customer lost it.",
                    "🗑 Tag deleted; {count} customers lost it.",
                ),
                count=count,
            )
        )
        return
    if len(words) != 3 or not words[2].lstrip("+-").isdigit():
        raise InvalidInput(N_("Send it like this: /tagdef vip interest 30"))
    dimension = tags.parse_dimension(words[1])
    tag, created = await tags.define_tag(
        ctx.session, actor=member, name=words[0], dimension=dimension, weight=int(words[2])
    )
    message = N_("✅ Tag {tag} added: {dimension}, weight {weight}.")
    if not created:
        message = N_("✅ Tag {tag} changed: {dimension}, weight {weight}. Scores updated.")
    ctx.reply(
        ctx.t(
            message,
            tag=tag.name,
            dimension=ctx.t(tags.DIMENSION_LABELS[dimension]),
            weight=tag.weight,
        )
    )


@admin_router.command(
    "grades", help=N_("grade thresholds on the tag score"), usage=N_("A=80 B=50")
)
async def cmd_grades(ctx: Context) -> None:
    """Show or set the grade thresholds; every customer is regraded."""
    member, workspace = ctx.staff()
    if ctx.incoming.args.strip():
        thresholds = tags.parse_grades(ctx.incoming.args)
        await tags.set_grades(
            ctx.session, actor=member, workspace=workspace, thresholds=thresholds
        )
        done = N_("✅ Grades set: {grades}. Every customer is regraded.")
        ctx.reply(ctx.t(done, grades=tags.describe_grades(thresholds)))
        return
    ctx.reply(
        ctx.t(N_("Grades: {grades}"), grades=tags.describe_grades(workspace.grade_thresholds))
    )


# Purchases


@router.command("buy", help=N_("record a purchase"), usage=N_("<id> <amount> [note]"))
async def cmd_buy(ctx: Context) -> None:
    """Record a purchase and show the customer's totals."""
    member, workspace = ctx.staff()
    words = ctx.incoming.args.split(maxsplit=2)
    hint = N_("Send it like this: /buy 12 128.50 Longjing 250g")
    if len(words) < 2:
        raise InvalidInput(hint)
    customer_id = customer_id_arg(words[0], hint)
    amount = purchases.parse_amount(words[1])
    done = await purchases.record_purchase(
        ctx.session,
        actor=member,
        customer_id=customer_id,
        amount_minor=amount,
        note=words[2] if len(words) > 2 else None,
        now=ctx.now(),
    )
    show_purchase(ctx, done, currency=workspace.currency)


@router.command("purchases", help=N_("a customer's purchase history"), usage=N_("<id>"))
async def cmd_purchases(ctx: Context) -> None:
    """List a customer's latest purchases with the total and repurchase count."""
    member, _ = ctx.staff()
    customer_id = customer_id_arg(ctx.incoming.args, N_("Send it like this: /purchases 12"))
    history = await purchases.purchase_history(ctx.session, actor=member, customer_id=customer_id)
    if not history.purchases:
        ctx.reply(ctx.t(N_("{who} hasn't bought anything yet."), who=who(history.customer)))
        return
    lines = [ctx.t(N_("🧾 Purchases of {who}"), who=who(history.customer))]
    lines += [
        money_line(show_day(p.at, ctx.tz), p.amount_minor, p.currency, p.note)
        for p in history.purchases
    ]
    lines.append(
        ctx.t(
            P_(
                "Total {total} in {count} purchase · repurchases: {repeat}",
                "Total {total} in {count} purchases · repurchases: {repeat}",
            ),
            total=purchases.format_money(history.total_minor, history.currency),
            count=history.count,
            repeat=history.repurchases,
        )
    )
    show_with_card(ctx, "\n".join(lines), history.customer)
