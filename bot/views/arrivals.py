"""Arrival notices: a rep hears about their customers joining and answering, the owner about staff.

Notices go out after commit (``ctx.send``), each in its recipient's language,
and never to the person whose action it was.

Who hears what:

- a customer's own rep (the active owner of their record) when the customer
  joins through the rep's personal link or opens their card link, says yes or no
  to the shop's messages, or stops them;
- nobody for a customer without an active owner (the shop's general link fills
  the pool): managers see new pool leads in /pool and the daily digest's count,
  and a notice per pool arrival would bury them on a busy day;
- the shop's owner when a member joins with an invite (leaving and removal are
  told by ``views.removal``).
"""

from __future__ import annotations

from functools import partial

from bot.chat.context import Context
from bot.crm import members
from bot.crm.inbox.routing import active_member
from bot.crm.members import owners_of
from bot.crm.models import Customer, Member
from bot.i18n import N_, translate
from bot.views.card import card_button
from bot.views.labels import ROLE_NAMES

JOINED_BY_LINK = N_("👋 {name} joined through your link.")
JOINED_BY_CARD = N_("👋 {name} opened their card link and is now connected.")
SAID_YES = N_("✅ {name} agreed to get messages from the shop.")
SAID_NO = N_("🙅 {name} declined messages from the shop.")
STOPPED = N_("🔕 {name} stopped messages from the shop.")
STAFF_JOINED = N_("🙋 {member} joined the shop as {role}.")


async def tell_rep(ctx: Context, customer: Customer, message: str) -> None:
    """Tell the customer's active rep ``message`` about them, with a 📇 Card button."""
    rep = await active_member(ctx.session, customer.owner_member_id)
    if rep is None or rep.workspace_id != customer.workspace_id or rep.tg_user_id == ctx.user_id:
        return
    t = partial(translate, await _locale(ctx, rep))
    ctx.send(
        rep.chat_id,
        t(message, name=customer.name),
        [[card_button(t, customer.id, t(N_("📇 Card")))]],
    )


async def tell_owner_joined(ctx: Context, member: Member) -> None:
    """Tell the shop's owner that ``member`` joined with an invite."""
    for owner in await owners_of(ctx.session, workspace_id=member.workspace_id):
        if owner.id == member.id or owner.tg_user_id == ctx.user_id:
            continue
        t = partial(translate, await _locale(ctx, owner))
        ctx.send(
            owner.chat_id,
            t(STAFF_JOINED, member=member.display_name, role=t(ROLE_NAMES[member.role])),
        )


async def _locale(ctx: Context, member: Member) -> str:
    return await members.locale_of(
        ctx.session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
    )
