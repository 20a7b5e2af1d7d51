"""Display names for stored values: roles, value tiers, segments."""

from __future__ import annotations

from bot.crm.models import Role
from bot.crm.models.core import Segment, ValueTier
from bot.i18n import N_

ROLE_NAMES = {Role.OWNER: N_("owner"), Role.ADMIN: N_("admin"), Role.STAFF: N_("staff")}
TIER_NAMES = {
    ValueTier.HIGH: N_("High value"),
    ValueTier.MEDIUM: N_("Medium value"),
    ValueTier.LOW: N_("Low value"),
}
SEGMENT_NAMES = {
    Segment.CHAMPIONS: N_("champions"),
    Segment.LOYAL: N_("loyal"),
    Segment.POTENTIAL: N_("potential"),
    Segment.NEW: N_("new"),
    # Not "at risk": that names the churn episodes /atrisk lists (bot.crm.at_risk).
    Segment.AT_RISK: N_("slipping"),
    Segment.HIBERNATING: N_("hibernating"),
    Segment.LOST: N_("lost"),
}
