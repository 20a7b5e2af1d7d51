"""Saved answers, /quick: every member's to read and to send (``router``).

Writing them is the owner's and admins', checked here before the text is and by
the service; the delete question's buttons are theirs (``admin_router``). The
shop's other inbox settings are in ``inbox_settings``.
"""

from __future__ import annotations

from bot.campaigns import template_checks
from bot.campaigns.render_pool import RenderUnavailable
from bot.campaigns.templates import sample_variables
from bot.chat.context import Context
from bot.chat.router import MANAGERS, MEMBERS, Router
from bot.conversations.reply import answer_with_quick
from bot.crm.inbox import quick
from bot.crm.models import QuickReply
from bot.errors import InvalidInput, NotFound, TemplateError
from bot.i18n import N_, Raw, keyword
from bot.views.labels import language_name
from bot.views.quick import (
    QuickDelete,
    QuickKeep,
    QuickPick,
    delete_question,
    library_text,
    member_locale,
)

admin_router = Router("inbox.admin", MANAGERS)
router = Router("inbox.quick", MEMBERS)

QUICK_USAGE = N_(
    "Send it like this: /quick add price Hello {{ first_name }}, the 2015 cake is ¥380. "
    "For Chinese, write the key as price@zh-CN."
)
ONLY_MANAGERS = N_("Only the owner and admins can change quick replies.")
_LANGUAGES = {
    "en": "en",
    "english": "en",
    "英文": "en",
    "zh-cn": "zh-CN",
    "zh": "zh-CN",
    "cn": "zh-CN",
    "中文": "zh-CN",
}


# Quick replies


@router.command(
    "quick",
    help=N_("saved answers for customers"),
    usage=N_("[add|edit|delete <key>[@zh-CN] <text>]"),
)
async def cmd_quick(ctx: Context) -> None:
    """List the saved answers, show one, or (owner and admins) add, edit or delete one."""
    member, _workspace = ctx.staff()
    words = ctx.incoming.args.split(None, 2)
    if not words:
        saved = await quick.list_quick(ctx.session, actor=member)
        can_edit = member.role in MANAGERS
        ctx.reply(library_text(ctx.t, saved, locale=ctx.locale, can_edit=can_edit))
        return
    verb = {"new": "add", "add": "add", "edit": "edit", "delete": "delete"}.get(
        keyword(words[0]) or ""
    )
    if verb is None:
        if len(words) > 1:
            raise InvalidInput(QUICK_USAGE)
        await _show_quick(ctx, words[0])
        return
    if member.role not in MANAGERS:
        raise ctx.refusal(ONLY_MANAGERS)
    if len(words) < 2:
        raise InvalidInput(QUICK_USAGE)
    if verb == "delete":
        reply = await _existing(ctx, words[1])
        text, buttons = delete_question(ctx.t, reply)
        ctx.reply(text, buttons)
        return
    if len(words) < 3:
        raise InvalidInput(QUICK_USAGE)
    source = await _checked(ctx, words[2])
    if verb == "add":
        key, locale = _spec(words[1], member_locale(ctx.locale))
        reply = await quick.add_quick(
            ctx.session, actor=member, key=key, locale=locale, text=source, now=ctx.now()
        )
    else:
        found = await _existing(ctx, words[1])
        reply = await quick.edit_quick(
            ctx.session,
            actor=member,
            key=found.key,
            locale=found.locale,
            text=source,
            now=ctx.now(),
        )
    await _saved(ctx, reply)


@admin_router.button(QuickDelete)
async def on_quick_delete(ctx: Context, pressed: QuickDelete) -> None:
    """Delete the saved answer the question was about."""
    member, _workspace = ctx.staff()
    try:
        reply = await quick.quick_by_id(ctx.session, actor=member, quick_id=pressed.quick_id)
    except NotFound as exc:
        raise ctx.expired() from exc
    key, language = reply.key, language_name(ctx.t, reply.locale)
    await quick.delete_quick(ctx.session, actor=member, key=reply.key, locale=reply.locale)
    ctx.edit(ctx.t(N_("🗑 Quick reply “{key}” ({language}) deleted."), key=key, language=language))


