"""Tags and scoring in chat: defining weighted tags, tagging customers, grades."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, query
from tests.e2e.test_pipeline import CHEN, LI, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop


async def test_tags_scores_and_grades(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)
    qian = seed_customer(db, "Qian", CHEN)
    li, owner = crew.li, crew.owner

    await li.send("/tags")
    await li.expect("No tags yet", "Grades: A ≥ 80, B ≥ 50, C")
    await li.send("/tagdef vip social 60")
    await li.expect("Sorry, /tagdef isn't available to you.")
    await owner.send("/tagdef vip colour 60")
    await owner.expect("The dimension is demographic, interest, social or behaviour")
    await owner.send("/tagdef vip")
    await owner.expect("Send it like this: /tagdef vip interest 30")
    await owner.send("/tagdef vip social 60")
    await owner.expect("Tag vip added: social, weight 60.")
    await owner.send("/tagdef tea-lover int 30")
    await owner.expect("Tag tea-lover added: interest, weight 30.")
    await owner.send("/tagdef cold behaviour -20")
    await owner.expect("Tag cold added: behaviour, weight -20.")

    await li.send("/tags")
    await li.expect("interest: tea-lover (+30)", "social: vip (+60)", "behaviour: cold (-20)")
    await li.send(f"/tag {zhao} +vip tea-lover")
    await li.expect(f"Zhao (#{zhao}): vip, tea-lover", "Score 90 · grade A")
    await li.send(f"/tag {zhao} -vip +cold")
    await li.expect("tea-lover, cold", "Score 10 · grade C")
    await li.send(f"/tag {zhao} +tea-lovr")
    await li.expect("There's no tag called tea-lovr. Did you mean: tea-lover?")
    await li.send(f"/tag {qian} +vip")
    await li.expect(f"I can't find customer #{qian} among yours.")
    await li.send("/tag +vip")
    await li.expect("Send it like this: /tag 12 +vip -cold")
    assert query(db, "SELECT score, grade FROM customer WHERE id = ?", zhao) == [(10, "C")]

    await owner.send("/grades A=oops")
    await owner.expect("Send grades like this: /grades A=80 B=50")
    await owner.send("/grades A=40 B=10")
    await owner.expect("Grades set: A ≥ 40, B ≥ 10, C")
    assert query(db, "SELECT name, grade FROM customer ORDER BY id") == [
        ("Zhao", "B"),
        ("Qian", "C"),
    ]
    await owner.send("/tagdef tea-lover interest 70")
    await owner.expect("Tag tea-lover changed: interest, weight 70. Scores updated.")
    assert query(db, "SELECT score, grade FROM customer WHERE id = ?", zhao) == [(50, "A")]
    await owner.send("/tagdef cold delete")
    await owner.expect("Tag deleted; 1 customer lost it.")
    assert query(db, "SELECT score, grade FROM customer WHERE id = ?", zhao) == [(70, "A")]
    assert query(db, "SELECT name FROM tag ORDER BY name") == [("tea-lover",), ("vip",)]
