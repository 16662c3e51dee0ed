"""Expiry of points lots: the service, the ``expire_points`` command and the Celery task."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty import tasks
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services.expiry import points_expire_due
from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_spend
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import PointsEntryFactory
from tests.members.factories import ShopperFactory

NOW = timezone.now()


def lot(account, points: int, *, expires_in_days: float | None, remaining: int | None = None) -> PointsEntry:
    """A lot of ``points`` with its balance, expiring ``expires_in_days`` from NOW (None: never)."""
    return PointsEntryFactory(
        account=account,
        delta=points,
        remaining=points if remaining is None else remaining,
        kind=PointsEntry.Kind.EARN,
        expires_at=None if expires_in_days is None else NOW + timedelta(days=expires_in_days),
    )


@pytest.fixture
def account(member):
    return points_account(member)


def balance(account) -> int:
    return PointsAccount.objects.get(pk=account.pk).balance


def test_only_lots_past_their_date_expire(account):
    old = lot(account, 30, expires_in_days=-1)
    today = lot(account, 20, expires_in_days=0)
    later = lot(account, 10, expires_in_days=1)
    forever = lot(account, 5, expires_in_days=None)

    result = points_expire_due(now=NOW)

    assert (result.accounts, result.lots, result.points) == (1, 2, 50)
    assert balance(account) == 15
    remaining = dict(PointsEntry.objects.filter(delta__gt=0).values_list("pk", "remaining"))
    assert remaining == {old.pk: 0, today.pk: 0, later.pk: 10, forever.pk: 5}


def test_each_expired_lot_gets_one_expire_entry(account):
    first, second = lot(account, 30, expires_in_days=-2), lot(account, 20, expires_in_days=-1)

    points_expire_due(now=NOW)

    expired = PointsEntry.objects.filter(kind="expire").order_by("lot_id")
    assert [(e.lot_id, e.delta, e.remaining, e.account_id) for e in expired] == [
        (first.pk, -30, None, account.pk),
        (second.pk, -20, None, account.pk),
    ]


def test_a_second_run_changes_nothing(account):
    lot(account, 30, expires_in_days=-1)
    lot(account, 10, expires_in_days=1)
    points_expire_due(now=NOW)
    entries = list(PointsEntry.objects.values_list("pk", "remaining"))

    again = points_expire_due(now=NOW)

    assert (again.accounts, again.lots, again.points) == (0, 0, 0)
    assert list(PointsEntry.objects.values_list("pk", "remaining")) == entries
    assert balance(account) == 10


def test_a_partly_spent_lot_expires_only_what_is_left(account):
    # given: 30 + 20 points; spending 35 takes the first-to-expire lot whole and 5 of the next
    soon, later = lot(account, 30, expires_in_days=2), lot(account, 20, expires_in_days=4)
    points_spend(account=account, points=35, reason="reward")

    # when: both lots are past their date
    result = points_expire_due(now=NOW + timedelta(days=5))

    # then: only the 15 left in the second lot expire
    assert (result.lots, result.points) == (1, 15)
    assert PointsEntry.objects.get(kind="expire").lot_id == later.pk
    soon.refresh_from_db()
    assert soon.remaining == 0
    assert balance(account) == 0


def test_expiry_keeps_the_ledger_invariants(account):
    lot(account, 30, expires_in_days=-1)
    lot(account, 10, expires_in_days=3)

    points_expire_due(now=NOW)

    entries = PointsEntry.objects.filter(account=account)
    assert balance(account) == sum(e.delta for e in entries) == 10
    assert sum(e.remaining or 0 for e in entries) == 10


def test_expiry_covers_many_accounts_in_batches(merchant, catalog):
    accounts = [
        points_account(membership_enrol(shopper=ShopperFactory(), merchant=merchant).membership)
        for _ in range(5)
    ]
    for points, account in enumerate(accounts, start=1):
        lot(account, points, expires_in_days=-1)
        lot(account, 100, expires_in_days=10)

    result = points_expire_due(now=NOW, batch_accounts=2)

    assert (result.accounts, result.lots, result.points) == (5, 5, 15)
    assert [balance(a) for a in accounts] == [100] * 5


def test_the_command_expires_due_lots_and_says_what_it_did(account):
    lot(account, 30, expires_in_days=-1)
    lot(account, 10, expires_in_days=1)
    out = StringIO()

    call_command("expire_points", stdout=out)

    assert "30 points" in out.getvalue()
    assert balance(account) == 10
    call_command("expire_points", stdout=StringIO())
    assert PointsEntry.objects.filter(kind="expire").count() == 1


def test_the_task_expires_due_lots_and_is_safe_to_run_twice(account):
    lot(account, 30, expires_in_days=-1)
    lot(account, 10, expires_in_days=1)

    first = tasks.expire_points()
    second = tasks.expire_points()

    assert first == {"accounts": 1, "lots": 1, "points": 30}
    assert second == {"accounts": 0, "lots": 0, "points": 0}
    assert balance(account) == 10
