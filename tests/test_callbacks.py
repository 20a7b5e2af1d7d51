"""The callback-data codec: round trips, 64 bytes at most, unique prefixes, parse never raises."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import pytest

from bot.callbacks import (
    MAX_BYTES,
    MAX_ID,
    CallbackData,
    Choice,
    Flag,
    Id,
    Int,
    Text,
    declared,
    lookup,
)
from bot.handlers import ROUTERS
from tests.handlers.button_cases import BAD_TOKENS, UNKNOWN, base, malformed, truncated


class Colour(StrEnum):
    """A small enum for a ``Choice``."""

    RED = "red"
    BLUE = "blue"


class Card(CallbackData, prefix="zt"):
    """One id."""

    customer_id: Annotated[int, Id("customer")]


class Score(CallbackData, prefix="zs"):
    """An id and a bounded number."""

    run_id: Annotated[int, Id("campaign_run")]
    score: Annotated[int, Int(1, 5)]


class Comment(CallbackData, prefix="zs:c"):
    """A second shape under the prefix of ``Score``."""

    answer_id: Annotated[int, Id("survey_answer")]


class Page(CallbackData, prefix="zp"):
    """A number and a trailing flag."""

    offset: Annotated[int, Int(0, 1000)]
    mine: Annotated[bool, Flag("m")] = False


class Pick(CallbackData, prefix="zk"):
    """An optional id."""

    customer_id: Annotated[int | None, Id("customer")] = None


class Paint(CallbackData, prefix="zc"):
    """An enum choice and a short text."""

    colour: Annotated[Colour, Choice(Colour)]
    note: Annotated[str, Text(8)]


class Answer(CallbackData, prefix="za"):
    """A word and the rest of the data, colons included."""

    step: Annotated[str, Choice(("time", "name"))]
    value: Annotated[str, Text(20, tail=True)]


class Empty(CallbackData, prefix="ze"):
    """No fields at all."""


class Widest(CallbackData, prefix="zv"):
    """Exactly 64 bytes at most."""

    first: Annotated[str, Text(41)]
    second: Annotated[int, Id("customer")]


SAMPLES: list[CallbackData] = [
    Card(customer_id=0),
    Card(customer_id=MAX_ID),
    Score(run_id=12, score=5),
    Comment(answer_id=7),
    Page(offset=8),
    Page(offset=8, mine=True),
    Pick(),
    Pick(customer_id=3),
    Paint(colour=Colour.BLUE, note="名字"),
    Answer(step="time", value="10:00"),
    Empty(),
]
MINE = {c.prefix: c for c in (Card, Score, Comment, Page, Pick, Paint, Answer, Empty)}


@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_a_packed_value_parses_back_to_itself(value: CallbackData) -> None:
    data = value.pack()
    assert type(value).parse(data) == value
    assert lookup(MINE, data) is type(value)


def test_packed_data_reads_as_before() -> None:
    assert Card(customer_id=12).pack() == "zt:12"
    assert Page(offset=8).pack() == "zp:8"
    assert Page(offset=8, mine=True).pack() == "zp:8:m"
    assert Pick().pack() == "zk"
    assert Pick(customer_id=3).pack() == "zk:3"
    assert Answer(step="time", value="10:00").pack() == "za:time:10:00"
    assert Empty().pack() == "ze"
    assert Paint.parse("zc:red:x") == Paint(colour=Colour.RED, note="x")
    assert isinstance(Paint(colour=Colour.RED, note="x").colour, Colour)


@pytest.mark.parametrize(
    "data",
    [
        "zt:012",
        "zt:-0",
        "zt:+1",
        "zt: 1",
        "zt:1 ",
        "zt:１",  # noqa: RUF001 - a full-width digit
        "zt:٣",
        "zt:-1",
        f"zt:{MAX_ID + 1}",
        "zt:1:",
        "zt:",
        "zt",
        "zs:1:6",
        "zs:1:0",
        "zs:1",
        "zs:c:x",
        "zp:8:x",
        "zp:8:m:m",
        "zp:8:",
        "zk:",
        "zk:all",
        "zc:green:x",
        "zc:red:",
        "zc:red:123456789",
        "zc:red:a:b",
        "ze:",
        "ze:1",
        "za:time:" + "1" * 21,
        "za:when:10:00",
    ],
)
def test_data_of_another_form_is_not_read(data: str) -> None:
    kind = lookup(MINE, data)
    assert kind is None or kind.parse(data) is None


def test_parse_never_raises() -> None:
    oddities = [
        None,
        "",
        "\ud800",
        "zt:\ud800",
        "zc:red:\udfff",
        "zt:" + "9" * 5000,
        "zs:" + ":" * 100,
        *UNKNOWN,
        *(f"zt:{token}" for token in BAD_TOKENS),
    ]
    for kind in [*MINE.values(), *declared().values()]:
        cases = [*oddities, *malformed(kind), *truncated(kind), base(kind).pack() + "\x00"]
        for data in cases:
            kind.parse(data)


def test_every_button_of_the_bot_fits_telegram_and_round_trips() -> None:
    handled = {prefix for router in ROUTERS for prefix in router.buttons}
    assert handled <= declared().keys()
    for prefix in handled:
        kind = declared()[prefix]
        widest = base(kind)
        data = widest.pack()
        assert len(data.encode()) <= kind.max_bytes() <= MAX_BYTES, prefix
        assert kind.parse(data) == widest, prefix
        assert lookup(declared(), data) is kind, prefix


def test_a_declaration_that_could_exceed_64_bytes_is_refused() -> None:
    assert Widest.max_bytes() == MAX_BYTES == len(base(Widest).pack().encode())
    with pytest.raises(ValueError, match="may pack 65 bytes, over Telegram's 64"):

        class TooWide(CallbackData, prefix="zw"):
            first: Annotated[str, Text(42)]
            second: Annotated[int, Id("customer")]

    assert "zw" not in declared()


def test_a_prefix_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):

        class Again(CallbackData, prefix="zt"):
            other: Annotated[int, Int(0, 9)]

    assert declared()["zt"] is Card


def test_a_prefix_that_reads_as_another_buttons_data_is_refused() -> None:
    with pytest.raises(ValueError, match="looks like data of"):

        class Clash(CallbackData, prefix="zc:red"):
            pass


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"x": int}, "needs Annotated"),
        ({"x": Annotated[int, "not a field"]}, "needs Annotated"),
    ],
)
def test_a_field_without_its_kind_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        type("Bare", (CallbackData,), {"__annotations__": fields}, prefix="zb")


def test_only_the_last_field_may_be_left_out_and_with_a_default_it_never_writes() -> None:
    with pytest.raises(ValueError, match="only the last field"):

        class Early(CallbackData, prefix="zx"):
            first: Annotated[bool, Flag("m")] = False
            second: Annotated[bool, Flag("n")] = False

    with pytest.raises(ValueError, match="never writes"):

        class Writable(CallbackData, prefix="zy"):
            page: Annotated[int, Int(0, 9)] = 0


def test_a_bad_prefix_is_refused() -> None:
    for prefix in ("", "Z", "z z", "z:", ":z", "a:b:c:d", "1z"):
        with pytest.raises(ValueError, match="prefix"):
            type("Odd", (CallbackData,), {}, prefix=prefix)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Card(customer_id=-1),
        lambda: Card(customer_id=MAX_ID + 1),
        lambda: Score(run_id=1, score=6),
        lambda: Paint(colour="green", note="x"),  # type: ignore[arg-type]
        lambda: Paint(colour=Colour.RED, note="a:b"),
        lambda: Paint(colour=Colour.RED, note="123456789"),
        lambda: Paint(colour=Colour.RED, note=""),
        lambda: Answer(step="time", value="1" * 21),
    ],
)
def test_pack_refuses_a_value_out_of_bounds(make: object) -> None:
    assert callable(make)
    with pytest.raises(ValueError):  # noqa: PT011 - which bound is in the message
        make().pack()


def test_pack_refuses_a_value_of_another_type() -> None:
    with pytest.raises(TypeError):
        Card(customer_id="12").pack()  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Card(customer_id=True).pack()


def test_fits_says_whether_a_value_can_be_packed() -> None:
    assert Answer.fits(step="time", value="10:00")
    assert not Answer.fits(step="time", value="x" * 21)
    assert not Paint.fits(colour=Colour.RED, note="a:b")


def test_lookup_takes_the_longest_declared_prefix() -> None:
    assert lookup(MINE, "zs:c:5") is Comment
    assert lookup(MINE, "zs:12:5") is Score
    assert lookup(MINE, "zs") is Score
    assert lookup(MINE, "zz:1") is None
    assert lookup(MINE, None) is None
