"""What members see of the shop's saved answers: the /quick list and the buttons under ↩️ Reply."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Annotated

from bot.callbacks import CallbackData, Id
from bot.crm.inbox.quick import LOCALES
from bot.crm.models import QuickReply
from bot.i18n import N_
from bot.messaging import Keyboard
from bot.views.labels import language_name

Translate = Callable[..., str]
# Buttons under the ↩️ Reply question: enough for a shop's usual answers, few
# enough to keep the question on one phone screen.
MAX_BUTTONS = 8
SNIPPET = 40


class QuickPick(CallbackData, prefix="qk:p"):
    """Send a saved answer to the customer of the open ↩️ Reply question."""

    thread_id: Annotated[int, Id("chat_thread")]
    quick_id: Annotated[int, Id("quick_reply")]


class QuickDelete(CallbackData, prefix="qk:d"):
    """Confirm deleting a saved answer in one language."""

    quick_id: Annotated[int, Id("quick_reply")]


class QuickKeep(CallbackData, prefix="qk:k"):
    """Keep the saved answer a delete question was about."""


def member_locale(locale: str) -> str:
    """Return the quick-reply language closest to a member's language."""
    return locale if locale in LOCALES else LOCALES[0]


def by_key(replies: Iterable[QuickReply], locale: str) -> dict[str, list[QuickReply]]:
    """Group saved answers by key, each key's ``locale`` version first."""
    grouped: dict[str, list[QuickReply]] = {}
    for reply in replies:
        grouped.setdefault(reply.key, []).append(reply)
    for versions in grouped.values():
        versions.sort(key=lambda r: (r.locale != locale, LOCALES.index(r.locale)))
    return grouped


def snippet(text: str) -> str:
    """Return the first words of a saved answer's text, on one line, HTML-escaped."""
    line = " ".join(text.split())
    if len(line) > SNIPPET:
        line = line[:SNIPPET].rsplit(" ", 1)[0] + "…"
    return html.escape(line, quote=False)


def library_text(
    t: Translate, replies: Sequence[QuickReply], *, locale: str, can_edit: bool
) -> str:
    """Return the /quick list: each key with the first words of each language's text."""
    lines = [t(N_("💬 <b>Quick replies</b>"))]
    if not replies:
        lines.append(t(N_("There are none yet.")))
    for key, versions in by_key(replies, member_locale(locale)).items():
        texts = " · ".join(f"{language_name(t, v.locale)}: “{snippet(v.text)}”" for v in versions)
        lines.append(f"• <b>{html.escape(key, quote=False)}</b> — {texts}")
    if replies:
        lines.append(t(N_("Tap ↩️ Reply under a customer's message to send one.")))
    if can_edit:
        lines.append("")
        lines.append(
            t(
                N_(
                    "Add one: /quick add price Hello {{ first_name }}, the 2015 cake is ¥380.\n"
                    "Another language: /quick add price@zh-CN 您好 {{ first_name }}……\n"
                    "Change or remove: /quick edit price …, /quick delete price"
                )
            )
        )
    return "\n".join(lines)


def quick_buttons(
    t: Translate, replies: Sequence[QuickReply], *, thread_id: int, locale: str
) -> Keyboard:
    """Return up to ``MAX_BUTTONS`` saved answers as buttons, two a row, by key."""
    grouped = by_key(replies, member_locale(locale))
    # Keys written in the member's language come first; the others follow.
    keys = sorted(grouped, key=lambda k: grouped[k][0].locale != member_locale(locale))
    buttons = [
        QuickPick(thread_id=thread_id, quick_id=grouped[key][0].id).button(f"💬 {key}")
        for key in keys[:MAX_BUTTONS]
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def delete_question(t: Translate, reply: QuickReply) -> tuple[str, Keyboard]:
    """Return the question confirming a delete, with Delete and Keep."""
    text = t(
        N_("Delete the quick reply “{key}” ({language})?\n\n{text}"),
        key=reply.key,
        language=language_name(t, reply.locale),
        text=reply.text,
    )
    buttons: Keyboard = [
        [
            QuickDelete(quick_id=reply.id).button(t(N_("🗑 Delete"))),
            QuickKeep().button(t(N_("Keep it"))),
        ]
    ]
    return text, buttons


def span(delta: timedelta, t: Translate) -> str:
    """Return a duration of whole minutes as "30 min", "2 h" or "1 h 30 min"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t(N_("{minutes} min"), minutes=minutes)
    if minutes % 60 == 0:
        return t(N_("{hours} h"), hours=minutes // 60)
    return t(N_("{hours} h {minutes} min"), hours=minutes // 60, minutes=minutes % 60)
