"""GET /api/v1/me/memberships/{merchant}/points: the member's own ledger, newest first."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from loyalty.apis.shopper import PointsEntryOutput
from loyalty.models import PointsEntry
from loyalty.selectors import EXPIRING_SOON_DAYS
from loyalty.services.points import points_adjust, points_spend
from members.models import Membership
from tests.conftest import assert_error, merchant_client
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.loyalty.factories import PointsEntryFactory
from tests.storefront.factories import OrderFactory, RefundFactory


def ledger_url(merchant) -> str:
    return f"/api/v1/me/memberships/{merchant.slug}/points"


# The token (with user and shopper), the page (the merchant and membership read in it as the
# account's subquery); an empty page adds the lookup that tells its 404s from an empty ledger.
LEDGER_QUERIES = 2


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


def test_an_unknown_merchant_is_404_whatever_the_cursor(shopper_api, member):
    # The 404s come before the page's own checks, as they did.
    response = shopper_api.get("/api/v1/me/memberships/no-such-shop/points", {"cursor": "x"})

    assert_error(response, 404, "merchant_not_found")


def test_a_non_member_is_404_whatever_the_page_size(shopper_api, merchant, catalog):
    assert_error(shopper_api.get(ledger_url(merchant), {"page_size": 0}), 404, "membership_not_found")


def test_a_tampered_cursor_is_400(shopper_api, merchant, member):
    points_adjust(account=points_account(member), delta=1, reason="one")

    assert_error(
        shopper_api.get(ledger_url(merchant), {"cursor": "tampered"}), 400, "invalid_cursor", "cursor"
    )


def test_a_member_without_entries_sees_an_empty_page(shopper_api, merchant, member):
    assert shopper_api.get(ledger_url(merchant)).json() == {"next": None, "previous": None, "results": []}


def test_a_former_member_keeps_seeing_the_history(shopper_api, merchant, member):
    points_adjust(account=points_account(member), delta=3, reason="kept")
    member.status = Membership.Status.LEFT
    member.save(update_fields=["status"])

    assert [e["reason"] for e in shopper_api.get(ledger_url(merchant)).json()["results"]] == ["kept"]


def test_the_pages_read_back_from_previous_links_are_the_same(shopper_api, merchant, member):
    account = points_account(member)
    for i in range(5):
        points_adjust(account=account, delta=i + 1, reason=f"lot {i}")
    pages = [shopper_api.get(ledger_url(merchant), {"page_size": 2}).json()]
    while pages[-1]["next"]:
        pages.append(shopper_api.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(shopper_api.get(back[-1]["previous"]).json())

    assert [e["reason"] for page in pages for e in page["results"]] == [f"lot {i}" for i in range(4, -1, -1)]
    assert [page["results"] for page in reversed(back)] == [page["results"] for page in pages]


def test_the_answer_built_directly_is_the_serializers_answer(shopper_api, merchant, shopper, member):
    # Given entries of every kind of field: an order's earn with an expiry that is soon, a lot
    # long to expire, a spent lot past its date, a refund's reversal, a spend, microseconds
    account = points_account(member)
    now = timezone.now()
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    order = OrderFactory(merchant=merchant, shopper=shopper, external_id="o-77")
    refund = RefundFactory(order=order, external_id="r-1")
    PointsEntryFactory(
        account=account,
        kind="earn",
        delta=24,
        remaining=20,
        order=order,
        created_at=moment,
        expires_at=now + timedelta(days=3),
        reason="points for an order",
    )
    PointsEntryFactory(
        account=account, delta=5, remaining=5, created_at=moment, expires_at=now + timedelta(days=90)
    )
    PointsEntryFactory(
        account=account, delta=7, remaining=0, created_at=moment, expires_at=now - timedelta(days=1)
    )
    PointsEntryFactory(
        account=account, delta=4, remaining=4, created_at=moment, expires_at=now - timedelta(days=1)
    )
    PointsEntryFactory(
        account=account,
        kind="reverse",
        delta=-3,
        remaining=None,
        order=order,
        refund=refund,
        created_at=moment,
        expires_at=None,
        reason="",
    )
    PointsEntryFactory(
        account=account, kind="redeem", delta=-2_000_000_000_000, remaining=None, created_at=now
    )

    response = shopper_api.get(ledger_url(merchant))

    # Then the answer is, byte for byte, what PointsEntryOutput makes of the ORM's models
    assert response.status_code == 200, response.content
    by = timezone.now() + timedelta(days=EXPIRING_SOON_DAYS)
    models = list(
        PointsEntry.objects.filter(account=account).select_related("order", "refund").order_by("-id")
    )
    for entry in models:
        entry.expiring_soon = bool(
            entry.remaining and entry.remaining > 0 and entry.expires_at and entry.expires_at <= by
        )
    expected = JSONRenderer().render(PointsEntryOutput(models, many=True).data)
    assert json.dumps(response.json()["results"]) == json.dumps(json.loads(expected))
    assert [e["expiring_soon"] for e in response.json()["results"]] == [
        False,
        False,
        True,
        False,
        False,
        True,
    ]
