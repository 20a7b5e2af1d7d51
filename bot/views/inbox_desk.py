"""What the inbox desk looks like: the /inbox list, /history pages and /transfer pickers."""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.callbacks import CallbackData, Id, Int
from bot.crm.inbox.history import Page
from bot.crm.inbox.listing import Inbox, OpenThread
from bot.crm.models import Direction, Member, MessageKind
from bot.i18n import N_, P_
from bot.messaging import Button, Keyboard
from bot.views.card import card_button, entry_line, message_text
from bot.views.inbox import RelayReply

Translate = Callable[..., str]
INBOX_PAGE = 8
HISTORY_PAGE = 15
PREVIEW_CHARS = 50
HISTORY_CHARS = 200
MAX_OFFSET = 1_000_000
PICK_CAP = 10


class InboxPage(CallbackData, prefix="dk:i"):
    """Show another page of /inbox (of one member's conversations when ``member_id``)."""

    offset: Annotated[int, Int(0, MAX_OFFSET)]
    member_id: Annotated[int | None, Id("member")] = None


class HistoryPage(CallbackData, prefix="dk:h"):
    """Show another page of a customer's /history, ``offset`` messages from the newest."""

    customer_id: Annotated[int, Id("customer")]
    offset: Annotated[int, Int(0, MAX_OFFSET)]


class TransferPick(CallbackData, prefix="dk:t"):
    """Choose this conversation to hand over; the member comes next."""

    thread_id: Annotated[int, Id("chat_thread")]


class TransferTo(CallbackData, prefix="dk:m"):
    """Hand the conversation to this member."""

    thread_id: Annotated[int, Id("chat_thread")]
    member_id: Annotated[int, Id("member")]


