"""The purchase pipeline's engagement: an order moves the fan score of the account it is
attributed to and counts as an active day of its buyer, within the order's statement
budget; a refund takes back the refunded share of that score.

What an order adds (docs/iron-fans.md, "Orders"):

- the policy's purchase weight, decayed like any event, onto the follower's score, or
  onto the waiting score of a buyer who does not follow;
- one ``EngagementEvent`` row of kind ``purchase`` (quantity 1, no platform id: the
  order itself is idempotent by merchant and external id), so the order's day counts
  for ``min_active_days`` exactly as a platform's purchase event does.

On PostgreSQL the two are one statement (data-modifying CTEs), and the purchase
pipeline folds them into its one statement of side effects with the purchase
statistics and the preferences (``purchase_engagement_ctes``). SQLite has no
data-modifying CTEs: there they are two statements, and the caller says whether the
shopper follows the account, read in its own transaction (SQLite runs one writer at a
time, so it cannot change meanwhile).
"""

import functools
from datetime import datetime

from django.db import connection

from members.engagement import scoring, sql
from members.engagement.models import EngagementEvent, EngagementKind, EngagementScore, FanPolicy
from members.models import Follow

DEFAULT_PURCHASE_WEIGHT = FanPolicy._meta.get_field("weight_purchase").default
DEFAULT_HALF_LIFE_DAYS = FanPolicy._meta.get_field("half_life_days").default


def purchase_params(*, merchant_id: int, shopper_id: int, account_id: int, occurred_at: datetime) -> dict:
    """The named parameters of this module's statements (``eng_*``: they share a statement)."""
    return {
        "eng_merchant": merchant_id,
        "eng_shopper": shopper_id,
        "eng_account": account_id,
        "eng_at": sql.timestamp(occurred_at),
        "eng_day": scoring.DAY_SECONDS,
        "eng_weight": DEFAULT_PURCHASE_WEIGHT,
        "eng_half_life": DEFAULT_HALF_LIFE_DAYS,
        "eng_kind": EngagementKind.PURCHASE.value,
    }


@functools.cache
def purchase_engagement_ctes() -> tuple[tuple[str, str], ...]:
    """PostgreSQL: the score and the event as named CTEs of one statement (``policy``,
    ``eng_fan``, ``eng_waiting``, ``eng_event``), with :func:`purchase_params`. Built
    once: every order runs them."""
    return (
        ("policy", _POLICY_BODY),
        ("eng_fan", _follow_update(returning=True)),
        ("eng_waiting", _waiting_upsert(unless_followed=True)),
        ("eng_event", _EVENT_INSERT),
    )


def purchase_engagement_record(
    *, merchant_id: int, shopper_id: int, account_id: int, occurred_at: datetime, follows: bool
) -> None:
    """The purchase on the fan score and as an event: one statement on PostgreSQL, two on SQLite."""
    params = purchase_params(
        merchant_id=merchant_id, shopper_id=shopper_id, account_id=account_id, occurred_at=occurred_at
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PURCHASE_PG, params)
            return
        cursor.execute(PURCHASE_FOLLOW if follows else PURCHASE_WAITING, params)
        cursor.execute(_EVENT_INSERT, params)


def purchase_score_add(
    *, merchant_id: int, shopper_id: int, account_id: int, occurred_at: datetime, follows: bool
) -> None:
    """Only the score (no event row): one statement on either database."""
    params = purchase_params(
        merchant_id=merchant_id, shopper_id=shopper_id, account_id=account_id, occurred_at=occurred_at
    )
    if connection.vendor == "postgresql":
        statement = PURCHASE_SCORE_PG
    else:
        statement = PURCHASE_FOLLOW if follows else PURCHASE_WAITING
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def purchase_score_remove(
    *, merchant_id: int, shopper_id: int, account_id: int, paid_at: datetime, share: float
) -> None:
    """A refund: take ``share`` (0-1) of an order's purchase weight back off the score.

    The score holds the order's weight decayed from ``paid_at`` to its ``score_at``, so
    ``share * weight * 0.5 ** ((score_at - paid_at) / half_life)`` is exactly that share
    of what the order added (with the policy's weight and half-life as they are now).
    ``score_at`` does not move; a score never goes below zero. The follow's score, or
    the waiting score when the buyer does not follow: one statement each, both
    set-based (a row that is not there is simply not updated).
    """
    if share <= 0:
        return
    params = {
        **purchase_params(
            merchant_id=merchant_id, shopper_id=shopper_id, account_id=account_id, occurred_at=paid_at
        ),
        "eng_share": float(min(share, 1.0)),
    }
    with connection.cursor() as cursor:
        for statement in REFUND_STATEMENTS:
            cursor.execute(statement, params)


