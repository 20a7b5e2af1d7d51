"""Admin commands for message templates (owner and admins): show, edit, history, rollback."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Annotated

from bot.callbacks import CallbackData, Choice, Id, Int, Text
from bot.campaigns import template_store, template_versions
from bot.campaigns.template_versions import TemplateText
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.conversations.edit_template import (
    DISCARD,
    EDIT_TEMPLATE,
    REAL_CUSTOMER,
    SAVE,
    EditTemplateStep,
    ReviewDiscard,
    ReviewSave,
    ReviewWithCustomer,
    TemplateAction,
    base_warnings,
    edit_data,
    reach_lines,
    slot_name,
    template_label,
)
from bot.crm import tags
from bot.errors import InvalidInput
from bot.i18n import LOCALES, N_, Raw
from bot.localtime import show_minute
from bot.views.labels import language_name, template_name

router = Router("templates", MANAGERS)
SNIPPET = 60
MAX_VERSION = 10**8 - 1


class TemplateKey(CallbackData, prefix="tp:k"):
    """Open a template by its key, in the admin's language when it has one."""

    key: Annotated[str, Text(32, ref="template")]


class WriteTemplate(CallbackData, prefix="tp:n"):
    """Write the first text of a template slot: key, language and grade variant."""

    key: Annotated[str, Text(32)]
    locale: Annotated[str, Choice(LOCALES)]
    variant: Annotated[str, Text(8, empty=True)]


class RollBack(CallbackData, prefix="tp:r"):
    """Make an old version's text a template's current one."""

    template_id: Annotated[int, Id("message_template")]
    version: Annotated[int, Int(1, MAX_VERSION)]


@router.command("templates", help=N_("the message templates of your campaigns"))
async def cmd_templates(ctx: Context) -> None:
    """List the templates with their languages, grade variants and versions."""
    member, _ = ctx.staff()
    found = await template_versions.list_templates(ctx.session, actor=member)
    by_key: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for template in found:
        version = f"v{template.current_version}"
        by_key[template.key][template.locale].append(
            f"{template.variant} {version}" if template.variant else version
        )
    lines = [ctx.t(N_("📝 <b>Message templates</b> — tap one to open it:"))]
    for key, locales in by_key.items():
        parts = []
        for locale, versions in locales.items():
            plain = [v for v in versions if " " not in v]
            graded = [v for v in versions if " " in v]
            text = f"{language_name(ctx.t, locale)} {', '.join(plain) or '—'}"
            parts.append(text + (f" ({', '.join(graded)})" if graded else ""))
        lines.append(
            f"• <b>{html.escape(template_name(ctx.t, key))}</b>: {html.escape('; '.join(parts))}"
        )
    lines.append(ctx.t(N_("Or send e.g. /template birthday zh-CN A.")))
    keys = list(by_key)
    buttons = [
        [TemplateKey(key=key).button(template_name(ctx.t, key)) for key in keys[i : i + 2]]
        for i in range(0, len(keys), 2)
    ]
    ctx.reply("\n".join(lines), buttons)


@router.command(
    "template",
    help=N_("show, edit or roll back a message template"),
    usage=N_("<name> [en|zh-CN] [grade]"),
)
async def cmd_template(ctx: Context) -> None:
    """Show one template's current text with Edit, History and its other versions."""
    words = ctx.incoming.args.split()
    if not words:
        await cmd_templates(ctx)
        return
    if len(words) > 3:
        raise InvalidInput(N_("Send it like this: /template weekly_touchpoint zh-CN A"))
    _, workspace = ctx.staff()
    key = template_versions.parse_key(words[0])
    locale, variant = ctx.locale, ""
    grades = [*workspace.grade_thresholds, tags.lowest_grade(workspace.grade_thresholds)]
    for word in words[1:]:
        if _looks_like_locale(word):
            locale = template_versions.parse_locale(word)
        elif word.upper() in grades:
            variant = word.upper()
        else:
            raise InvalidInput(
                N_(
                    "“{word}” is neither a language (en, zh-CN) nor one of your grades ({grades})."
                ),
                word=word,
                grades=", ".join(grades),
            )
    await _show_slot(ctx, key, locale, variant)


@router.button(ReviewSave)
async def on_review_save(ctx: Context, pressed: ReviewSave) -> None:
    """Save the text under review."""
    await engine.press(ctx, EDIT_TEMPLATE, {EditTemplateStep.REVIEW}, SAVE)


@router.button(ReviewDiscard)
async def on_review_discard(ctx: Context, pressed: ReviewDiscard) -> None:
    """Drop the text under review."""
    await engine.press(ctx, EDIT_TEMPLATE, {EditTemplateStep.REVIEW}, DISCARD)


@router.button(ReviewWithCustomer)
async def on_review_customer(ctx: Context, pressed: ReviewWithCustomer) -> None:
    """Preview the text under review with a real customer."""
    await engine.press(ctx, EDIT_TEMPLATE, {EditTemplateStep.REVIEW}, REAL_CUSTOMER)


@router.button(TemplateKey)
async def on_key_button(ctx: Context, pressed: TemplateKey) -> None:
    """Open a template by key; a key the shop does not have has expired."""
    _, workspace = ctx.staff()
    if pressed.key not in await template_store.keys(ctx.session, workspace.id):
        raise ctx.expired()
    await _show_key(ctx, pressed.key)


@router.button(WriteTemplate)
async def on_write_button(ctx: Context, pressed: WriteTemplate) -> None:
    """Start writing the first text of a template slot."""
    try:
        key = template_versions.parse_key(pressed.key)
        variant = template_versions.parse_variant(pressed.variant)
    except InvalidInput as exc:
        raise ctx.expired() from exc
    await engine.start(ctx, EDIT_TEMPLATE, edit_data(key, pressed.locale, variant))


