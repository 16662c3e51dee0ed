"""Orders, refunds and carts an attacker (or a buggy shop system) sends (issue 8).

Each refusal is a 400 naming the field and writes nothing; what is accepted is stored
the way every later read can use it.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from coupons.models import CouponTemplate
from storefront.models import Order, OrderLine, Product, PurchaseStat
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.loyalty.factories import PointsEntryFactory

FREQUENT = "/api/v1/me/frequently-purchased"
VALIDATE = "/api/v1/merchant/coupons/validate"
TEMPLATES = "/api/v1/merchant/coupon-templates"


def refunds_url(order_id: str) -> str:
    return f"{ORDERS}/{order_id}/refunds"


# --- paid_at ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "paid_at",
    ["9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"],
    ids=["far-future", "before-the-floor", "year-one"],
)
def test_a_paid_at_out_of_range_is_400_and_writes_nothing(merchant_api, member, shopper, paid_at):
    before = row_counts()

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, paid_at=paid_at), format="json")

    assert_error(response, 400, "paid_at_out_of_range", "paid_at")
    assert row_counts() == before


def test_a_paid_at_a_minute_ahead_of_our_clock_is_accepted(merchant_api, member, shopper):
    ahead = (timezone.now() + timedelta(minutes=1)).isoformat()

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, paid_at=ahead), format="json")

    assert response.status_code == 201, response.content


def test_a_paid_at_past_the_calendar_in_its_zone_is_400(merchant_api, member, shopper):
    # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
    body = order_body(shopper.external_id, paid_at="9999-12-31T23:00:00-05:00")
    before = row_counts()

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, "overflow", "paid_at")
    assert row_counts() == before


@pytest.mark.parametrize("paid_at", ["2026-01-01T00:00:00", "2026-01-01"], ids=["no-zone", "bare-date"])
def test_a_time_without_a_zone_is_400_naming_the_field(merchant_api, member, shopper, paid_at):
    before = row_counts()

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, paid_at=paid_at), format="json")

    assert_error(response, 400, "naive", "paid_at")
    assert row_counts() == before


def test_a_coupon_window_without_a_zone_is_400_naming_the_field(merchant_api, program):
    body = {"name": "W", "kind": "fixed", "value": "1.00", "valid_until": "2030-01-01T00:00:00"}

    assert_error(merchant_api.post(TEMPLATES, body, format="json"), 400, "naive", "valid_until")


def test_frequently_purchased_survives_far_future_purchases_already_stored(
    merchant_api, shopper_api, member, shopper
):
    # given: two purchases of one sku stored before paid_at was checked, one in 9999
    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-1"), format="json")
    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-2"), format="json")
    Order.objects.filter(external_id="o-2").update(paid_at=datetime(9999, 12, 31, tzinfo=UTC))

    response = shopper_api.get(FREQUENT)

    # then: the list answers; a due-again date past the calendar is no date
    assert response.status_code == 200, response.content
    assert {r["product"]["sku"]: r["due_again"] for r in response.json()["results"]} == {
        "S0": None,
        "S1": None,
    }


def test_a_far_future_order_already_stored_does_not_count_toward_the_tier(merchant_api, member, shopper):
    from tests.members.factories import TierFactory

    TierFactory(merchant=member.merchant, name="Gold", rank=5, min_spend_12m=Decimal("30.00"))
    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-1"), format="json")
    Order.objects.filter(external_id="o-1").update(paid_at=datetime(9999, 12, 31, tzinfo=UTC))

    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-2"), format="json")

    member.refresh_from_db()
    assert member.tier is None or member.tier.name != "Gold"


# --- Identifiers and text --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("external_id", "a/b", "invalid_identifier"),
        ("external_id", "o\t1", "invalid_identifier"),
        ("external_id", "o\x07", "invalid_identifier"),
        ("shopper", "someone/else", "invalid_shopper_id"),
        ("shopper", "two words", "invalid_shopper_id"),
    ],
)
def test_an_order_id_or_shopper_id_no_route_could_address_is_400(
    merchant_api, member, shopper, field, value, code
):
    body = {**order_body(shopper.external_id), field: value}
    before = row_counts()

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, code, field)
    assert row_counts() == before


def test_a_refund_id_with_a_slash_is_400(merchant_api, member, shopper):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    before = row_counts()

    response = merchant_api.post(
        refunds_url("o-1"), {"external_id": "r/1", "lines": [{"sku": "S0", "quantity": 1}]}, format="json"
    )

    assert_error(response, 400, "invalid_identifier", "external_id")
    assert row_counts() == before


def test_a_sku_with_a_slash_is_400_at_creation(merchant_api, program):
    before = row_counts()

    response = merchant_api.post(
        "/api/v1/merchant/products", {"sku": "a/b", "title": "T", "price": "1.00"}, format="json"
    )

    assert_error(response, 400, "invalid_identifier", "sku")
    assert row_counts() == before


def test_the_longest_order_and_refund_ids_are_refunded_and_the_ledger_references_them(
    merchant_api, member, shopper
):
    # A 100-character order id with an 84-character refund id: the reversal's reason used
    # to hold both and overflow its 200 characters (a 500 on PostgreSQL, for good).
    order_id, refund_id = "o" * 100, "r" * 100
    merchant_api.post(ORDERS, order_body(shopper.external_id, order_id), format="json")

    response = merchant_api.post(
        refunds_url(order_id),
        {"external_id": refund_id, "lines": [{"sku": "S0", "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 201, response.content
    reversal = points_account(member).entries.get(kind="reverse")
    assert (reversal.order.external_id, reversal.refund.external_id) == (order_id, refund_id)


@pytest.mark.parametrize(
    ("path", "body", "attr"),
    [
        ("/api/v1/merchant/products", {"sku": "p", "title": "\u0007\u001b[31mred", "price": "1.00"}, "title"),
        ("/api/v1/merchant/products", {"sku": "p", "title": "evil\u202etxt.exe", "price": "1.00"}, "title"),
        ("/api/v1/merchant/accounts", {"handle": "koe-1", "kind": "koe", "display_name": "a\u0000b"}, None),
        (
            "/api/v1/merchant/accounts",
            {"handle": "koe-1", "kind": "koe", "display_name": "a\nb"},
            "display_name",
        ),
        ("/api/v1/merchant/tiers", {"name": "Gold\u001b", "rank": 1, "min_spend_12m": "0"}, "name"),
        (TEMPLATES, {"name": "\u0008off", "kind": "fixed", "value": "1.00", "valid_days": 3}, "name"),
    ],
    ids=[
        "ansi-title",
        "bidi-title",
        "nul-display-name",
        "newline-display-name",
        "escape-tier",
        "backspace-name",
    ],
)
def test_control_characters_in_names_and_titles_are_400_and_write_nothing(
    merchant_api, program, path, body, attr
):
    before = row_counts()

    response = merchant_api.post(path, body, format="json")

    assert response.status_code == 400, response.content
    codes = {(e["code"], e["attr"]) for e in response.json()["errors"]}
    if attr is not None:
        assert ("control_characters_not_allowed", attr) in codes
    else:  # DRF's own NUL check answers first
        assert ("null_characters_not_allowed", "display_name") in codes
    assert row_counts() == before


def test_a_name_with_emoji_and_joiners_is_kept(merchant_api, program):
    title = "Tea \U0001f469\u200d\U0001f373 set"

    response = merchant_api.post(
        "/api/v1/merchant/products", {"sku": "p", "title": title, "price": "1.00"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Product.objects.get(sku="p").title == title


def test_minus_zero_prices_are_stored_and_answered_as_zero(merchant_api, member, shopper):
    product = merchant_api.post(
        "/api/v1/merchant/products", {"sku": "free", "title": "Free", "price": "-0.00"}, format="json"
    )
    merchant_api.post(ORDERS, order_body(shopper.external_id, lines=[("free", 1, "-0")]), format="json")

    assert product.json()["price"] == "0.00"
    assert str(Product.objects.get(sku="free").price) == "0.00"
    assert str(OrderLine.objects.get(product__sku="free").unit_price) == "0.00"


# --- Bounds of numbers -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["stock", "points_price", "per_member_limit", "valid_days"])
def test_a_coupon_template_number_beyond_its_column_is_400_and_writes_nothing(merchant_api, program, field):
    body = {"name": "Big", "kind": "fixed", "value": "1.00", "valid_days": 3, field: 2**31}
    before = row_counts()

    response = merchant_api.post(TEMPLATES, body, format="json")

    assert_error(response, 400, "max_value", field)
    assert row_counts() == before


def test_a_template_at_the_largest_stock_its_column_holds_is_stored(merchant_api, program):
    body = {"name": "Big", "kind": "fixed", "value": "1.00", "valid_days": 3, "stock": 2**31 - 1}

    response = merchant_api.post(TEMPLATES, body, format="json")

    assert response.status_code == 201, response.content
    assert CouponTemplate.objects.get(name="Big").stock == 2**31 - 1


def test_an_exchange_of_a_template_id_beyond_bigint_is_400(shopper_api, merchant, member):
    response = shopper_api.post(
        "/api/v1/me/coupons/exchange", {"merchant": merchant.slug, "template": 2**63}, format="json"
    )

    assert_error(response, 400, "max_value", "template")


@pytest.mark.parametrize(
    ("field", "value"),
    [("join_coupon_template", 2**63), ("points_per_unit", "1000000.00"), ("points_expiry_days", 2**31)],
)
def test_a_program_number_beyond_its_column_is_400_and_writes_nothing(merchant_api, program, field, value):
    before = row_counts()

    response = merchant_api.patch("/api/v1/merchant/program", {field: value}, format="json")

    assert response.status_code == 400, response.content
    assert field in {e["attr"] for e in response.json()["errors"]}
    assert row_counts() == before


def test_validating_a_cart_beyond_what_money_can_hold_is_400_order_too_large(merchant_api, member, shopper):
    body = {
        "shopper": shopper.external_id,
        "lines": [{"sku": "S0", "quantity": 100_000, "unit_price": "9999999999.99"}],
        "coupon_codes": [],
    }
    before = row_counts()

    response = merchant_api.post(VALIDATE, body, format="json")

    assert_error(response, 400, "order_too_large", "lines")
    assert row_counts() == before


# --- Data that was wrong -------------------------------------------------------------------


def test_a_fully_refunded_purchase_is_not_frequently_purchased(merchant_api, shopper_api, member, shopper):
    merchant_api.post(
        ORDERS, order_body(shopper.external_id, "o-1", lines=[("S0", 2, "5.00")]), format="json"
    )
    merchant_api.post(
        ORDERS,
        order_body(shopper.external_id, "o-2", lines=[("S0", 1, "5.00"), ("S1", 1, "5.00")]),
        format="json",
    )

    merchant_api.post(
        refunds_url("o-2"),
        {"external_id": "r-1", "lines": [{"sku": "S0", "quantity": 1}, {"sku": "S1", "quantity": 1}]},
        format="json",
    )

    results = {r["product"]["sku"]: r for r in shopper_api.get(FREQUENT).json()["results"]}
    assert set(results) == {"S0"}
    assert (results["S0"]["times_purchased"], results["S0"]["quantity"]) == (1, 2)
    assert not PurchaseStat.objects.filter(product__sku="S1").exists()


def test_a_half_refunded_line_counts_what_was_kept(merchant_api, shopper_api, member, shopper):
    merchant_api.post(
        ORDERS, order_body(shopper.external_id, "o-1", lines=[("S0", 4, "5.00")]), format="json"
    )

    merchant_api.post(
        refunds_url("o-1"), {"external_id": "r-1", "lines": [{"sku": "S0", "quantity": 2}]}, format="json"
    )

    (row,) = shopper_api.get(FREQUENT).json()["results"]
    assert (row["times_purchased"], row["quantity"]) == (1, 2)


def test_an_exchange_answers_with_the_templates_count_after_it(shopper_api, merchant, member):
    template = CouponTemplateFactory(merchant=merchant, points_price=10, stock=5, per_member_limit=3)
    PointsEntryFactory(account=points_account(member), delta=100, remaining=100)

    first = shopper_api.post(
        "/api/v1/me/coupons/exchange", {"merchant": merchant.slug, "template": template.pk}, format="json"
    )
    second = shopper_api.post(
        "/api/v1/me/coupons/exchange", {"merchant": merchant.slug, "template": template.pk}, format="json"
    )

    assert first.json()["template"]["issued_count"] == 1
    assert second.json()["template"]["issued_count"] == 2
