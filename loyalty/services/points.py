"""The points ledger: every change is an entry, and the balance moves with it.

Functions whose name ends in ``_locked`` expect the caller to hold the points account's
row lock (``loyalty.locks.points_accounts_lock``); the others take it themselves.
Locks are always taken on the account row, so lots never need their own.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.sql import default_connection, mark_inserted
from loyalty.errors import InsufficientPoints, LedgerCorrupt
from loyalty.locks import points_accounts_lock
from loyalty.models import PointsAccount, PointsEntry, Program

Kind = PointsEntry.Kind
# Kinds that count towards lifetime_earned (a reversal of earned points takes it back).
EARNING_KINDS = {Kind.EARN, Kind.BONUS}


def lot_expiry(*, program: Program, now: datetime) -> datetime | None:
    if program.points_expiry_days is None:
        return None
    return now + timedelta(days=program.points_expiry_days)


# --- Credits and debits under the account lock ----------------------------------


def points_credit_locked(
    *,
    account: PointsAccount,
    points: int,
    kind: str,
    now: datetime,
    expires_at: datetime | None,
    reason: str = "",
    order=None,
    created_by=None,
    first_order_at: datetime | None = None,
) -> PointsEntry:
    """Add a lot. A debt left by a refund is paid first: only the rest is spendable."""
    entry, earned = _credit_entry(
        account=account,
        points=points,
        kind=kind,
        now=now,
        expires_at=expires_at,
        reason=reason,
        order=order,
        created_by=created_by,
    )
    if connection.vendor == "postgresql":
        _credit_in_one_statement(entry=entry, earned=earned, first_order_at=first_order_at)
    else:
        entry.save(force_insert=True)
        extra = {"first_order_at": first_order_at} if first_order_at else {}
        PointsAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") + points,
            lifetime_earned=F("lifetime_earned") + earned,
            updated_at=now,
            **extra,
        )
    account.balance += points
    account.lifetime_earned += earned
    return entry


def points_credit_ctes(
    *,
    account: PointsAccount,
    points: int,
    kind: str,
    now: datetime,
    expires_at: datetime | None,
    reason: str = "",
    order=None,
    first_order_at: datetime | None = None,
) -> tuple[list[tuple[str, str]], dict]:
    """PostgreSQL: :func:`points_credit_locked`'s lot and balance as two named CTEs
    (``points_lot``, ``points_balance``) of the caller's statement, with their named
    parameters (``pc_*``). The caller holds the account's lock and runs the statement in
    the same transaction; the account in hand moves as after the credit. An order folds
    them into its side effects' statement: one round trip less on every member order.
    """
    entry, earned = _credit_entry(
        account=account, points=points, kind=kind, now=now, expires_at=expires_at, reason=reason, order=order
    )
    params = _credit_params(entry=entry, earned=earned, first_order_at=first_order_at)
    account.balance += points
    account.lifetime_earned += earned
    return list(_CREDIT_CTES), params


def _credit_entry(*, account, points, kind, now, expires_at, reason, order, created_by=None):
    """The lot a credit adds (unsaved) and the points it adds to ``lifetime_earned``."""
    if points <= 0:
        raise ValueError(f"a credit adds at least one point, not {points}")
    debt = max(0, -account.balance)
    entry = PointsEntry(
        account=account,
        delta=points,
        kind=kind,
        order=order,
        reason=reason,
        expires_at=expires_at,
        remaining=max(0, points - debt),
        created_by=created_by,
        created_at=now,
    )
    return entry, points if kind in EARNING_KINDS else 0


_ENTRY_FIELDS = [f for f in PointsEntry._meta.concrete_fields if not f.primary_key]
_CREDIT_CTES = (
    (
        "points_lot",
        f"INSERT INTO {PointsEntry._meta.db_table} ({', '.join(f.column for f in _ENTRY_FIELDS)})"
        f" VALUES ({', '.join(f'%(pc_{i})s' for i in range(len(_ENTRY_FIELDS)))}) RETURNING id",
    ),
    (
        "points_balance",
        f"UPDATE {PointsAccount._meta.db_table} SET balance = balance + %(pc_delta)s,"
        " lifetime_earned = lifetime_earned + %(pc_earned)s, updated_at = %(pc_at)s,"
        " first_order_at = COALESCE(%(pc_first)s, first_order_at) WHERE id = %(pc_account)s",
    ),
)


# The credit as a statement of its own: the same two CTEs, answering the lot's id.
_CREDIT_STATEMENT = (
    "WITH " + ", ".join(f"{name} AS ({body})" for name, body in _CREDIT_CTES) + (" SELECT id FROM points_lot")
)


def _credit_params(*, entry: PointsEntry, earned: int, first_order_at: datetime | None) -> dict:
    db = default_connection()
    params = {
        f"pc_{i}": field.get_db_prep_save(getattr(entry, field.attname), db)
        for i, field in enumerate(_ENTRY_FIELDS)
    }
    return params | {
        "pc_delta": entry.delta,
        "pc_earned": earned,
        "pc_at": entry.created_at,
        "pc_first": first_order_at,
        "pc_account": entry.account_id,
    }


def _credit_in_one_statement(*, entry: PointsEntry, earned: int, first_order_at: datetime | None) -> None:
    """The lot and the balance in one statement (data-modifying CTEs): an order's
    statement budget has no room for two once the fan score joins it."""
    with default_connection().cursor() as cursor:
        cursor.execute(
            _CREDIT_STATEMENT, _credit_params(entry=entry, earned=earned, first_order_at=first_order_at)
        )
        mark_inserted(entry, cursor.fetchone()[0])


def points_debit_locked(
    *,
    account: PointsAccount,
    points: int,
    kind: str,
    now: datetime,
    allow_debt: bool = False,
    reason: str = "",
    order=None,
    refund=None,
    created_by=None,
    lots_first: Iterable[int] = (),
) -> PointsEntry:
    """Take points from the lots that expire first (``lots_first`` before them).

    Without ``allow_debt`` the balance never goes below zero; with it (a refund
    taking back points already spent) the shortfall becomes a negative balance.
    """
    if points <= 0:
        raise ValueError(f"a debit takes at least one point, not {points}")
    available = max(account.balance, 0)
    if points > available and not allow_debt:
        raise InsufficientPoints(f"This needs {points} points; the balance is {account.balance}.")
    _take_from_lots(account=account, points=min(points, available), lots_first=list(lots_first))
    entry = PointsEntry.objects.create(
        account=account,
        delta=-points,
        kind=kind,
        order=order,
        refund=refund,
        reason=reason,
        created_by=created_by,
        created_at=now,
    )
    unearned = min(points, account.lifetime_earned) if kind == Kind.REVERSE else 0
    PointsAccount.objects.filter(pk=account.pk).update(
        balance=F("balance") - points, lifetime_earned=F("lifetime_earned") - unearned, updated_at=now
    )
    account.balance -= points
    account.lifetime_earned -= unearned
    return entry


def _take_from_lots(*, account: PointsAccount, points: int, lots_first: list[int]) -> None:
    if points <= 0:
        return
    open_lots = PointsEntry.objects.filter(account=account, remaining__gt=0)
    preferred = list(open_lots.filter(pk__in=lots_first)) if lots_first else []
    rest = open_lots.exclude(pk__in=lots_first).order_by(F("expires_at").asc(nulls_last=True), "id")
    touched = []
    for lot in [*preferred, *rest.iterator(chunk_size=100)]:
        take = min(lot.remaining, points)
        lot.remaining -= take
        points -= take
        touched.append(lot)
        if points == 0:
            break
    # The balance says these lots hold enough; if they did not, the ledger is corrupt.
    if points:
        raise LedgerCorrupt(f"points account {account.pk}: lots hold {points} points less than the balance")
    PointsEntry.objects.bulk_update(touched, ["remaining"])


# --- Public operations ------------------------------------------------------------


@transaction.atomic
def points_spend(
    *, account: PointsAccount, points: int, reason: str, now: datetime | None = None
) -> PointsEntry:
    """Spend points (a redemption); refused when the balance is short."""
    locked = points_accounts_lock().get(pk=account.pk)
    entry = points_debit_locked(
        account=locked, points=points, kind=Kind.REDEEM, reason=reason, now=now or timezone.now()
    )
    account.balance, account.lifetime_earned = locked.balance, locked.lifetime_earned
    return entry


@transaction.atomic
def points_adjust(
    *, account: PointsAccount, delta: int, reason: str, created_by=None, now: datetime | None = None
) -> PointsEntry:
    """A manual correction by merchant staff, with its reason and author on record.

    A positive adjustment is a lot that expires like earned points; a negative one
    spends lots and may not take the balance below zero.
    """
    if delta == 0:
        raise ValueError("an adjustment moves at least one point")
    if not reason.strip():
        raise ValueError("an adjustment needs a reason")
    now = now or timezone.now()
    locked = points_accounts_lock().get(pk=account.pk)
    if delta > 0:
        program = Program.objects.get(merchant_id=locked.membership.merchant_id)
        entry = points_credit_locked(
            account=locked,
            points=delta,
            kind=Kind.ADJUST,
            reason=reason,
            created_by=created_by,
            now=now,
            expires_at=lot_expiry(program=program, now=now),
        )
    else:
        entry = points_debit_locked(
            account=locked, points=-delta, kind=Kind.ADJUST, reason=reason, created_by=created_by, now=now
        )
    account.balance, account.lifetime_earned = locked.balance, locked.lifetime_earned
    return entry


def points_join_bonus_locked(
    *, account: PointsAccount, program: Program, now: datetime
) -> PointsEntry | None:
    """The join bonus, once per shopper and merchant: a rejoin does not pay it again."""
    if program.join_bonus_points <= 0:
        return None
    claimed = PointsAccount.objects.filter(pk=account.pk, join_bonus_at__isnull=True).update(
        join_bonus_at=now
    )
    if not claimed:
        return None
    account.join_bonus_at = now
    return points_credit_locked(
        account=account,
        points=program.join_bonus_points,
        kind=Kind.BONUS,
        reason="join bonus",
        now=now,
        expires_at=lot_expiry(program=program, now=now),
    )
