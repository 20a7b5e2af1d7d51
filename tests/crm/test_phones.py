"""Phone numbers: E.164 out, extensions refused rather than lost or saved as a name."""

from __future__ import annotations

import pytest

from bot.crm.phones import looks_like_phone, normalize_phone
from bot.errors import InvalidInput

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    "text",
    ["+86 138-0000-0605", "138 0000 0605", "+86 (138) 0000-0605", "  13800000605  "],
)
def test_numbers_become_e164(text: str) -> None:
    assert normalize_phone(text, region="CN") == "+8613800000605"


@pytest.mark.parametrize(
    "text",
    [
        "+86 138-0000-0605 ext 12",
        "+86 138-0000-0605 ext. 12",
        "+86 138-0000-0605 x12",
        "+86 138-0000-0605 #12",
        "+86 138-0000-0605;ext=12",
        "+86 138-0000-0605 转12",
        "138 0000 0605 分机 12",
    ],
)
def test_extensions_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(InvalidInput, match="without extensions") as caught:
        normalize_phone(text, region="CN")
    assert caught.value.params == {"extension": "12"}


def test_not_a_number() -> None:
    with pytest.raises(InvalidInput, match="country code"):
        normalize_phone("12345", region=None)
    with pytest.raises(InvalidInput, match="138 0013 8000"):
        normalize_phone("call me", region="CN")


def test_phone_like_text() -> None:
    assert looks_like_phone("+86 138-0000-0605 ext 12")
    assert looks_like_phone("Wang 138 0013 8000")
    assert not looks_like_phone("Wang Li")
    assert not looks_like_phone("Shop 12, Room 305")
