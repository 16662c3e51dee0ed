"""Nightly expiry of points lots, set-based and safe to run twice.

Work goes in chunks of accounts (by id range, ``core.jobs.chunks_run``). For each
chunk, in one transaction:
lock the accounts (so no spend or earn interleaves), write one ``expire`` entry per
due lot with ``INSERT ... SELECT``, take the expired points off the balances with one
``UPDATE``, and close the lots with another. A lot is due when it still holds points
and its ``expires_at`` is at or before the cut-off; a second run finds none.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.jobs import Chunk, chunks_run
from loyalty.locks import points_accounts_lock
from loyalty.models import PointsAccount, PointsEntry

EXPIRY_BATCH_ACCOUNTS = 2000

ENTRY = PointsEntry._meta.db_table
ACCOUNT = PointsAccount._meta.db_table
DUE = (
    f"{ENTRY}.remaining > 0 AND {ENTRY}.expires_at <= %(cutoff)s"
    f" AND {ENTRY}.account_id BETWEEN %(lo)s AND %(hi)s"
)


@dataclass
class ExpiryResult:
    accounts: int = 0
    lots: int = 0
    points: int = 0


def points_expire_due(
    *, now: datetime | None = None, batch_accounts: int = EXPIRY_BATCH_ACCOUNTS
) -> ExpiryResult:
    cutoff = now or timezone.now()
    due = PointsEntry.objects.filter(remaining__gt=0, expires_at__lte=cutoff)
    result = ExpiryResult()

    def expire(chunk: Chunk) -> None:
        lots, points = _expire_batch(cutoff=cutoff, lo=chunk.lo, hi=chunk.hi)
        result.accounts += len(chunk)
        result.lots += lots
        result.points += points

    chunks_run(due, key="account_id", size=batch_accounts, work=expire)
    return result


def _expire_batch(*, cutoff: datetime, lo: int, hi: int) -> tuple[int, int]:
    """Expire the due lots of accounts ``lo`` to ``hi``, in the chunk's transaction."""
    # Same lock order as every other ledger write: account rows, by id.
    list(points_accounts_lock().filter(pk__gte=lo, pk__lte=hi).values_list("pk", flat=True))
    params = {"cutoff": connection.ops.adapt_datetimefield_value(cutoff), "lo": lo, "hi": hi}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ENTRY} (account_id, delta, kind, lot_id, reason, created_at)
            SELECT {ENTRY}.account_id, -{ENTRY}.remaining, 'expire', {ENTRY}.id, 'points expired', %(cutoff)s
            FROM {ENTRY} WHERE {DUE}
            """,
            params,
        )
        lots = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {ACCOUNT} SET
                balance = balance - (SELECT SUM({ENTRY}.remaining) FROM {ENTRY}
                                     WHERE {ENTRY}.account_id = {ACCOUNT}.id AND {DUE}),
                updated_at = %(cutoff)s
            WHERE id IN (SELECT {ENTRY}.account_id FROM {ENTRY} WHERE {DUE})
            """,
            params,
        )
        cursor.execute(
            f"SELECT COALESCE(SUM({ENTRY}.remaining), 0) FROM {ENTRY} WHERE {DUE}",
            params,
        )
        points = int(cursor.fetchone()[0])
        cursor.execute(f"UPDATE {ENTRY} SET remaining = 0 WHERE {DUE}", params)
    return lots, points
