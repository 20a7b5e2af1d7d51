"""Removing people from a shop: the confirmation screens and who is told what afterwards."""

from __future__ import annotations

import re
from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.chat.context import Context
from bot.crm import members, removal, teams
from bot.crm.models import Member, Role
from bot.crm.scope import within_reach
from bot.errors import InvalidInput
from bot.i18n import N_, P_, keyword, translate
from bot.messaging import Button, Keyboard
from bot.views.replies import notify_member

REMOVE_HINT = N_("Send /remove Li, or /remove Li to Chen to give Li's customers to Chen.")
MAX_CHOICES = 12
_TO = re.compile(r"\s+(?:to|→|->|给)\s+", re.IGNORECASE)


class PickRemoval(CallbackData, prefix="mb:p"):
    """Ask about removing this member."""

    member_id: Annotated[int, Id("member")]


class ConfirmRemoval(CallbackData, prefix="mb:t"):
    """Remove a member, their customers going to ``target_id`` (0: the shop's pool)."""

    member_id: Annotated[int, Id("member")]
    target_id: Annotated[int, Id("member")]


class CancelRemoval(CallbackData, prefix="mb:x"):
    """Remove nobody."""


def split_remove_args(args: str) -> tuple[str, str | None]:
    """Split ``Li to Chen`` into the member and the colleague (None when not given)."""
    parts = _TO.split(args.strip(), maxsplit=1)
    if not parts[0]:
        raise InvalidInput(REMOVE_HINT)
    return parts[0], (parts[1].strip() if len(parts) > 1 else None)


def is_pool(text: str) -> bool:
    """Return whether the typed destination means the shop's pool."""
    return keyword(text) == "pool"


async def removable_choices(ctx: Context, actor: Member) -> Keyboard:
    """Return one button per colleague the actor may remove, two to a row."""
    people = [
        m
        for m, _ in await teams.list_members(ctx.session, actor=actor)
        if m.id != actor.id
        and m.role is not Role.OWNER
        and (actor.role is Role.OWNER or m.role is Role.STAFF)
    ][:MAX_CHOICES]
    buttons = [PickRemoval(member_id=m.id).button(m.display_name) for m in people]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


async def ask_destination(ctx: Context, actor: Member, member: Member, count: int) -> None:
    """Ask to confirm removing ``member``, offering the pool or a colleague for customers."""
    name = member.display_name
    cancel = CancelRemoval().button(ctx.t(N_("Cancel")))
    to_pool = ConfirmRemoval(member_id=member.id, target_id=0)
    if count == 0:
        ctx.reply(
            ctx.t(N_("Remove {member} from the shop? They have no customers."), member=name),
            [[to_pool.button(ctx.t(N_("✅ Remove"))), cancel]],
        )
        return
    rows: list[list[Button]] = [[to_pool.button(ctx.t(N_("🗂 Customers to the pool")))]]
    colleagues = [
        m
        for m, _ in await teams.list_members(ctx.session, actor=actor)
        if m.id != member.id and within_reach(actor, m)
    ][:MAX_CHOICES]
    buttons = [
        ConfirmRemoval(member_id=member.id, target_id=m.id).button(f"👤 {m.display_name}")
        for m in colleagues
    ]
    rows.extend(buttons[i : i + 2] for i in range(0, len(buttons), 2))
    rows.append([cancel])
    ctx.reply(
        ctx.t(
            P_(
                "Remove {member} from the shop? They have {count} customer. Where should "
                "it go: to the shop's pool, or to a colleague? Pending reminders go with "
                "the customer to a colleague, and are cancelled when the customer goes to "
                "the pool.",
                "Remove {member} from the shop? They have {count} customers. Where should "
                "those go: to the shop's pool, or to a colleague? Pending reminders go "
                "with the customers to a colleague, and are cancelled when customers go to "
                "the pool.",
            ),
            member=name,
            count=count,
        ),
        rows,
    )


