"""``points.expiring``: the merchant's systems hear, once a day, whose points expire soon.

A member's lots with points left that expire within ``EXPIRING_SOON_DAYS`` (the window
the wallet shows) and were not announced yet make one event per member: the points,
the first date and each lot. Each lot is announced once: the run records it in
``PointsExpiryNotice`` with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING``,
so a second run, or two at once, announces nothing again (the second waits on the
first's rows and skips them). The notice table is written, not the ledger: no lot row
and no account is locked, so orders go on beside the job. Merchants that nobody listens
to for ``points.expiring`` are not read at all.

Set-based in chunks of accounts (``core.jobs.chunks_run``): per chunk one insert, one
read of the announced lots with their members, one ``INSERT`` of events.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from core.jobs import Chunk, chunks_run
from loyalty.models import PointsAccount, PointsEntry, PointsExpiryNotice
from loyalty.selectors import EXPIRING_SOON_DAYS
from members.models import Membership
from members.webhooks.events import webhook_events_write, webhook_listening
from members.webhooks.models import EventType

NOTICE_BATCH_ACCOUNTS = 2000

ENTRY = PointsEntry._meta.db_table
ACCOUNT = PointsAccount._meta.db_table
MEMBERSHIP = Membership._meta.db_table
NOTICE = PointsExpiryNotice._meta.db_table


@dataclass
class NoticeResult:
    merchants: int = 0
    members: int = 0
    lots: int = 0
    points: int = 0


def points_expiring_notify(
    *, now: datetime | None = None, batch_accounts: int = NOTICE_BATCH_ACCOUNTS
) -> NoticeResult:
    """Announce the lots that entered the window since the last run, for every merchant
    with an endpoint for ``points.expiring``."""
    now = now or timezone.now()
    by = now + timedelta(days=EXPIRING_SOON_DAYS)
    result = NoticeResult()
    for merchant_id in webhook_listening(type=EventType.POINTS_EXPIRING):
        result.merchants += 1
        due = PointsEntry.objects.filter(
            account__membership__merchant_id=merchant_id,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=by,
        )

        def announce(chunk: Chunk, merchant_id=merchant_id) -> None:
            members, lots, points = _announce_range(
                merchant_id=merchant_id, lo=chunk.lo, hi=chunk.hi, now=now, by=by
            )
            result.members += members
            result.lots += lots
            result.points += points

        chunks_run(due, key="account_id", size=batch_accounts, work=announce)
    return result


def _announce_range(
    *, merchant_id: int, lo: int, hi: int, now: datetime, by: datetime
) -> tuple[int, int, int]:
    """The merchant's accounts ``lo..hi``: record their lots not yet announced, then one
    event per member for them (in the chunk's transaction)."""
    params = {
        "merchant": merchant_id,
        "lo": lo,
        "hi": hi,
        "now": connection.ops.adapt_datetimefield_value(now),
        "by": connection.ops.adapt_datetimefield_value(by),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {NOTICE} (lot_id, noticed_at)
            SELECT e.id, %(now)s FROM {ENTRY} e
            JOIN {ACCOUNT} pa ON pa.id = e.account_id
            JOIN {MEMBERSHIP} m ON m.id = pa.membership_id
            WHERE e.account_id BETWEEN %(lo)s AND %(hi)s AND m.merchant_id = %(merchant)s
              AND e.remaining > 0 AND e.expires_at > %(now)s AND e.expires_at <= %(by)s
            ON CONFLICT (lot_id) DO NOTHING
            RETURNING lot_id
            """,
            params,
        )
        lot_ids = [row[0] for row in cursor.fetchall()]
    if not lot_ids:
        return 0, 0, 0
    lots = (
        PointsEntry.objects.filter(pk__in=lot_ids)
        .order_by("account_id", "expires_at", "pk")
        .values_list(
            "account_id",
            "remaining",
            "expires_at",
            "account__membership__number",
            "account__membership__shopper__external_id",
        )
    )
    members: dict[int, dict] = {}
    for account_id, remaining, expires_at, number, shopper in lots:
        member = members.setdefault(
            account_id,
            {
                "shopper": shopper,
                "membership_number": number,
                "points": 0,
                "first_expires_at": None,
                "lots": [],
            },
        )
        at = expires_at.isoformat().replace("+00:00", "Z")
        member["points"] += remaining
        member["first_expires_at"] = member["first_expires_at"] or at
        member["lots"].append({"points": remaining, "expires_at": at})
    webhook_events_write(
        merchant_id=merchant_id, type=EventType.POINTS_EXPIRING, payloads=list(members.values()), now=now
    )
    return len(members), len(lot_ids), sum(member["points"] for member in members.values())
