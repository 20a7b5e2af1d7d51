"""Bad button data for a declared button: forged, mangled, cut short, or from another shop.

Every case is built from the declaration alone (its prefix and fields), so a button
declared tomorrow gets its cases without a change here. ``base`` is the longest data
the button can carry, with ids no shop has; cutting it short leaves ids no shop has
either, as long as the test database holds fewer than nine rows of a kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bot.callbacks import SEP, CallbackData, Id

BAD_TOKENS = (
    "",
    "x",
    "-1",
    "-0",
    "01",
    "+1",
    " 1",
    "1 ",
    "1.5",
    "1e3",
    "0x1f",
    str(2**63),
    str(2**64),
    "9" * 40,
    "１",  # noqa: RUF001 - a full-width digit, which int() would read
    "٣",
    "²",
    "💥",
    "名字",
    "\x00",
    "%3A",
    "None",
    "True",
)
# Data no declaration starts with (a prefix alone is covered per declaration).
UNKNOWN = (
    "",
    SEP,
    "::",
    "zz",
    "zz:1",
    "CT:1",
    "ｃｔ:1",  # noqa: RUF001 - full-width letters
    "ct1:1",
    " ct:1",
    "名字:1",
    "💥",
    "x" * 64,
    "x" * 200,
)


def base(kind: type[CallbackData]) -> CallbackData:
    """Return the button with every field at its widest (its optional last field set).

    The widest id, 2**63-1, is no row's.
    """
    return kind(**{slot.name: slot.kind.widest() for slot in kind.layout})


def field_texts(kind: type[CallbackData]) -> list[str]:
    """Return the packed texts of ``base``'s fields."""
    packed = base(kind).pack()
    return packed[len(kind.prefix) + 1 :].split(SEP, len(kind.layout) - 1) if kind.layout else []


def join(prefix: str, texts: list[str]) -> str:
    """Return data made of a prefix and field texts."""
    return SEP.join([prefix, *texts])


def malformed(kind: type[CallbackData]) -> Iterator[str]:
    """Yield the button's prefix with missing, extra, empty and mangled fields."""
    prefix, texts = kind.prefix, field_texts(kind)
    yield prefix
    yield prefix + SEP
    yield join(prefix, [""] * max(len(texts), 1))
    for index in range(len(texts)):
        for token in BAD_TOKENS:
            yield join(prefix, [*texts[:index], token, *texts[index + 1 :]])
    packed = join(prefix, texts)
    yield packed + SEP
    yield packed + SEP + "1"
    yield packed + SEP + "x" + SEP + "y"
    if texts:
        yield join(prefix, texts[:-1])
        yield join(prefix, ["名字"] * len(texts))
        yield join(prefix.upper(), texts)


def truncated(kind: type[CallbackData]) -> Iterator[str]:
    """Yield ``base``'s data cut after every byte but the last (it is ASCII)."""
    packed = base(kind).pack()
    for end in range(len(packed)):
        yield packed[:end]


def foreign(kind: type[CallbackData], rows: Mapping[str, int]) -> str | None:
    """Return the button's data pointing at another shop's rows, or None without ids."""
    ids = {slot.name for slot in kind.layout if isinstance(slot.kind, Id)}
    if not ids:
        return None
    values = {
        slot.name: rows[str(slot.kind.ref)] if slot.name in ids else slot.kind.widest()
        for slot in kind.layout
    }
    return kind(**values).pack()
