"""Admin commands for campaigns (owner and admins): list, create, control, quiet hours, cap.

Buttons use the ``cp`` prefix: ``cp:o|p|r|s|sy|n|h|hy:<id>`` open, pause, resume,
stop, confirm stop, run now, run a held run now and confirm it
(``CampaignAction``); ``cp:new`` starts the /campaign new dialog,
``cp:d:<step>:<value>`` answers one of its steps (``CampaignAnswer``) and ``cp:x`` cancels it.
"""

from __future__ import annotations

from bot.callbacks import CallbackData
from bot.campaigns import campaigns, limits
from bot.campaigns.run_status import RunWord
from bot.chat import engine
from bot.chat.context import Context
from bot.chat.router import MANAGERS, Router
from bot.conversations.new_campaign import NEW_CAMPAIGN, CampaignAnswer, CampaignCancel
from bot.crm.models import CampaignStatus
from bot.errors import InvalidInput
from bot.i18n import N_, P_, keyword
from bot.views.campaign import CampaignAction, show_campaign, summary_line

router = Router("campaigns", MANAGERS)
MAX_LISTED = 20
STATUS_DONE = {
    CampaignStatus.PAUSED: N_("⏸ Paused. Pending messages wait until you resume."),
    CampaignStatus.ACTIVE: N_("▶️ Resumed."),
    CampaignStatus.STOPPED: N_("⏹ Stopped. Messages already on their way finish; no new ones."),
}


class NewCampaign(CallbackData, prefix="cp:new"):
    """Start the /campaign new dialog."""


@router.command("campaigns", help=N_("campaigns: next sends and last results"))
async def cmd_campaigns(ctx: Context) -> None:
    """List the shop's campaigns with their next send and last run, one button each."""
    member, _ = ctx.staff()
    found = await campaigns.list_campaigns(
        ctx.session, actor=member, now=ctx.now(), limit=MAX_LISTED
    )
    new = [NewCampaign().button(ctx.t(N_("➕ New campaign")))]
    if not found:
        ctx.reply(ctx.t(N_("No campaigns yet. Create one with /campaign new.")), [new])
        return
    lines = [summary_line(ctx, s) for s in found]
    rows = [
        [CampaignAction(action="o", campaign_id=s.campaign.id).button(_list_label(s))]
        for s in found
    ]
    ctx.reply(ctx.t(N_("📣 Campaigns")) + "\n\n" + "\n\n".join(lines), [*rows, new])


@router.command("campaign", help=N_("create or open a campaign"), usage=N_("new|<id>"))
async def cmd_campaign(ctx: Context) -> None:
    """Start the /campaign new dialog, or open one campaign's detail view."""
    arg = ctx.incoming.args.strip().lower().lstrip("#")
    if keyword(arg) == "new":
        await engine.start(ctx, NEW_CAMPAIGN)
        return
    if not arg.isdigit() or len(arg) > 12:
        raise InvalidInput(
            N_("Send /campaign new to create one, or /campaign 3 to open campaign #3.")
        )
    await show_campaign(ctx, int(arg))


@router.command("quiet", help=N_("quiet hours for campaigns"), usage=N_("21:00-09:00|off"))
async def cmd_quiet(ctx: Context) -> None:
    """Set or turn off the quiet hours, or show them."""
    member, workspace = ctx.staff()
    arg = ctx.incoming.args.strip().lower()
    if not arg:
        ctx.reply(_quiet_text(ctx, workspace.quiet_start, workspace.quiet_end))
        return
    if keyword(arg) == "off":
        workspace = await limits.set_quiet_hours(
            ctx.session, actor=member, start=None, end=None, now=ctx.now()
        )
    else:
        start, sep, end = arg.replace("–", "-").partition("-")
        if not sep:
            raise InvalidInput(N_("Send it like /quiet 21:00-09:00, or /quiet off."))
        workspace = await limits.set_quiet_hours(
            ctx.session, actor=member, start=start.strip(), end=end.strip(), now=ctx.now()
        )
    ctx.reply("✅ " + _quiet_text(ctx, workspace.quiet_start, workspace.quiet_end))


@router.command(
    "cap", help=N_("most campaign messages per customer"), usage=N_("<messages> <days>")
)
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
        ctx.session, actor=member, messages=int(words[0]), days=int(words[1]), now=ctx.now()
    )
    text = _cap_text(ctx, workspace.campaign_cap_messages, workspace.campaign_cap_days)
    ctx.reply("✅ " + text)


