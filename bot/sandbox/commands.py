"""Bot command menus: validated command lists stored per scope and language code."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.errors import ApiError

JsonDict = dict[str, Any]

MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_SCOPE_ERROR = "Bad Request: can't parse BotCommandScope JSON object"


def normalize_scope(raw: object) -> JsonDict:
    """Return the scope as a canonical BotCommandScope object (absent means default).

    Raises:
        ApiError: 400 when the scope is malformed.
    """
    if raw is None:
        return {"type": "default"}
    if not isinstance(raw, dict) or raw.get("type") not in _SCOPE_TYPES:
        raise ApiError(400, _SCOPE_ERROR)
    scope: JsonDict = {"type": raw["type"]}
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        chat_id = raw.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int | str) or isinstance(chat_id, bool) or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        scope["chat_id"] = chat_id
    if scope["type"] == "chat_member":
        user_id = raw.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise ApiError(400, "Bad Request: user_id is empty")
        scope["user_id"] = user_id
    return scope


def normalize_language(raw: str | None) -> str:
    """Return the language code ("" for all languages).

    Raises:
        ApiError: 400 when it is not a two-letter ISO 639-1 code.
    """
    code = (raw or "").strip()
    if code and _LANGUAGE.fullmatch(code) is None:
        raise ApiError(400, "Bad Request: invalid language code specified")
    return code


def validate_commands(raw: object) -> list[JsonDict]:
    """Return the BotCommand list, checked as Telegram checks it.

    Raises:
        ApiError: 400 for a malformed list, command or description.
    """
    if not isinstance(raw, list):
        raise ApiError(400, "Bad Request: can't parse commands JSON object")
    if len(raw) > MAX_COMMANDS:
        raise ApiError(400, "Bad Request: too many commands specified")
    commands: list[JsonDict] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or _COMMAND.fullmatch(command) is None:
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command, "description": description})
    return commands


class CommandRegistry:
    """Store command lists keyed by scope and language code."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, str], tuple[JsonDict, list[JsonDict]]] = {}

    @staticmethod
    def _key(scope: JsonDict, language: str) -> tuple[str, str]:
        return json.dumps(scope, sort_keys=True), language

    def set(self, scope: JsonDict, language: str, commands: list[JsonDict]) -> None:
        """Replace the list for this scope and language (an empty list deletes it)."""
        key = self._key(scope, language)
        if commands:
            self._lists[key] = (scope, commands)
        else:
            self._lists.pop(key, None)

    def get(self, scope: JsonDict, language: str) -> list[JsonDict]:
        """Return the list for exactly this scope and language."""
        stored = self._lists.get(self._key(scope, language))
        return list(stored[1]) if stored is not None else []

    def delete(self, scope: JsonDict, language: str) -> None:
        """Delete the list for this scope and language."""
        self._lists.pop(self._key(scope, language), None)

    def all(self) -> list[JsonDict]:
        """Return every stored list with its scope and language code."""
        return [
            {"scope": scope, "language_code": language, "commands": commands}
            for (_, language), (scope, commands) in self._lists.items()
        ]

    def clear(self) -> None:
        """Forget every list."""
        self._lists.clear()
