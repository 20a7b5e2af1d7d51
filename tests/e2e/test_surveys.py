"""Surveys and complaints end to end: a low score reaches the rep, who resolves it; /complain."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, cli, execute, query
from tests.e2e.test_followups import QUIET_TICKS, TICK
from tests.e2e.test_pipeline import Crew, open_shop

ZHAO, SUN = 3001, 3002


def tiny_png() -> bytes:
    """Return a valid 2×2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80" * 2)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def customer_of_li(crew: Crew, who: Person) -> None:
    """Have ``who`` join through Li's personal link and say yes to messages."""
    await crew.li.send("/mylink")
    link = await crew.li.expect("Your personal link")
    await who.send(f"/start {link['text'].split('?start=')[1].split()[0]}")
    await who.expect("May we send you messages")
    await who.press("Yes")
    await who.expect("You're subscribed to")


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_low_survey_score_opens_a_complaint_the_rep_resolves(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db, li = options.db_path, crew.li
    await crew.owner.send("/quiet off")
    await crew.owner.expect("Quiet hours are off")
    zhao = person(ZHAO, "Zhao")
    await customer_of_li(crew, zhao)

    out = await cli(
        "campaign", "send", "--workspace", workspace.slug, "--template", "survey_invitation",
        "--kind", "survey", env=options.env(),
    )  # fmt: skip
    run_id = int(out.strip())
    survey = await zhao.expect("how are we doing")
    await zhao.press("Very dissatisfied")
    await zhao.expect("Thanks for your answer", "Very dissatisfied", "complaint #")
    answers = query(db, "SELECT run_id, score, complaint_id FROM survey_answer")
    assert answers == [(run_id, 1, None)]
    complaint_id, source = query(db, "SELECT id, source FROM complaint")[0]
    assert source == "survey"
    # A second tap changes nothing: the first answer stands.
    await zhao.press("Very satisfied", survey)
    await zhao.press("Add a comment")
    await zhao.expect("What would you like to tell us?")
    await zhao.send("The tea was stale")
    await zhao.expect("noted your comment")
    assert query(db, "SELECT score, comment FROM survey_answer") == [(1, "The tea was stale")]
    assert query(db, "SELECT count(*) FROM complaint") == [(1,)]

    await li.expect(f"New complaint #{complaint_id}", "Zhao", "low survey score")
    await li.expect(f"added to complaint #{complaint_id}", "The tea was stale")
    await li.press("Open complaint")
    await li.expect(f"Complaint #{complaint_id}", "open", "The tea was stale")
    await li.press("Take")
    await li.expect(f"Complaint #{complaint_id}", "in progress")
    await li.press("Resolve")
    await li.expect(f"How was complaint #{complaint_id}")
    await li.send("We sent you a fresh box of tea")
    await li.expect(f"Complaint #{complaint_id} resolved", "I told Zhao")
    assert query(db, "SELECT status, resolution FROM complaint") == [
        ("resolved", "We sent you a fresh box of tea")
    ]

    await zhao.expect("resolved your complaint", "fresh box of tea", "satisfied")
    await zhao.press("Yes")
    await zhao.expect("glad it's sorted out")
    rows = query(db, "SELECT run_id, score, complaint_id FROM survey_answer ORDER BY id")
    assert rows == [(run_id, 1, None), (None, 5, complaint_id)]


async def test_complain_with_a_photo_reaches_the_rep_and_overdue_reminds(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    options.extra_env["SCRM_SCHEDULER__TICK_SECONDS"] = str(TICK)
    crew = await open_shop(options, workspace, start_bot, person)
    db, li = options.db_path, crew.li
    sun = person(SUN, "Sun")
    await customer_of_li(crew, sun)

    await sun.send("/complain")
    await sun.expect("Tell us what happened")
    await sun.send("The cup arrived broken")
    await sun.expect("Want to add a photo?")
    await sun.send("here it is")  # words are not a photo: asked again, nothing lost
    await sun.expect("Please send a photo, or tap Skip.")
    await emu.upload("photo", SUN, "cup.png", tiny_png())
    await sun.expect("Complaint #", "within 48 hours")
    complaint_id, text, photo = query(db, "SELECT id, text, photo_file_id FROM complaint")[0]
    assert text == "The cup arrived broken"
    assert photo
    await li.expect(f"New complaint #{complaint_id}", "Sun", "The cup arrived broken")
    await li.expect(f"#{complaint_id}")  # the photo, captioned with the complaint number

    await sun.send("/complain The lid is missing too")
    await sun.expect("Want to add a photo?")
    await sun.press("Skip")
    await sun.expect("Complaint #")
    await li.expect("New complaint #", "The lid is missing too")

    await li.send("/complaints")
    await li.expect("Open complaints: 2", f"#{complaint_id}")
    await crew.chen.send(f"/complaint {complaint_id}")
    await crew.chen.expect(f"There's no complaint #{complaint_id} for you")
    await crew.chen.send("/sla 12")
    await crew.chen.expect("isn't available to you")
    await crew.owner.send("/sla 12")
    await crew.owner.expect("now due 12 hours")

    execute(
        db, "UPDATE complaint SET due_at = '2020-01-01 00:00:00.000000' WHERE id = ?", complaint_id
    )
    await li.expect(f"Complaint #{complaint_id} from Sun is overdue")
    assert await li.quiet(TICK * QUIET_TICKS) == []
