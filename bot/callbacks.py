"""Callback data: every inline button declared once, packed and parsed in one place.

A button's data is its prefix and its fields, joined by ``:``. A declaration is a
frozen dataclass that subclasses ``CallbackData``, each field typed with
``Annotated`` and one of the field kinds below::

    class OpenCard(CallbackData, prefix="ct"):
        customer_id: Annotated[int, Id("customer")]

``OpenCard(customer_id=12).pack()`` is ``"ct:12"`` and ``OpenCard.parse("ct:12")``
is ``OpenCard(customer_id=12)``; ``parse`` answers None for anything else and never
raises. Routers register handlers by declaration (``@router.button(OpenCard)``) and
the dispatcher hands each handler the parsed value. Data that no declaration
accepts, and a button whose row is gone or belongs to someone else, get the one
answer ``EXPIRED`` and nothing else.

Field kinds: ``Id`` (a row id, 0 to 2**63-1, naming the table it points into),
``Int`` (bounded), ``Choice`` (one of a few words, or a ``StrEnum``'s values),
``Text`` (short, holding no ``:`` unless it is the ``tail``, the rest of the data)
and ``Flag`` (a word that is there or not).
Only the last field may have a default, one its kind never writes (None for an
``Id``, False for a ``Flag``): ``pack`` leaves the field out while it holds the
default and ``parse`` accepts data without it. Only one form of each value is
accepted (``ct:012`` is not ``ct:12``), so ``pack(parse(data)) == data``.

Checked when a declaration is made, that is when its module is imported:

- no two declarations share a prefix;
- a prefix that extends another one (``sv:c`` and ``sv``) goes on with a segment the
  shorter one's first field refuses, so the longest declared prefix of any data
  names the only declaration that may read it (``lookup``);
- the longest data the field bounds allow fits Telegram's 64 bytes (UTF-8), and
  ``pack`` refuses a value out of its field's bounds.

Prefixes keep the shapes of buttons already sitting in chats:

- ``sv`` carries two shapes: ``sv:<run>:<score>`` (a survey answer) and
  ``sv:c:<answer>`` (its comment), declared as ``sv`` and ``sv:c``;
- ``ar:p:<offset>`` and ``ar:p:<offset>:m`` are one declaration ending in a ``Flag``;
- ``pv:f`` and ``pv:f:<customer>`` are one declaration ending in an optional ``Id``,
  and ``pv:f:all`` (like ``pv:x:all``) is a declaration of its own;
- ``cp:d:<step>:<value>`` and ``rt:r:<region>`` end in a ``tail`` text, so a value
  holding ``:`` (a time such as ``10:00``) reads as it did.

The dispatcher checks, when it is built, that each prefix is handled by one router.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    ClassVar,
    Self,
    TypeVar,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
)

from bot.i18n import N_
from bot.messaging import Button

EXPIRED = N_("This button has expired.")
MAX_BYTES = 64
SEP = ":"
MAX_ID = 2**63 - 1
PREFIX_PARTS = 3
_PREFIX = re.compile(r"[a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*){0,2}")
_NUMBER = re.compile(r"0|-?[1-9][0-9]{0,19}")
T = TypeVar("T")


class Field:
    """One field of a button's data: how its value is written, read back and bounded.

    ``ref`` names what the value points at (a table, for an ``Id``); a ``tail`` field
    is the last one and takes the rest of the data, ``:`` included.
    """

    ref: str | None = None
    tail = False

    def pack(self, value: Any) -> str:
        """Return ``value`` as text; raise ValueError (out of bounds) or TypeError."""
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """Return the value ``text`` holds, or raise ValueError."""
        raise NotImplementedError

    def widest(self) -> Any:
        """Return the value with the longest text."""
        raise NotImplementedError

    @property
    def max_bytes(self) -> int:
        """Return the most bytes a value of this field takes."""
        return len(self.pack(self.widest()).encode())


class Int(Field):
    """A whole number from ``low`` to ``high``, written in plain ASCII digits."""

    def __init__(self, low: int, high: int) -> None:
        if low > high:
            msg = f"Int({low}, {high}) has no values"
            raise ValueError(msg)
        self.low, self.high = low, high

    def pack(self, value: Any) -> str:
        """Return the number as digits, or raise ValueError when out of bounds."""
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"{value!r} is not a whole number"
            raise TypeError(msg)
        if not self.low <= value <= self.high:
            msg = f"{value} is not within {self.low} to {self.high}"
            raise ValueError(msg)
        return str(value)

    def parse(self, text: str) -> int:
        """Return the number ``text`` spells without sign tricks or leading zeros."""
        if not _NUMBER.fullmatch(text):
            msg = "not a number"
            raise ValueError(msg)
        value = int(text)
        if not self.low <= value <= self.high:
            msg = "out of bounds"
            raise ValueError(msg)
        return value

    def widest(self) -> int:
        """Return the bound with the longer text."""
        return max((self.low, self.high), key=lambda v: len(str(v)))


class Id(Int):
    """The id of a row in the table ``ref`` (0 stands for none where a handler says so)."""

    def __init__(self, ref: str) -> None:
        super().__init__(0, MAX_ID)
        self.ref = ref


class Choice(Field):
    """One of a few fixed words; a ``StrEnum`` given here is read back as its members."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values: dict[str, str] = {str(v): v for v in values}
        bad = [v for v in self.values if not v or SEP in v]
        if not self.values or bad:
            msg = f"Choice needs words without {SEP!r}: {list(self.values)}"
            raise ValueError(msg)

    def pack(self, value: Any) -> str:
        """Return the word, or raise ValueError when it is not one of the choices."""
        if str(value) not in self.values:
            msg = f"{value!r} is not one of {list(self.values)}"
            raise ValueError(msg)
        return str(value)

    def parse(self, text: str) -> str:
        """Return the choice ``text`` names."""
        if text not in self.values:
            msg = "not a choice"
            raise ValueError(msg)
        return self.values[text]

    def widest(self) -> str:
        """Return the longest choice."""
        return max(self.values.values(), key=lambda v: len(str(v).encode()))


