"""The customer's loose ends: a typed survey comment, a reopened complaint, /shop; and the figures.

A low survey score makes the customer's next text their comment (not a conversation
message); a 👎 to a resolution reopens the complaint and tells its handler and the
owner; /stats shows first-response figures; /privacy counts the messages with each
shop; a customer of several shops switches shop with /shop.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.campaigns import campaigns, template_store
from bot.campaigns.survey_buttons import SurveyScore
from bot.crm.models import (
    CampaignKind,
    CampaignRun,
    Member,
    OutboxMessage,
    OutboxStatus,
    Role,
    utcnow,
)
from bot.crm.store import unit_of_work
from bot.handlers.customer_shop import SwitchShop
from bot.messaging import Kind
from bot.views.complaint import ResolutionAnswer
from tests.e2e.harness import Person as EmulatedPerson
from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import CHEN, LI, OWNER, member_id, seed_customer
from tests.handlers.chat import ChatBot, Controls, Person, open_shop
from tests.handlers.test_inbox_relay import copies_to, labels, link, texts, write

SUN, QIAN, MA = 2001, 2002, 1101
SQL_TIME = "%Y-%m-%d %H:%M:%S.%f"


async def survey_for(chat: ChatBot, customer_id: int) -> int:
    """Send the shop's survey to one customer (its outbox row marked sent); return the run."""
    async with unit_of_work(chat.sessions) as session:
        owner = await session.scalar(select(Member).where(Member.role == Role.OWNER))
        assert owner is not None
        await template_store.ensure_defaults(session, workspace_id=owner.workspace_id)
        survey = await campaigns.create_campaign(
            session,
            actor=owner,
            name="How did we do?",
            kind=CampaignKind.SURVEY,
            template_key="survey_invitation",
            audience={},
            now=utcnow(),
        )
        run = await session.scalar(select(CampaignRun).where(CampaignRun.campaign_id == survey.id))
        assert run is not None
        session.add(
            OutboxMessage(
                workspace_id=owner.workspace_id,
                run_id=run.id,
                customer_id=customer_id,
                status=OutboxStatus.SENT,
                sent_at=utcnow(),
            )
        )
        return run.id


async def tap(person: Person, data: str) -> None:
    """Press a button carrying ``data``, as if it sat on message 1 of the person's chat."""
    keyboard = {"inline_keyboard": [[{"text": "tap", "callback_data": data}]]}
    await person.press("tap", {"message_id": 1, "reply_markup": keyboard})


async def sun_of_li(chat: ChatBot) -> tuple[int, Person]:
    """Seed Sun, Li's customer, linked to a Telegram account; return the id and the person."""
    sun = seed_customer(chat.db_path, "Sun", LI)
    link(chat, sun, SUN)
    return sun, chat.person(SUN, "Sun")


async def low_score(chat: ChatBot, sun_id: int, sun: Person) -> int:
    """Have Sun answer a survey with 1; return the complaint it opened."""
    run = await survey_for(chat, sun_id)
    await tap(sun, SurveyScore(run_id=run, score=1).pack())
    await sun.expect("Thanks for your answer", "complaint #", "Just type it here")
    [(complaint_id,)] = query(chat.db_path, "SELECT id FROM complaint")
    return int(complaint_id)


