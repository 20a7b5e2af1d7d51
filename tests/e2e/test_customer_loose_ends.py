"""The customer's loose ends end to end: a survey comment typed as plain text, a 👎 that reopens.

After a low survey score the customer's next text is their comment: it reaches
the survey's record and the complaint's handler, and is no conversation message.
A "👎 No" to the complaint's resolution reopens it and tells its handler and the
owner at once, each with a button that opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, cli, query
from tests.e2e.test_pipeline import open_shop
from tests.e2e.test_surveys import customer_of_li

ZHAO = 3001


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_typed_survey_comment_and_a_reopened_complaint(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db, li, owner = options.db_path, crew.li, crew.owner
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    zhao = person(ZHAO, "Zhao")
    await customer_of_li(crew, zhao)

    out = await cli(
        "campaign", "send", "--workspace", workspace.slug, "--template", "survey_invitation",
        "--kind", "survey", env=options.env(),
    )  # fmt: skip
    run_id = int(out.strip())
    await zhao.expect("how are we doing")
    await zhao.press("Very dissatisfied")
    await zhao.expect("Thanks for your answer", "complaint #", "Just type it here")
    [(complaint_id,)] = query(db, "SELECT id FROM complaint")
    await li.expect(f"New complaint #{complaint_id}", "Zhao", "low survey score")

    # No button: the plain text is the comment, not a message for the inbox.
    await zhao.send("The tea was stale")
    await zhao.expect("noted your comment")
    assert query(db, "SELECT run_id, score, comment FROM survey_answer") == [
        (run_id, 1, "The tea was stale")
    ]
    assert query(db, "SELECT count(*) FROM chat_message") == [(0,)]
    await li.expect(f"added to complaint #{complaint_id}", "The tea was stale")

    await li.press("Open complaint")
    await li.expect(f"Complaint #{complaint_id}", "open", "The tea was stale")
    await li.press("Take")
    await li.expect(f"Complaint #{complaint_id}", "in progress")
    await li.press("Resolve")
    await li.expect(f"How was complaint #{complaint_id}")
    await li.send("We sent you a fresh box of tea")
    await li.expect(f"Complaint #{complaint_id} resolved")

    await zhao.expect("resolved your complaint", "fresh box of tea", "satisfied")
    await zhao.press("No")
    await zhao.expect(f"reopened complaint #{complaint_id}", "get back to you")
    assert query(db, "SELECT status, resolved_at FROM complaint") == [("open", None)]
    told = f"↩️ Zhao says complaint #{complaint_id} is not resolved."
    await owner.expect(told)
    await li.expect(told)
    await li.press("Open complaint")
    await li.expect(f"Complaint #{complaint_id}", "open")
    assert query(db, "SELECT count(*) FROM chat_message") == [(0,)]
