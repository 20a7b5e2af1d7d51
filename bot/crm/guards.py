"""Role checks services run themselves, behind the routers' guards."""

from __future__ import annotations

from bot.crm.models import Member, Role
from bot.errors import PermissionDenied
from bot.i18n import N_


def require_role(actor: Member, *roles: Role) -> None:
    """Refuse unless the active actor holds one of ``roles``.

    Raises:
        PermissionDenied: when the actor is inactive or holds another role.
    """
    if not actor.active or actor.role not in roles:
        raise PermissionDenied(N_("Sorry, your role can't do that."))
