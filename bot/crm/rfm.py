"""RFM maths: quintile scores, segments, value tiers and classes, and expected lifetime.

Each rule lives here once, as a table; ``bot.crm.tiers`` runs the same tables as
SQL over a whole workspace. The tests check the Python form by hand and the SQL
against the Python form.

Scores (1–5, higher is better) rank a customer among the customers of the same
workspace who have bought: recency by days since the last purchase (fewer is
better), frequency by number of purchases, monetary by their sum. With ``n``
buyers, ``worse`` of them strictly worse and ``equal`` of them (this customer
included) level with this one::

    score = 1 + floor(5 × (worse + equal / 2) / n)

that is, the quintile of the middle of the customer's tie group ("average rank").
Equal values always share a score, and a large tie group lands in the middle
rather than at either end: when everyone bought exactly once, everyone's
frequency score is 3, not 1 or 5. Without ties this is plain quintiles.

Segments, first match wins (R = recency score, F = frequency score):

    ============  =======  =======
    segment       R        F
    ============  =======  =======
    champions     4–5      4–5
    loyal         3–5      3–5
    potential     3–5      1–2
    at_risk       1–2      3–5
    hibernating   2        1–2
    lost          1        1–2
    ============  =======  =======

Customers who have not bought get no scores; they are ``new`` while their record
is younger than ``NEW_DAYS`` and have no segment after that.

Value tier from F + M: high at 8 or more, medium at 5–7, low below. Value class:
``lapsed`` when the last purchase is more than the lapse threshold ago (default
``LAPSE_DAYS``), otherwise ``value`` for the high tier and ``potential`` for the rest.

CLV = average order value × purchases per year × expected lifetime in years. The
first two multiply out to the customer's spend per year, taken over the time since
their first purchase but never less than one year (so one purchase yesterday is not
read as 365 a year). Expected lifetime = (lapse threshold in years) ÷ the
workspace's churn rate, where the churn rate is the share of buyers whose last
purchase is older than the lapse threshold; with the default one-year threshold,
1 ÷ annual churn. It is kept between ``MIN_LIFETIME_YEARS`` and
``MAX_LIFETIME_YEARS``, and is ``FALLBACK_LIFETIME_YEARS`` while the workspace has
fewer than ``MIN_BUYERS_FOR_CHURN`` buyers or nobody has lapsed yet (a churn rate
of 0 says "not enough history", not "customers stay forever"). CLV is in minor
units of the workspace's currency, rounded half up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.crm.models.core import Segment, ValueClass, ValueTier

LAPSE_DAYS = 365
NEW_DAYS = 30
MIN_TENURE_DAYS = 365
FALLBACK_LIFETIME_YEARS = 3.0
MIN_LIFETIME_YEARS = 1.0
MAX_LIFETIME_YEARS = 10.0
MIN_BUYERS_FOR_CHURN = 20

# (segment, lowest R, highest R, lowest F, highest F); the first matching row wins.
SEGMENT_RULES: tuple[tuple[Segment, int, int, int, int], ...] = (
    (Segment.CHAMPIONS, 4, 5, 4, 5),
    (Segment.LOYAL, 3, 5, 3, 5),
    (Segment.POTENTIAL, 3, 5, 1, 2),
    (Segment.AT_RISK, 1, 2, 3, 5),
    (Segment.HIBERNATING, 2, 2, 1, 2),
    (Segment.LOST, 1, 1, 1, 2),
)
# (tier, lowest F + M); below the last row the tier is low.
TIER_RULES: tuple[tuple[ValueTier, int], ...] = ((ValueTier.HIGH, 8), (ValueTier.MEDIUM, 5))
TIER_RANK = {ValueTier.HIGH: 3, ValueTier.MEDIUM: 2, ValueTier.LOW: 1}


@dataclass(frozen=True, slots=True)
class Lifetime:
    """The expected customer lifetime used for CLV, and where it came from."""

    years: float
    churn_rate: float | None
    fallback: bool


def score(worse: int, equal: int, total: int) -> int:
    """Return the 1–5 score of a value that ``worse`` buyers beat and ``equal`` share."""
    if total <= 0 or equal <= 0 or worse + equal > total:
        msg = f"bad ranks: worse={worse} equal={equal} total={total}"
        raise ValueError(msg)
    return 1 + 5 * (2 * worse + equal) // (2 * total)


def segment_for(recency: int, frequency: int) -> Segment:
    """Return the segment of an R and F score pair."""
    for segment, r_low, r_high, f_low, f_high in SEGMENT_RULES:
        if r_low <= recency <= r_high and f_low <= frequency <= f_high:
            return segment
    msg = f"scores out of range: R={recency} F={frequency}"
    raise ValueError(msg)


def tier_for(frequency: int, monetary: int) -> ValueTier:
    """Return the value tier of an F and M score pair."""
    for tier, lowest in TIER_RULES:
        if frequency + monetary >= lowest:
            return tier
    return ValueTier.LOW


def class_for(tier: ValueTier, recency_days: int, lapse_days: int = LAPSE_DAYS) -> ValueClass:
    """Return the value class of a buyer from their tier and days since the last purchase."""
    if recency_days > lapse_days:
        return ValueClass.LAPSED
    return ValueClass.VALUE if tier is ValueTier.HIGH else ValueClass.POTENTIAL


def expected_lifetime(buyers: int, lapsed: int, lapse_days: int = LAPSE_DAYS) -> Lifetime:
    """Return the expected lifetime from how many buyers there are and how many lapsed."""
    rate = lapsed / buyers if buyers else None
    if rate is None or buyers < MIN_BUYERS_FOR_CHURN or lapsed == 0:
        return Lifetime(FALLBACK_LIFETIME_YEARS, rate, fallback=True)
    years = (lapse_days / 365) / rate
    return Lifetime(min(max(years, MIN_LIFETIME_YEARS), MAX_LIFETIME_YEARS), rate, fallback=False)


def clv(monetary: int, tenure_days: int, lifetime_years: float) -> int:
    """Return a customer's CLV in minor units from their spend and days since first purchase."""
    # Same operations in the same order as the SQL, rounding half up, so both agree exactly.
    return math.floor(
        monetary * (365.0 * lifetime_years) / max(tenure_days, MIN_TENURE_DAYS) + 0.5
    )


