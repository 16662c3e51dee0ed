"""Points about to expire: the wallet's figure and date, the ledger's marked lots."""

from datetime import timedelta

import pytest

from loyalty.services.points import points_spend
from tests.clock import T0
from tests.conftest import shopper_client
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import PointsEntryFactory
from tests.loyalty.test_points_ledger_api import LEDGER_QUERIES, ledger_url
from tests.loyalty.test_wallet_api import WALLET, WALLET_QUERIES, join
from tests.members.factories import MerchantFactory

DAY = timedelta(days=1)


def lot(account, points, expires_in_days):
    return PointsEntryFactory(
        account=account,
        delta=points,
        remaining=points,
        kind="earn",
        expires_at=None if expires_in_days is None else T0 + expires_in_days * DAY,
        created_at=T0 - DAY,
    )


@pytest.fixture
def account(clock, shopper, merchant):
    return points_account(join(shopper, merchant))


def test_the_wallet_shows_the_points_expiring_within_30_days_and_the_first_date(shopper_api, account):
    # given: lots expiring in 5, 20 and 45 days, and one that never expires
    lot(account, 100, 5)
    lot(account, 50, 20)
    lot(account, 70, 45)
    lot(account, 30, None)

    card = shopper_api.get(WALLET).json()["memberships"][0]

    # then: the first two count; the date is the first of them
    assert card["points_balance"] == 250
    assert card["points_expiring_soon"] == 150
    assert card["points_expiring_next_at"] == "2026-03-07T12:00:00Z"


def test_spent_points_are_not_shown_as_expiring(shopper_api, account):
    lot(account, 100, 5)
    lot(account, 50, 20)
    points_spend(account=account, points=120, reason="gift")  # the first to expire go first

    card = shopper_api.get(WALLET).json()["memberships"][0]

    assert (card["points_expiring_soon"], card["points_expiring_next_at"]) == (30, "2026-03-22T12:00:00Z")


def test_nothing_expiring_soon_is_zero_and_no_date(shopper_api, account):
    lot(account, 100, 31)

    card = shopper_api.get(WALLET).json()["memberships"][0]

    assert (card["points_expiring_soon"], card["points_expiring_next_at"]) == (0, None)


def test_the_wallet_keeps_its_query_budget_with_expiring_points(
    shopper_api, shopper, account, django_assert_max_num_queries
):
    lot(account, 100, 5)
    for _ in range(3):
        other = join(shopper, MerchantFactory())
        lot(points_account(other), 10, 3)

    with django_assert_max_num_queries(WALLET_QUERIES):
        memberships = shopper_api.get(WALLET).json()["memberships"]

    assert sorted(m["points_expiring_soon"] for m in memberships) == [10, 10, 10, 100]


def test_the_ledger_marks_the_lots_that_expire_soon(
    shopper_api, account, merchant, django_assert_max_num_queries
):
    soon = lot(account, 100, 5)
    lot(account, 50, 45)
    lot(account, 20, None)
    spent = lot(account, 10, 2)
    spent.remaining = 0
    spent.save()

    with django_assert_max_num_queries(LEDGER_QUERIES):
        entries = shopper_api.get(ledger_url(merchant)).json()["results"]

    marked = {(e["delta"], e["remaining"], e["expiring_soon"]) for e in entries}
    assert marked == {(10, 0, False), (20, 20, False), (50, 50, False), (100, 100, True)}
    assert soon.pk


def test_another_shopper_sees_none_of_these_figures(account, other_shopper, merchant):
    lot(account, 100, 5)

    wallet = shopper_client(other_shopper).get(WALLET).json()

    assert wallet == {"memberships": []}
