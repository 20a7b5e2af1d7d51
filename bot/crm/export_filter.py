"""What an export is limited to: ``/export xlsx stage=won tag=vip`` read into an ExportFilter.

The conditions are typed in either language (``阶段=已成交 分层:高``), with the same
stage, tier and segment words as the rest of the bot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bot.crm.leads import DEFAULT_LABELS
from bot.crm.models.core import Segment, ValueTier
from bot.crm.search import SEGMENT_WORDS, TIER_WORDS
from bot.errors import InvalidInput
from bot.i18n import LOCALES, N_, keyword, translate

FILTER_KEYS = ("stage", "grade", "region", "tag", "owner", "tier", "segment")
# The filter names in Chinese: /export xlsx 阶段=已成交 等级=A.
FILTER_WORDS = {
    "阶段": "stage",
    "等级": "grade",
    "区域": "region",
    "标签": "tag",
    "负责人": "owner",
    "分层": "tier",
    "分群": "segment",
}
FILTER_HINT = N_(
    "I don't understand the filter “{part}”. Use e.g. stage=won grade=A region=east "
    "tag=vip owner=12 (or owner=none) tier=high segment=slipping."
)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Conditions on the exported rows; None means no condition on that field.

    ``owner`` is a member id, or 0 for the unowned pool.
    """

    stage: str | None = None
    grade: str | None = None
    region: str | None = None
    tag: str | None = None
    owner: int | None = None
    tier: ValueTier | None = None
    segment: Segment | None = None

    def describe(self) -> dict[str, Any]:
        """Return the conditions that are set, for the audit log and the caption."""
        return {
            k: str(v) if isinstance(v, StrEnum) else v
            for k, v in asdict(self).items()
            if v is not None
        }


def parse_filter(text: str) -> ExportFilter:
    """Read ``key=value`` conditions separated by spaces.

    Raises:
        InvalidInput: on an unknown key, a missing value or a non-numeric owner.
    """
    values: dict[str, Any] = {}
    for part in text.split():
        key, sep, value = part.replace("＝", "=").partition("=")
        key = key.strip().lower()
        key = FILTER_WORDS.get(key, key)
        value = value.strip()
        if not sep or not value or key not in FILTER_KEYS:
            raise InvalidInput(FILTER_HINT, part=part)
        if key == "owner":
            if value.lower() == "none" or keyword(value) == "pool":
                values[key] = 0
            elif value.isdigit():
                values[key] = int(value)
            else:
                raise InvalidInput(FILTER_HINT, part=part)
        elif key == "grade":
            values[key] = value.upper()
        elif key == "tier":
            if value.lower() not in TIER_WORDS:
                raise InvalidInput(FILTER_HINT, part=part)
            values[key] = TIER_WORDS[value.lower()]
        elif key == "stage":
            values[key] = _stage_key(value)
        elif key == "segment":
            if value.lower() not in SEGMENT_WORDS:
                raise InvalidInput(FILTER_HINT, part=part)
            values[key] = SEGMENT_WORDS[value.lower()]
        else:
            values[key] = value
    return ExportFilter(**values)


def _stage_key(value: str) -> str:
    """Return the stage key for a key or a default stage name in either language."""
    wanted = value.casefold()
    for key, label in DEFAULT_LABELS.items():
        if wanted == key or wanted in {translate(loc, label).casefold() for loc in LOCALES}:
            return key
    return value
