"""A customer spreadsheet's words in a language: headers and the names of stored values.

The names come from where the screens take them (stages, kinds, consent, tiers,
segments, the shop's field options), so a file says what the card says; /import
reads every language's words back.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from bot.crm import fields, leads
from bot.crm.export import Words
from bot.crm.models import FieldOption, Workspace
from bot.i18n import LOCALES, N_, normalize_locale, translate
from bot.views.card import CONSENT_NAMES, KIND_NAMES
from bot.views.fields import option_name
from bot.views.labels import SEGMENT_NAMES, TIER_NAMES

# Column -> header; the choice fields are named as on the card (``bot.crm.fields``).
HEADERS = {
    "id": N_("No."),
    "name": N_("Name"),
    "phone": N_("Phone"),
    "company": N_("Company"),
    "stage": N_("Stage"),
    "kind": N_("Lead or customer"),
    "grade": N_("Grade"),
    "score": N_("Score"),
    "tags": N_("Tags"),
    "region": N_("Region"),
    "route_order": N_("Visiting order"),
    "birthday": N_("Birthday"),
    "notes": N_("Notes"),
    "owner": N_("Owner"),
    "consent": N_("Messages"),
    "created": N_("Added on"),
    "last_contact": N_("Last contact"),
    "value_tier": N_("Value tier"),
    "segment": N_("Segment"),
    "clv": N_("Lifetime value"),
}


def words(locale: str, workspace: Workspace, options: Sequence[FieldOption]) -> Words:
    """Return a spreadsheet's headers and value names in ``locale`` for this shop."""
    t = partial(translate, normalize_locale(locale))
    headers = {column: t(label) for column, label in HEADERS.items()}
    headers |= {name: t(spec.label) for name, spec in fields.FIELDS.items()}
    values: dict[str, dict[str, str]] = {
        "stage": {
            key: leads.stage_label(workspace, key) or t(label)
            for key, label in leads.DEFAULT_LABELS.items()
        },
        "kind": {str(key): t(name) for key, name in KIND_NAMES.items()},
        "consent": {str(key): t(name) for key, name in CONSENT_NAMES.items()},
        "value_tier": {str(key): t(name) for key, name in TIER_NAMES.items()},
        "segment": {str(key): t(name) for key, name in SEGMENT_NAMES.items()},
    }
    for option in options:
        values.setdefault(option.field, {})[option.key] = option_name(t, option)
    return Words(headers, values)


def every_language(
    locale: str, workspace: Workspace, options: Sequence[FieldOption]
) -> list[Words]:
    """Return the words of every language, ``locale``'s first (an import reads them all)."""
    first = normalize_locale(locale)
    ordered = [first, *(other for other in LOCALES if other != first)]
    return [words(code, workspace, options) for code in ordered]