class Text(Field):
    """A text of up to ``size`` bytes, empty only if ``empty``, with ``:`` only as the ``tail``."""

    def __init__(
        self, size: int, *, empty: bool = False, ref: str | None = None, tail: bool = False
    ) -> None:
        self.size, self.empty, self.ref, self.tail = size, empty, ref, tail

    def pack(self, value: Any) -> str:
        """Return the text, or raise ValueError when it is too long, empty or holds ``:``."""
        if not isinstance(value, str):
            msg = f"{value!r} is not text"
            raise TypeError(msg)
        return self.parse(value)

    def parse(self, text: str) -> str:
        """Return ``text`` when it fits."""
        fits = len(text.encode()) <= self.size and (self.tail or SEP not in text)
        if not fits or not (text or self.empty):
            msg = "text does not fit"
            raise ValueError(msg)
        return text

    def widest(self) -> str:
        """Return the longest text."""
        return "z" * self.size


class Flag(Field):
    """True when the word is there; give its field the default False."""

    def __init__(self, word: str) -> None:
        self.word = word

    def pack(self, value: Any) -> str:
        """Return the word for True."""
        if value is not True:
            msg = "a flag is written only when it is set"
            raise ValueError(msg)
        return self.word

    def parse(self, text: str) -> bool:
        """Return True for the word."""
        if text != self.word:
            msg = "not the flag"
            raise ValueError(msg)
        return True

    def widest(self) -> bool:
        """Return True, the only value written."""
        return True


@dataclass(frozen=True, slots=True)
class Slot:
    """A declared field: its name, its kind and its default, if it may be left out."""

    name: str
    kind: Field
    optional: bool
    default: Any = None


