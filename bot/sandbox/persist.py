"""Keep the emulated world (people, their chats and messages) in a JSON file over restarts.

The sandbox's database survives a restart, so its chats should too: the web chat
would otherwise show empty chats with people the shop knows. Only the world is
kept; uploaded file contents, pending updates and callback answers are not (a
file sent before a restart can no longer be downloaded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.sandbox.state import Chat, Message, SimUser, World

logger = logging.getLogger(__name__)

SAVE_EVERY = 1.0  # seconds between checks for changes to write
VERSION = 1


def dump(world: World) -> dict[str, Any]:
    """Return the world's people, chats and messages as JSON-ready data."""
    return {
        "version": VERSION,
        "seq": world.seq,
        "chats": [
            {
                "user": asdict(chat.user),
                "instance": chat.instance,
                "blocked": chat.blocked,
                "next_message_id": chat.next_message_id,
                "messages": [asdict(message) for message in chat.messages.values()],
            }
            for chat in world.chats.values()
        ],
    }


def load(world: World, data: dict[str, Any]) -> None:
    """Fill an empty world from ``dump``'s data."""
    for item in data.get("chats", []):
        user = SimUser(**item["user"])
        chat = Chat(
            user,
            instance=str(item["instance"]),
            blocked=bool(item["blocked"]),
            next_message_id=int(item["next_message_id"]),
        )
        for fields in item["messages"]:
            copy_of = fields.pop("copy_of", None)
            message = Message(**fields, copy_of=tuple(copy_of) if copy_of else None)
            chat.messages[message.message_id] = message
        world.users[user.id] = user
        world.chats[user.id] = chat
    world.seq = max(world.seq, int(data.get("seq", 0)))


def restore(world: World, path: Path) -> None:
    """Load the world saved at ``path``, if any; a damaged file is set aside, not fatal."""
    if not path.is_file():
        return
    try:
        load(world, json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        logger.warning("could not read the saved chats in %s (%s); starting empty", path, exc)
        world.users.clear()
        world.chats.clear()
        with contextlib.suppress(OSError):
            path.replace(path.with_name(path.name + ".damaged"))


def save(world: World, path: Path) -> None:
    """Write the world to ``path`` atomically (a new file, then a rename)."""
    _write(path, json.dumps(dump(world), ensure_ascii=False))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)


def _fingerprint(world: World) -> tuple[object, ...]:
    """Return what changes when a message, a person or a block changes."""
    people = tuple(
        (user.id, user.first_name, user.last_name, user.username, user.language_code)
        for user in world.users.values()
    )
    blocked = tuple(chat.id for chat in world.chats.values() if chat.blocked)
    return world.seq, people, blocked


async def keep_saved(world: World, path: Path) -> None:
    """Save the world whenever it changed, until cancelled (then once more)."""
    saved = _fingerprint(world)
    try:
        while True:
            await asyncio.sleep(SAVE_EVERY)
            if (now := _fingerprint(world)) != saved:
                saved = now
                # Read on the loop, where the world changes; write in a thread.
                text = json.dumps(dump(world), ensure_ascii=False)
                await asyncio.to_thread(_write, path, text)
    finally:
        if _fingerprint(world) != saved:
            save(world, path)
