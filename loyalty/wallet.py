"""The wallet's statement: the shopper's member cards, written out (``loyalty.selectors.wallet``).

Its own module so that the wallet's SQL sits apart from the other reads of the selectors.
"""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from core.sql import column, row_reader, table, timestamp
from coupons.models import Coupon
from loyalty.models import PointsAccount, PointsEntry
from members.models import Membership, Merchant, Shopper, Tier


@dataclass(slots=True)
class WalletCard:
    """One card of the wallet as the statement reads it (no model instances: the wallet is
    read on every opening of the shopper app and only shown)."""

    merchant_slug: str
    merchant_name: str
    number: int
    tier_name: str | None
    points_balance: int
    points_expiring_soon: int
    points_expiring_next_at: datetime | None
    usable_coupons: int
    iron_fan: bool


def wallet_cards(*, shopper: Shopper, now: datetime, expiring_by: datetime) -> list[WalletCard]:
    """The shopper's active memberships by merchant name, each with its tier, balance (0 when
    the points account was never opened: a membership from before the ledger), the points
    of open lots that expire by ``expiring_by`` and the first date some do (null if none),
    the coupons of its merchant usable at ``now``, and the membership's iron-fan flag.

    One statement whatever the number of cards: the points and the coupon count are
    correlated subqueries, each read from one index (``pointsentry_open_lots`` by the
    account, ``coupon_shopper_state`` by shopper, state and expiry). The ORM's queryset
    plus a second statement for the counts cost more CPU than PostgreSQL spent on them.
    """
    by = timestamp(expiring_by)
    at = timestamp(now)
    params = [by, by, shopper.pk, Coupon.State.ISSUED, at, at, shopper.pk, Membership.Status.ACTIVE]
    with connection.cursor() as cursor:
        cursor.execute(_wallet_sql(), params)
        rows = cursor.fetchall()
    read = row_reader(_FIELDS)
    return [WalletCard(*read(row)) for row in rows]


# The statement's columns in ``WalletCard``'s order: the model field each is read as
# (Django's conversions: SQLite's datetime text, its 0/1 booleans), None when computed.
_FIELDS = [
    Merchant._meta.get_field("slug"),
    Merchant._meta.get_field("name"),
    Membership._meta.get_field("number"),
    Tier._meta.get_field("name"),
    PointsAccount._meta.get_field("balance"),
    None,
    PointsEntry._meta.get_field("expires_at"),
    None,
    Membership._meta.get_field("iron_fan"),
]


@functools.cache
def _wallet_sql() -> str:
    """The statement of ``wallet_cards``. Parameters: the expiring-by moment twice, the
    shopper, the issued state and the moment twice (the coupon count), the shopper and the
    active status (the cards).

    The lots' condition is the ORM's spelling of ``remaining > 0`` so that PostgreSQL proves
    the partial index's predicate from it; the sum is cast to an integer (PostgreSQL's SUM of
    a bigint is a numeric)."""

    lots = (
        f"FROM {table(PointsEntry)} e"
        f" WHERE e.{column(PointsEntry, 'account')} = pa.{column(PointsAccount, 'id')}"
        f" AND e.{column(PointsEntry, 'remaining')} > 0"
        f" AND e.{column(PointsEntry, 'expires_at')} IS NOT NULL"
        f" AND e.{column(PointsEntry, 'expires_at')} <= %s"
    )
    valid_from = f"c.{column(Coupon, 'valid_from')}"
    usable = (
        f"SELECT COUNT(*) FROM {table(Coupon)} c WHERE c.{column(Coupon, 'shopper')} = %s"
        f" AND c.{column(Coupon, 'state')} = %s AND c.{column(Coupon, 'expires_at')} > %s"
        f" AND ({valid_from} IS NULL OR {valid_from} <= %s)"
        f" AND c.{column(Coupon, 'merchant')} = m.{column(Membership, 'merchant')}"
    )
    selected = [
        f"mer.{column(Merchant, 'slug')}",
        f"mer.{column(Merchant, 'name')}",
        f"m.{column(Membership, 'number')}",
        f"t.{column(Tier, 'name')}",
        f"COALESCE(pa.{column(PointsAccount, 'balance')}, 0)",
        f"COALESCE((SELECT CAST(SUM(e.{column(PointsEntry, 'remaining')}) AS BIGINT) {lots}), 0)",
        f"(SELECT MIN(e.{column(PointsEntry, 'expires_at')}) {lots})",
        f"({usable})",
        f"m.{column(Membership, 'iron_fan')}",
    ]
    return (
        f"SELECT {', '.join(selected)} FROM {table(Membership)} m"
        f" JOIN {table(Merchant)} mer ON mer.{column(Merchant, 'id')} = m.{column(Membership, 'merchant')}"
        f" LEFT JOIN {table(Tier)} t ON t.{column(Tier, 'id')} = m.{column(Membership, 'tier')}"
        f" LEFT JOIN {table(PointsAccount)} pa"
        f" ON pa.{column(PointsAccount, 'membership')} = m.{column(Membership, 'id')}"
        f" WHERE m.{column(Membership, 'shopper')} = %s AND m.{column(Membership, 'status')} = %s"
        f" ORDER BY mer.{column(Merchant, 'name')}, m.{column(Membership, 'id')}"
    )
