"""POST /api/v1/me/coupons/exchange: points for a coupon, in one transaction."""

from decimal import Decimal

import pytest

from coupons.models import Coupon
from loyalty.models import PointsEntry
from members import services as members_services
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.loyalty.factories import PointsEntryFactory

EXCHANGE = "/api/v1/me/coupons/exchange"


@pytest.fixture
def priced(merchant, program):
    """10.00 off for 100 points; a member may hold two unused."""
    return CouponTemplateFactory(
        merchant=merchant, name="10 off", value=Decimal("10.00"), points_price=100, per_member_limit=2
    )


@pytest.fixture
def rich_member(member):
    """The member with 250 points."""
    PointsEntryFactory(account=points_account(member), delta=250, remaining=250)
    return member


def exchange(client, merchant, template_id):
    return client.post(EXCHANGE, {"merchant": merchant.slug, "template": template_id}, format="json")


def test_exchanging_spends_the_points_and_issues_the_coupon(
    shopper_api, merchant, shopper, rich_member, priced
):
    response = exchange(shopper_api, merchant, priced.pk)

    assert response.status_code == 201, response.content
    body = response.json()
    coupon = Coupon.objects.get(shopper=shopper)
    assert (body["code"], body["merchant"], body["state"], body["source"]) == (
        coupon.code,
        merchant.slug,
        "issued",
        "exchange",
    )
    assert (body["template"]["id"], body["template"]["value"], body["template"]["points_price"]) == (
        priced.pk,
        "10.00",
        100,
    )
    account = points_account(rich_member)
    assert account.balance == 150
    spent = PointsEntry.objects.get(account=account, kind="redeem")
    assert (spent.delta, spent.reason) == (-100, "exchanged for coupon: 10 off")
    assert account.balance == sum(account.entries.values_list("delta", flat=True))
    priced.refresh_from_db()
    assert priced.issued_count == 1


def test_the_exchanged_coupon_is_usable_in_an_order(
    merchant_api, shopper_api, merchant, shopper, rich_member, priced
):
    code = exchange(shopper_api, merchant, priced.pk).json()["code"]

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, coupon_codes=[code]), format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["discount"], response.json()["coupons_redeemed"]) == ("10.00", [code])


def test_short_of_points_is_a_400_and_writes_nothing(shopper_api, merchant, member, priced):
    PointsEntryFactory(account=points_account(member), delta=99, remaining=99)
    before = row_counts()

    response = exchange(shopper_api, merchant, priced.pk)

    assert_error(response, 400, "insufficient_points")
    assert row_counts() == before
    assert points_account(member).balance == 99


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"stock": 0}, 409, "coupon_out_of_stock"),
        ({"active": False}, 400, "coupon_template_inactive"),
        ({"points_price": None}, 400, "coupon_template_not_exchangeable"),
    ],
)
def test_a_template_that_cannot_be_had_spends_no_points(
    shopper_api, merchant, rich_member, priced, change, status, code
):
    for name, value in change.items():
        setattr(priced, name, value)
    priced.save()
    before = row_counts()

    response = exchange(shopper_api, merchant, priced.pk)

    assert_error(response, status, code)
    assert row_counts() == before
    assert points_account(rich_member).balance == 250


def test_at_the_per_member_limit_no_points_are_spent(shopper_api, merchant, shopper, rich_member, priced):
    for _ in range(2):
        CouponFactory(template=priced, shopper=shopper)
    before = row_counts()

    response = exchange(shopper_api, merchant, priced.pk)

    assert_error(response, 409, "coupon_limit_reached")
    assert row_counts() == before
    assert points_account(rich_member).balance == 250


def test_a_non_member_cannot_exchange(shopper_api, merchant, shopper, priced):
    before = row_counts()

    assert_error(exchange(shopper_api, merchant, priced.pk), 400, "not_a_member")
    assert row_counts() == before


def test_a_former_member_cannot_exchange(shopper_api, merchant, shopper, rich_member, priced):
    members_services.membership_leave(shopper=shopper, merchant=merchant)
    before = row_counts()

    assert_error(exchange(shopper_api, merchant, priced.pk), 400, "not_a_member")
    assert row_counts() == before


def test_another_merchants_template_is_unknown_in_the_field(
    shopper_api, merchant, other_merchant, rich_member
):
    theirs = CouponTemplateFactory(merchant=other_merchant, points_price=1)
    before = row_counts()

    response = exchange(shopper_api, merchant, theirs.pk)

    assert_error(response, 400, "coupon_template_not_found", "template")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "status", "code", "attr"),
    [
        ({"template": 1}, 400, "required", "merchant"),
        ({"merchant": "x"}, 400, "required", "template"),
        ({"merchant": "x", "template": 0}, 400, "min_value", "template"),
        ({"merchant": "no such", "template": 1}, 400, "invalid", "merchant"),
        ({"merchant": "no-such-merchant", "template": 1}, 400, "merchant_not_found", "merchant"),
    ],
)
def test_bad_exchange_requests_write_nothing(shopper_api, rich_member, body, status, code, attr):
    before = row_counts()

    assert_error(shopper_api.post(EXCHANGE, body, format="json"), status, code, attr)
    assert row_counts() == before


def test_exchange_needs_a_shopper_token(api, merchant_api, merchant, priced):
    before = row_counts()

    assert_error(exchange(api, merchant, priced.pk), 401, "not_authenticated")
    assert_error(exchange(merchant_api, merchant, priced.pk), 401, "wrong_credential_kind")
    assert row_counts() == before