def waited(t: Translate, delta: timedelta) -> str:
    """Return a wait as "3 min", "2 h 5 min" or "1 d 4 h" (under a minute: "under 1 min")."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t(N_("{d} d {h} h"), d=days, h=hours)
    if hours:
        return t(N_("{h} h {m} min"), h=hours, m=mins)
    if mins:
        return t(N_("{m} min"), m=mins)
    return t(N_("under 1 min"))


def inbox_text(
    t: Translate, inbox: Inbox, *, offset: int, member: Member | None, show_assignee: bool
) -> str:
    """Return the /inbox screen: counts, then one numbered entry per open conversation."""
    if inbox.total == 0:
        if member is not None:
            return t(N_("📭 {member} has no open conversations."), member=member.display_name)
        return t(N_("📭 No open conversations. Nice work!"))
    head = t(
        N_("📥 <b>Open conversations: {total}</b> ({unanswered} unanswered)"),
        total=inbox.total,
        unanswered=inbox.unanswered,
    )
    if member is not None:
        head += " · " + t(N_("handled by {member}"), member=member.display_name)
    if inbox.total > INBOX_PAGE:
        head += "\n" + t(
            N_("Page {page} of {pages}"), page=offset // INBOX_PAGE + 1, pages=_pages(inbox.total)
        )
    lines = [head, ""]
    for number, item in enumerate(inbox.items, start=offset + 1):
        lines.append(f"{number}. " + _inbox_line(t, item, show_assignee=show_assignee))
    lines += [
        "",
        t(N_("Tap ↩️ to answer. /history 12 shows all of #12; /transfer 12 Li hands it over.")),
    ]
    return "\n".join(lines)


def _inbox_line(t: Translate, item: OpenThread, *, show_assignee: bool) -> str:
    name = html.escape(item.customer_name, quote=False)
    who = f"<b>{name}</b> (#{item.customer_id})"
    if item.waiting is not None:
        state = t(N_("⏳ waiting {wait}"), wait=waited(t, item.waiting))
    else:
        state = t(N_("✔️ answered"))
    parts = [who, state]
    if show_assignee:
        assignee = item.assignee_name or t(N_("the managers"))
        parts.append(t(N_("with {member}"), member=assignee))
    line = " · ".join(parts)
    if item.last_kind is None:
        return line
    content = message_text(t, item.last_kind, item.last_text, erased=False, limit=PREVIEW_CHARS)
    mark = "👤" if item.last_direction is Direction.IN else "🏪"
    return f"{line}\n    {mark} {content}"


def inbox_buttons(
    t: Translate,
    inbox: Inbox,
    *,
    offset: int,
    member_id: int | None,
    cards: Collection[int],
) -> Keyboard:
    """Return ↩️ Reply and 📇 Card per conversation, then ◀️ ▶️ when there are more pages.

    ``cards`` holds the customers whose card the viewer may open: a conversation
    handed to them does not make someone else's customer theirs.
    """
    rows: list[list[Button]] = []
    for item in inbox.items:
        # Button labels are plain text: no translation call, which would escape HTML.
        row = [
            RelayReply(thread_id=item.thread_id).button(
                f"↩️ {item.customer_name[:30]} #{item.customer_id}"
            )
        ]
        if item.customer_id in cards:
            row.append(card_button(t, item.customer_id, t(N_("📇 Card"))))
        rows.append(row)
    nav: list[Button] = []
    if offset > 0:
        back = max(0, offset - INBOX_PAGE)
        nav.append(InboxPage(offset=back, member_id=member_id).button("◀️"))
    if offset + len(inbox.items) < inbox.total and offset + INBOX_PAGE <= MAX_OFFSET:
        nav.append(InboxPage(offset=offset + INBOX_PAGE, member_id=member_id).button("▶️"))
    if nav:
        rows.append(nav)
    return rows


def history_text(t: Translate, page: Page, tz: ZoneInfo) -> str:
    """Return one /history page: a heading, then its messages oldest to newest."""
    name = page.customer_name
    if page.total == 0:
        return t(N_("💬 No messages with {name} (#{id}) yet."), name=name, id=page.customer_id)
    head = t(
        P_(
            "💬 Conversation with <b>{name}</b> (#{id}): {total} message",
            "💬 Conversation with <b>{name}</b> (#{id}): {total} messages",
            by="total",
        ),
        name=name,
        id=page.customer_id,
        total=page.total,
    )
    if page.total > HISTORY_PAGE:
        head += "\n" + t(
            N_("Page {page} of {pages}, the latest first; ◀️ goes back in time."),
            page=page.offset // HISTORY_PAGE + 1,
            pages=_pages(page.total, HISTORY_PAGE),
        )
    if not page.entries:
        return head + "\n\n" + t(N_("Nothing further back."))
    lines = [head, ""]
    lines += [
        entry_line(t, entry, tz, limit=HISTORY_CHARS, full_date=True)
        for entry in reversed(page.entries)
    ]
    return "\n".join(lines)


def history_buttons(t: Translate, page: Page, *, card: bool = True) -> Keyboard:
    """Return ◀️ Older and Newer ▶️ where there is more, and the customer's card if ``card``."""
    nav: list[Button] = []
    older = page.offset + HISTORY_PAGE
    if older < page.total and older <= MAX_OFFSET:
        nav.append(
            HistoryPage(customer_id=page.customer_id, offset=older).button(t(N_("◀️ Older")))
        )
    if page.offset > 0:
        newer = max(0, page.offset - HISTORY_PAGE)
        nav.append(
            HistoryPage(customer_id=page.customer_id, offset=newer).button(t(N_("Newer ▶️")))
        )
    rows: list[list[Button]] = [nav] if nav else []
    if card:
        rows.append([card_button(t, page.customer_id)])
    return rows


def pick_thread_buttons(items: Sequence[OpenThread]) -> Keyboard:
    """Return one button per open conversation, to choose which one to hand over."""
    return [
        [
            TransferPick(thread_id=item.thread_id).button(
                f"{item.customer_name[:40]} #{item.customer_id}"
            )
        ]
        for item in items[:PICK_CAP]
    ]


def pick_member_buttons(thread_id: int, members: Sequence[Member]) -> Keyboard:
    """Return one button per colleague the conversation may go to, two to a row."""
    buttons = [
        TransferTo(thread_id=thread_id, member_id=m.id).button(m.display_name[:40])
        for m in members[: PICK_CAP * 2]
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def handover_buttons(
    t: Translate, *, thread_id: int, customer_id: int, card: bool = True
) -> Keyboard:
    """Return ↩️ Reply and (when they may open it) 📇 Card for a conversation handed over."""
    row = [RelayReply(thread_id=thread_id).button(t(N_("↩️ Reply")))]
    if card:
        row.append(card_button(t, customer_id, t(N_("📇 Card"))))
    return [row]


def last_said(
    t: Translate, kind: MessageKind | None, text: str | None, direction: Direction | None
) -> str:
    """Return the conversation's last message as a quoted line, or '' when there is none."""
    if kind is None:
        return ""
    mark = "👤" if direction is Direction.IN else "🏪"
    return f"{mark} " + message_text(t, kind, text, erased=False, limit=HISTORY_CHARS)


def _pages(total: int, size: int = INBOX_PAGE) -> int:
    return max(1, -(-total // size))
