"""GET /api/v1/me/memberships/{merchant}/points: the member's own ledger, newest first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.services.points import points_adjust, points_spend
from tests.conftest import assert_error, merchant_client
from tests.loyalty.conftest import ORDERS, order_body, points_account


def ledger_url(merchant) -> str:
    return f"/api/v1/me/memberships/{merchant.slug}/points"


# The token (with user and shopper), the merchant, the membership, one page of entries.
LEDGER_QUERIES = 4


def test_ledger_lists_entries_newest_first(shopper_api, merchant, member, shopper):
    merchant_client(merchant).post(ORDERS, order_body(shopper.external_id), format="json")
    account = points_account(member)
    points_spend(account=account, points=4, reason="gift wrap")
    points_adjust(account=account, delta=-1, reason="typo")

    response = shopper_api.get(ledger_url(merchant))

    assert response.status_code == 200
    entries = response.json()["results"]
    assert [(e["kind"], e["delta"], e["reason"], e["order"]) for e in entries] == [
        ("adjust", -1, "typo", None),
        ("redeem", -4, "gift wrap", None),
        ("earn", 24, "points for an order", "o-1"),
    ]
    assert entries[0]["expires_at"] is None
    earned = entries[2]
    expires_at = timezone.datetime.fromisoformat(earned["expires_at"])
    created_at = timezone.datetime.fromisoformat(earned["created_at"])
    assert expires_at - created_at == timedelta(days=365)


def test_ledger_is_paginated(shopper_api, merchant, member):
    account = points_account(member)
    for i in range(5):
        points_adjust(account=account, delta=i + 1, reason=f"lot {i}")

    first = shopper_api.get(ledger_url(merchant), {"page_size": 3}).json()
    second = shopper_api.get(first["next"]).json()

    assert [e["reason"] for e in first["results"]] == ["lot 4", "lot 3", "lot 2"]
    assert [e["reason"] for e in second["results"]] == ["lot 1", "lot 0"]
    assert second["next"] is None


def test_a_non_member_gets_404(shopper_api, merchant, catalog):
    assert_error(shopper_api.get(ledger_url(merchant)), 404, "membership_not_found")


def test_an_unknown_merchant_is_404(shopper_api):
    response = shopper_api.get("/api/v1/me/memberships/no-such-shop/points")

    assert_error(response, 404, "merchant_not_found")


def test_another_shopper_cannot_see_the_members_ledger(other_shopper_api, merchant, member):
    points_adjust(account=points_account(member), delta=10, reason="secret")

    assert_error(other_shopper_api.get(ledger_url(merchant)), 404, "membership_not_found")


def test_ledger_without_a_token_is_401(api, merchant, member):
    assert api.get(ledger_url(merchant)).status_code == 401


@pytest.mark.parametrize("entries", [2, 20])
def test_ledger_query_count_does_not_grow_with_entries(
    shopper_api, merchant, member, django_assert_max_num_queries, entries
):
    account = points_account(member)
    for i in range(entries):
        points_adjust(account=account, delta=1, reason=f"lot {i}")

    with django_assert_max_num_queries(LEDGER_QUERIES):
        response = shopper_api.get(ledger_url(merchant))

    assert len(response.json()["results"]) == entries
