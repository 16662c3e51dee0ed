"""POST /api/v1/merchant/orders: the purchase pipeline through HTTP."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from loyalty.apis.orders import OrderOutput, order_answer
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import MAX_POINTS
from members.models import Membership, Shopper
from storefront.models import Order, OrderLine, PurchaseStat
from tests.conftest import assert_error, merchant_client, row_counts, shopper_client
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.members.factories import AccountFactory, ShopperFactory, TierFactory
from tests.storefront.factories import ProductFactory


def test_member_order_earns_floor_of_total_times_rate(merchant_api, member, shopper):
    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {
        "external_id": "o-1",
        "subtotal": "24.25",
        "discount": "0.00",
        "total": "24.25",
        "points_earned": 24,
        "points_reason": None,
        "coupons_redeemed": [],
        "coupons_issued": [],
    }
    account = points_account(member)
    assert account.balance == 24
    assert account.lifetime_earned == 24
    earn = PointsEntry.objects.get(account=account, kind="earn")
    assert (earn.delta, earn.remaining, earn.order.external_id) == (24, 24, "o-1")


def test_order_writes_the_order_its_lines_and_purchase_stats(merchant_api, member, shopper):
    paid_at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)

    merchant_api.post(ORDERS, order_body(shopper.external_id, paid_at=paid_at.isoformat()), format="json")

    order = Order.objects.get(external_id="o-1")
    assert (order.shopper, order.subtotal, order.total, order.paid_at) == (
        shopper,
        Decimal("24.25"),
        Decimal("24.25"),
        paid_at,
    )
    assert sorted(order.lines.values_list("product__sku", "quantity", "unit_price")) == [
        ("S0", 2, Decimal("10.50")),
        ("S1", 1, Decimal("3.25")),
    ]
    stats = {s.product.sku: s for s in PurchaseStat.objects.filter(shopper=shopper)}
    assert {sku: (s.times_purchased, s.quantity, s.last_purchased_at) for sku, s in stats.items()} == {
        "S0": (1, 2, paid_at),
        "S1": (1, 1, paid_at),
    }


def test_points_are_floored_after_rate_and_tier_multiplier(merchant_api, merchant, program, catalog, shopper):
    program.points_per_unit = Decimal("2.50")
    program.save()
    TierFactory(merchant=merchant, rank=1, min_spend_12m=0, earn_multiplier=Decimal("1.50"))
    membership_enrol(shopper=shopper, merchant=merchant)

    # 3.33 * 2.5 * 1.5 = 12.4875
    body = order_body(shopper.external_id, lines=[("S0", 1, "3.33")])
    response = merchant_api.post(ORDERS, body, format="json")

    assert response.json()["points_earned"] == 12


def test_same_body_again_replays_the_stored_answer(merchant_api, member, shopper):
    first = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    before = row_counts()

    again = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert again.status_code == 200
    assert again.content == first.content
    assert row_counts() == before
    assert points_account(member).balance == 24


def test_replay_ignores_line_order_and_trailing_zeros(merchant_api, member, shopper):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    same_order = order_body(shopper.external_id, lines=[("S1", 1, "3.25"), ("S0", 2, "10.5")])

    again = merchant_api.post(ORDERS, same_order, format="json")

    assert again.status_code == 200
    assert Order.objects.count() == 1


def test_replay_after_the_shopper_left_still_answers_the_stored_result(merchant_api, member, shopper):
    first = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    member.status = Membership.Status.LEFT
    member.save()

    again = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert again.status_code == 200
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [{"sku": "S0", "quantity": 3, "unit_price": "10.50"}]},
        {"shopper": "someone-else"},
        {"paid_at": "2026-01-01T00:00:00Z"},
    ],
    ids=["lines", "shopper", "paid_at"],
)
def test_other_body_under_same_id_is_a_conflict_and_writes_nothing(merchant_api, member, shopper, change):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    before = row_counts()

    response = merchant_api.post(ORDERS, {**order_body(shopper.external_id), **change}, format="json")

    assert_error(response, 409, "order_conflict")
    assert row_counts() == before


def test_same_external_id_at_two_merchants_is_two_orders(merchant_api, member, shopper, other_merchant):
    ProductFactory(merchant=other_merchant, sku="S0")
    merchant_api.post(ORDERS, order_body(shopper.external_id, lines=[("S0", 1, "1.00")]), format="json")

    response = merchant_client(other_merchant).post(
        ORDERS, order_body(shopper.external_id, lines=[("S0", 1, "1.00")]), format="json"
    )

    assert response.status_code == 201
    assert Order.objects.filter(external_id="o-1").count() == 2


def test_unknown_shopper_is_created_and_earns_nothing(merchant_api, catalog):
    response = merchant_api.post(ORDERS, order_body("new-platform-user"), format="json")

    assert response.status_code == 201
    assert response.json()["points_earned"] == 0
    shopper = Shopper.objects.get(external_id="new-platform-user")
    assert Order.objects.filter(shopper=shopper).exists()
    assert not PointsEntry.objects.exists()


def test_non_member_earns_nothing_but_the_order_and_stats_are_recorded(merchant_api, catalog, shopper):
    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 201
    assert (response.json()["points_earned"], response.json()["points_reason"]) == (0, "not_a_member")
    assert Order.objects.get(external_id="o-1").points_earned == 0
    assert PurchaseStat.objects.filter(shopper=shopper).count() == 2
    assert not PointsEntry.objects.exists()


def test_member_who_left_earns_nothing(merchant_api, merchant, member, shopper):
    shopper_client(shopper).delete(f"/api/v1/me/memberships/{merchant.slug}")

    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 201
    assert (response.json()["points_earned"], response.json()["points_reason"]) == (0, "not_a_member")
    assert points_account(member).balance == 0


def test_member_with_no_points_account_yet_earns(merchant_api, merchant, catalog, shopper):
    # given: a membership from before the ledger existed (joined without membership_enrol)
    Membership.objects.create(shopper=shopper, merchant=merchant, number=1, joined_at=datetime.now(UTC))

    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.json()["points_earned"] == 24
    membership = Membership.objects.get(shopper=shopper, merchant=merchant)
    assert points_account(membership).balance == 24


def test_tier_multiplier_applies_from_the_order_after_the_upgrade(merchant_api, merchant, shopper, catalog):
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=Decimal("0"))
    TierFactory(
        merchant=merchant, name="Gold", rank=2, min_spend_12m=Decimal("20"), earn_multiplier=Decimal("2")
    )
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership

    first = merchant_api.post(ORDERS, order_body(shopper.external_id, "o-1"), format="json").json()
    second = merchant_api.post(ORDERS, order_body(shopper.external_id, "o-2"), format="json").json()

    membership.refresh_from_db()
    assert membership.tier.name == "Gold"
    assert first["points_earned"] == 24
    assert second["points_earned"] == 48


def test_orders_older_than_twelve_months_do_not_count_towards_a_tier(
    merchant_api, merchant, shopper, catalog
):
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=Decimal("0"))
    TierFactory(merchant=merchant, name="Gold", rank=2, min_spend_12m=Decimal("30"))
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    old = order_body(shopper.external_id, "old", paid_at="2020-01-01T00:00:00Z")

    merchant_api.post(ORDERS, old, format="json")
    merchant_api.post(ORDERS, order_body(shopper.external_id, "new"), format="json")

    membership.refresh_from_db()
    assert membership.tier.name == "Fan"


def test_via_account_of_the_merchant_is_stored_on_the_order(merchant_api, merchant, member, shopper):
    koe = AccountFactory(merchant=merchant)

    response = merchant_api.post(
        ORDERS, order_body(shopper.external_id, via_account=koe.handle), format="json"
    )

    assert response.status_code == 201
    assert Order.objects.get(external_id="o-1").via_account == koe


def test_via_account_of_another_merchant_is_refused_and_nothing_written(
    merchant_api, member, shopper, other_merchant
):
    stranger = AccountFactory(merchant=other_merchant)
    before = row_counts()

    response = merchant_api.post(
        ORDERS, order_body(shopper.external_id, via_account=stranger.handle), format="json"
    )

    assert_error(response, 400, "unknown_account", "via_account")
    assert row_counts() == before


def lines(*items):
    return [{"sku": sku, "quantity": quantity, "unit_price": price} for sku, quantity, price in items]


BAD_ORDERS = {
    "unknown sku": ({"lines": lines(("NOPE", 1, "1.00"))}, "unknown_sku", "lines"),
    "another merchant's sku": ({"lines": lines(("THEIRS", 1, "1.00"))}, "unknown_sku", "lines"),
    "zero quantity": ({"lines": lines(("S0", 0, "1.00"))}, "min_value", "lines.0.quantity"),
    "negative quantity": ({"lines": lines(("S0", -2, "1.00"))}, "min_value", "lines.0.quantity"),
    "negative price": ({"lines": lines(("S0", 1, "-1.00"))}, "min_value", "lines.0.unit_price"),
    "three decimals": ({"lines": lines(("S0", 1, "1.234"))}, "max_decimal_places", "lines.0.unit_price"),
    "not a number": ({"lines": lines(("S0", 1, "abc"))}, "invalid", "lines.0.unit_price"),
    "duplicate sku": ({"lines": lines(("S0", 1, "1.00"), ("S0", 2, "1.00"))}, "duplicate_sku", "lines"),
    "no lines": ({"lines": []}, "empty", "lines"),
    "unknown coupon": ({"coupon_codes": ["NO-SUCH-CODE"]}, "coupon_not_found", "coupon_codes"),
    "no shopper": ({"shopper": ""}, "blank", "shopper"),
    "bad paid_at": ({"paid_at": "yesterday"}, "invalid", "paid_at"),
}


@pytest.mark.parametrize(("change", "code", "attr"), BAD_ORDERS.values(), ids=BAD_ORDERS.keys())
def test_bad_order_is_a_400_and_writes_nothing(merchant_api, member, other_merchant, change, code, attr):
    ProductFactory(merchant=other_merchant, sku="THEIRS")
    # an unknown shopper, so that a half-done request would have created them
    body = {**order_body("never-seen-before"), **change}
    before = row_counts()

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_order_without_credentials_is_401(api, catalog):
    response = api.post(ORDERS, order_body("x"), format="json")

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_shopper_token_cannot_post_merchant_orders(shopper_api, catalog, shopper):
    response = shopper_api.post(ORDERS, order_body(shopper.external_id), format="json")

    assert_error(response, 401, "wrong_credential_kind")
    assert not Order.objects.exists()


def test_trailing_slash_path_works_too(merchant_api, member, shopper):
    response = merchant_api.post(f"{ORDERS}/", order_body(shopper.external_id), format="json")

    assert response.status_code == 201


def test_another_shoppers_order_is_not_credited_to_the_member(merchant_api, member, catalog):
    stranger = ShopperFactory()

    merchant_api.post(ORDERS, order_body(stranger.external_id), format="json")

    assert points_account(member).balance == 0
    assert not OrderLine.objects.filter(order__shopper=member.shopper).exists()


def test_a_subtotal_beyond_what_money_can_hold_is_a_400_and_writes_nothing(merchant_api, member, shopper):
    # each line is valid money; together they exceed numeric(12, 2)
    body = order_body(shopper.external_id, lines=[("S0", 100_000, "9999999999.99")])
    before = row_counts()

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, "order_too_large", "lines")
    assert row_counts() == before


def test_points_beyond_32_bits_are_earned_and_kept(merchant_api, member, shopper):
    # 9,999,999,990 points: past a 32-bit column, well within the ledger's 64-bit ones
    body = order_body(shopper.external_id, lines=[("S0", 1000, "9999999.99")])

    response = merchant_api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 9_999_999_990
    account = points_account(member)
    assert (account.balance, account.lifetime_earned) == (9_999_999_990, 9_999_999_990)
    assert Order.objects.get(external_id="o-1").points_earned == 9_999_999_990


def test_an_order_is_never_refused_for_the_points_it_would_earn(merchant_api, member, shopper):
    # given: a member whose lifetime points are 5 short of what the column holds
    PointsAccount.objects.filter(pk=points_account(member).pk).update(lifetime_earned=MAX_POINTS - 5)

    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    # then: the sale is recorded, and earns what is left up to the limit
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 5
    assert points_account(member).lifetime_earned == MAX_POINTS


@pytest.mark.parametrize(
    "stored",
    [
        {
            "external_id": "o-1",
            "subtotal": "40",
            "discount": "0",
            "total": "40.5",
            "points_earned": 40,
            "points_reason": None,
            "coupons_redeemed": [],
            "coupons_issued": [],
        },
        {  # as read back from jsonb, keys reordered, and an answer stored before points_reason
            "coupons_issued": [{"expires_at": "2027-01-01T10:00:00Z", "template": 3, "code": "AGAIN-K2P9"}],
            "total": "168.00",
            "external_id": "A-1001",
            "subtotal": "178.00",
            "discount": "10.00",
            "points_earned": 168,
            "coupons_redeemed": ["WELCOME-7QX2"],
        },
    ],
)
def test_the_order_answer_is_what_the_output_serializer_renders(stored):
    assert JSONRenderer().render(order_answer(stored)) == JSONRenderer().render(OrderOutput(stored).data)
