"""POST /api/v1/merchant/orders/{external_id}/refunds: refunds by lines, points back in proportion."""

from decimal import Decimal

import pytest

from loyalty.models import PointsEntry
from storefront.models import Order, OrderLine, Refund
from tests.conftest import assert_error, merchant_client, row_counts
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.storefront.factories import ProductFactory


def refunds_url(order_id: str = "o-1") -> str:
    return f"{ORDERS}/{order_id}/refunds"


def refund_body(external_id: str = "r-1", *lines) -> dict:
    lines = lines or (("S0", 1),)
    return {"external_id": external_id, "lines": [{"sku": s, "quantity": q} for s, q in lines]}


@pytest.fixture
def ordered(merchant_api, member, shopper):
    """The member's order o-1: 2 x S0 at 10.50 and 1 x S1 at 3.25, 24.25, 24 points."""
    response = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    assert response.json()["points_earned"] == 24
    return Order.objects.get(external_id="o-1")


def test_refund_reverses_points_in_proportion(merchant_api, member, ordered):
    response = merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 1)), format="json")

    assert response.status_code == 201, response.content
    # 10.50 of 24.25 refunded: floor(24 * 10.50 / 24.25) = 10
    assert response.json() == {
        "external_id": "r-1",
        "amount": "10.50",
        "points_reversed": 10,
        "coupons_restored": [],
    }
    account = points_account(member)
    assert (account.balance, account.lifetime_earned) == (14, 14)
    reverse = PointsEntry.objects.get(kind="reverse")
    assert (reverse.delta, reverse.order, reverse.refund.external_id) == (-10, ordered, "r-1")
    ordered.refresh_from_db()
    assert (ordered.status, ordered.refunded_amount, ordered.points_reversed) == (
        Order.Status.PARTIALLY_REFUNDED,
        Decimal("10.50"),
        10,
    )


def test_same_refund_again_replays_and_writes_nothing(merchant_api, member, ordered):
    first = merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 1)), format="json")
    before = row_counts()

    again = merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 1)), format="json")

    assert again.status_code == 200
    assert again.content == first.content
    assert row_counts() == before
    assert points_account(member).balance == 14


def test_other_body_under_the_same_refund_id_is_a_conflict(merchant_api, member, ordered):
    merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 1)), format="json")
    before = row_counts()

    response = merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 2)), format="json")

    assert_error(response, 409, "refund_conflict")
    assert row_counts() == before


def test_full_refund_after_a_partial_one_reverses_exactly_what_was_earned(merchant_api, member, ordered):
    merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 1)), format="json")

    rest = merchant_api.post(refunds_url(), refund_body("r-2", ("S0", 1), ("S1", 1)), format="json").json()

    assert rest["points_reversed"] == 14
    assert rest["amount"] == "13.75"
    assert points_account(member).balance == 0
    ordered.refresh_from_db()
    assert (ordered.status, ordered.refunded_amount, ordered.points_reversed) == (
        Order.Status.REFUNDED,
        ordered.total,
        ordered.points_earned,
    )


def test_refund_split_in_single_units_adds_up_to_the_points_earned(merchant_api, member, shopper):
    # 3 x 3.33 = 9.99 earns 9; thirds of it floor to 3, 6, 9: no point lost to rounding
    merchant_api.post(
        ORDERS, order_body(shopper.external_id, "o-3", lines=[("S0", 3, "3.33")]), format="json"
    )

    reversed_points = [
        merchant_api.post(refunds_url("o-3"), refund_body(f"r-{i}", ("S0", 1)), format="json").json()[
            "points_reversed"
        ]
        for i in range(3)
    ]

    assert reversed_points == [3, 3, 3]
    assert points_account(member).balance == 0


def test_reversal_of_spent_points_leaves_a_debt_that_the_next_earning_pays_first(
    merchant_api, member, ordered, shopper
):
    # given: the member spent 20 of the 24 points earned
    from loyalty.services.points import points_spend

    points_spend(account=points_account(member), points=20, reason="reward")

    # when: the whole order is refunded
    merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 2), ("S1", 1)), format="json")

    # then: the balance is negative and no lot holds points
    account = points_account(member)
    assert account.balance == -20
    assert not PointsEntry.objects.filter(account=account, remaining__gt=0).exists()

    # when: the member earns 24 more
    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-2"), format="json")

    # then: 20 pay the debt; only 4 are spendable
    account = points_account(member)
    assert account.balance == 4
    new_lot = PointsEntry.objects.get(order__external_id="o-2", kind="earn")
    assert (new_lot.delta, new_lot.remaining) == (24, 4)


def test_refund_of_a_non_members_order_reverses_no_points(merchant_api, catalog, shopper):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    response = merchant_api.post(refunds_url(), refund_body(), format="json")

    assert response.status_code == 201
    assert response.json()["points_reversed"] == 0
    assert not PointsEntry.objects.exists()


@pytest.mark.parametrize(
    ("lines", "code", "attr"),
    [
        ((("S0", 3),), "refund_exceeds_purchase", "lines"),
        ((("S1", 1), ("S0", 3)), "refund_exceeds_purchase", "lines"),
        ((("S2", 1),), "sku_not_in_order", "lines"),
        ((("S0", 1), ("S0", 1)), "duplicate_sku", "lines"),
        ((("S0", 0),), "min_value", "lines.0.quantity"),
        ((("S0", -1),), "min_value", "lines.0.quantity"),
    ],
    ids=["more than bought", "one line too many", "sku not in order", "duplicate sku", "zero", "negative"],
)
def test_bad_refund_is_a_400_and_writes_nothing(merchant_api, ordered, lines, code, attr):
    before = row_counts()

    response = merchant_api.post(refunds_url(), refund_body("r-1", *lines), format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before
    assert not OrderLine.objects.filter(refunded_quantity__gt=0).exists()


def test_refunding_more_than_is_left_after_an_earlier_refund_is_a_400(merchant_api, ordered):
    merchant_api.post(refunds_url(), refund_body("r-1", ("S0", 2)), format="json")
    before = row_counts()

    response = merchant_api.post(refunds_url(), refund_body("r-2", ("S0", 1)), format="json")

    assert_error(response, 400, "refund_exceeds_purchase", "lines")
    assert row_counts() == before


def test_refund_body_without_lines_is_a_400(merchant_api, ordered):
    response = merchant_api.post(refunds_url(), {"external_id": "r-1", "lines": []}, format="json")

    assert_error(response, 400, "empty", "lines")
    assert not Refund.objects.exists()


def test_refund_of_an_unknown_order_is_404(merchant_api, ordered):
    response = merchant_api.post(refunds_url("no-such-order"), refund_body(), format="json")

    assert_error(response, 404, "order_not_found")
    assert not Refund.objects.exists()


def test_another_merchant_cannot_refund_the_order(ordered, other_merchant):
    ProductFactory(merchant=other_merchant, sku="S0")
    other_api = merchant_client(other_merchant)
    before = row_counts()

    response = other_api.post(refunds_url(), refund_body(), format="json")

    assert_error(response, 404, "order_not_found")
    assert row_counts() == before


def test_refund_without_credentials_is_401(api, ordered):
    response = api.post(refunds_url(), refund_body(), format="json")

    assert response.status_code == 401
    assert not Refund.objects.exists()
