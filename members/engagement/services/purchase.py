"""The purchase pipeline's one engagement event, within the order's statement budget."""

from datetime import datetime

from django.db import connection

from members.engagement import scoring, sql
from members.engagement.models import EngagementEvent, EngagementScore, FanPolicy
from members.models import Account, Follow

DEFAULT_PURCHASE_WEIGHT = FanPolicy._meta.get_field("weight_purchase").default
DEFAULT_HALF_LIFE_DAYS = FanPolicy._meta.get_field("half_life_days").default


def purchase_engagement_add(
    *, merchant_id: int, shopper_id: int, account_id: int | None, source_id: str, occurred_at: datetime
) -> int | None:
    """An order's ``purchase`` event on ``account_id`` (the brand account when None).

    Returns the account the purchase was attributed to, or None when there is none (a
    merchant without a brand account) or the event was stored before. Written for the
    order's statement budget: the policy and the brand account are read inside the
    statements; on PostgreSQL the event, the follower's score and, for a shopper who
    does not follow, the waiting score are one statement (data-modifying CTEs); SQLite,
    which has none, takes up to three.
    """
    params = {
        "merchant": merchant_id,
        "shopper": shopper_id,
        "account": account_id,
        "source": source_id,
        "at": sql.timestamp(occurred_at),
        "day": scoring.DAY_SECONDS,
        "weight": DEFAULT_PURCHASE_WEIGHT,
        "half_life": DEFAULT_HALF_LIFE_DAYS,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PURCHASE_PG, params)
            row = cursor.fetchone()
        return row[0] if row else None
    with connection.cursor() as cursor:
        cursor.execute(_PURCHASE_EVENT, params)
        row = cursor.fetchone()
        if row is None:
            return None
        params["account"] = row[0]
        cursor.execute(_PURCHASE_FOLLOW, params)
        if cursor.fetchone() is None:
            cursor.execute(_PURCHASE_WAITING, params)
    return row[0]


_POLICY = f"""policy AS (
    SELECT COALESCE(MAX(weight_purchase), %(weight)s) AS weight,
           COALESCE(MAX(half_life_days), %(half_life)s) * %(day)s AS half_life
    FROM {FanPolicy._meta.db_table} WHERE merchant_id = %(merchant)s
)"""
_ACCOUNT = (
    f"SELECT id FROM {Account._meta.db_table} WHERE merchant_id = %(merchant)s "
    "AND (id = %(account)s OR (%(account)s IS NULL AND kind = 'brand'))"
)
_EVENT_INSERT = f"""
    INSERT INTO {EngagementEvent._meta.db_table}
        (account_id, shopper_id, kind, quantity, sku, source_id, occurred_at)
    SELECT a.id, %(shopper)s, 'purchase', 1, '', %(source)s, %(at)s FROM ({_ACCOUNT}) a WHERE TRUE
    ON CONFLICT (account_id, source_id, occurred_at) DO NOTHING
    RETURNING account_id"""


def _follow_update(event: str) -> str:
    table = Follow._meta.db_table
    old_at = f"COALESCE({table}.score_at, %(at)s)"
    new_at = sql.greatest(old_at, "%(at)s")
    half_life = "(SELECT half_life FROM policy)"
    return f"""
    UPDATE {table} SET
        score = {table}.score * {sql.decay(later=new_at, earlier=old_at, half_life_seconds=half_life)}
                + (SELECT weight FROM policy) * {
        sql.decay(later=new_at, earlier="%(at)s", half_life_seconds=half_life)
    },
        score_at = {new_at}
    WHERE {table}.account_id = {event} AND {table}.shopper_id = %(shopper)s
    RETURNING {table}.id"""


def _waiting_upsert(select: str) -> str:
    table, hl = EngagementScore._meta.db_table, "(SELECT half_life FROM policy)"
    new_at = sql.greatest(f"{table}.score_at", "excluded.score_at")
    return f"""
    INSERT INTO {table} (account_id, shopper_id, score, score_at)
    {select}
    ON CONFLICT (account_id, shopper_id) DO UPDATE SET
        score = {table}.score * {sql.decay(later=new_at, earlier=f"{table}.score_at", half_life_seconds=hl)}
                + excluded.score
                  * {sql.decay(later=new_at, earlier="excluded.score_at", half_life_seconds=hl)},
        score_at = {new_at}"""


_PURCHASE_EVENT = _EVENT_INSERT
_PURCHASE_FOLLOW = f"WITH {_POLICY} {_follow_update('%(account)s')}"
_PURCHASE_WAITING = f"WITH {_POLICY} " + _waiting_upsert(
    "SELECT %(account)s, %(shopper)s, (SELECT weight FROM policy), %(at)s WHERE TRUE"
)
_PURCHASE_PG = f"""
    WITH {_POLICY},
    event AS ({_EVENT_INSERT}),
    fan AS ({_follow_update("(SELECT account_id FROM event)")}),
    waiting AS ({
    _waiting_upsert(
        "SELECT account_id, %(shopper)s, (SELECT weight FROM policy), %(at)s FROM event "
        "WHERE NOT EXISTS (SELECT 1 FROM fan)"
    )
})
    SELECT account_id FROM event"""
