"""KPI periods: calendar periods from local midnight, rolling ones from now, typed names."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.crm.kpi_scope import Period, parse_period, period_window
from bot.errors import InvalidInput

# A Monday; the shop is in Asia/Shanghai (UTC+8).
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("period", "start"),
    [
        (Period.WEEK, datetime(2026, 11, 22, 16, 0, tzinfo=UTC)),
        (Period.MONTH, datetime(2026, 10, 31, 16, 0, tzinfo=UTC)),
        (Period.QUARTER, datetime(2026, 9, 30, 16, 0, tzinfo=UTC)),
        (Period.YEAR, datetime(2025, 12, 31, 16, 0, tzinfo=UTC)),
        (Period.DAYS_30, datetime(2026, 10, 24, 8, 0, tzinfo=UTC)),
        (Period.DAYS_90, datetime(2026, 8, 25, 8, 0, tzinfo=UTC)),
    ],
)
def test_period_windows_start_at_local_midnight(period: Period, start: datetime) -> None:
    window = period_window(period, now=NOW, tz=SHANGHAI)
    assert (window.start, window.end) == (start, NOW)


def test_parse_period() -> None:
    assert parse_period(" Quarter ") is Period.QUARTER
    assert parse_period("30d") is Period.DAYS_30
    with pytest.raises(InvalidInput, match="Which period"):
        parse_period("decade")
