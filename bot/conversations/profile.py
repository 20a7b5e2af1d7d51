"""The /profile dialog: a member sets their display name and phone."""

from __future__ import annotations

from enum import StrEnum

from bot.chat.context import Context
from bot.chat.engine import DONE, Data, dialog
from bot.crm import members, names
from bot.crm.phones import normalize_phone
from bot.i18n import N_

MAX_NAME = 64
SKIP = "/skip"


class ProfileStep(StrEnum):
    """The questions of /profile, persisted by value."""

    NAME = "name"
    PHONE = "phone"


async def ask_name(ctx: Context, data: Data) -> None:
    """Ask for the name customers and colleagues will see."""
    ctx.reply(ctx.t(N_("What name should customers and colleagues see? (send /cancel to stop)")))


async def receive_name(ctx: Context, data: Data) -> str:
    """Store a cleaned-up display name."""
    data["name"] = clean_name(ctx.incoming.text)
    return ProfileStep.PHONE


async def ask_phone(ctx: Context, data: Data) -> None:
    """Ask for a work phone number, which may be skipped."""
    ctx.reply(
        ctx.t(
            N_("Thanks, {name}! Your work phone number? Send /skip to leave it empty."),
            name=data["name"],
        )
    )


async def receive_phone(ctx: Context, data: Data) -> str:
    """Store the phone in E.164, read in the workspace's region."""
    text = ctx.incoming.text.strip()
    if ctx.incoming.command == "skip" or text.lower() == SKIP:
        data["phone"] = None
        return DONE
    region = ctx.workspace.region if ctx.workspace else None
    data["phone"] = normalize_phone(text, region=region)
    return DONE


async def finish(ctx: Context, data: Data) -> None:
    """Save the profile and confirm it."""
    assert ctx.member is not None  # noqa: S101 - the staff router only lets members in
    await members.update_profile(
        ctx.session, actor=ctx.member, display_name=data["name"], phone=data["phone"]
    )
    ctx.reply(
        ctx.t(
            N_("✅ Profile saved: <b>{name}</b>, phone {phone}."),
            name=data["name"],
            phone=data["phone"] or ctx.t(N_("not set")),
        )
    )


def clean_name(text: str) -> str:
    """Return a display name with single spaces, refusing control characters.

    Raises:
        InvalidInput: when it has a control character, is empty, a command, or too long.
    """
    return names.clean_name(text, max_length=MAX_NAME)


PROFILE = dialog("profile", ProfileStep, finish)