@router.button(CampaignAnswer)
async def on_dialog_answer(ctx: Context, pressed: CampaignAnswer) -> None:
    """Answer a step of the /campaign new dialog."""
    await engine.press(ctx, NEW_CAMPAIGN, {pressed.step}, pressed.value)


@router.button(CampaignCancel)
async def on_dialog_cancel(ctx: Context, pressed: CampaignCancel) -> None:
    """Drop the /campaign new dialog."""
    await engine.cancel_pressed(ctx, NEW_CAMPAIGN)


@router.button(NewCampaign)
async def on_new(ctx: Context, pressed: NewCampaign) -> None:
    """Start the /campaign new dialog."""
    await engine.start(ctx, NEW_CAMPAIGN)


@router.button(CampaignAction)
async def on_campaign_button(ctx: Context, pressed: CampaignAction) -> None:
    """Open, pause, resume, stop (after asking) or run a campaign now."""
    member, _ = ctx.staff()
    action, campaign_id = pressed.action, pressed.campaign_id
    statuses = {
        "p": CampaignStatus.PAUSED,
        "r": CampaignStatus.ACTIVE,
        "sy": CampaignStatus.STOPPED,
    }
    if action == "o":
        await show_campaign(ctx, campaign_id, edit=True)
    elif action == "s":
        # Ask only about a campaign that is there to stop.
        await campaigns.get_campaign(
            ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
        )
        stop_label = ctx.t(N_("⏹ Yes, stop it"))
        ctx.reply(
            ctx.t(
                N_("Stop campaign #{id} for good? Messages not yet sent won't go out."),
                id=campaign_id,
            ),
            [[CampaignAction(action="sy", campaign_id=campaign_id).button(stop_label)]],
        )
    elif action == "h":
        # Ask only about a run that is held.
        summary = await campaigns.get_campaign(
            ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
        )
        if summary.last_state is None or summary.last_state.word is not RunWord.HELD:
            await show_campaign(ctx, campaign_id, edit=True)
            return
        question = (
            N_("🌙 It is night for these customers: send anyway?")
            if summary.last_state.quiet_hours
            else N_("⏸ These messages are waiting for a later try: send them now?")
        )
        ctx.reply(
            ctx.t(question),
            [
                [
                    CampaignAction(action="hy", campaign_id=campaign_id).button(
                        ctx.t(N_("🚀 Yes, send now"))
                    ),
                    CampaignAction(action="o", campaign_id=campaign_id).button(
                        ctx.t(N_("⏸ Keep waiting"))
                    ),
                ]
            ],
        )
    elif action == "hy":
        run, released = await campaigns.send_held_now(
            ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
        )
        text = ctx.t(
            N_("🚀 Sending {n} waiting messages now (run #{run})."), n=released, run=run.id
        )
        _say_sending(ctx, campaign_id, text)
    elif action in statuses:
        status = statuses[action]
        await campaigns.set_status(
            ctx.session, actor=member, campaign_id=campaign_id, status=status, now=ctx.now()
        )
        ctx.answer(ctx.t(STATUS_DONE[status]))
        ctx.reply(ctx.t(STATUS_DONE[status]))
        await show_campaign(ctx, campaign_id)
    else:
        run = await campaigns.run_now(
            ctx.session, actor=member, campaign_id=campaign_id, now=ctx.now()
        )
        text = ctx.t(
            N_("🚀 Sending now (run #{run}). I'll send you a report when it's done."), run=run.id
        )
        _say_sending(ctx, campaign_id, text)


def _say_sending(ctx: Context, campaign_id: int, text: str) -> None:
    """Answer the tap and say that a run is sending, with a button to its progress."""
    ctx.answer(ctx.t(N_("Sending")))
    progress = CampaignAction(action="o", campaign_id=campaign_id).button(ctx.t(N_("🔄 Progress")))
    ctx.reply(text, [[progress]])


def _list_label(summary: campaigns.CampaignSummary) -> str:
    return f"#{summary.campaign.id} {summary.campaign.name}"[:60]


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
        P_(
            "📮 Each customer gets at most {messages} campaign message in {days} days.",
            "📮 Each customer gets at most {messages} campaign messages in {days} days.",
            by="messages",
        ),
        messages=messages,
        days=days,
    )