admin_router.dismiss(QuickKeep, N_("OK, the quick reply stays."))


@router.button(QuickPick)
async def on_quick_pick(ctx: Context, pressed: QuickPick) -> None:
    """Send the saved answer to the customer whose ↩️ Reply question is open."""
    await answer_with_quick(ctx, thread_id=pressed.thread_id, quick_id=pressed.quick_id)


async def _show_quick(ctx: Context, spec: str) -> None:
    """Show one saved answer's full text in each language it has."""
    member, _workspace = ctx.staff()
    key, _, language = spec.partition("@")
    key = quick.clean_key(key)
    versions = [
        r
        for r in await quick.list_quick(ctx.session, actor=member)
        if r.key == key and (not language or r.locale == _language(language))
    ]
    if not versions:
        raise NotFound(quick.NOT_FOUND, name=key, locale=language or member_locale(ctx.locale))
    versions.sort(key=lambda r: r.locale != member_locale(ctx.locale))
    parts = [
        ctx.t(
            N_("💬 <b>{key}</b> ({language}):\n{text}"),
            key=r.key,
            language=language_name(ctx.t, r.locale),
            text=r.text,
        )
        for r in versions
    ]
    ctx.reply("\n\n".join(parts))


async def _existing(ctx: Context, spec: str) -> QuickReply:
    """Return the saved answer ``key[@language]`` names.

    Without a language it is the member's language's one, else the only one there is.

    Raises:
        NotFound: when there is no such saved answer.
        InvalidInput: when the key is unusable, or it is in several languages but not
            the member's.
    """
    member, _workspace = ctx.staff()
    key, _, language = spec.partition("@")
    if language:
        return await quick.get_quick(
            ctx.session, actor=member, key=key, locale=_language(language)
        )
    key = quick.clean_key(key)
    versions = [r for r in await quick.list_quick(ctx.session, actor=member) if r.key == key]
    mine = [r for r in versions if r.locale == member_locale(ctx.locale)]
    if mine or len(versions) == 1:
        return (mine or versions)[0]
    if not versions:
        raise NotFound(quick.NOT_FOUND, name=key, locale=member_locale(ctx.locale))
    raise InvalidInput(
        N_("“{name}” is in several languages: write {name}@en or {name}@zh-CN."), name=key
    )


def _spec(spec: str, default: str) -> tuple[str, str]:
    """Return the key and language of ``key[@language]``."""
    key, _, language = spec.partition("@")
    return quick.clean_key(key), _language(language) if language else default


def _language(word: str) -> str:
    """Return the quick-reply language a word names.

    Raises:
        InvalidInput: when it names none of them.
    """
    language = _LANGUAGES.get(word.strip().lower())
    if language is None:
        raise InvalidInput(N_("Please name a language: en or zh-CN."))
    return language


async def _checked(ctx: Context, text: str) -> str:
    """Check a saved answer's text as admin templates are checked on save.

    Raises:
        InvalidInput: saying what is wrong with it.
    """
    try:
        return await template_checks.check(ctx.app.renders, text)
    except InvalidInput as exc:
        raise InvalidInput(
            N_("The quick reply was not saved: {reason}"),
            reason=Raw(ctx.t(exc.key, **exc.params)),
        ) from exc


async def _saved(ctx: Context, reply: QuickReply) -> None:
    """Confirm a saved answer with how it reads for a sample customer."""
    member, workspace = ctx.staff()
    variables = sample_variables(reply.locale)
    variables["merchant"] = workspace.name
    variables["owner"] = member.display_name
    variables["unsubscribe"] = ""
    text = ctx.t(
        N_("✅ Quick reply “{key}” ({language}) saved. Reps find it under ↩️ Reply."),
        key=reply.key,
        language=language_name(ctx.t, reply.locale),
    )
    try:
        preview = await template_checks.render_one(ctx.app.renders, reply.text, variables)
    except (InvalidInput, TemplateError, RenderUnavailable):
        ctx.reply(text)
        return
    sample = ctx.t(N_("For {name} it reads:"), name=str(variables["name"]))
    ctx.reply(f"{text}\n\n{sample}\n{preview}")
