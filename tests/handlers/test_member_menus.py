"""/help and the command menus offer /remove to managers and /leave to every member."""

from __future__ import annotations

import pytest

from bot.chat.menus import Menus
from bot.crm.models import Role
from bot.handlers import ROUTERS
from bot.i18n import translate
from bot.views.help import Topic, topic_text

pytestmark = pytest.mark.timeout(30)


def test_remove_is_for_managers_and_leave_for_members() -> None:
    menus = Menus(ROUTERS)
    for role in (Role.OWNER, Role.ADMIN):
        names = [command.command for command in menus.menu(role, "en")]
        assert "remove" in names and "leave" in names
        team = topic_text(
            lambda m, **kw: translate("en", m, **kw), menus.commands(role), Topic.TEAM
        )
        assert "/remove &lt;member&gt; [to &lt;member&gt;|pool]" in team
    staff = [command.command for command in menus.menu(Role.STAFF, "en")]
    assert "leave" in staff and "remove" not in staff
    team = topic_text(
        lambda m, **kw: translate("zh-CN", m, **kw), menus.commands(Role.STAFF), Topic.TEAM
    )
    assert "/leave — 离开本店（离职）" in team
    assert "leave" not in [command.command for command in menus.menu(None, "en")]
