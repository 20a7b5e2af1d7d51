"""Shop fields: which choice fields a shop's customers have, and each field's option list.

A retail shop describes customers by gender, age band and preferences (several
at once); a trade business by ownership, business and location type. Each field's
options live per workspace in ``field_option``, seeded from the preset of the
shop's kind; admins add, rename, reorder and remove them. Customer rows store an
option's ``key``, which a rename leaves alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slugify import slugify
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, names
from bot.crm.guards import require_role
from bot.crm.models import Customer, FieldOption, Member, Role, WorkspaceKind
from bot.errors import InvalidInput, NotFound
from bot.i18n import N_

MAX_LABEL = 40
MAX_KEY = 16
MAX_OPTIONS = 24


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A customer field with a list of options: its column, name and built-in options."""

    name: str
    label: str
    preset: Mapping[str, str]
    multi: bool = False


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("gender", N_("Gender"), {"female": N_("Female"), "male": N_("Male")}),
        FieldSpec(
            "age_band",
            N_("Age band"),
            {
                "under_25": N_("Under 25"),
                "25_34": N_("25–34"),
                "35_44": N_("35–44"),
                "45_54": N_("45–54"),
                "55_plus": N_("55 and over"),
            },
        ),
        FieldSpec(
            "preferences",
            N_("Preferences"),
            {
                "new_arrivals": N_("New arrivals"),
                "discounts": N_("Discounts"),
                "gift_sets": N_("Gift sets"),
                "premium": N_("Premium"),
                "events": N_("Events"),
            },
            multi=True,
        ),
        FieldSpec(
            "ownership",
            N_("Ownership"),
            {
                "state": N_("State-owned"),
                "collective": N_("Collective"),
                "private": N_("Private"),
                "joint_stock": N_("Joint-stock"),
                "jv": N_("Joint venture"),
            },
        ),
        FieldSpec(
            "business_type",
            N_("Business type"),
            {
                "wholesaler": N_("Wholesaler"),
                "retailer": N_("Retailer"),
                "agent": N_("Agent"),
                "franchise": N_("Franchise"),
                "chain": N_("Chain"),
                "specialty": N_("Specialty store"),
            },
        ),
        FieldSpec(
            "location_type",
            N_("Location"),
            {
                "business_district": N_("Business district"),
                "transport_hub": N_("Transport hub"),
                "residential": N_("Residential"),
                "other": N_("Other"),
            },
        ),
    )
}
KIND_FIELDS: dict[WorkspaceKind, tuple[str, ...]] = {
    WorkspaceKind.RETAIL: ("gender", "age_band", "preferences"),
    WorkspaceKind.TRADE: ("ownership", "business_type", "location_type"),
}


def fields_of(kind: WorkspaceKind) -> tuple[FieldSpec, ...]:
    """Return the choice fields of a shop of this kind, in the order screens show them."""
    return tuple(FIELDS[name] for name in KIND_FIELDS[kind])


def builtin_label(option: FieldOption) -> str | None:
    """Return the built-in (translatable) name of a preset option, or None for one added."""
    spec = FIELDS.get(option.field)
    return spec.preset.get(option.key) if spec else None


async def seed(session: AsyncSession, *, workspace_id: int, kind: WorkspaceKind) -> None:
    """Give a new workspace the preset options of its kind's fields."""
    session.add_all(
        FieldOption(workspace_id=workspace_id, field=spec.name, key=key, position=position)
        for spec in fields_of(kind)
        for position, key in enumerate(spec.preset, start=1)
    )
    await session.flush()


async def options(
    session: AsyncSession, *, workspace_id: int, field: str | None = None
) -> list[FieldOption]:
    """Return a workspace's options (of one field, or all), in their order."""
    query = select(FieldOption).where(FieldOption.workspace_id == workspace_id)
    if field is not None:
        query = query.where(FieldOption.field == field)
    query = query.order_by(FieldOption.field, FieldOption.position, FieldOption.id)
    return list((await session.scalars(query)).all())


async def get_option(session: AsyncSession, *, workspace_id: int, option_id: int) -> FieldOption:
    """Return one option of the workspace.

    Raises:
        NotFound: when the workspace has no such option.
    """
    option = await session.scalar(
        select(FieldOption).where(
            FieldOption.id == option_id, FieldOption.workspace_id == workspace_id
        )
    )
    if option is None:
        raise NotFound(N_("That option no longer exists."))
    return option


def parse_option(
    choices: Sequence[FieldOption], text: str, *, names: Mapping[str, str] | None = None
) -> str:
    """Return the key of the option typed as its key, its label or a shown name.

    ``names`` maps names as shown to the reader (translated) to keys.

    Raises:
        InvalidInput: when nothing matches.
    """
    wanted = fold(text)
    for option in choices:
        spellings = [option.key, option.label or "", builtin_label(option) or ""]
        if wanted in {fold(s) for s in spellings if s}:
            return option.key
    keys = {option.key for option in choices}
    for name, key in (names or {}).items():
        if wanted == fold(name) and key in keys:
            return key
    raise InvalidInput(
        N_("Please tap one of the buttons: {choices}."),
        choices=", ".join((names or {}).keys()) or ", ".join(keys),
    )


