"""Admin commands for campaigns (owner and admins): list, create, control, quiet hours, cap.

Buttons use the ``cp`` prefix: ``cp:o|p|r|s|sy|n:<id>`` open, pause, resume,
stop, confirm stop and run now; ``cp:d:<step>:<value>`` answers a step of the
/campaign new dialog; ``cp:x`` cancels it.
"""

from __future__ import annotations

from bot.campaigns import campaigns, limits
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.conversations.log_followup import press
from bot.conversations.new_campaign import NEW_CAMPAIGN, CampaignStep
from bot.crm.models import CampaignStatus
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.messaging import Button
from bot.views.campaign import show_campaign, summary_line

router = Router("campaigns", MANAGERS)
MAX_LISTED = 20
STATUS_DONE = {
    CampaignStatus.PAUSED: N_("⏸ Paused. Pending messages wait until you resume."),
    CampaignStatus.ACTIVE: N_("▶️ Resumed."),
    CampaignStatus.STOPPED: N_("⏹ Stopped. Messages already on their way finish; no new ones."),
}


@router.command("campaigns", help=N_("campaigns: next sends and last results"))
async def cmd_campaigns(ctx: Context) -> None:
    """List the shop's campaigns with their next send and last run, one button each."""
    member, _ = ctx.staff()
    found = await campaigns.list_campaigns(
        ctx.session, actor=member, now=ctx.now(), limit=MAX_LISTED
    )
    new = [Button(ctx.t(N_("➕ New campaign")), "cp:new")]
    if not found:
        ctx.reply(ctx.t(N_("No campaigns yet. Create one with /campaign new.")), [new])
        return
    lines = [summary_line(ctx, s) for s in found]
    rows = [
        [Button(f"#{s.campaign.id} {s.campaign.name}"[:60], f"cp:o:{s.campaign.id}")]
        for s in found
    ]
    ctx.reply(ctx.t(N_("📣 Campaigns")) + "\n\n" + "\n\n".join(lines), [*rows, new])


@router.command("campaign", help=N_("create or open a campaign"), usage="new|<id>")
async def cmd_campaign(ctx: Context) -> None:
    """Start the /campaign new dialog, or open one campaign's detail view."""
    arg = ctx.incoming.args.strip().lower().lstrip("#")
    if arg == "new":
        await engine.start(ctx, NEW_CAMPAIGN)
        return
    if not arg.isdigit() or len(arg) > 12:
        raise InvalidInput(
            N_("Send /campaign new to create one, or /campaign 3 to open campaign #3.")
        )
    await show_campaign(ctx, int(arg))


@router.command("quiet", help=N_("quiet hours for campaigns"), usage="21:00-09:00|off")
async def cmd_quiet(ctx: Context) -> None:
    """Set or turn off the quiet hours, or show them."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip().lower()
    if not arg:
        ctx.reply(_quiet_text(ctx, workspace.quiet_start, workspace.quiet_end))
        return
    if arg in ("off", "关闭"):
        workspace = await limits.set_quiet_hours(ctx.session, actor=member, start=None, end=None)
    else:
        start, sep, end = arg.replace("–", "-").partition("-")
        if not sep:
            raise InvalidInput(N_("Send it like /quiet 21:00-09:00, or /quiet off."))
        workspace = await limits.set_quiet_hours(
            ctx.session, actor=member, start=start.strip(), end=end.strip()
        )
    ctx.reply("✅ " + _quiet_text(ctx, workspace.quiet_start, workspace.quiet_end))


@router.command("cap", help=N_("most campaign messages per customer"), usage="<messages> <days>")
async def cmd_cap(ctx: Context) -> None:
    """Set the per-customer cap, or show it."""
    member, workspace = ctx.staff()
    words = ctx.incoming.args.split()
    if not words:
        ctx.reply(_cap_text(ctx, workspace.campaign_cap_messages, workspace.campaign_cap_days))
        return
    if len(words) != 2 or not all(w.isdigit() and len(w) <= 4 for w in words):
        raise InvalidInput(N_("Send it like /cap 2 7: at most 2 messages in 7 days."))
    workspace = await limits.set_cap(
        ctx.session, actor=member, messages=int(words[0]), days=int(words[1])
    )
    text = _cap_text(ctx, workspace.campaign_cap_messages, workspace.campaign_cap_days)
    ctx.reply("✅ " + text)


@router.callback("cp")
async def on_campaign_button(ctx: Context) -> None:
    """Handle the campaign buttons: detail actions and dialog answers."""
    parts = (ctx.incoming.data or "").split(":", 3)
    action = parts[1] if len(parts) > 1 else ""
    if action == "d" and len(parts) == 4 and parts[2] in set(CampaignStep):
        await press(ctx, NEW_CAMPAIGN, parts[2], parts[3])
        return
    if action == "x":
        state = await engine.current(ctx)
        ctx.answer()
        if state is not None and state.dialog == NEW_CAMPAIGN.name:
            await ctx.session.delete(state)
            ctx.edit(ctx.t(N_("OK, cancelled. Nothing was saved.")))
        return
    if action == "new":
        ctx.answer()
        await engine.start(ctx, NEW_CAMPAIGN)
        return
    if len(parts) != 3 or not parts[2].isdigit():
        ctx.answer(ctx.t(N_("This button has expired.")))
        return
    await _act(ctx, action, int(parts[2]))


async def _act(ctx: Context, action: str, campaign_id: int) -> None:
    member, _ = ctx.staff()
    statuses = {
        "p": CampaignStatus.PAUSED,
        "r": CampaignStatus.ACTIVE,
        "sy": CampaignStatus.STOPPED,
    }
    if action == "o":
        ctx.answer()
        await show_campaign(ctx, campaign_id, edit=True)
    elif action == "s":
        ctx.answer()
        ctx.reply(
            ctx.t(
                N_("Stop campaign #{id} for good? Messages not yet sent won't go out."),
                id=campaign_id,
            ),
            [[Button(ctx.t(N_("⏹ Yes, stop it")), f"cp:sy:{campaign_id}")]],
        )
    elif action in statuses:
        status = statuses[action]
        await campaigns.set_status(
            ctx.session, actor=member, campaign_id=campaign_id, status=status, now=ctx.now()
        )
        ctx.answer(ctx.t(STATUS_DONE[status]))
        ctx.reply(ctx.t(STATUS_DONE[status]))
        await show_campaign(ctx, campaign_id)
    elif action == "n":
        run = await campaigns.run_now(
            ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
        )
        ctx.answer(ctx.t(N_("Sending")))
        ctx.reply(
            ctx.t(
                N_("🚀 Sending now (run #{run}). I'll send you a report when it's done."),
                run=run.id,
            ),
            [[Button(ctx.t(N_("🔄 Progress")), f"cp:o:{campaign_id}")]],
        )
    else:
        ctx.answer(ctx.t(N_("This button has expired.")))


def _quiet_text(ctx: Context, start: str, end: str) -> str:
    if start == end:
        return ctx.t(N_("🌙 Quiet hours are off: campaign messages may go out at any hour."))
    return ctx.t(
        N_(
            "🌙 Quiet hours: {start}–{end} in each customer's time zone (else the shop's). "
            "Campaign messages due then wait until {end}."
        ),
        start=start,
        end=end,
    )


def _cap_text(ctx: Context, messages: int, days: int) -> str:
    return ctx.t(
        N_("📮 Each customer gets at most {messages} campaign messages in {days} days."),
        messages=messages,
        days=days,
    )
