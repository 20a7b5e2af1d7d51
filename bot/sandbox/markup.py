"""Reply markup: validate keyboards and keep inline keyboards as messages carry them."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.formatting import normalize_url

JsonDict = dict[str, Any]

# The optional fields of which an inline keyboard button must use exactly one.
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "disabled",
)
# Optional fields that may accompany the one action field.
_DECORATIONS = ("icon_custom_emoji_id", "style")
MAX_CALLBACK_DATA_BYTES = 64
_URL_SCHEMES = ("http://", "https://", "tg://", "ton://")
_INLINE_PREFIX = "Bad Request: can't parse inline keyboard button: "
_REPLY_KEYBOARD_SHAPE = (
    'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
)
_REPLY_BUTTON_TEXT = (
    'Bad Request: can\'t parse keyboard button: Field "text" must be of type String'
)


def parse_reply_markup(value: object) -> JsonDict | None:
    """Validate a ``reply_markup``; return the inline keyboard a message keeps, or None.

    Reply keyboards, keyboard removal and force-reply are validated but not kept:
    Telegram only echoes inline keyboards in the Message object.

    Raises:
        ApiError: 400 with Telegram's description of the first problem found.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _inline_keyboard(value["inline_keyboard"])
    if "keyboard" in value:
        _reply_keyboard(value["keyboard"])
        return None
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return None
    raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")


def has_callback_button(markup: JsonDict | None, data: str) -> bool:
    """Return True when the inline keyboard has a button with this callback data."""
    if markup is None:
        return False
    return any(
        button.get("callback_data") == data
        for row in markup.get("inline_keyboard", ())
        for button in row
    )


def _inline_keyboard(rows: object) -> JsonDict | None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be '
            "an Array of Arrays",
        )
    keyboard = [[_inline_button(button) for button in row] for row in rows if row]
    return {"inline_keyboard": keyboard} if keyboard else None


def _inline_button(button: object) -> JsonDict:
    if not isinstance(button, dict):
        raise ApiError(400, _INLINE_PREFIX + "InlineKeyboardButton should be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise ApiError(400, _INLINE_PREFIX + 'Field "text" must be of type String')
    actions = [name for name in INLINE_ACTIONS if button.get(name) is not None]
    if not actions:
        raise ApiError(400, _INLINE_PREFIX + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise ApiError(400, _INLINE_PREFIX + "exactly one of the optional fields must be used")
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        if not isinstance(value, str):
            raise ApiError(400, _INLINE_PREFIX + 'Field "callback_data" must be of type String')
        if not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    elif action == "url":
        url = normalize_url(value) if isinstance(value, str) else None
        if url is None or not url.lower().startswith(_URL_SCHEMES):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        value = url
    result: JsonDict = {"text": text}
    for name in _DECORATIONS:
        if isinstance(button.get(name), str):
            result[name] = button[name]
    result[action] = value
    return result


def _reply_keyboard(rows: object) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, _REPLY_KEYBOARD_SHAPE)
    for row in rows:
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError(400, _REPLY_BUTTON_TEXT)
