"""Commands for everyone: /start with its deep-link payloads, /help, /lang and /cancel."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import select

from bot.callbacks import CallbackData, Choice
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import ANYONE, Router
from bot.crm import members
from bot.crm.models import Customer, UserPref, Workspace
from bot.errors import InvalidInput
from bot.handlers import customer
from bot.i18n import LANGUAGE_NAMES, LOCALES, N_
from bot.messaging import Keyboard
from bot.views import arrivals
from bot.views import help as help_screens
from bot.views.help import HelpTopic
from bot.views.labels import ROLE_NAMES

router = Router("common", ANYONE)
BAD_LINK = N_("This link isn't valid any more. Please ask the shop for a new one.")


class PickLanguage(CallbackData, prefix="lg"):
    """Speak this language with the sender from now on."""

    locale: Annotated[str, Choice(LOCALES)]


@router.command("start", help=N_("start, or join a shop with its link"), for_members=False)
async def cmd_start(ctx: Context) -> None:
    """Route a deep-link payload (``inv_``, ``w_``, ``r_``, ``c_``) or greet the sender."""
    payload = ctx.incoming.args.strip()
    prefix, _, value = payload.partition("_")
    if payload and not value:
        raise InvalidInput(BAD_LINK)
    if prefix == "inv":
        await _join_team(ctx, value)
    elif prefix == "w":
        await customer.join_workspace(ctx, value)
    elif prefix == "r":
        await customer.join_referral(ctx, value)
    elif prefix == "c":
        await customer.join_card(ctx, value)
    elif payload:
        raise InvalidInput(BAD_LINK)
    elif ctx.member is not None and ctx.workspace is not None:
        text, buttons = _help(ctx)
        ctx.reply(
            ctx.t(
                N_("👋 Welcome back to <b>{shop}</b>. Here's what you can do:"),
                shop=ctx.workspace.name,
            )
            + "\n\n"
            + text,
            buttons,
        )
    elif not await customer.start_again(ctx):
        ctx.reply(
            ctx.t(
                N_(
                    "👋 Hi! I help shops stay in touch with their customers. "
                    "To join a shop, open the link the shop gave you."
                )
            )
        )


async def _join_team(ctx: Context, code: str) -> None:
    member = await members.join_with_invite(
        ctx.session,
        code=code,
        tg_user_id=ctx.user_id,
        chat_id=ctx.chat_id,
        display_name=ctx.incoming.user.full_name,
        now=ctx.now(),
    )
    workspace = await ctx.session.get(Workspace, member.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    ctx.member, ctx.workspace = member, workspace
    await arrivals.tell_owner_joined(ctx, member)
    text, buttons = _help(ctx)
    ctx.reply(
        ctx.t(
            N_("🎉 Welcome to <b>{shop}</b>! You joined as {role}."),
            shop=workspace.name,
            role=ctx.t(ROLE_NAMES[member.role]),
        )
        + "\n\n"
        + text
        + "\n\n"
        + ctx.t(N_("Tip: set your name and phone with /profile.")),
        buttons,
    )
    ctx.set_menu(ctx.chat_id, ctx.menus.menu(member.role, ctx.locale))


@router.command("help", help=N_("what I can do for you"), usage=N_("[topic]"))
async def cmd_help(ctx: Context) -> None:
    """Show a member's topics (or one of them), or a customer's commands."""
    word = ctx.incoming.args.strip()
    if word and ctx.role is not None:
        topic = help_screens.topic_of(word)
        if topic is None:
            raise InvalidInput(
                N_("I have no help topic “{word}”. Send /help to see the topics."), word=word
            )
        ctx.reply(help_screens.topic_text(ctx.t, ctx.menus.commands(ctx.role), topic))
        return
    text, buttons = _help(ctx)
    ctx.reply(ctx.t(N_("Here's what you can do:")) + "\n\n" + text, buttons)


@router.button(HelpTopic)
async def on_help_topic(ctx: Context, pressed: HelpTopic) -> None:
    """List one topic's commands."""
    if ctx.role is None:
        raise ctx.expired()
    ctx.reply(help_screens.topic_text(ctx.t, ctx.menus.commands(ctx.role), pressed.topic))


def _help(ctx: Context) -> tuple[str, Keyboard]:
    """Return /help's body for the sender: topics for a member, every command for a customer."""
    commands = ctx.menus.commands(ctx.role)
    if ctx.role is None:
        return help_screens.command_lines(ctx.t, commands), []
    return help_screens.overview(ctx.t, commands)


@router.command("lang", help=N_("change my language"), usage=N_("en|zh-CN"))
async def cmd_lang(ctx: Context) -> None:
    """Switch language from the argument, or offer the languages as buttons."""
    arg = ctx.incoming.args.strip()
    chosen = next((loc for loc in LOCALES if loc.lower() == arg.lower()), None)
    if chosen is None:
        ctx.reply(
            ctx.t(N_("Choose your language:")),
            [[PickLanguage(locale=loc).button(LANGUAGE_NAMES[loc]) for loc in LOCALES]],
        )
        return
    await _set_language(ctx, chosen)
    ctx.reply(ctx.t(N_("✅ I'll speak {language} from now on."), language=LANGUAGE_NAMES[chosen]))


@router.button(PickLanguage)
async def on_language(ctx: Context, pressed: PickLanguage) -> None:
    """Apply the language picked with a button."""
    chosen = pressed.locale
    await _set_language(ctx, chosen)
    ctx.edit(ctx.t(N_("✅ I'll speak {language} from now on."), language=LANGUAGE_NAMES[chosen]))


async def _set_language(ctx: Context, locale: str) -> None:
    pref = await ctx.session.get(UserPref, ctx.user_id)
    if pref is None:
        ctx.session.add(UserPref(tg_user_id=ctx.user_id, locale=locale))
    else:
        pref.locale = locale
    # Campaigns read the customer's own locale, so keep their records in step.
    result = await ctx.session.execute(select(Customer).where(Customer.tg_user_id == ctx.user_id))
    for record in result.scalars():
        record.locale = locale
    ctx.locale = locale
    if ctx.member is not None:
        ctx.set_menu(ctx.chat_id, ctx.menus.menu(ctx.member.role, locale))


@router.command("cancel", help=N_("stop what we're doing"))
async def cmd_cancel(ctx: Context) -> None:
    """Close the sender's open dialog, if any."""
    if await engine.cancel(ctx):
        ctx.reply(ctx.t(N_("OK, cancelled. Nothing was saved.")))
    else:
        ctx.reply(ctx.t(N_("There's nothing to cancel.")))