_POLICY_BODY = f"""
    SELECT COALESCE(MAX(weight_purchase), %(eng_weight)s) AS weight,
           COALESCE(MAX(half_life_days), %(eng_half_life)s) * %(eng_day)s AS half_life
    FROM {FanPolicy._meta.db_table} WHERE merchant_id = %(eng_merchant)s"""
_POLICY = f"policy AS ({_POLICY_BODY})"
_HALF_LIFE = "(SELECT half_life FROM policy)"


def _decay(*, later: str, earlier: str) -> str:
    return sql.decay(later=later, earlier=earlier, half_life_seconds=_HALF_LIFE)


def _follow_update(*, returning: bool) -> str:
    # Unqualified columns and the decay measured from the event itself: the statement is
    # a part of an order's side effects, which must stay under psycopg's parse cache
    # (core.sql.compact). ``decay`` never grows a score (it clamps at 0 seconds), so
    # decaying from the old moment to the event's is decaying to the later of the two.
    old_at = "COALESCE(score_at, %(eng_at)s)"
    return f"""
    UPDATE {Follow._meta.db_table} SET
        score = score * {_decay(later="%(eng_at)s", earlier=old_at)}
                + (SELECT weight FROM policy) * {_decay(later=old_at, earlier="%(eng_at)s")},
        score_at = {sql.greatest(old_at, "%(eng_at)s")}
    WHERE account_id = %(eng_account)s AND shopper_id = %(eng_shopper)s
    {"RETURNING id" if returning else ""}"""


def _waiting_upsert(*, unless_followed: bool) -> str:
    # As in _follow_update: the table aliased ``s``, each decay to the other moment.
    condition = "NOT EXISTS (SELECT 1 FROM eng_fan)" if unless_followed else "TRUE"
    return f"""
    INSERT INTO {EngagementScore._meta.db_table} AS s (account_id, shopper_id, score, score_at)
    SELECT %(eng_account)s, %(eng_shopper)s, (SELECT weight FROM policy), %(eng_at)s WHERE {condition}
    ON CONFLICT (account_id, shopper_id) DO UPDATE SET
        score = s.score * {_decay(later="excluded.score_at", earlier="s.score_at")}
                + excluded.score * {_decay(later="s.score_at", earlier="excluded.score_at")},
        score_at = {sql.greatest("s.score_at", "excluded.score_at")}"""


def _score_taken_back(table: str) -> str:
    """``table``'s score less the refunded share of the order's decayed weight, never below 0."""
    contribution = "%(eng_share)s * (SELECT weight FROM policy) * " + sql.decay(
        later=f"{table}.score_at", earlier="%(eng_at)s", half_life_seconds=_HALF_LIFE
    )
    return f"{sql.greatest('0', f'{table}.score - {contribution}')}"


def _refund_update(table: str) -> str:
    return f"""WITH {_POLICY}
    UPDATE {table} SET score = {_score_taken_back(table)}
    WHERE {table}.account_id = %(eng_account)s AND {table}.shopper_id = %(eng_shopper)s
      AND {table}.score_at IS NOT NULL"""


_EVENT_INSERT = f"""
    INSERT INTO {EngagementEvent._meta.db_table} (account_id, shopper_id, kind, quantity, sku, occurred_at)
    VALUES (%(eng_account)s, %(eng_shopper)s, %(eng_kind)s, 1, '', %(eng_at)s)"""

PURCHASE_FOLLOW = f"WITH {_POLICY} {_follow_update(returning=False)}"
PURCHASE_WAITING = f"WITH {_POLICY} {_waiting_upsert(unless_followed=False)}"
PURCHASE_SCORE_PG = (
    f"WITH {_POLICY}, eng_fan AS ({_follow_update(returning=True)}) {_waiting_upsert(unless_followed=True)}"
)
PURCHASE_PG = (
    f"WITH {_POLICY}, eng_fan AS ({_follow_update(returning=True)}), "
    f"eng_waiting AS ({_waiting_upsert(unless_followed=True)}) {_EVENT_INSERT}"
)
# A refund lowers the follow's score and the waiting score: whichever row exists.
REFUND_STATEMENTS = (_refund_update(Follow._meta.db_table), _refund_update(EngagementScore._meta.db_table))