def confirm_to(ctx: Context, member: Member, target: Member | None, count: int) -> None:
    """Ask to confirm removing ``member`` with their customers' destination already named."""
    name = member.display_name
    if target is None:
        text = P_(
            "Remove {member} from the shop? Their {count} customer goes to the "
            "shop's pool and their pending reminders are cancelled.",
            "Remove {member} from the shop? Their {count} customers go to the "
            "shop's pool and their pending reminders are cancelled.",
        )
    else:
        text = P_(
            "Remove {member} from the shop? Their {count} customer and pending "
            "reminders go to {target}.",
            "Remove {member} from the shop? Their {count} customers and pending "
            "reminders go to {target}.",
        )
    target_name = target.display_name if target else ""
    ctx.reply(
        ctx.t(text, member=name, count=count, target=target_name),
        [
            [
                ConfirmRemoval(member_id=member.id, target_id=target.id if target else 0).button(
                    ctx.t(N_("✅ Remove"))
                ),
                CancelRemoval().button(ctx.t(N_("Cancel"))),
            ]
        ],
    )


def outcome(ctx: Context, done: removal.Removal, *, left: bool) -> str:
    """Return the summary of a removal for the person who carried it out."""
    name = done.member.display_name
    if left:
        head = ctx.t(N_("👋 You've left the shop. Thank you for your work!"))
    else:
        head = ctx.t(N_("✅ {member} is no longer a member of the shop."), member=name)
    lines = [head]
    if done.target is not None and done.customers:
        lines.append(
            ctx.t(
                P_(
                    "{count} customer went to {target}, with pending reminders: {reminders}.",
                    "{count} customers went to {target}, with pending reminders: {reminders}.",
                ),
                count=done.customers,
                reminders=done.reminders_moved,
                target=done.target.display_name,
            )
        )
    elif done.customers:
        lines.append(
            ctx.t(
                P_(
                    "{count} customer is now in the shop's pool.",
                    "{count} customers are now in the shop's pool.",
                ),
                count=done.customers,
            )
        )
    if done.reminders_cancelled:
        lines.append(
            ctx.t(N_("{count} pending reminders were cancelled."), count=done.reminders_cancelled)
        )
    if done.invites_withdrawn:
        lines.append(
            ctx.t(N_("{count} open invites were withdrawn."), count=done.invites_withdrawn)
        )
    return "\n".join(lines)


async def tell_everyone(ctx: Context, actor: Member, done: removal.Removal, *, left: bool) -> None:
    """Tell the removed person, the colleague who took over, and the owner when not the actor."""
    shop = ctx.workspace.name if ctx.workspace else ""
    gone = done.member
    if not left:
        note = N_(
            "🚪 {member} removed you from {shop}, so you're no longer a member. "
            "Thank you for your work!"
        )
        await notify_member(ctx, gone, note, member=actor.display_name, shop=shop)
    locale = await members.locale_of(
        ctx.session, tg_user_id=gone.tg_user_id, workspace_id=gone.workspace_id
    )
    ctx.set_menu(gone.chat_id, ctx.menus.menu(None, locale))
    if done.target is not None and done.customers and done.target.id != actor.id:
        note = P_(
            "📥 {member} moved {count} customer of {source} to you.",
            "📥 {member} moved {count} customers of {source} to you.",
        )
        names = {"member": actor.display_name, "source": gone.display_name}
        await notify_member(ctx, done.target, note, count=done.customers, **names)
    if actor.role is Role.OWNER:
        return
    for owner in await members.owners_of(ctx.session, workspace_id=actor.workspace_id):
        await _tell_owner(ctx, owner, actor, done, left=left)


async def _tell_owner(
    ctx: Context, owner: Member, actor: Member, done: removal.Removal, *, left: bool
) -> None:
    locale = await members.locale_of(
        ctx.session, tg_user_id=owner.tg_user_id, workspace_id=owner.workspace_id
    )
    gone = done.member.display_name
    if left:
        head = translate(locale, N_("🚪 {member} left the shop."), member=gone)
    else:
        head = translate(
            locale,
            N_("🚪 {actor} removed {member} from the shop."),
            actor=actor.display_name,
            member=gone,
        )
    lines = [head]
    if done.target is not None and done.customers:
        lines.append(
            translate(
                locale,
                P_(
                    "Their {count} customer went to {target}.",
                    "Their {count} customers went to {target}.",
                ),
                count=done.customers,
                target=done.target.display_name,
            )
        )
    elif done.customers:
        lines.append(
            translate(
                locale,
                P_(
                    "Their {count} customer is in the pool: see /pool or /reassign.",
                    "Their {count} customers are in the pool: see /pool or /reassign.",
                ),
                count=done.customers,
            )
        )
    ctx.send(owner.chat_id, "\n".join(lines))
