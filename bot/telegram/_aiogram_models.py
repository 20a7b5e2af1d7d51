"""aiogram's models, imported with each one's validation schema built at its first use.

aiogram declares its Telegram types with pydantic's ``defer_build``, then ends
``aiogram.types`` by rebuilding all of them (some 300 models) so their forward
references resolve: about 2.4 s and 100 MB at every start, for types most runs
never meet. Importing this module imports ``aiogram.types`` with that last step
kept for later: each model keeps the namespace aiogram would have rebuilt it
with, and pydantic builds it from there the first time it is used. An update
with a message is then read at once, as a check; if that fails (a pydantic or
aiogram release that works differently), every model is rebuilt the way aiogram
does it, so the adapter only ever runs with complete models.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pydantic import BaseModel

logger = logging.getLogger(__name__)

# An update as the adapter first meets one: a command from a private chat.
PROBE: dict[str, Any] = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 1, "type": "private", "first_name": "A"},
        "from": {"id": 1, "is_bot": False, "first_name": "A"},
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    },
}


def _import_deferred() -> dict[str, Any]:
    """Import ``aiogram.types`` keeping its closing rebuild for later; return its namespace."""
    kept: dict[str, Any] = {}
    rebuild = BaseModel.__dict__["model_rebuild"]

    def keep_namespace(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if namespace is None or not cls.__module__.startswith("aiogram."):
            return rebuild.__func__(cls, *args, **kwargs)  # type: ignore[no-any-return]
        kept.update(namespace)
        # Where pydantic looks up names when it builds a deferred model (pydantic 2.x).
        cls.__pydantic_parent_namespace__ = namespace
        return None

    BaseModel.model_rebuild = classmethod(keep_namespace)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.types  # noqa: F401 - imported here for its models
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
    # A model is built in the namespace of its module, and models built later (the API
    # methods' models, their generic responses such as Response[Message | bool]) in
    # others': aiogram's modules get the names aiogram would have rebuilt them with,
    # where they only imported them for type checking, so every build finds them.
    for name, module in list(sys.modules.items()):
        if name.startswith("aiogram.") and module is not None:
            for key, value in kept.items():
                module.__dict__.setdefault(key, value)
    return kept


def _rebuild_all(namespace: dict[str, Any]) -> None:
    """Build every model now, as ``aiogram.types`` itself does at the end of its import."""
    for value in namespace.values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            value.model_rebuild(_types_namespace=namespace)


if "aiogram.types" not in sys.modules:
    _namespace = _import_deferred()
    from aiogram.types import Update

    try:
        Update.model_validate(PROBE)
    except Exception:
        logger.warning("aiogram's models could not be built on first use; building them all")
        _rebuild_all(_namespace)