@router.button(TemplateAction)
async def on_template_button(ctx: Context, pressed: TemplateAction) -> None:
    """Open, edit or show the history of a template."""
    member, _ = ctx.staff()
    template = await template_versions.get_template(
        ctx.session, actor=member, template_id=pressed.template_id
    )
    if pressed.action == "o":
        await _show_slot(ctx, template.key, template.locale, template.variant)
    elif pressed.action == "e":
        data = edit_data(template.key, template.locale, template.variant)
        await engine.start(ctx, EDIT_TEMPLATE, data)
    else:
        await _history(ctx, template.id)


@router.button(RollBack)
async def on_rollback_button(ctx: Context, pressed: RollBack) -> None:
    """Roll a template back to the version on the pressed button."""
    member, _ = ctx.staff()
    template = await template_versions.get_template(
        ctx.session, actor=member, template_id=pressed.template_id
    )
    await _rollback(ctx, template.id, pressed.version)


async def _show_key(ctx: Context, key: str) -> None:
    """Show a key in the admin's language, else English, else whatever it has."""
    member, _ = ctx.staff()
    found = await template_versions.list_templates(ctx.session, actor=member)
    slots = [(t.locale, t.variant) for t in found if t.key == key]
    for slot in ((ctx.locale, ""), ("en", "")):
        if slot in slots:
            await _show_slot(ctx, key, *slot)
            return
    await _show_slot(ctx, key, *(slots[0] if slots else (ctx.locale, "")))


async def _show_slot(ctx: Context, key: str, locale: str, variant: str) -> None:
    member, _ = ctx.staff()
    current = await template_versions.current_text(
        ctx.session, actor=member, key=key, locale=locale, variant=variant
    )
    label = template_label(ctx, key, locale, variant)
    if current is None:
        write = ctx.t(N_("✏️ Write it"))
        ctx.reply(
            ctx.t(N_("There's no text for {template} yet. Write one?"), template=label),
            [[WriteTemplate(key=key, locale=locale, variant=variant).button(write)]],
        )
        return
    lines = [
        ctx.t(N_("📝 {template} · version {version}"), template=label, version=current.version),
        _saved_line(ctx, current),
        f"<pre>{html.escape(current.body)}</pre>",
        *await reach_lines(ctx, key, (locale, variant)),
    ]
    warnings, edit_variants = await base_warnings(ctx, key, locale, variant)
    lines += warnings
    buttons = [
        [
            TemplateAction(action="e", template_id=current.template_id).button(
                ctx.t(N_("✏️ Edit"))
            ),
            TemplateAction(action="h", template_id=current.template_id).button(
                ctx.t(N_("🕘 History"))
            ),
        ]
    ]
    others = [
        TemplateAction(action="o", template_id=t.id).button(slot_name(ctx, t.locale, t.variant))
        for t in await template_versions.list_templates(ctx.session, actor=member)
        if t.key == key and t.id != current.template_id
    ]
    buttons += [others[i : i + 3] for i in range(0, len(others), 3)]
    ctx.reply("\n".join(lines), buttons + edit_variants)


async def _history(ctx: Context, template_id: int) -> None:
    member, _ = ctx.staff()
    versions = await template_versions.history(ctx.session, actor=member, template_id=template_id)
    first = versions[0]
    label = template_label(ctx, first.key, first.locale, first.variant)
    lines = [ctx.t(N_("🕘 Versions of {template}, newest first:"), template=label)]
    buttons = []
    for version in versions:
        current = " ← " + ctx.t(N_("current")) if version.version == first.current_version else ""
        lines.append(f"<b>v{version.version}</b> · {_saved_line(ctx, version)}{current}")
        snippet = " ".join(version.body.split())
        if len(snippet) > SNIPPET:
            snippet = snippet[:SNIPPET] + "…"
        lines.append(f"    <i>{html.escape(snippet)}</i>")
        if version.version != first.current_version:
            back = RollBack(template_id=template_id, version=version.version)
            text = ctx.t(N_("↩️ Roll back to v{version}"), version=version.version)
            buttons.append([back.button(text)])
    ctx.reply("\n".join(lines), buttons)


async def _rollback(ctx: Context, template_id: int, version: int) -> None:
    member, _ = ctx.staff()
    saved = await template_versions.rollback(
        ctx.session,
        actor=member,
        template_id=template_id,
        version=version,
        now=ctx.now(),
        renders=ctx.app.renders,
    )
    ctx.reply(
        ctx.t(
            N_("↩️ Rolled back to the text of version {old}: {template} is now at version {new}."),
            old=version,
            template=template_label(ctx, saved.key, saved.locale, saved.variant),
            new=saved.version,
        )
    )
    await _show_slot(ctx, saved.key, saved.locale, saved.variant)


def _saved_line(ctx: Context, text: TemplateText) -> str:
    when = show_minute(text.saved_at, ctx.tz)
    if text.origin.startswith("rollback:"):
        origin = ctx.t(N_("rolled back to v{version}"), version=text.origin.partition(":")[2])
    elif text.origin == template_store.ORIGIN_DEFAULT:
        origin = ctx.t(N_("default text"))
    else:
        origin = ctx.t(N_("edited"))
    return ctx.t(
        N_("{when} · {author} · {origin}"),
        when=when,
        author=text.author or "—",
        origin=Raw(origin),
    )


def _looks_like_locale(word: str) -> bool:
    code = word.lower()
    return code in ("en", "english", "cn", "chinese", "中文") or code.startswith("zh")