async def check_values(
    session: AsyncSession, *, workspace_id: int, values: dict[str, Any]
) -> None:
    """Check that the option fields among ``values`` hold keys of the workspace's lists.

    Preferences become a list without repeats (None when empty).

    Raises:
        InvalidInput: when a value is not on its field's list.
    """
    wanted = [name for name in FIELDS if values.get(name) is not None]
    if not wanted:
        return
    known: dict[str, set[str]] = {}
    for option in await options(session, workspace_id=workspace_id):
        known.setdefault(option.field, set()).add(option.key)
    for name in wanted:
        value = values[name]
        chosen = list(dict.fromkeys(value)) if FIELDS[name].multi else [value]
        if any(key not in known.get(name, set()) for key in chosen):
            raise InvalidInput(N_("That choice isn't on the list."))
        if FIELDS[name].multi:
            values[name] = chosen or None


def has_option(field: str, key: str) -> Any:
    """Return the condition that a customer's ``field`` holds the option ``key``."""
    column = getattr(Customer, field)
    if FIELDS[field].multi:
        # Keys are [a-z0-9_] only, so the quoted key matches one JSON list item exactly.
        return cast(column, String).like(f'%"{key}"%')
    return column == key


async def using(session: AsyncSession, *, option: FieldOption) -> int:
    """Return how many customers of the option's workspace hold it."""
    count = await session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.workspace_id == option.workspace_id, has_option(option.field, option.key))
    )
    return int(count or 0)


async def add_option(
    session: AsyncSession, *, actor: Member, field: str, label: str
) -> FieldOption:
    """Add an option at the end of one of the shop's lists.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the label is unusable, already on the list, or the list is full.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if field not in FIELDS:
        raise InvalidInput(N_("That field doesn't exist."))
    listed = await options(session, workspace_id=actor.workspace_id, field=field)
    if len(listed) >= MAX_OPTIONS:
        raise InvalidInput(N_("A list holds at most {max} options."), max=MAX_OPTIONS)
    label = _clean_label(label, listed)
    option = FieldOption(
        workspace_id=actor.workspace_id,
        field=field,
        key=_new_key(label, {o.key for o in listed}),
        label=label,
        position=max((o.position for o in listed), default=0) + 1,
    )
    session.add(option)
    await session.flush()
    await _audit(session, actor, "field_option.add", option)
    return option


async def rename_option(
    session: AsyncSession, *, actor: Member, option_id: int, label: str
) -> FieldOption:
    """Give an option the admin's own label; customers who hold it keep it.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such option.
        InvalidInput: when the label is unusable or another option already has it.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    option = await get_option(session, workspace_id=actor.workspace_id, option_id=option_id)
    listed = await options(session, workspace_id=actor.workspace_id, field=option.field)
    option.label = _clean_label(label, [o for o in listed if o.id != option.id])
    await session.flush()
    await _audit(session, actor, "field_option.rename", option)
    return option


async def move_option(
    session: AsyncSession, *, actor: Member, option_id: int, offset: int
) -> FieldOption:
    """Move an option ``offset`` places up (negative) or down its list; stop at the ends.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such option.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    option = await get_option(session, workspace_id=actor.workspace_id, option_id=option_id)
    listed = await options(session, workspace_id=actor.workspace_id, field=option.field)
    index = [o.id for o in listed].index(option.id)
    listed.insert(max(0, min(len(listed) - 1, index + offset)), listed.pop(index))
    for position, item in enumerate(listed, start=1):
        item.position = position
    await session.flush()
    await _audit(session, actor, "field_option.move", option)
    return option


async def remove_option(session: AsyncSession, *, actor: Member, option_id: int) -> int:
    """Remove an option and clear it from the customers who hold it; return how many.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        NotFound: when the workspace has no such option.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    option = await get_option(session, workspace_id=actor.workspace_id, option_id=option_id)
    holders = await session.scalars(
        select(Customer).where(
            Customer.workspace_id == actor.workspace_id, has_option(option.field, option.key)
        )
    )
    cleared = 0
    for customer in holders:
        value = getattr(customer, option.field)
        if FIELDS[option.field].multi:
            left = [key for key in value or () if key != option.key]
            setattr(customer, option.field, left or None)
        else:
            setattr(customer, option.field, None)
        cleared += 1
    await _audit(session, actor, "field_option.remove", option, cleared=cleared)
    await session.delete(option)
    await session.flush()
    return cleared


def _clean_label(text: str, others: Iterable[FieldOption]) -> str:
    names.check_name_text(text)
    try:
        label = names.clean_name(text, max_length=MAX_LABEL)
    except InvalidInput:
        raise InvalidInput(
            N_("Please send a short name of up to {max} characters, like Oolong."), max=MAX_LABEL
        ) from None
    for other in others:
        taken = {other.key, other.label or "", builtin_label(other) or ""}
        if fold(label) in {fold(s) for s in taken if s}:
            raise InvalidInput(N_("“{label}” is already on the list."), label=label)
    return label


def _new_key(label: str, taken: set[str]) -> str:
    # Keys are what rows and old files hold: readable ASCII (pinyin for Chinese).
    base = slugify(label, separator="_", max_length=MAX_KEY - 3) or "option"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def fold(text: str) -> str:
    """Return text as choices are compared: any case, ``_`` and ``-`` as spaces, single spaces."""
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


async def _audit(
    session: AsyncSession, actor: Member, action: str, option: FieldOption, **extra: Any
) -> None:
    details = {"field": option.field, "key": option.key, **extra}
    await audit.record_change(session, actor, action, option, details)
