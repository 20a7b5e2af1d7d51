"""The start-up revision check reads the same revisions Alembic does, without Alembic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.crm import migrate
from bot.errors import SchemaError


def test_head_and_known_revisions_agree_with_alembic() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(""))
    assert migrate.head_revision() == script.get_current_head()
    assert migrate.known_revisions() == {rev.revision for rev in script.walk_revisions()}


async def test_current_revision_reads_the_version_row(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert await migrate.current_revision(url) is None
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    assert await migrate.current_revision(url) is None
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0003')")
    assert await migrate.current_revision(url) == "0003"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0004')")
    with pytest.raises(SchemaError, match="several schema revisions"):
        await migrate.current_revision(url)


async def test_an_up_to_date_database_is_not_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    first = await migrate.upgrade_checked(url)
    again = await migrate.upgrade_checked(url)
    assert first.changed
    assert (again.before, again.changed) == (migrate.head_revision(), False)