async def test_text_after_a_low_score_is_the_comment_not_a_conversation(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun_id, sun = await sun_of_li(chat)
    complaint_id = await low_score(chat, sun_id, sun)
    await crew.li.expect(f"New complaint #{complaint_id}", "Sun", "low survey score")

    # A command in between still works and leaves the comment waiting.
    await sun.send("/privacy")
    await sun.expect("What shops keep about you")
    await sun.send("The tea was stale")
    await sun.expect("noted your comment")
    assert query(chat.db_path, "SELECT score, comment FROM survey_answer") == [
        (1, "The tea was stale")
    ]
    assert query(chat.db_path, "SELECT text FROM complaint") == [("The tea was stale",)]
    await crew.li.expect(f"added to complaint #{complaint_id}", "The tea was stale")
    assert query(chat.db_path, "SELECT count(*) FROM chat_message") == [(0,)]
    assert copies_to(chat, LI) == []

    # The next message is a conversation again.
    await write(chat, SUN, text="And do you have oolong?")
    assert len(copies_to(chat, LI)) == 1
    assert query(chat.db_path, "SELECT text FROM chat_message") == [("And do you have oolong?",)]


async def test_the_comment_wants_text_and_can_be_cancelled(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun_id, sun = await sun_of_li(chat)
    await low_score(chat, sun_id, sun)

    await Controls(chat).post("sticker", user_id=SUN)
    await sun.expect("Please write your comment as a text message, or send /cancel to leave it.")
    await write(chat, SUN, Kind.VOICE)
    await sun.expect("Please write your comment as a text message")
    await sun.send("x" * 1001)
    await sun.expect("Please write 1 to 1000 characters.")
    assert query(chat.db_path, "SELECT comment FROM survey_answer") == [(None,)]
    assert query(chat.db_path, "SELECT count(*) FROM chat_message") == [(0,)]

    await sun.send("cancel")
    await sun.expect("OK, cancelled. Nothing was saved.")
    await write(chat, SUN, text="Never mind, a question instead")
    assert len(copies_to(chat, LI)) == 1
    assert query(chat.db_path, "SELECT comment FROM survey_answer") == [(None,)]


async def test_the_comment_expires_without_a_word(chat: ChatBot, workspace: Workspace) -> None:
    await open_shop(chat, workspace)
    sun_id, sun = await sun_of_li(chat)
    await low_score(chat, sun_id, sun)
    past = (utcnow() - timedelta(minutes=1)).strftime(SQL_TIME)
    execute(chat.db_path, "UPDATE conversation_state SET expires_at = ?", past)

    await write(chat, SUN, text="Hello again, any news?")
    # Sun never knowingly opened a dialog: no "timed out", the message simply reaches Li.
    assert not any("timed out" in text for text in texts(chat, SUN))
    assert len(copies_to(chat, LI)) == 1
    assert query(chat.db_path, "SELECT comment FROM survey_answer") == [(None,)]


async def test_a_complaint_being_written_keeps_the_next_text(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun_id, sun = await sun_of_li(chat)
    await sun.send("/complain")
    await sun.expect("Tell us what happened")
    run = await survey_for(chat, sun_id)
    await tap(sun, SurveyScore(run_id=run, score=2).pack())
    reply = await sun.expect("Thanks for your answer", "complaint #")
    assert "type it here" not in reply["text"]

    await sun.send("The box was crushed")
    await sun.expect("Want to add a photo?")
    await sun.press("Skip")
    await sun.expect("Complaint #")
    assert query(chat.db_path, "SELECT source, text FROM complaint ORDER BY id") == [
        ("survey", None),
        ("customer", "The box was crushed"),
    ]
    assert query(chat.db_path, "SELECT comment FROM survey_answer") == [(None,)]


async def test_a_good_score_leaves_the_next_text_to_the_conversation(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    sun_id, sun = await sun_of_li(chat)
    run = await survey_for(chat, sun_id)
    await tap(sun, SurveyScore(run_id=run, score=5).pack())
    reply = await sun.expect("Thanks for your answer")
    assert "type it here" not in reply["text"]
    assert labels(reply) == ["💬 Add a comment"]

    await write(chat, SUN, text="Lovely tea, thanks")
    assert len(copies_to(chat, LI)) == 1
    assert query(chat.db_path, "SELECT comment FROM survey_answer") == [(None,)]


async def resolve(li: Person | EmulatedPerson, complaint_id: int, resolution: str) -> None:
    """Li opens the complaint from the desk, takes it if open, and resolves it."""
    await li.send(f"/complaint {complaint_id}")
    card = await li.expect(f"Complaint #{complaint_id}")
    if "Take" in str(card.get("reply_markup")):
        await li.press("Take")
        await li.expect(f"Complaint #{complaint_id}", "in progress")
    await li.press("Resolve")
    await li.expect(f"How was complaint #{complaint_id}")
    await li.send(resolution)
    await li.expect(f"Complaint #{complaint_id} resolved")


async def test_no_to_a_resolution_reopens_the_complaint_and_tells_handler_and_owner(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    _, sun = await sun_of_li(chat)
    await sun.send("/complain The cup arrived broken")
    await sun.expect("Want to add a photo?")
    await sun.press("Skip")
    await sun.expect("Complaint #")
    [(complaint_id,)] = query(chat.db_path, "SELECT id FROM complaint")
    await resolve(crew.li, complaint_id, "We sent a new cup")

    question = await sun.expect("resolved your complaint", "satisfied")
    # Another customer's tap on Sun's buttons has expired.
    qian = chat.person(QIAN, "Qian")
    link(chat, seed_customer(chat.db_path, "Qian", LI), QIAN)
    await tap(qian, ResolutionAnswer(complaint_id=complaint_id, answer="n").pack())
    assert chat.messenger.answers[-1][1] == "This button has expired."
    assert query(chat.db_path, "SELECT status FROM complaint") == [("resolved",)]

    await sun.press("No", question)
    await sun.expect(f"reopened complaint #{complaint_id}", "within 48 hours")
    assert query(chat.db_path, "SELECT status, resolved_at FROM complaint") == [("open", None)]
    assert query(
        chat.db_path, "SELECT actor_member_id, details FROM audit_log WHERE action = ?",
        "complaint.reopen",
    ) == [(None, '{"status": "open", "by": "customer"}')]  # fmt: skip
    told = f"↩️ Sun says complaint #{complaint_id} is not resolved."
    to_li = await crew.li.expect(told)
    to_owner = await crew.owner.expect(told)
    assert labels(to_li) == labels(to_owner) == ["📣 Open complaint"]
    assert await crew.chen.quiet() == []
    await crew.li.press("Open complaint", to_li)
    await crew.li.expect(f"Complaint #{complaint_id}", "open")

    # While it is open again, the question has expired.
    await sun.press("No", question)
    assert chat.messenger.answers[-1][1] == "This button has expired."

    # Resolved again, the customer is asked again, and their yes counts.
    await resolve(crew.li, complaint_id, "A second new cup, well packed")
    again = await sun.expect("resolved your complaint", "well packed")
    await sun.press("Yes", again)
    await sun.expect("glad it's sorted out")
    await sun.press("No", again)
    assert chat.messenger.answers[-1][1] == "You already answered. Thank you!"
    assert query(chat.db_path, "SELECT status FROM complaint") == [("resolved",)]
    assert query(chat.db_path, "SELECT score FROM survey_answer") == [(5,)]


async def test_a_complaint_the_owner_handles_tells_the_owner_once(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    sun = seed_customer(chat.db_path, "Sun", None)
    link(chat, sun, SUN)
    customer = chat.person(SUN, "Sun")
    await customer.send("/complain The lid is missing")
    await customer.expect("Want to add a photo?")
    await customer.press("Skip")
    [(complaint_id,)] = query(chat.db_path, "SELECT id FROM complaint")
    await resolve(crew.owner, complaint_id, "Lid posted today")
    question = await customer.expect("resolved your complaint")
    await customer.press("No", question)
    await customer.expect("reopened")
    told = [t for t in texts(chat, OWNER) if "is not resolved" in t]
    assert told == [f"↩️ Sun says complaint #{complaint_id} is not resolved."]
    assert not [t for t in texts(chat, LI) if "is not resolved" in t]


def thread(
    chat: ChatBot, customer_id: int, rep_tg: int | None, *, opened: timedelta,
    answered_after: timedelta | None,
) -> None:  # fmt: skip
    """Insert an open conversation ``opened`` ago, answered after a while or still waiting."""
    now = utcnow()
    opened_at = now - opened
    first = opened_at + answered_after if answered_after is not None else None
    execute(
        chat.db_path,
        "INSERT INTO chat_thread (workspace_id, customer_id, assignee_member_id, status, "
        "opened_at, last_inbound_at, waiting_since, first_response_at) "
        "VALUES (1, ?, ?, 'open', ?, ?, ?, ?)",
        customer_id,
        member_id(chat.db_path, rep_tg) if rep_tg else None,
        opened_at.strftime(SQL_TIME),
        opened_at.strftime(SQL_TIME),
        None if first else opened_at.strftime(SQL_TIME),
        first.strftime(SQL_TIME) if first else None,
    )


async def test_stats_show_first_response_and_unanswered_per_rep(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/stats 30d")
    empty = await crew.owner.expect("📊 Shop figures")
    assert (
        "💬 Conversations: median first response — (0 answered) · 0 unanswered now"
        in empty["text"]
    )

    hour = timedelta(hours=1)
    for name, rep, after in (
        ("Sun", LI, timedelta(minutes=10)),
        ("Qian", LI, timedelta(minutes=30)),
        ("Zhao", CHEN, timedelta(hours=2, minutes=5)),
        ("Zhou", CHEN, None),
        ("Wu", None, None),
    ):
        thread(
            chat,
            seed_customer(chat.db_path, name, rep),
            rep,
            opened=3 * hour,
            answered_after=after,
        )

    await crew.owner.send("/stats 30d")
    figures = await crew.owner.expect("📊 Shop figures")
    lines = figures["text"].splitlines()
    assert (
        "💬 Conversations: median first response 30 min (3 answered) · 2 unanswered now" in lines
    )
    assert "• Chen: first response 2 h 5 min · 1 unanswered" in lines
    assert "• Li: first response 20 min · 0 unanswered" in lines
    assert "• nobody assigned: first response — · 1 unanswered" in lines

    await crew.li.send("/stats 30d")
    mine = await crew.li.expect("📊 Your figures")
    assert "💬 Conversations: median first response 20 min (2 answered) · 0 unanswered now" in (
        mine["text"].splitlines()
    )
    assert "Chen" not in mine["text"]
    assert "nobody assigned" not in mine["text"]


async def test_privacy_counts_the_messages_with_each_shop(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    _, sun = await sun_of_li(chat)
    await sun.send("/privacy")
    before = await sun.expect("What shops keep about you")
    assert "messages with the shop" not in before["text"]

    await write(chat, SUN, text="Is the pu'er in?")
    copy_id = copies_to(chat, LI)[0]["message_id"]
    await write(chat, LI, text="Yes!", reply_to=copy_id, name="Li")
    await write(chat, SUN, text="Great")
    await sun.send("/privacy")
    after = await sun.expect("What shops keep about you")
    assert "3 messages with the shop" in after["text"]


async def porcelain_customer(chat: ChatBot, sun: Person) -> Person:
    """Open a second shop (owner Ma) and have Sun join it through its link; return Ma."""
    other = await chat.create_workspace("Li's Porcelain")
    ma = chat.person(MA, "Ma")
    await ma.send(f"/start {other.owner_payload}")
    await ma.expect("Welcome to")
    await sun.send(f"/start w_{other.slug}")
    await sun.expect("May we send you messages")
    await sun.press("Yes")
    await sun.expect("You're subscribed")
    return ma


async def test_shop_switches_where_a_customer_of_two_shops_writes(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    stranger = chat.person(3003, "Wu")
    await stranger.send("/shop")
    await stranger.expect("I don't know which shop you're with yet")

    _, sun = await sun_of_li(chat)
    await sun.send("/shop")
    await sun.expect("✉️ Your messages go to Wang's Tea House.")

    ma = await porcelain_customer(chat, sun)
    await sun.send("/shop")
    pick = await sun.expect("Which shop should your messages go to?")
    assert labels(pick) == ["Li's Porcelain", "Wang's Tea House"]
    await sun.press("Porcelain", pick)
    switched = await sun.expect("✅ Done: your messages now go to Li's Porcelain.")
    assert labels(switched) == ["✅ Li's Porcelain", "Wang's Tea House"]
    await write(chat, SUN, text="Is the blue teapot in stock?")
    assert len(copies_to(chat, MA)) == 1
    assert copies_to(chat, LI) == []

    await sun.send("/shop")
    menu = await sun.expect("✉️ Your messages go to Li's Porcelain. Tap another shop")
    assert labels(menu) == ["✅ Li's Porcelain", "Wang's Tea House"]
    await sun.press("Wang's Tea House", menu)
    await sun.expect("✅ Done: your messages now go to Wang's Tea House.")
    await write(chat, SUN, text="And a cake of pu'er")
    assert len(copies_to(chat, LI)) == 1
    assert len(copies_to(chat, MA)) == 1
    del ma


async def test_shop_is_the_owners_settings_and_refused_to_other_members(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/shop")
    await crew.owner.expect("Wang's Tea House")
    assert "Your messages go to" not in crew.owner.last["text"]
    await crew.li.send("/shop")
    await crew.li.expect("Sorry, /shop isn't available to you. Send /help to see what you can do.")

    await crew.li.send("/help")
    assert "choose which shop your messages go to" not in (await crew.li.expect("/"))["text"]
    _, sun = await sun_of_li(chat)
    await sun.send("/help")
    await sun.expect("/shop — choose which shop your messages go to")


async def test_a_shop_button_of_a_shop_one_is_no_customer_of_has_expired(
    chat: ChatBot, workspace: Workspace
) -> None:
    await open_shop(chat, workspace)
    _, sun = await sun_of_li(chat)
    await chat.create_workspace("Li's Porcelain")
    await tap(sun, SwitchShop(workspace_id=2).pack())
    assert chat.messenger.answers[-1][1] == "This button has expired."
    assert query(chat.db_path, "SELECT count(*) FROM inbox_shop_choice") == [(0,)]
    await tap(sun, SwitchShop(workspace_id=1).pack())
    await sun.expect("✅ Done: your messages now go to Wang's Tea House.")
