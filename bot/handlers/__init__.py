"""Command routing: one router per audience or feature, tried in the order listed here."""

from __future__ import annotations

from bot.chat.router import Router
from bot.handlers import (
    admin,
    atrisk,
    campaigns,
    common,
    complaint_desk,
    complaints,
    contacts,
    customer,
    customer_shop,
    fields,
    followups,
    inbox,
    inbox_admin,
    inbox_desk,
    insights,
    loyalty,
    owner,
    pipeline,
    privacy,
    staff,
    teams,
    templates,
    tiers,
    transfer,
    values,
)

# Order matters only for /help and the command menus (they list commands in this
# order); every command and button prefix is owned by exactly one router.
ROUTERS: tuple[Router, ...] = (
    common.router,
    customer.router,
    loyalty.router,
    privacy.router,
    complaints.router,
    staff.router,
    contacts.router,
    followups.router,
    atrisk.router,
    complaint_desk.router,
    pipeline.router,
    values.router,
    loyalty.staff_router,
    transfer.router,
    admin.router,
    pipeline.admin_router,
    values.admin_router,
    loyalty.admin_router,
    teams.admin_router,
    fields.router,
    privacy.admin_router,
    complaint_desk.admin_router,
    templates.router,
    campaigns.router,
    insights.router,
    insights.admin_router,
    tiers.router,
    owner.router,
    inbox_desk.router,
    inbox_admin.admin_router,
    inbox_admin.router,
    customer_shop.router,
    inbox.router,
    inbox.staff_router,
)

__all__ = ["ROUTERS"]
