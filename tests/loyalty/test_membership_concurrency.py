"""Concurrent joins on PostgreSQL: real threads, committed transactions, row locks.

Joins of one merchant serialise on the merchant's row lock; a member number is taken
from its counter, so concurrent joins get distinct numbers and a double join one row.
"""

import pytest

from members.models import Membership
from tests.conftest import requires_postgres, shopper_client
from tests.members.factories import MerchantFactory, ShopperFactory
from tests.threads import all_at_once

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def join_all_at_once(clients, merchant) -> list:
    """POST /api/v1/me/memberships from every client in its own thread, released together."""

    def join(client):
        response = client.post("/api/v1/me/memberships", {"merchant": merchant.slug}, format="json")
        return response.status_code, response.json()

    results = all_at_once([lambda c=c: join(c) for c in clients])
    assert not [r for r in results if isinstance(r, Exception)], results
    return results


def test_ten_shoppers_joining_at_once_get_numbers_one_to_ten():
    merchant = MerchantFactory()
    clients = [shopper_client(ShopperFactory()) for _ in range(10)]

    results = join_all_at_once(clients, merchant)

    assert [status for status, _ in results] == [201] * 10
    assert sorted(body["number"] for _, body in results) == list(range(1, 11))
    numbers = Membership.objects.filter(merchant=merchant).values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, 11))
    merchant.refresh_from_db()
    assert merchant.last_member_number == 10


def test_one_shopper_joining_five_times_at_once_gets_one_membership():
    merchant = MerchantFactory()
    shopper = ShopperFactory()
    clients = [shopper_client(shopper) for _ in range(5)]

    results = join_all_at_once(clients, merchant)

    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert {body["number"] for _, body in results} == {1}
    assert Membership.objects.filter(merchant=merchant).count() == 1
    merchant.refresh_from_db()
    assert merchant.last_member_number == 1
