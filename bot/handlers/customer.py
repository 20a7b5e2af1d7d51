"""Customers: joining a merchant by link, giving or refusing consent, /stop and opt-out buttons."""

from __future__ import annotations

import logging
from typing import Annotated

from babel.lists import format_list

from bot.callbacks import CallbackData, Choice, Id
from bot.campaigns import campaigns, template_checks, template_store
from bot.campaigns.render_pool import RenderUnavailable
from bot.campaigns.survey_buttons import OptOut
from bot.chat.context import Context
from bot.chat.router import ANYONE, Router
from bot.crm import consent, customers, members, workspaces
from bot.crm.models import Consent, ConsentAction, Customer, Member, Workspace
from bot.errors import InvalidInput, NotFound, TemplateError
from bot.i18n import LOCALES, N_
from bot.localtime import local_day, zone
from bot.views import arrivals

logger = logging.getLogger(__name__)

router = Router("customer", ANYONE)


class ConsentAnswer(CallbackData, prefix="cs"):
    """A customer's yes (``y``) or no (``n``) to a shop's messages, for one of their records."""

    answer: Annotated[str, Choice(("y", "n"))]
    customer_id: Annotated[int, Id("customer")]


async def join_workspace(ctx: Context, slug: str) -> None:
    """Handle ``/start w_<slug>``: find or create the sender's record, ask for consent."""
    workspace = await workspaces.get_by_slug(ctx.session, slug)
    if workspace is None:
        raise NotFound(N_("This link isn't valid any more. Please ask the shop for a new one."))
    await _join(ctx, workspace, referrer=None)