def segment_sql(recency: str, frequency: str) -> str:
    """Return a SQL CASE giving the segment for the R and F score columns named."""
    whens = " ".join(
        f"WHEN {recency} BETWEEN {r_low} AND {r_high} AND {frequency} BETWEEN {f_low} AND {f_high}"
        f" THEN '{segment.value}'"
        for segment, r_low, r_high, f_low, f_high in SEGMENT_RULES
    )
    return f"CASE {whens} END"


def tier_sql(frequency: str, monetary: str) -> str:
    """Return a SQL CASE giving the value tier for the F and M score columns named."""
    whens = " ".join(
        f"WHEN {frequency} + {monetary} >= {lowest} THEN '{tier.value}'"
        for tier, lowest in TIER_RULES
    )
    return f"CASE {whens} ELSE '{ValueTier.LOW.value}' END"


def class_sql(frequency: str, monetary: str, recency_days: str, lapse_days: int) -> str:
    """Return a SQL CASE giving the value class, matching ``class_for``."""
    high = dict(TIER_RULES)[ValueTier.HIGH]
    return (
        f"CASE WHEN {recency_days} > {int(lapse_days)} THEN '{ValueClass.LAPSED.value}'"
        f" WHEN {frequency} + {monetary} >= {high} THEN '{ValueClass.VALUE.value}'"
        f" ELSE '{ValueClass.POTENTIAL.value}' END"
    )


def tier_rank_sql(column: str) -> str:
    """Return a SQL CASE ranking a value tier column (3 high … 1 low, 0 for none)."""
    whens = " ".join(f"WHEN '{tier.value}' THEN {rank}" for tier, rank in TIER_RANK.items())
    return f"CASE {column} {whens} ELSE 0 END"