@dataclass_transform(frozen_default=True)
class CallbackData:
    """Base of every button declaration; ``prefix`` is given in the class statement."""

    prefix: ClassVar[str]
    layout: ClassVar[tuple[Slot, ...]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)
        cls.prefix = prefix
        cls.layout = _layout(cls)
        _check(cls)
        _declare(cls)

    @classmethod
    def max_bytes(cls) -> int:
        """Return the length of the longest data this declaration can pack."""
        return len(cls.prefix) + sum(len(SEP) + slot.kind.max_bytes for slot in cls.layout)

    @classmethod
    def fits(cls, **values: Any) -> bool:
        """Return whether a button with these values can be packed (its fields' bounds)."""
        try:
            cls(**values).pack()
        except (TypeError, ValueError):
            return False
        return True

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        """Return the button value ``data`` packs, or None; never raises."""
        if data is None or not (data == cls.prefix or data.startswith(cls.prefix + SEP)):
            return None
        tail = bool(cls.layout) and cls.layout[-1].kind.tail
        rest = data[len(cls.prefix) + 1 :]
        parts = rest.split(SEP, len(cls.layout) - 1 if tail else -1) if data != cls.prefix else []
        required = sum(not slot.optional for slot in cls.layout)
        if not required <= len(parts) <= len(cls.layout):
            return None
        values: dict[str, Any] = {}
        try:
            if len(data.encode()) > MAX_BYTES:
                return None
            for slot, text in zip(cls.layout, parts, strict=False):
                values[slot.name] = slot.kind.parse(text)
        except ValueError:
            return None
        return cls(**values)

    def pack(self) -> str:
        """Return this button's data.

        Raises:
            ValueError: when a value is out of its field's bounds (so the data could
                exceed Telegram's 64 bytes).
            TypeError: when a value is not of its field's type.
        """
        parts = [self.prefix]
        for slot in self.layout:
            value = getattr(self, slot.name)
            if not (slot.optional and value == slot.default):
                parts.append(slot.kind.pack(value))
        data = SEP.join(parts)
        if len(data.encode()) > MAX_BYTES:
            msg = f"{type(self).__name__} packs {len(data.encode())} bytes, over {MAX_BYTES}"
            raise ValueError(msg)
        return data

    def button(self, text: str) -> Button:
        """Return an inline button labelled ``text`` that sends this data."""
        return Button(text, self.pack())


_DECLARED: dict[str, type[CallbackData]] = {}


def declared() -> Mapping[str, type[CallbackData]]:
    """Return every declaration made so far, by prefix."""
    return dict(_DECLARED)


def lookup(table: Mapping[str, T], data: str | None) -> T | None:
    """Return the entry of the longest prefix of ``data`` in ``table``, or None."""
    parts = (data or "").split(SEP, PREFIX_PARTS)
    for count in range(min(len(parts), PREFIX_PARTS), 0, -1):
        found = table.get(SEP.join(parts[:count]))
        if found is not None:
            return found
    return None


def _layout(cls: type[CallbackData]) -> tuple[Slot, ...]:
    hints = get_type_hints(cls, include_extras=True)
    slots = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        hint = hints[field.name]
        kinds = [m for m in get_args(hint)[1:] if isinstance(m, Field)]
        if get_origin(hint) is not Annotated or len(kinds) != 1:
            msg = f"{cls.__name__}.{field.name} needs Annotated[..., <one Field>]"
            raise TypeError(msg)
        optional = field.default is not dataclasses.MISSING
        default = field.default if optional else None
        slots.append(Slot(field.name, kinds[0], optional, default))
    return tuple(slots)


def _check(cls: type[CallbackData]) -> None:
    if not _PREFIX.fullmatch(cls.prefix):
        msg = f"{cls.__name__}: prefix {cls.prefix!r} is not up to {PREFIX_PARTS} short words"
        raise ValueError(msg)
    if any(slot.optional or slot.kind.tail for slot in cls.layout[:-1]):
        msg = f"{cls.__name__}: only the last field may be left out or be the tail"
        raise ValueError(msg)
    last = cls.layout[-1] if cls.layout else None
    if last is not None and last.optional and _writes(last.kind, last.default):
        # A default the field could also write would give one value two forms of data.
        msg = f"{cls.__name__}.{last.name}: the default must be a value the field never writes"
        raise ValueError(msg)
    if cls.max_bytes() > MAX_BYTES:
        msg = f"{cls.__name__} may pack {cls.max_bytes()} bytes, over Telegram's {MAX_BYTES}"
        raise ValueError(msg)


def _declare(cls: type[CallbackData]) -> None:
    known = _DECLARED.get(cls.prefix)
    if known is not None:
        msg = f"callback prefix {cls.prefix!r} is declared twice: {known.__name__}, {cls.__name__}"
        raise ValueError(msg)
    for other in _DECLARED.values():
        for short, long in ((other, cls), (cls, other)):
            if long.prefix.startswith(short.prefix + SEP) and short.layout:
                segment = long.prefix[len(short.prefix) + 1 :].split(SEP)[0]
                if _accepts(short.layout[0].kind, segment):
                    msg = (
                        f"{long.__name__} ({long.prefix!r}) looks like data of "
                        f"{short.__name__} ({short.prefix!r})"
                    )
                    raise ValueError(msg)
    _DECLARED[cls.prefix] = cls


def _writes(kind: Field, value: Any) -> bool:
    try:
        kind.pack(value)
    except (TypeError, ValueError):
        return False
    return True


def _accepts(kind: Field, text: str) -> bool:
    try:
        kind.parse(text)
    except ValueError:
        return False
    return True