async def join_referral(ctx: Context, code: str) -> None:
    """Handle ``/start r_<code>``: join the referring member's workspace as their lead."""
    referrer = await members.by_referral_code(ctx.session, code=code)
    if referrer is None:
        raise NotFound(N_("This link isn't valid any more. Please ask the shop for a new one."))
    workspace = await ctx.session.get(Workspace, referrer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    await _join(ctx, workspace, referrer=referrer)


async def join_card(ctx: Context, token: str) -> None:
    """Handle ``/start c_<token>``: link the sender to their own record, ask for consent."""
    before = {c.id for c in await customers.for_account(ctx.session, tg_user_id=ctx.user_id)}
    workspace, customer = await customers.link_by_token(
        ctx.session, token=token, user=ctx.incoming.user, chat_id=ctx.chat_id, locale=ctx.locale
    )
    if customer.id not in before:
        # Only the first opening connects them; opening it again is no news for the rep.
        await arrivals.tell_rep(ctx, customer, arrivals.JOINED_BY_CARD)
    await _welcome(ctx, workspace, customer)


async def _join(ctx: Context, workspace: Workspace, referrer: Member | None) -> None:
    customer, new = await customers.join_by_link(
        ctx.session,
        workspace=workspace,
        user=ctx.incoming.user,
        chat_id=ctx.chat_id,
        locale=ctx.locale,
        referrer=referrer,
    )
    if new and referrer is not None:
        await arrivals.tell_rep(ctx, customer, arrivals.JOINED_BY_LINK)
    await _welcome(ctx, workspace, customer)


async def _welcome(ctx: Context, workspace: Workspace, customer: Customer) -> None:
    """Ask a customer who just joined for consent, unless they have given it already."""
    if customer.consent is Consent.OPTED_IN:
        ctx.reply(
            ctx.t(
                N_("You're already subscribed to <b>{shop}</b>. Send /stop any time to opt out."),
                shop=workspace.name,
            )
        )
        return
    await ask_consent(ctx, workspace, customer)


async def ask_consent(ctx: Context, workspace: Workspace, customer: Customer) -> None:
    """Tell the customer what the merchant will send and ask them to choose.

    A welcome message is promised only when the shop has an active welcome campaign.
    """
    yes = ctx.t(N_("✅ Yes, keep me posted"))
    with_welcome = N_(
        "👋 Welcome to <b>{shop}</b>!\n\n"
        "May we send you messages here? That means a welcome, greetings on your "
        "birthday and holidays, and at most one update a week, never at night.\n\n"
        "You can stop any time with /stop."
    )
    without_welcome = N_(
        "👋 Welcome to <b>{shop}</b>!\n\n"
        "May we send you messages here? That means greetings on your birthday and "
        "holidays, and at most one update a week, never at night.\n\n"
        "You can stop any time with /stop."
    )
    welcome = await campaigns.welcome_active(ctx.session, workspace.id)
    ctx.reply(
        ctx.t(with_welcome if welcome else without_welcome, shop=workspace.name),
        [
            [ConsentAnswer(answer="y", customer_id=customer.id).button(yes)],
            [ConsentAnswer(answer="n", customer_id=customer.id).button(ctx.t(N_("No, thanks")))],
        ],
    )


@router.button(ConsentAnswer)
async def on_consent(ctx: Context, pressed: ConsentAnswer) -> None:
    """Record the customer's answer to the consent question; another's record has expired."""
    customer = await customers.get_for_account(
        ctx.session, customer_id=pressed.customer_id, tg_user_id=ctx.user_id
    )
    if customer is None:
        raise ctx.expired()
    workspace = await ctx.session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    if pressed.answer == "y":
        if not await consent.change_consent(
            ctx.session, customer, action=ConsentAction.OPT_IN, source="button", now=ctx.now()
        ):
            ctx.answer(ctx.t(N_("You're already subscribed.")))
            return
        await campaigns.on_opt_in(ctx.session, customer, now=ctx.now())
        await arrivals.tell_rep(ctx, customer, arrivals.SAID_YES)
        ctx.answer(ctx.t(N_("Subscribed")))
        ctx.edit(
            ctx.t(
                N_(
                    "🎉 Thanks! You're subscribed to <b>{shop}</b>. "
                    "Send /stop any time to opt out."
                ),
                shop=workspace.name,
            )
        )
        return
    if not await consent.change_consent(
        ctx.session, customer, action=ConsentAction.DECLINED, source="button", now=ctx.now()
    ):
        ctx.answer(ctx.t(N_("You're already unsubscribed.")))
        return
    await arrivals.tell_rep(ctx, customer, arrivals.SAID_NO)
    ctx.edit(
        ctx.t(
            N_(
                "No problem, <b>{shop}</b> won't send you messages. "
                "Changed your mind? Send /start."
            ),
            shop=workspace.name,
        )
    )


@router.button(OptOut)
async def on_opt_out_button(ctx: Context, pressed: OptOut) -> None:
    """Opt the customer out of one shop's messages at once, from a campaign message's button."""
    records = await customers.for_account(ctx.session, tg_user_id=ctx.user_id)
    customer = next((c for c in records if c.workspace_id == pressed.workspace_id), None)
    if customer is None:
        raise ctx.expired()
    workspace = await ctx.session.get(Workspace, customer.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    if customer.consent is not Consent.OPTED_IN or not await consent.change_consent(
        ctx.session,
        customer,
        action=ConsentAction.OPT_OUT,
        source="campaign_button",
        now=ctx.now(),
    ):
        ctx.answer(ctx.t(N_("You're already unsubscribed.")))
        return
    ctx.answer(ctx.t(N_("Unsubscribed")))
    await arrivals.tell_rep(ctx, customer, arrivals.STOPPED)
    text = await _opt_out_text(ctx, workspace, customer)
    again = ConsentAnswer(answer="y", customer_id=customer.id)
    ctx.reply(text, [[again.button(ctx.t(N_("🔔 Subscribe again")))]])


async def _opt_out_text(ctx: Context, workspace: Workspace, customer: Customer) -> str:
    """Render the shop's opt-out confirmation for the customer, or a plain one."""
    plain = ctx.t(
        N_("🔕 Done. <b>{shop}</b> won't send you these messages any more."), shop=workspace.name
    )
    bodies = await template_store.current_bodies(ctx.session, workspace.id, "opt_out_confirmation")
    locale = customer.locale if customer.locale in LOCALES else workspace.locale
    body = template_store.pick(
        bodies, locale=locale, grade=customer.grade, fallback_locale=workspace.locale
    )
    if body is None:
        return plain
    variables = await template_store.customer_variables_for(
        ctx.session,
        customer=customer,
        workspace=workspace,
        locale=locale,
        today=local_day(ctx.now(), zone(customer.timezone, workspace.timezone)),
    )
    # They have just opted out: no "how to opt out" hint under the confirmation.
    variables["unsubscribe"] = ""
    try:
        return await template_checks.render_one(ctx.app.renders, body.body, variables)
    except (InvalidInput, TemplateError, RenderUnavailable):
        logger.warning("opt-out confirmation template of workspace %d fails", workspace.id)
        return plain


@router.command("stop", help=N_("stop all messages from shops"), for_members=False)
async def cmd_stop(ctx: Context) -> None:
    """Opt the sender out of every merchant at once and confirm it."""
    records = await customers.for_account(ctx.session, tg_user_id=ctx.user_id)
    changed = await consent.opt_out_everywhere(
        ctx.session, records, source="stop_command", now=ctx.now()
    )
    if not changed:
        ctx.reply(ctx.t(N_("You aren't subscribed to any messages. Nothing to stop.")))
        return
    names = []
    for customer in changed:
        await arrivals.tell_rep(ctx, customer, arrivals.STOPPED)
        workspace = await ctx.session.get(Workspace, customer.workspace_id)
        names.append(workspace.name if workspace else "")
    ctx.reply(
        ctx.t(
            N_(
                "🔕 Done. You won't get messages from {shops} any more. "
                "Changed your mind? Send /start."
            ),
            shops=format_list(names, locale=ctx.locale.replace("-", "_")),
        )
    )


async def start_again(ctx: Context) -> bool:
    """Offer a returning customer to opt back in; return whether they were one."""
    records = await customers.for_account(ctx.session, tg_user_id=ctx.user_id)
    pending = [c for c in records if c.consent is not Consent.OPTED_IN]
    if not records:
        return False
    if not pending:
        ctx.reply(
            ctx.t(
                N_(
                    "You're subscribed. Send /stop any time to opt out, "
                    "or /help to see what I can do."
                )
            )
        )
        return True
    for customer in pending[:3]:
        workspace = await ctx.session.get(Workspace, customer.workspace_id)
        if workspace is not None:
            await ask_consent(ctx, workspace, customer)
    return True
