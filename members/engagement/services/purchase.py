"""The purchase pipeline's engagement: an order moves the fan score of the account it is
attributed to, within the order's statement budget.

The order itself is the purchase's record (it stores the attributed account and is
idempotent by merchant and external id), so no ``EngagementEvent`` row is written for
it: a member's order has no statement to spare for one (tests/loyalty/test_purchases.py).
What it adds is the purchase weight, decayed like any event, to the follower's score,
or to the waiting score of a buyer who does not follow (docs/iron-fans.md).
"""

from datetime import datetime

from django.db import connection

from members.engagement import scoring, sql
from members.engagement.models import EngagementScore, FanPolicy
from members.models import Follow

DEFAULT_PURCHASE_WEIGHT = FanPolicy._meta.get_field("weight_purchase").default
DEFAULT_HALF_LIFE_DAYS = FanPolicy._meta.get_field("half_life_days").default


def purchase_score_add(
    *, merchant_id: int, shopper_id: int, account_id: int, occurred_at: datetime, follows: bool
) -> None:
    """One statement: the purchase weight onto the fan's score, or the waiting score.

    The merchant's policy is read inside the statement. On PostgreSQL it decides
    itself whether the shopper follows (a data-modifying CTE updates the follow, and the
    waiting score only when no follow was updated). SQLite has no such CTEs; there the
    caller says whether the shopper follows the account, read in its own transaction
    (SQLite runs one writer at a time, so it cannot change meanwhile).
    """
    params = {
        "merchant": merchant_id,
        "shopper": shopper_id,
        "account": account_id,
        "at": sql.timestamp(occurred_at),
        "day": scoring.DAY_SECONDS,
        "weight": DEFAULT_PURCHASE_WEIGHT,
        "half_life": DEFAULT_HALF_LIFE_DAYS,
    }
    if connection.vendor == "postgresql":
        statement = PURCHASE_PG
    else:
        statement = PURCHASE_FOLLOW if follows else PURCHASE_WAITING
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


_POLICY = f"""policy AS (
    SELECT COALESCE(MAX(weight_purchase), %(weight)s) AS weight,
           COALESCE(MAX(half_life_days), %(half_life)s) * %(day)s AS half_life
    FROM {FanPolicy._meta.db_table} WHERE merchant_id = %(merchant)s
)"""
_HALF_LIFE = "(SELECT half_life FROM policy)"


def _follow_update(*, returning: bool) -> str:
    table = Follow._meta.db_table
    old_at = f"COALESCE({table}.score_at, %(at)s)"
    new_at = sql.greatest(old_at, "%(at)s")
    return f"""
    UPDATE {table} SET
        score = {table}.score * {sql.decay(later=new_at, earlier=old_at, half_life_seconds=_HALF_LIFE)}
                + (SELECT weight FROM policy)
                  * {sql.decay(later=new_at, earlier="%(at)s", half_life_seconds=_HALF_LIFE)},
        score_at = {new_at}
    WHERE {table}.account_id = %(account)s AND {table}.shopper_id = %(shopper)s
    {f"RETURNING {table}.id" if returning else ""}"""


def _waiting_upsert(*, unless_followed: bool) -> str:
    table = EngagementScore._meta.db_table
    new_at = sql.greatest(f"{table}.score_at", "excluded.score_at")
    condition = "NOT EXISTS (SELECT 1 FROM fan)" if unless_followed else "TRUE"
    return f"""
    INSERT INTO {table} (account_id, shopper_id, score, score_at)
    SELECT %(account)s, %(shopper)s, (SELECT weight FROM policy), %(at)s WHERE {condition}
    ON CONFLICT (account_id, shopper_id) DO UPDATE SET
        score = {table}.score
                  * {sql.decay(later=new_at, earlier=f"{table}.score_at", half_life_seconds=_HALF_LIFE)}
                + excluded.score
                  * {sql.decay(later=new_at, earlier="excluded.score_at", half_life_seconds=_HALF_LIFE)},
        score_at = {new_at}"""


PURCHASE_FOLLOW = f"WITH {_POLICY} {_follow_update(returning=False)}"
PURCHASE_WAITING = f"WITH {_POLICY} {_waiting_upsert(unless_followed=False)}"
PURCHASE_PG = (
    f"WITH {_POLICY}, fan AS ({_follow_update(returning=True)}) {_waiting_upsert(unless_followed=True)}"
)
