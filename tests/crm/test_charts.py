"""Charts: phone-sized PNGs for full, empty and unfamiliar-script data, drawn off the loop."""

from __future__ import annotations

import asyncio
import struct
from datetime import date, timedelta

import pytest

from bot.crm import charts
from bot.crm.kpi_series import FunnelWeek, RepFollowUps
from bot.crm.models.core import ValueTier

WEEKS = [
    FunnelWeek(date(2026, 10, 5) + timedelta(weeks=i), 10 + i, 6 + i // 2, 2 + i // 3)
    for i in range(8)
]
REPS = [
    RepFollowUps(1, "Li", 12, 10),
    RepFollowUps(2, "张三", 3, 8),
    RepFollowUps(3, "Wang", 0, 0),
]
TIERS = {ValueTier.HIGH: 5, ValueTier.MEDIUM: 12, ValueTier.LOW: 30}


def size(png: bytes) -> tuple[int, int]:
    """Return a PNG's width and height from its IHDR chunk."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_stats_charts_are_phone_sized_pngs(locale: str) -> None:
    pictures = await asyncio.to_thread(charts.render_stats, WEEKS, TIERS, REPS, locale=locale)
    assert [size(p) for p in pictures] == [(1000, 700)] * 3


def test_empty_data_still_draws_a_chart() -> None:
    empty_weeks = [FunnelWeek(w.week_start, 0, 0, 0) for w in WEEKS]
    assert size(charts.funnel_chart(empty_weeks, locale="en")) == (1000, 700)
    assert size(charts.tier_chart({}, locale="en")) == (1000, 700)
    assert size(charts.rep_chart([], locale="en")) == (1000, 700)


def test_many_reps_are_cut_to_the_busiest() -> None:
    reps = [RepFollowUps(i, f"Rep {i:02d}", i, 20 - i) for i in range(20)]
    assert size(charts.rep_chart(reps, locale="en")) == (1000, 700)


def test_chinese_labels_need_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert charts.chart_locale("zh-CN") == "en"
    assert charts.chart_locale("en") == "en"
    monkeypatch.setattr(charts, "cjk_font", lambda: "Noto Sans CJK SC")
    assert charts.chart_locale("zh-CN") == "zh-CN"


def test_names_the_fonts_cannot_draw_become_member_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without a CJK font a Chinese name would draw as empty boxes (and warn).
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    fonts = charts._fonts("zh-CN")[1]
    assert charts._name(RepFollowUps(2, "张三", 0, 0), fonts) == "#2"
    assert charts._name(RepFollowUps(1, "Li Wei", 0, 0), fonts) == "Li Wei"


@pytest.mark.skipif(charts.cjk_font() is None, reason="no font with Chinese glyphs installed")
def test_chinese_names_are_drawn_with_a_cjk_font() -> None:
    fonts = charts._fonts("zh-CN")[1]
    assert charts._name(RepFollowUps(2, "张三", 0, 0), fonts) == "张三"
    assert size(charts.rep_chart(REPS, locale="zh-CN")) == (1000, 700)
