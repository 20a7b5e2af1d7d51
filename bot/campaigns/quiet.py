"""Quiet hours: when a campaign message must wait for the recipient's morning.

Pure maths on aware datetimes and IANA zones. The window is local wall-clock
time ``[start, end)``; ``start > end`` wraps over midnight (21:00–09:00), and
``start == end`` means no quiet hours at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.localtime import at_local, parse_hhmm, zone


def quiet_until(now: datetime, tz_name: str, start: str, end: str) -> datetime | None:
    """Return when quiet hours end (UTC) if ``now`` falls inside them in ``tz_name``, else None.

    The end is the next local ``end`` wall-clock time, so a window keeps its local
    hours across DST changes.
    """
    if start == end:
        return None
    quiet_start, quiet_end = parse_hhmm(start), parse_hhmm(end)
    tz = zone(tz_name)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if quiet_start < quiet_end:
        inside = quiet_start <= clock < quiet_end
        end_day = local.date()
    else:
        inside = clock >= quiet_start or clock < quiet_end
        end_day = local.date() if clock < quiet_end else local.date() + timedelta(days=1)
    if not inside:
        return None
    # A wall time that occurs twice (fall back) ends at the earlier instant; one skipped
    # by spring forward, just after the gap.
    return at_local(end_day, quiet_end, tz)
