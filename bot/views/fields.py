"""How a shop's choice fields read: option names in the reader's language, lines and buttons."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.callbacks import CallbackData
from bot.crm.fields import FIELDS, builtin_label, fields_of
from bot.crm.models import Customer, FieldOption, WorkspaceKind
from bot.i18n import N_
from bot.messaging import Button

Translate = Callable[..., str]
PER_ROW = 3
# Shown before a field's line on the card and in /add's summary.
ICONS = {"preferences": "❤️"}
DEFAULT_ICON = "🏷"


def option_name(t: Translate, option: FieldOption) -> str:
    """Return an option's name: the admin's label, else the built-in one translated."""
    if option.label:
        return option.label
    builtin = builtin_label(option)
    return t(builtin) if builtin else option.key


def field_name(t: Translate, field: str) -> str:
    """Return a field's name in the reader's language."""
    return t(FIELDS[field].label)


def shown_names(t: Translate, options: Iterable[FieldOption]) -> dict[str, str]:
    """Map the names the reader sees (and the English built-in ones) to option keys."""
    names: dict[str, str] = {}
    for option in options:
        names.setdefault(option_name(t, option), option.key)
    return names


def value_names(t: Translate, options: Sequence[FieldOption], field: str, value: Any) -> list[str]:
    """Return the names of the options a customer's ``field`` holds (unknown keys as stored)."""
    keys = list(value or ()) if FIELDS[field].multi else ([value] if value else [])
    named = {o.key: option_name(t, o) for o in options if o.field == field}
    return [named.get(key, key) for key in keys]


def field_lines(
    t: Translate, kind: WorkspaceKind, options: Sequence[FieldOption], values: Any
) -> list[str]:
    """Return the escaped lines of a customer's (or a dialog's) field values, or none.

    ``values`` is a customer or a mapping of field name to value. Single choices share
    one line; a field of several choices gets a line of its own.
    """
    singles: list[str] = []
    lines: list[str] = []
    for spec in fields_of(kind):
        value = (
            getattr(values, spec.name) if isinstance(values, Customer) else values.get(spec.name)
        )
        names = value_names(t, options, spec.name, value)
        if not names:
            continue
        if spec.multi:
            icon = ICONS.get(spec.name, DEFAULT_ICON)
            lines.append(
                f"{icon} "
                + t(
                    N_("{field}: {values}"),
                    field=field_name(t, spec.name),
                    values=", ".join(names),
                )
            )
        else:
            singles += names
    if singles:
        lines.insert(0, DEFAULT_ICON + " " + html.escape(" · ".join(singles)))
    return lines


def option_buttons(
    t: Translate,
    options: Iterable[FieldOption],
    answer: Callable[[FieldOption], CallbackData],
    *,
    chosen: Iterable[str] = (),
) -> list[list[Button]]:
    """Return one button per option, three to a row; ``chosen`` keys are ticked ✅."""
    picked = set(chosen)
    buttons = [
        answer(o).button(("✅ " if o.key in picked else "") + option_name(t, o)) for o in options
    ]
    return [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]
