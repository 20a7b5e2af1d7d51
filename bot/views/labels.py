"""Display names for stored values: roles, value tiers, segments."""

from __future__ import annotations

from collections.abc import Callable

from bot.campaigns.templates import TEMPLATE_NAMES
from bot.crm.models import Channel, Role
from bot.crm.models.core import Segment, ValueTier
from bot.i18n import N_

Translate = Callable[..., str]

CHANNEL_NAMES = {
    Channel.CALL: N_("📞 Call"),
    Channel.VISIT: N_("🚶 Visit"),
    Channel.CHAT: N_("💬 Chat"),
    Channel.EMAIL: N_("✉️ Email"),
    Channel.OTHER: N_("Other"),
}
ROLE_NAMES = {Role.OWNER: N_("owner"), Role.ADMIN: N_("admin"), Role.STAFF: N_("staff")}
TIER_NAMES = {
    ValueTier.HIGH: N_("High value"),
    ValueTier.MEDIUM: N_("Medium value"),
    ValueTier.LOW: N_("Low value"),
}
# A tier in a sentence ("from high to low") and as /find takes it (tier:high, 分层:高).
TIER_WORDS = {ValueTier.HIGH: N_("high"), ValueTier.MEDIUM: N_("medium"), ValueTier.LOW: N_("low")}
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

LANGUAGE_LABELS = {"en": N_("English"), "zh-CN": N_("Chinese")}


def language_name(t: Translate, locale: str) -> str:
    """Return a locale's name in the reader's language ("英文" for en to a Chinese reader)."""
    return t(LANGUAGE_LABELS[locale]) if locale in LANGUAGE_LABELS else locale


def template_name(t: Translate, key: str) -> str:
    """Return a template's name in the reader's language; a shop's own template keeps its key."""
    return t(TEMPLATE_NAMES[key]) if key in TEMPLATE_NAMES else key
