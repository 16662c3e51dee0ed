"""The one-off opening of points accounts for memberships from before the ledger.

Memberships made before the points ledger existed (or by hand, outside
``membership_enrol``) have no ``PointsAccount``. :func:`points_accounts_backfill` opens
one for each, set-based: per chunk of membership ids, one ``INSERT ... SELECT`` of the
memberships still without an account, with ``first_order_at`` set from the shopper's
first order with the merchant (as ``points_account_open`` does one at a time), so the
next order does not earn a second repurchase coupon. ``ON CONFLICT DO NOTHING``: an
account opened meanwhile by an order or a join is kept; a second run opens none.
"""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.jobs import Chunk, chunks_run
from loyalty.models import PointsAccount
from members.models import Membership
from storefront.models import Order

BACKFILL_BATCH = 10_000

ACCOUNT = PointsAccount._meta.db_table
MEMBERSHIP = Membership._meta.db_table
ORDER = Order._meta.db_table


def points_accounts_backfill(*, now: datetime | None = None, batch: int = BACKFILL_BATCH) -> int:
    """Open the missing points accounts; returns how many were opened."""
    now = now or timezone.now()
    missing = Membership.objects.filter(points_account__isnull=True)
    at = connection.ops.adapt_datetimefield_value(now)

    def open_accounts(chunk: Chunk) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {ACCOUNT} (membership_id, balance, lifetime_earned, first_order_at, updated_at)
                SELECT m.id, 0, 0,
                    (SELECT MIN(o.paid_at) FROM {ORDER} AS o
                     WHERE o.merchant_id = m.merchant_id AND o.shopper_id = m.shopper_id),
                    %(at)s
                FROM {MEMBERSHIP} AS m
                WHERE m.id BETWEEN %(lo)s AND %(hi)s
                  AND NOT EXISTS (SELECT 1 FROM {ACCOUNT} AS a WHERE a.membership_id = m.id)
                ON CONFLICT (membership_id) DO NOTHING
                """,
                {"lo": chunk.lo, "hi": chunk.hi, "at": at},
            )
            return cursor.rowcount

    return sum(chunks_run(missing, size=batch, work=open_accounts).done)
