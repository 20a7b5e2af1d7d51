"""/help that fits on a phone: a member sees topics with buttons, each topic its commands.

A customer has a handful of commands and sees them all at once. A member sees one
line per topic (a few of its commands) and a button per topic; ``/help <topic>``
or the button lists that topic's commands with what each does.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated

from bot.callbacks import CallbackData, Choice
from bot.chat.router import CommandSpec
from bot.i18n import N_
from bot.messaging import Keyboard

Translate = Callable[..., str]
# How many of a topic's commands its overview line names before "…".
SHOWN_PER_TOPIC = 4


class Topic(StrEnum):
    """The topics of a member's /help; their values are what ``/help <topic>`` takes."""

    CUSTOMERS = "customers"
    FOLLOW_UPS = "follow-ups"
    CONVERSATIONS = "conversations"
    CAMPAIGNS = "campaigns"
    TEAM = "team"
    FIGURES = "figures"


class HelpTopic(CallbackData, prefix="hp"):
    """Show one topic of /help."""

    topic: Annotated[Topic, Choice(Topic)]


TITLES: dict[Topic, str] = {
    Topic.CUSTOMERS: N_("👥 Customers"),
    Topic.FOLLOW_UPS: N_("📅 Follow-ups"),
    Topic.CONVERSATIONS: N_("💬 Conversations"),
    Topic.CAMPAIGNS: N_("📣 Campaigns"),
    Topic.TEAM: N_("🧑‍🤝‍🧑 Team"),
    Topic.FIGURES: N_("📊 Figures"),
}

# Every member command belongs to one topic; what is in none (help, lang, cancel)
# is named on the overview's last line.
COMMANDS: dict[Topic, tuple[str, ...]] = {
    Topic.CUSTOMERS: (
        "add",
        "find",
        "card",
        "tag",
        "buy",
        "route",
        "stages",
        "stage",
        "pool",
        "claim",
        "tags",
        "purchases",
        "points",
        "redeem",
        "export",
        "import",
        "assign",
        "leaddays",
        "tagdef",
        "grades",
        "fields",
        "adjust",
        "pointsrate",
        "share",
        "reassign",
        "erase",
        "dataexport",
    ),  # fmt: skip
    Topic.FOLLOW_UPS: (
        "today",
        "log",
        "remind",
        "digest",
        "atrisk",
        "complaints",
        "complaint",
        "sla",
    ),  # fmt: skip
    Topic.CONVERSATIONS: (
        "inbox",
        "history",
        "transfer",
        "quick",
        "hours",
        "replysla",
        "signature",
    ),  # fmt: skip
    Topic.CAMPAIGNS: ("campaigns", "campaign", "templates", "template", "quiet", "cap"),
    Topic.TEAM: ("invite", "team", "remove", "profile", "mylink", "leave", "shop", "backup"),
    Topic.FIGURES: ("stats", "tiers", "spend"),
}

# Words a person may type after /help, in either language, for each topic.
WORDS: dict[str, Topic] = {
    **{topic.value: topic for topic in Topic},
    "customer": Topic.CUSTOMERS,
    "followups": Topic.FOLLOW_UPS,
    "follow-up": Topic.FOLLOW_UPS,
    "followup": Topic.FOLLOW_UPS,
    "conversation": Topic.CONVERSATIONS,
    "inbox": Topic.CONVERSATIONS,
    "campaign": Topic.CAMPAIGNS,
    "figure": Topic.FIGURES,
    "stats": Topic.FIGURES,
    "客户": Topic.CUSTOMERS,
    "跟进": Topic.FOLLOW_UPS,
    "对话": Topic.CONVERSATIONS,
    "消息": Topic.CONVERSATIONS,
    "活动": Topic.CAMPAIGNS,
    "营销": Topic.CAMPAIGNS,
    "团队": Topic.TEAM,
    "数据": Topic.FIGURES,
    "统计": Topic.FIGURES,
}


def topic_of(word: str) -> Topic | None:
    """Return the topic a typed word names, or None."""
    return WORDS.get(word.strip().lower().lstrip("/"))


def command_lines(t: Translate, specs: Sequence[CommandSpec]) -> str:
    """Return one line per command: ``/name usage — what it does``."""
    lines = []
    for spec in specs:
        usage = f" {html.escape(t(spec.usage))}" if spec.usage else ""
        lines.append(f"/{spec.name}{usage} — {t(spec.help)}")
    return "\n".join(lines)


def overview(t: Translate, specs: Sequence[CommandSpec]) -> tuple[str, Keyboard]:
    """Return a member's /help: a line and a button per topic they have commands in."""
    names = {spec.name for spec in specs}
    lines: list[str] = []
    buttons = []
    for topic, commands in COMMANDS.items():
        mine = [name for name in commands if name in names]
        if not mine:
            continue
        shown = " ".join(f"/{name}" for name in mine[:SHOWN_PER_TOPIC])
        more = " …" if len(mine) > SHOWN_PER_TOPIC else ""
        lines.append(f"<b>{t(TITLES[topic])}</b>: {shown}{more}")
        buttons.append(HelpTopic(topic=topic).button(t(TITLES[topic])))
    in_topics = {name for commands in COMMANDS.values() for name in commands}
    rest = " ".join(f"/{spec.name}" for spec in specs if spec.name not in in_topics)
    if rest:
        lines.append(t(N_("⚙️ Also: {commands}"), commands=rest))
    lines.append(t(N_("Tap a topic, or send /help customers, /help team …")))
    keyboard: Keyboard = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return "\n".join(lines), keyboard


def topic_text(t: Translate, specs: Sequence[CommandSpec], topic: Topic) -> str:
    """Return one topic's commands the member may use, with what each does."""
    by_name = {spec.name: spec for spec in specs}
    mine = [by_name[name] for name in COMMANDS[topic] if name in by_name]
    if not mine:
        return t(N_("Nothing in {topic} for your role."), topic=t(TITLES[topic]))
    return f"<b>{t(TITLES[topic])}</b>\n" + command_lines(t, mine)
